/* DHCP codec: parse vectors (one per failed check), RFC 3396 joining,
 * option overload, reply layout and PXE option 43. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "control/dhcp/dhcp.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A BOOTREQUEST header, the cookie, then opts. */
static size_t mkpkt(uint8_t *buf, const uint8_t *opts, size_t optlen)
{
	memset(buf, 0, DHCP_MIN_LEN);
	buf[0] = 1;
	buf[1] = 1;
	buf[2] = 6;
	buf[4] = 0xde; buf[5] = 0xad; buf[6] = 0xbe; buf[7] = 0xef;
	buf[10] = 0x80; /* broadcast flag */
	memcpy(buf + 28, mac, 6);
	buf[236] = 99; buf[237] = 130; buf[238] = 83; buf[239] = 99;
	memcpy(buf + DHCP_MIN_LEN, opts, optlen);
	return DHCP_MIN_LEN + optlen;
}

static struct dhcp_msg msg;

struct vec {
	const char *name;
	uint8_t opts[300];
	size_t optlen;
	enum dhcp_err want;
};

#define V(n, e, ...) { n, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }), e }

static const struct vec vecs[] = {
	V("discover", DHCP_OK, 53, 1, 1, 55, 3, 1, 3, 67, 255),
	V("pad then end", DHCP_OK, 0, 0, 53, 1, 1, 0, 255, 12, 200),
	V("tag in last byte", DHCP_ERR_OPT_NOLEN, 53, 1, 1, 12),
	V("option past end", DHCP_ERR_OPT_TRUNC, 53, 1, 1, 12, 10, 'a', 'b'),
	V("no end", DHCP_ERR_NO_END, 53, 1, 1),
	V("overload len", DHCP_ERR_OVERLOAD_LEN, 52, 2, 1, 1, 255),
	V("overload twice", DHCP_ERR_OVERLOAD_LEN, 52, 1, 1, 52, 1, 1, 255),
	V("overload value", DHCP_ERR_OVERLOAD_VAL, 52, 1, 4, 255),
	V("duplicate 53", DHCP_ERR_MSGTYPE_DUP, 53, 1, 1, 53, 1, 3, 255),
	V("53 two bytes", DHCP_ERR_MSGTYPE_LEN, 53, 2, 1, 1, 255),
	V("57 one byte", DHCP_ERR_MAXSIZE_LEN, 53, 1, 1, 57, 1, 2, 255),
	V("57 under 576", DHCP_ERR_MAXSIZE_SMALL, 57, 2, 0x02, 0x3f, 255),
	V("57 at 576", DHCP_OK, 57, 2, 0x02, 0x40, 255),
	V("zero-length 61", DHCP_ERR_CLIENTID_SHORT, 61, 0, 255),
	V("one-byte 61", DHCP_ERR_CLIENTID_SHORT, 61, 1, 1, 255),
	V("50 three bytes", DHCP_ERR_ADDR_LEN, 50, 3, 10, 0, 0, 255),
	V("54 five bytes", DHCP_ERR_ADDR_LEN, 54, 5, 10, 0, 0, 1, 1, 255),
	V("51 two bytes", DHCP_ERR_TIME_LEN, 51, 2, 0, 1, 255),
	V("82 sub longer than parent", DHCP_ERR_RELAY_SUBOPT, 82, 4, 1, 5, 'a', 'b', 255),
	V("82 empty", DHCP_ERR_RELAY_SUBOPT, 82, 0, 255),
	V("82 good", DHCP_OK, 82, 6, 1, 2, 'a', 'b', 2, 0, 255),
	V("43 bad inner", DHCP_ERR_VENDOR_SUBOPT, 60, 9, 'P', 'X', 'E', 'C', 'l', 'i',
	  'e', 'n', 't', 43, 3, 6, 5, 8, 255),
	V("43 opaque without PXEClient", DHCP_OK, 43, 3, 6, 5, 8, 255),
	V("60 empty", DHCP_ERR_VENDOR_CLASS, 60, 0, 255),
	V("93 odd", DHCP_ERR_ARCH_LEN, 93, 3, 0, 0, 0, 255),
	V("93 empty", DHCP_ERR_ARCH_LEN, 93, 0, 255),
	V("94 short", DHCP_ERR_NDI_LEN, 94, 2, 1, 2, 255),
	V("97 short", DHCP_ERR_UUID_LEN, 97, 2, 0, 1, 255),
};

