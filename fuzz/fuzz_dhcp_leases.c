/* libFuzzer: load any journal; every loaded lease must be found again by
 * its address and its owner, and its row must reload to the same lease. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dhcp_leases *table;

static void check(const struct dhcp_lease *e, void *ctx)
{
	char row[DHCP_JOURNAL_ROW_MAX];
	struct dhcp_leases *again = ctx;

	if (dhcp_leases_by_ip(table, e->ip) != e)
		abort();
	if (e->hlen > 0 && dhcp_leases_by_mac(table, e->mac, e->hlen) != e)
		abort();
	size_t n = dhcp_journal_format(row, sizeof(row), e);
	if (n == 0)
		abort();
	dhcp_leases_load(again, (const uint8_t *)row, n, 0);
	const struct dhcp_lease *r = dhcp_leases_by_ip(again, e->ip);
	if (r == NULL || r->expiry != e->expiry || r->state != e->state ||
	    r->hlen != e->hlen || memcmp(r->mac, e->mac, e->hlen) != 0 ||
	    strcmp(r->hostname, e->hostname) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	table = dhcp_leases_create(32, 4096);
	struct dhcp_leases *again = dhcp_leases_create(64, 4096);

	if (table == NULL || again == NULL)
		abort();
	dhcp_leases_load(table, data, size, 1000);
	dhcp_leases_foreach(table, check, again);
	dhcp_leases_destroy(again);
	dhcp_leases_destroy(table);
	return 0;
}
