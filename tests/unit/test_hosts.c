/* Tokens (HMAC over mac and expiry), MAC and state words, and the state
 * journal's rows: round trip, damaged rows skipped and counted, the last
 * row of a host winning at load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/hosts/hosts.h"

#define NOW 1700000000

static const uint8_t secret[HOST_SECRET_LEN] = "0123456789abcdef0123456789abcdef";
static const uint8_t mac_a[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };

static void test_token(void **state)
{
	char tok[HOST_TOKEN_MAX], bad[HOST_TOKEN_MAX];
	uint8_t other[HOST_SECRET_LEN];
	size_t n;

	(void)state;
	n = host_token_make(secret, mac_a, NOW + 60, tok);
	assert_int_equal(n, strlen(tok));
	assert_true(host_token_check(secret, mac_a, tok, n, NOW));
	assert_true(host_token_check(secret, mac_a, tok, n, NOW + 60));
	/* expired, another host, another secret */
	assert_false(host_token_check(secret, mac_a, tok, n, NOW + 61));
	assert_false(host_token_check(secret, mac_b, tok, n, NOW));
	memcpy(other, secret, sizeof(other));
	other[0] ^= 1;
	assert_false(host_token_check(other, mac_a, tok, n, NOW));
	/* a later expiry written by the client does not carry the old MAC */
	memcpy(bad, tok, n + 1);
	bad[0] = (char)(bad[0] == '9' ? '8' : bad[0] + 1);
	assert_false(host_token_check(secret, mac_a, bad, n, NOW));
	/* one flipped digit of the MAC part, truncation, garbage */
	memcpy(bad, tok, n + 1);
	bad[n - 1] = bad[n - 1] == '0' ? '1' : '0';
	assert_false(host_token_check(secret, mac_a, bad, n, NOW));
	assert_false(host_token_check(secret, mac_a, tok, n - 1, NOW));
	assert_false(host_token_check(secret, mac_a, "", 0, NOW));
	assert_false(host_token_check(secret, mac_a, "-", 1, NOW));
	assert_false(host_token_check(secret, mac_a, "99999999999999999999-00", 23, NOW));
	/* uppercase hex is not what we issue */
	memcpy(bad, tok, n + 1);
	for (size_t i = 0; i < n; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f')
			bad[i] = (char)(bad[i] - 32);
	if (strcmp(bad, tok))
		assert_false(host_token_check(secret, mac_a, bad, n, NOW));
}

static void test_mac_and_state_words(void **state)
{
	uint8_t m[6];
	char s[18];
	enum host_state st;

	(void)state;
	assert_true(host_mac_parse("52:54:00:12:34:56", 17, m));
	assert_memory_equal(m, mac_a, 6);
	assert_true(host_mac_parse("52-54-00-12-34-56", 17, m));
	assert_true(host_mac_parse("52:54:00:12:34:5A", 17, m));
	assert_int_equal(m[5], 0x5a);
	assert_false(host_mac_parse("52:54-00:12:34:56", 17, m));
	assert_false(host_mac_parse("52:54:00:12:34:5", 16, m));
	assert_false(host_mac_parse("52:54:00:12:34:5g", 17, m));
	assert_false(host_mac_parse("525400123456:::::", 17, m));
	host_mac_format(mac_a, '-', s);
	assert_string_equal(s, "52-54-00-12-34-56");
	assert_true(host_state_parse("installed", 9, &st));
	assert_int_equal(st, HOST_STATE_INSTALLED);
	assert_false(host_state_parse("none", 4, &st));
	assert_false(host_state_parse("Installed", 9, &st));
	assert_false(host_state_parse("installe", 8, &st));
	assert_string_equal(host_state_name(HOST_STATE_FAILED), "failed");
}

struct rows {
	struct host_record r[16];
	size_t n;
};

static void collect(void *user, const struct host_record *r)
{
	struct rows *rows = user;

	if (rows->n < 16)
		rows->r[rows->n++] = *r;
}

static void test_journal_rows(void **state)
{
	static const char text[] =
		"52:54:00:12:34:56 booting 1700000000\n"
		"\n"
		"52:54:00:12:34:56 installed 1700000100\n"
		"52:54:00:12:34:56 flying 1700000100\n"       /* unknown state */
		"52:54:00:12:34:5 booting 1700000100\n"       /* short MAC */
		"52:54:00:12:34:57 booting -1\n"              /* negative time */
		"52:54:00:12:34:57 booting 17000000001234567\n" /* too long */
		"52:54:00:12:34:57  booting 1\n"              /* double space */
		"52:54:00:12:34:57 failed 1700000200\n"
		"52:54:00:12:34:57 installing 17000";         /* cut by a crash */
	struct rows rows = { .n = 0 };
	struct host_record r = { .state = HOST_STATE_INSTALLING, .time = NOW };
	char row[64];
	size_t bad = host_journal_parse(text, sizeof(text) - 1, collect, &rows);

	(void)state;
	assert_int_equal(bad, 6);
	assert_int_equal(rows.n, 3);
	assert_int_equal(rows.r[1].state, HOST_STATE_INSTALLED);
	assert_int_equal(rows.r[1].time, 1700000100);
	assert_memory_equal(rows.r[2].mac, mac_b, 6);
	assert_int_equal(rows.r[2].state, HOST_STATE_FAILED);
	memcpy(r.mac, mac_b, 6);
	assert_int_equal(host_journal_format(&r, row, sizeof(row)), 40);
	assert_string_equal(row, "52:54:00:12:34:57 installing 1700000000\n");
	rows.n = 0;
	assert_int_equal(host_journal_parse(row, strlen(row), collect, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_memory_equal(rows.r[0].mac, r.mac, 6);
	assert_int_equal(rows.r[0].state, r.state);
	assert_int_equal(rows.r[0].time, r.time);
}

static void test_journal_load(void **state)
{
	char path[] = "/tmp/pxc-hosts-unit.XXXXXX";
	int fd = mkstemp(path);
	struct host_status *hs;
	size_t n, bad;
	static const char text[] = "52:54:00:12:34:57 booting 10\n"
				   "52:54:00:12:34:56 booting 20\n"
				   "garbage\n"
				   "52:54:00:12:34:57 installed 30\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(host_journal_load(path, &hs, &n, &bad), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 1);
	/* sorted by MAC; the last row of each host wins */
	assert_memory_equal(hs[0].mac, mac_a, 6);
	assert_int_equal(hs[0].state, HOST_STATE_BOOTING);
	assert_int_equal(hs[1].state, HOST_STATE_INSTALLED);
	assert_int_equal(hs[1].since, 30);
	assert_int_equal(hs[1].entered[HOST_STATE_BOOTING], 10);
	free(hs);
	unlink(path);
	/* a missing file is an empty table */
	assert_int_equal(host_journal_load(path, &hs, &n, &bad), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_mac_and_state_words),
		cmocka_unit_test(test_journal_rows),
		cmocka_unit_test(test_journal_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