static void test_parse_vectors(void **state)
{
	uint8_t buf[600];
	(void)state;

	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		size_t len = mkpkt(buf, vecs[i].opts, vecs[i].optlen);
		enum dhcp_err got = dhcp_msg_parse(&msg, buf, len);
		if (got != vecs[i].want)
			fail_msg("%s: got %s want %s", vecs[i].name,
				 dhcp_err_name(got), dhcp_err_name(vecs[i].want));
	}
}

static void test_parse_header_checks(void **state)
{
	uint8_t buf[DHCP_PARSE_MAX + 1];
	uint8_t end = 255;
	size_t len = mkpkt(buf, &end, 1);
	(void)state;

	assert_int_equal(dhcp_msg_parse(&msg, buf, 239), DHCP_ERR_SHORT);
	assert_int_equal(dhcp_msg_parse(&msg, NULL, 0), DHCP_ERR_SHORT);
	memset(buf + len, 0, sizeof(buf) - len);
	assert_int_equal(dhcp_msg_parse(&msg, buf, sizeof(buf)), DHCP_ERR_TOO_LONG);
	buf[0] = 3;
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_ERR_OP);
	buf[0] = 1;
	buf[2] = 17;
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_ERR_HLEN);
	buf[2] = 16;
	buf[239] = 98;
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_ERR_COOKIE);
	buf[239] = 99;
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_OK);
	assert_int_equal(msg.msgtype, 0); /* plain BOOTP */
	assert_int_equal(msg.hdr.flags, DHCP_FLAG_BROADCAST);
	assert_memory_equal(msg.hdr.chaddr, mac, 6);
	assert_int_equal(dhcp_err_name(DHCP_ERR__COUNT)[0], 'u');
}

static void test_parse_long_clientid(void **state)
{
	uint8_t opts[300] = { 61, 255 };
	uint8_t buf[600];
	(void)state;

	memset(opts + 2, 'x', 255);
	opts[257] = 255;
	assert_int_equal(dhcp_msg_parse(&msg, buf, mkpkt(buf, opts, 258)),
			 DHCP_ERR_CLIENTID_LONG);
	opts[1] = DHCP_CLIENTID_MAX;
	opts[2 + DHCP_CLIENTID_MAX] = 255;
	assert_int_equal(dhcp_msg_parse(&msg, buf,
					mkpkt(buf, opts, 3 + DHCP_CLIENTID_MAX)),
			 DHCP_OK);
}

/* RFC 3396: pieces joined in the order options, file, sname. */
static void test_parse_join_overload(void **state)
{
	uint8_t opts[] = { 52, 1, 3, 12, 2, 'a', 'b', 53, 1, 1, 12, 1, 'c', 255 };
	uint8_t buf[600];
	size_t len = mkpkt(buf, opts, sizeof(opts));
	const uint8_t *p;
	size_t n;
	(void)state;

	/* file (108..) then sname (44..) */
	memcpy(buf + 108, (uint8_t[]){ 12, 2, 'd', 'e', 255 }, 5);
	memcpy(buf + 44, (uint8_t[]){ 0, 12, 1, 'f' }, 4); /* no END: area end */
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_OK);
	p = dhcp_msg_opt(&msg, DHCP_OPT_HOSTNAME, &n);
	assert_non_null(p);
	assert_int_equal(n, 6);
	assert_memory_equal(p, "abcdef", 6);
	assert_int_equal(msg.overload, 3);
	assert_false(msg.has_file);
	assert_false(msg.has_sname);
	assert_int_equal(msg.msgtype, DHCPDISCOVER);

	/* Malformed overloaded fields */
	memcpy(buf + 108, (uint8_t[]){ 12, 200, 'd' }, 3);
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_ERR_OVL_FILE);
	memcpy(buf + 108, (uint8_t[]){ 52, 1, 1, 255 }, 4);
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_ERR_OVERLOAD_NESTED);
	memset(buf + 108, 0, 128);
	buf[44 + 63] = 12; /* tag in the last byte of sname */
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_ERR_OVL_SNAME);

	/* Without option 52 the same bytes are names, not options. */
	uint8_t plain[] = { 53, 1, 1, 255 };
	len = mkpkt(buf, plain, sizeof(plain));
	memcpy(buf + 108, "pxelinux.0", 10);
	assert_int_equal(dhcp_msg_parse(&msg, buf, len), DHCP_OK);
	assert_true(msg.has_file);
	assert_false(dhcp_msg_has(&msg, DHCP_OPT_HOSTNAME));
	assert_null(dhcp_msg_opt(&msg, DHCP_OPT_HOSTNAME, &n));
	assert_int_equal(n, 0);
}

