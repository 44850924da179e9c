/* TFTP codec and option negotiation: table-driven vectors, including the
 * malformed requests of the bad-input list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dataplane/tftp/tftp.h"

#define PKT(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_short_packets(void **state)
{
	struct tftp_packet p;

	(void)state;
	assert_int_equal(tftp_parse((const uint8_t *)"", 0, &p), TFTP_PARSE_SHORT);
	assert_int_equal(tftp_parse(PKT("\0"), &p), TFTP_PARSE_SHORT);
	assert_int_equal(tftp_parse(PKT("\0\4"), &p), TFTP_PARSE_SHORT);
	assert_int_equal(tftp_parse(PKT("\0\4\0"), &p), TFTP_PARSE_SHORT);
	assert_int_equal(tftp_parse(PKT("\0\3\0"), &p), TFTP_PARSE_SHORT);
	assert_int_equal(tftp_parse(PKT("\0\5\0"), &p), TFTP_PARSE_SHORT);
	/* A 2-byte RRQ has no file name at all. */
	assert_int_equal(tftp_parse(PKT("\0\1"), &p), TFTP_PARSE_UNTERMINATED);
}

static void test_bad_opcodes(void **state)
{
	struct tftp_packet p;

	(void)state;
	assert_int_equal(tftp_parse(PKT("\0\0abcd"), &p), TFTP_PARSE_BAD_OPCODE);
	assert_int_equal(tftp_parse(PKT("\0\7abcd"), &p), TFTP_PARSE_BAD_OPCODE);
	assert_int_equal(tftp_parse(PKT("\xff\xff\0\0"), &p), TFTP_PARSE_BAD_OPCODE);
	assert_int_equal(tftp_parse(PKT("\0\6blksize\0001024\0"), &p), TFTP_PARSE_BAD_OPCODE);
}

static void test_request_forms(void **state)
{
	struct tftp_packet p;

	(void)state;
	assert_int_equal(tftp_parse(PKT("\0\1pxelinux.0\0octet\0"), &p), TFTP_PARSE_OK);
	assert_int_equal(p.opcode, TFTP_RRQ);
	assert_string_equal(p.u.req.filename, "pxelinux.0");
	assert_int_equal(p.u.req.mode, TFTP_MODE_OCTET);
	assert_int_equal(p.u.req.nopts, 0);

	assert_int_equal(tftp_parse(PKT("\0\1a\0NetASCII\0"), &p), TFTP_PARSE_OK);
	assert_int_equal(p.u.req.mode, TFTP_MODE_NETASCII);

	assert_int_equal(tftp_parse(PKT("\0\2up\0octet\0tsize\0003\0"), &p), TFTP_PARSE_OK);
	assert_int_equal(p.opcode, TFTP_WRQ);
	assert_int_equal(p.u.req.nopts, 1);
	assert_string_equal(p.u.req.opts[0].name, "tsize");
	assert_string_equal(p.u.req.opts[0].value, "3");

	/* RRQ without NUL after the name, or after the mode. */
	assert_int_equal(tftp_parse(PKT("\0\1file"), &p), TFTP_PARSE_UNTERMINATED);
	assert_int_equal(tftp_parse(PKT("\0\1file\0octet"), &p), TFTP_PARSE_UNTERMINATED);
	assert_int_equal(tftp_parse(PKT("\0\1\0octet\0"), &p), TFTP_PARSE_EMPTY_NAME);
	assert_int_equal(tftp_parse(PKT("\0\1f\0mail\0"), &p), TFTP_PARSE_BAD_MODE);
	assert_int_equal(tftp_parse(PKT("\0\1f\0binary\0"), &p), TFTP_PARSE_BAD_MODE);
	/* An option without value. */
	assert_int_equal(tftp_parse(PKT("\0\1f\0octet\0blksize\0"), &p), TFTP_PARSE_OPTION_NO_VALUE);
	assert_int_equal(tftp_parse(PKT("\0\1f\0octet\0blksize\0001024"), &p),
			 TFTP_PARSE_OPTION_NO_VALUE);
	/* One trailing NUL of padding is tolerated. */
	assert_int_equal(tftp_parse(PKT("\0\1f\0octet\0\0"), &p), TFTP_PARSE_OK);
}

static void test_long_names(void **state)
{
	uint8_t buf[1200];
	struct tftp_packet p;

	(void)state;
	for (size_t namelen = 510; namelen <= 1100; namelen += 1) {
		size_t len;

		buf[0] = 0;
		buf[1] = 1;
		memset(buf + 2, 'a', namelen);
		buf[2 + namelen] = 0;
		memcpy(buf + 3 + namelen, "octet", 6);
		len = 3 + namelen + 6;
		assert_int_equal(tftp_parse(buf, len, &p),
				 namelen <= TFTP_MAX_NAME ? TFTP_PARSE_OK : TFTP_PARSE_NAME_TOO_LONG);
		if (namelen > 530)
			namelen += 100;
	}
}

