/* libFuzzer: the host state journal reader. The file survives crashes and
 * hand edits, so any bytes must give rows or counted bad rows, never a
 * crash; every row it accepts must format back to a row it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/hosts/hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_row_again(void *user, const struct host_record *r);

static void check_row(void *user, const struct host_record *r)
{
	char row[64];
	size_t n = host_journal_format(r, row, sizeof(row)), bad;
	unsigned *rows = user;
	unsigned again = 0;

	(*rows)++;
	if (n == 0)
		abort();
	bad = host_journal_parse(row, n, check_row_again, &again);
	if (bad != 0 || again != 1)
		abort();
}

static void check_row_again(void *user, const struct host_record *r)
{
	(void)r;
	(*(unsigned *)user)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned rows = 0;
	size_t bad = host_journal_parse((const char *)data, size, check_row, &rows);

	if (bad > size)
		abort();
	return 0;
}