static void test_class_helpers(void **state)
{
	uint8_t opts[] = { 60, 32, 'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't', ':',
			   'A', 'r', 'c', 'h', ':', '0', '0', '0', '0', '7', ':',
			   'U', 'N', 'D', 'I', ':', '0', '0', '3', '0', '1', '6',
			   93, 2, 0, 7, 77, 4, 'i', 'P', 'X', 'E', 255 };
	uint8_t buf[600];
	(void)state;

	assert_int_equal(dhcp_msg_parse(&msg, buf, mkpkt(buf, opts, sizeof(opts))), DHCP_OK);
	assert_true(dhcp_msg_vendor_class_is(&msg, "PXEClient"));
	assert_false(dhcp_msg_vendor_class_is(&msg, "HTTPClient"));
	assert_int_equal(dhcp_msg_client_arch(&msg), 7);
	assert_true(dhcp_msg_user_class_is(&msg, "iPXE"));
	assert_false(dhcp_msg_user_class_is(&msg, "iPX"));

	uint8_t rfc3004[] = { 77, 9, 3, 'f', 'o', 'o', 4, 'i', 'P', 'X', 'E', 255 };
	assert_int_equal(dhcp_msg_parse(&msg, buf, mkpkt(buf, rfc3004, sizeof(rfc3004))),
			 DHCP_OK);
	assert_true(dhcp_msg_user_class_is(&msg, "iPXE"));
	assert_true(dhcp_msg_user_class_is(&msg, "foo"));
	assert_int_equal(dhcp_msg_client_arch(&msg), -1);
	uint8_t badlist[] = { 77, 3, 9, 'a', 'b', 255 };
	assert_int_equal(dhcp_msg_parse(&msg, buf, mkpkt(buf, badlist, sizeof(badlist))),
			 DHCP_OK);
	assert_false(dhcp_msg_user_class_is(&msg, "ab"));
}

static void parse_request(const uint8_t *opts, size_t n)
{
	static uint8_t buf[600];
	assert_int_equal(dhcp_msg_parse(&msg, buf, mkpkt(buf, opts, n)), DHCP_OK);
}

/* The codes of the options field in order, END excluded. */
static size_t option_order(const uint8_t *pkt, size_t len, uint8_t *codes)
{
	size_t i = DHCP_MIN_LEN, n = 0;

	while (i < len && pkt[i] != 255) {
		if (pkt[i] == 0) {
			i++;
			continue;
		}
		codes[n++] = pkt[i];
		i += 2 + pkt[i + 1];
	}
	return n;
}

static void test_build_order(void **state)
{
	static struct dhcp_build b;
	static struct dhcp_msg reply;
	uint8_t req[] = { 53, 1, 1, 55, 4, 6, 1, 3, 82,
			  82, 6, 1, 4, 'p', 'o', 'r', 't', 255 };
	uint8_t out[DHCP_REPLY_MAX], codes[64];
	size_t prl_len, r82_len;
	(void)state;

	parse_request(req, sizeof(req));
	const uint8_t *prl = dhcp_msg_opt(&msg, DHCP_OPT_PRL, &prl_len);
	const uint8_t *r82 = dhcp_msg_opt(&msg, DHCP_OPT_RELAY_AGENT, &r82_len);
	dhcp_build_reply(&b, &msg, DHCPOFFER);
	assert_int_equal(dhcp_build_add(&b, DHCP_OPT_RELAY_AGENT, r82, r82_len, 0), 0);
	dhcp_build_add_u32(&b, DHCP_OPT_LEASE_TIME, 3600, DHCP_OPTF_REQUIRED);
	dhcp_build_add_addr(&b, DHCP_OPT_ROUTER, htonl(0x0a000001), 0);
	dhcp_build_add(&b, DHCP_OPT_DOMAIN, "lab", 3, 0); /* not asked: left out */
	dhcp_build_add_addr(&b, DHCP_OPT_SUBNET_MASK, htonl(0xffffff00), 0);
	dhcp_build_add_addr(&b, DHCP_OPT_SERVER_ID, htonl(0x0a000002), DHCP_OPTF_REQUIRED);
	dhcp_build_add_addr(&b, DHCP_OPT_DNS, htonl(0x0a000003), 0);
	assert_int_equal(dhcp_build_add(&b, DHCP_OPT_DNS, "x", 1, 0), -EEXIST);
	b.err = 0;
	int len = dhcp_build_encode(&b, prl, prl_len, 0, out, sizeof(out));
	assert_int_equal(len, 300); /* padded to the BOOTP minimum */
	size_t n = option_order(out, (size_t)len, codes);
	uint8_t want[] = { 53, 54, 6, 1, 3, 51, 82 };
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(codes, want, sizeof(want));
	assert_int_equal(dhcp_msg_parse(&reply, out, (size_t)len), DHCP_OK);
	assert_int_equal(reply.hdr.op, DHCP_BOOTREPLY);
	assert_int_equal(reply.hdr.xid, msg.hdr.xid);
	assert_int_equal(reply.msgtype, DHCPOFFER);
	const uint8_t *e82 = dhcp_msg_opt(&reply, DHCP_OPT_RELAY_AGENT, &n);
	assert_int_equal(n, r82_len);
	assert_memory_equal(e82, r82, n);

	/* Without option 55 everything added goes out. */
	len = dhcp_build_encode(&b, NULL, 0, 0, out, sizeof(out));
	assert_true(len > 0);
	assert_int_equal(option_order(out, (size_t)len, codes), 8);
}