static void test_too_many_options(void **state)
{
	uint8_t buf[1024];
	size_t len = 0;
	struct tftp_packet p;

	(void)state;
	memcpy(buf, "\0\1f\0octet\0", 10);
	len = 10;
	for (int i = 0; i <= TFTP_MAX_OPTIONS; i++) {
		memcpy(buf + len, "x\0001\0", 4);
		len += 4;
	}
	assert_int_equal(tftp_parse(buf, len, &p), TFTP_PARSE_TOO_MANY_OPTIONS);
}

static void test_data_ack_error(void **state)
{
	struct tftp_packet p;

	(void)state;
	assert_int_equal(tftp_parse(PKT("\0\3\xff\xfe" "abc"), &p), TFTP_PARSE_OK);
	assert_int_equal(p.u.data.block, 0xfffe);
	assert_int_equal(p.u.data.len, 3);
	assert_int_equal(tftp_parse(PKT("\0\4\1\2"), &p), TFTP_PARSE_OK);
	assert_int_equal(p.u.ack.block, 0x102);
	assert_int_equal(tftp_parse(PKT("\0\5\0\10abort\0"), &p), TFTP_PARSE_OK);
	assert_int_equal(p.u.error.code, 8);
	assert_string_equal(p.u.error.msg, "abort");
	assert_int_equal(tftp_parse(PKT("\0\5\0\10abort"), &p), TFTP_PARSE_OK);
	assert_string_equal(p.u.error.msg, "");
}

static void test_builders(void **state)
{
	uint8_t buf[64];
	char longmsg[200];

	(void)state;
	assert_int_equal(tftp_build_ack(buf, sizeof(buf), 0xabcd), 4);
	assert_memory_equal(buf, "\0\4\xab\xcd", 4);
	assert_int_equal(tftp_build_error(buf, sizeof(buf), 1, "nope"), 9);
	assert_memory_equal(buf, "\0\5\0\1nope\0", 9);
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = 0;
	assert_int_equal(tftp_build_error(buf, sizeof(buf), 0, longmsg), sizeof(buf));
	assert_int_equal(buf[sizeof(buf) - 1], 0);
	assert_int_equal(tftp_build_ack(buf, 3, 1), 0);
}

/* ---- negotiation ---- */

static const struct tftp_limits limits = { .max_blksize = 1468, .max_window = 16 };

struct neg_case {
	const char *opts[8]; /* name, value pairs, NULL-terminated */
	enum tftp_negotiate_status status;
	uint16_t blksize, windowsize;
	uint8_t timeout;
	const char *oack;    /* expected OACK body (after the opcode), '|' for NUL */
	unsigned ignored;
};