/* A 600-byte option is cut into 255+255+90 and joined back. */
static void test_build_long_option(void **state)
{
	static struct dhcp_build b;
	static struct dhcp_msg reply;
	uint8_t big[600], out[DHCP_REPLY_MAX], codes[64];
	uint8_t req[] = { 53, 1, 1, 57, 2, 0x05, 0xdc, 255 }; /* 1500 */
	(void)state;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	parse_request(req, sizeof(req));
	dhcp_build_reply(&b, &msg, DHCPACK);
	dhcp_build_add(&b, DHCP_OPT_IPXE, big, sizeof(big), DHCP_OPTF_REQUIRED);
	int len = dhcp_build_encode(&b, NULL, 0, msg.maxsize, out, sizeof(out));
	assert_true(len > 600);
	assert_int_equal(option_order(out, (size_t)len, codes), 4);
	assert_int_equal(codes[1], 175);
	assert_int_equal(codes[3], 175);
	assert_int_equal(dhcp_msg_parse(&reply, out, (size_t)len), DHCP_OK);
	size_t n;
	const uint8_t *p = dhcp_msg_opt(&reply, DHCP_OPT_IPXE, &n);
	assert_int_equal(n, sizeof(big));
	assert_memory_equal(p, big, sizeof(big));
	assert_int_equal(reply.overload, 0);

	/* At the default 576 it does not fit even with overload: required. */
	len = dhcp_build_encode(&b, NULL, 0, 0, out, sizeof(out));
	assert_int_equal(len, -ENOSPC);
	/* Optional, it is left out instead. */
	b.opt[1].flags = 0;
	len = dhcp_build_encode(&b, NULL, 0, 0, out, sizeof(out));
	assert_int_equal(len, 300);
	assert_int_equal(dhcp_msg_parse(&reply, out, (size_t)len), DHCP_OK);
	assert_false(dhcp_msg_has(&reply, DHCP_OPT_IPXE));
}

/* Past 548 bytes the overflow goes into file, then sname, with 52. */
static void test_build_overload(void **state)
{
	static struct dhcp_build b;
	static struct dhcp_msg reply;
	uint8_t blob[200], out[DHCP_REPLY_MAX];
	uint8_t req[] = { 53, 1, 1, 255 };
	(void)state;

	parse_request(req, sizeof(req));
	dhcp_build_reply(&b, &msg, DHCPOFFER);
	for (uint8_t c = 200; c < 203; c++) {
		memset(blob, c, sizeof(blob));
		dhcp_build_add(&b, c, blob, 100, 0);
	}
	dhcp_build_add(&b, 210, blob, 50, 0); /* total > 548 - 240 */
	int len = dhcp_build_encode(&b, NULL, 0, 0, out, sizeof(out));
	assert_true(len > 0 && len <= DHCP_DEFAULT_MAXLEN);
	assert_int_equal(dhcp_msg_parse(&reply, out, (size_t)len), DHCP_OK);
	assert_true(reply.overload != 0);
	for (uint8_t c = 200; c < 203; c++) {
		size_t n;
		const uint8_t *p = dhcp_msg_opt(&reply, c, &n);
		assert_non_null(p);
		assert_int_equal(n, 100);
		assert_int_equal(p[99], c);
	}
	assert_true(dhcp_msg_has(&reply, 210));

	/* With a boot file set, file is not free: something is left out. */
	memcpy(b.hdr.file, "undionly.kpxe", 13);
	memcpy(b.hdr.sname, "10.0.0.2", 8);
	len = dhcp_build_encode(&b, NULL, 0, 0, out, sizeof(out));
	assert_true(len > 0 && len <= DHCP_DEFAULT_MAXLEN);
	assert_int_equal(dhcp_msg_parse(&reply, out, (size_t)len), DHCP_OK);
	assert_int_equal(reply.overload, 0);
	assert_true(reply.has_file);
	assert_memory_equal(reply.hdr.file, "undionly.kpxe", 14);
	assert_false(dhcp_msg_has(&reply, 202) && dhcp_msg_has(&reply, 210) &&
		     dhcp_msg_has(&reply, 201));
}

static void test_pxe43_roundtrip(void **state)
{
	struct dhcp_pxe43 x, y;
	uint8_t buf[255];
	(void)state;

	memset(&x, 0, sizeof(x));
	x.has_discovery_control = true;
	x.discovery_control = DHCP_PXE_DC_USE_BOOTFILE;
	x.nservers = 1;
	x.servers[0].type = 0x8000;
	x.servers[0].nip = 1;
	x.servers[0].ip[0] = htonl(0x0a000002);
	x.nmenu = 1;
	x.menu[0].type = 0x8000;
	x.menu[0].desc = (const uint8_t *)"pxecast";
	x.menu[0].desc_len = 7;
	x.has_prompt = true;
	x.prompt = (const uint8_t *)"PXE";
	x.prompt_len = 3;
	x.has_boot_item = true;
	x.boot_item_type = 0x8000;
	x.has_mtftp = true;
	x.mtftp_ip = htonl(0xe0010101);
	x.mtftp_cport = 1758;
	x.mtftp_sport = 1759;
	x.mtftp_tmout = 1;
	x.mtftp_delay = 5;
	int n = dhcp_pxe43_build(&x, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(buf[n - 1], 255);
	assert_true(dhcp_subopts_valid(buf, (size_t)n, true));
	assert_int_equal(dhcp_pxe43_parse(&y, buf, (size_t)n), 0);
	assert_true(y.has_discovery_control);
	assert_int_equal(y.discovery_control, 8);
	assert_int_equal(y.nservers, 1);
	assert_int_equal(y.servers[0].ip[0], x.servers[0].ip[0]);
	assert_int_equal(y.nmenu, 1);
	assert_memory_equal(y.menu[0].desc, "pxecast", 7);
	assert_int_equal(y.prompt_len, 3);
	assert_true(y.has_boot_item);
	assert_int_equal(y.boot_item_type, 0x8000);
	assert_int_equal(y.mtftp_sport, 1759);
	assert_int_equal(y.mtftp_delay, 5);
	assert_int_equal(dhcp_pxe43_build(&x, buf, 10), -ENOSPC);

	/* Bad inner lengths */
	uint8_t bad1[] = { 6, 2, 8, 8, 255 };
	uint8_t bad2[] = { 8, 4, 0x80, 0, 2, 10 };
	uint8_t bad3[] = { 71, 9, 0 };
	assert_int_equal(dhcp_pxe43_parse(&y, bad1, sizeof(bad1)), -EINVAL);
	assert_int_equal(dhcp_pxe43_parse(&y, bad2, sizeof(bad2)), -EINVAL);
	assert_int_equal(dhcp_pxe43_parse(&y, bad3, sizeof(bad3)), -EINVAL);
	size_t sl;
	assert_null(dhcp_subopt_find(bad3, sizeof(bad3), true, 71, &sl));
	uint8_t good[] = { 0, 71, 4, 0x80, 0, 0, 0, 255 };
	assert_non_null(dhcp_subopt_find(good, sizeof(good), true, 71, &sl));
	assert_int_equal(sl, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_vectors),
		cmocka_unit_test(test_parse_header_checks),
		cmocka_unit_test(test_parse_long_clientid),
		cmocka_unit_test(test_parse_join_overload),
		cmocka_unit_test(test_class_helpers),
		cmocka_unit_test(test_build_order),
		cmocka_unit_test(test_build_long_option),
		cmocka_unit_test(test_build_overload),
		cmocka_unit_test(test_pxe43_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