static const struct neg_case neg_cases[] = {
	{ { NULL }, TFTP_NEG_OK, 512, 1, 0, "", 0 },
	{ { "blksize", "1024", NULL }, TFTP_NEG_OK, 1024, 1, 0, "blksize|1024|", 0 },
	{ { "BLKSIZE", "1468", "tsize", "0", NULL }, TFTP_NEG_OK, 1468, 1, 0,
	  "blksize|1468|tsize|1000|", 0 },
	/* Larger than our cap: the server answers smaller (RFC 2348). */
	{ { "blksize", "65464", NULL }, TFTP_NEG_OK, 1468, 1, 0, "blksize|1468|", 0 },
	{ { "blksize", "65465", NULL }, TFTP_NEG_OK, 1468, 1, 0, "blksize|1468|", 0 },
	{ { "blksize", "4294967296", NULL }, TFTP_NEG_OK, 1468, 1, 0, "blksize|1468|", 0 },
	{ { "blksize", "99999999999999999999999", NULL }, TFTP_NEG_OK, 1468, 1, 0, "blksize|1468|", 0 },
	/* Invalid values are left out of the OACK; the client keeps defaults. */
	{ { "blksize", "0", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "blksize", "7", "tsize", "0", NULL }, TFTP_NEG_OK, 512, 1, 0, "tsize|1000|", 1 },
	{ { "blksize", "8", "tsize", "0", "windowsize", "4", NULL }, TFTP_NEG_OK, 8, 4, 0,
	  "blksize|8|tsize|1000|windowsize|4|", 0 },
	{ { "blksize", "12ab", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "blksize", "-1", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "blksize", " 512", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "blksize", "", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "blksize", "1024", "blksize", "512", NULL }, TFTP_NEG_DUPLICATE, 0, 0, 0, NULL, 0 },
	{ { "blksize", "x", "blksize", "512", NULL }, TFTP_NEG_DUPLICATE, 0, 0, 0, NULL, 1 },
	{ { "timeout", "0", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "timeout", "256", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "timeout", "255", NULL }, TFTP_NEG_OK, 512, 1, 255, "timeout|255|", 0 },
	{ { "timeout", "1", NULL }, TFTP_NEG_OK, 512, 1, 1, "timeout|1|", 0 },
	{ { "windowsize", "0", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 1 },
	{ { "windowsize", "65535", NULL }, TFTP_NEG_OK, 512, 16, 0, "windowsize|16|", 0 },
	{ { "windowsize", "16", "blksize", "1468", NULL }, TFTP_NEG_OK, 1468, 16, 0,
	  "blksize|1468|windowsize|16|", 0 },
	/* Unknown options are ignored without counting (RFC 2347). */
	{ { "multicast", "", "rollover", "0", NULL }, TFTP_NEG_OK, 512, 1, 0, "", 0 },
};

static void test_negotiation_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
		const struct neg_case *c = &neg_cases[i];
		struct tftp_request req = { .filename = "f", .filename_len = 1 };
		struct tftp_params p;
		uint8_t oack[TFTP_OACK_MAX];
		size_t oack_len;
		unsigned ignored;
		enum tftp_negotiate_status st;

		for (unsigned k = 0; c->opts[2 * k]; k++) {
			req.opts[k].name = c->opts[2 * k];
			req.opts[k].value = c->opts[2 * k + 1];
			req.nopts++;
		}
		st = tftp_negotiate(&req, false, 1000, &limits, &p, oack, &oack_len, &ignored);
		assert_int_equal(st, c->status);
		assert_int_equal(ignored, c->ignored);
		if (st != TFTP_NEG_OK)
			continue;
		assert_int_equal(p.blksize, c->blksize);
		assert_int_equal(p.windowsize, c->windowsize);
		assert_int_equal(p.timeout_s, c->timeout);
		if (c->oack[0] == '\0') {
			assert_int_equal(oack_len, 0);
			assert_false(p.has_options);
		} else {
			char expect[TFTP_OACK_MAX];
			size_t n = strlen(c->oack);

			for (size_t j = 0; j < n; j++)
				expect[j] = c->oack[j] == '|' ? '\0' : c->oack[j];
			assert_true(p.has_options);
			assert_int_equal(oack_len, n + 2);
			assert_memory_equal(oack, "\0\6", 2);
			assert_memory_equal(oack + 2, expect, n);
		}
	}
}

static void test_write_tsize_limit(void **state)
{
	struct tftp_limits lim = { .max_blksize = 1468, .max_window = 16, .max_file_size = 100 };
	struct tftp_option o = { "tsize", "101" };
	struct tftp_request req = { .filename = "f", .filename_len = 1, .nopts = 1 };
	struct tftp_params p;
	uint8_t oack[TFTP_OACK_MAX];
	size_t len;
	unsigned ignored;

	(void)state;
	req.opts[0] = o;
	assert_int_equal(tftp_negotiate(&req, true, 0, &lim, &p, oack, &len, &ignored),
			 TFTP_NEG_TOO_LARGE);
	req.opts[0].value = "100";
	assert_int_equal(tftp_negotiate(&req, true, 0, &lim, &p, oack, &len, &ignored), TFTP_NEG_OK);
	assert_int_equal(p.tsize, 100); /* WRQ echoes the client's size */
	assert_memory_equal(oack + 2, "tsize\000100\0", 10);
}

/* Many huge option values never push the OACK past 512 bytes. */
static void test_oack_bounded(void **state)
{
	struct tftp_request req = { .filename = "f", .filename_len = 1 };
	const char *names[] = { "blksize", "tsize", "timeout", "windowsize" };
	struct tftp_params p;
	uint8_t oack[TFTP_OACK_MAX];
	size_t len;
	unsigned ignored;

	(void)state;
	for (int i = 0; i < 4; i++) {
		req.opts[i].name = names[i];
		req.opts[i].value = "184467440737095516150000";
		req.nopts++;
	}
	assert_int_equal(tftp_negotiate(&req, false, UINT64_MAX, &limits, &p, oack, &len, &ignored),
			 TFTP_NEG_OK);
	assert_true(len <= TFTP_OACK_MAX);
	assert_int_equal(ignored, 1); /* timeout out of range */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_packets),
		cmocka_unit_test(test_bad_opcodes),
		cmocka_unit_test(test_request_forms),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_too_many_options),
		cmocka_unit_test(test_data_ack_error),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_negotiation_table),
		cmocka_unit_test(test_write_tsize_limit),
		cmocka_unit_test(test_oack_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
