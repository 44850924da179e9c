/* pxecast-bench parsers and engines: Ethernet/IPv4/UDP framing, the
 * firmware DHCP requests and reply reading (through control/dhcp's codec),
 * the TFTP receiver, TFTP options, HTTP heads, URLs and iPXE scripts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/boot_bench.h"

static const uint8_t mac[6] = { 0x02, 0x70, 0x78, 0x00, 0x01, 0x02 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static struct dhcp_msg msg;

/* a literal and its length, the final NUL included (it ends the last value) */
#define LIT(s) (const uint8_t *)(s), sizeof(s)

/* ---------------------------------------------------------------- frames */

static void test_frame_roundtrip(void **state)
{
	uint8_t f[FRAME_MAX], payload[300];
	struct frame_udp u;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	n = frame_build_udp(f, sizeof(f), mac, bcast, htonl(0x0a000002),
			    htonl(0xffffffff), 68, 67, payload, sizeof(payload));
	assert_int_equal(n, FRAME_HDR_LEN + sizeof(payload));
	assert_int_equal(frame_parse_udp(f, n, &u), 0);
	assert_memory_equal(u.src_mac, mac, 6);
	assert_memory_equal(u.dst_mac, bcast, 6);
	assert_int_equal(u.sport, 68);
	assert_int_equal(u.dport, 67);
	assert_int_equal(u.src_ip, htonl(0x0a000002));
	assert_int_equal(u.len, sizeof(payload));
	assert_memory_equal(u.payload, payload, sizeof(payload));
	/* the IPv4 header checksum verifies to zero */
	{
		uint32_t sum = 0;

		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)(f[14 + i] << 8 | f[15 + i]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		assert_int_equal(sum, 0xffff);
	}
	/* too small a buffer: nothing built */
	assert_int_equal(frame_build_udp(f, 50, mac, bcast, 0, 0, 1, 2, payload, 100), 0);
}

static void test_frame_rejects(void **state)
{
	uint8_t f[FRAME_MAX], p[16] = { 0 };
	struct frame_udp u;
	size_t n;

	(void)state;
	n = frame_build_udp(f, sizeof(f), mac, bcast, 0, 0, 67, 68, p, sizeof(p));
	/* every truncation is refused, never read past */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(frame_parse_udp(f, k, &u), -1);
	assert_int_equal(frame_parse_udp(f, n, &u), 0);
	f[12] = 0x86;                      /* not IPv4 */
	assert_int_equal(frame_parse_udp(f, n, &u), -1);
	f[12] = 0x08;
	f[14 + 9] = 6;                     /* TCP */
	assert_int_equal(frame_parse_udp(f, n, &u), -1);
	f[14 + 9] = 17;
	f[14 + 6] = 0x20;                  /* more fragments */
	assert_int_equal(frame_parse_udp(f, n, &u), -1);
	f[14 + 6] = 0;
	f[14] = 0x44;                      /* IHL 16 bytes */
	assert_int_equal(frame_parse_udp(f, n, &u), -1);
	f[14] = 0x4f;                      /* IHL 60: past the total length */
	assert_int_equal(frame_parse_udp(f, n, &u), -1);
	f[14] = 0x45;
	f[14 + 20 + 4] = 0x10;             /* UDP length past the IP datagram */
	assert_int_equal(frame_parse_udp(f, n, &u), -1);
}

/* ---------------------------------------------------------------- DHCP */

static void test_dhcp_uefi_discover(void **state)
{
	struct dhcp_client_req q = { .rom = ROM_UEFI, .arch = 7, .msgtype = DHCPDISCOVER,
				     .xid = 0x11223344 };
	uint8_t out[DHCP_REPLY_MAX];
	const uint8_t *p;
	size_t n;
	int len;

	(void)state;
	memcpy(q.mac, mac, 6);
	memset(q.guid, 0xab, 16);
	len = dhcp_client_build(&q, out, sizeof(out));
	assert_true(len >= 300);
	assert_int_equal(dhcp_msg_parse(&msg, out, (size_t)len), DHCP_OK);
	assert_int_equal(msg.hdr.op, DHCP_BOOTREQUEST);
	assert_int_equal(msg.hdr.flags, DHCP_FLAG_BROADCAST);
	assert_int_equal(msg.msgtype, DHCPDISCOVER);
	assert_int_equal(msg.maxsize, 1472);
	assert_memory_equal(msg.hdr.chaddr, mac, 6);
	assert_int_equal(dhcp_msg_client_arch(&msg), 7);
	assert_true(dhcp_msg_vendor_class_is(&msg, "PXEClient:Arch:00007:UNDI:003016"));
	p = dhcp_msg_opt(&msg, DHCP_OPT_UUID, &n);
	assert_non_null(p);
	assert_int_equal(n, 17);
	assert_int_equal(p[0], 0);
	p = dhcp_msg_opt(&msg, DHCP_OPT_PRL, &n);
	assert_non_null(p);
	assert_int_equal(n, 34);            /* EDK2's list */
	assert_int_equal(p[n - 1], 135);
	assert_false(dhcp_msg_has(&msg, DHCP_OPT_USER_CLASS));
	assert_false(dhcp_msg_has(&msg, DHCP_OPT_REQUESTED_IP));
}

static void test_dhcp_ipxe_request(void **state)
{
	struct dhcp_client_req q = { .rom = ROM_IPXE, .arch = 0, .msgtype = DHCPREQUEST,
				     .requested_ip = htonl(0x0a4d0105),
				     .server_id = htonl(0x0a4d0001) };
	uint8_t out[DHCP_REPLY_MAX];
	uint32_t a;
	int len;

	(void)state;
	memcpy(q.mac, mac, 6);
	len = dhcp_client_build(&q, out, sizeof(out));
	assert_true(len > 0);
	assert_int_equal(dhcp_msg_parse(&msg, out, (size_t)len), DHCP_OK);
	assert_int_equal(msg.msgtype, DHCPREQUEST);
	assert_true(dhcp_msg_user_class_is(&msg, "iPXE"));
	assert_true(dhcp_msg_has(&msg, DHCP_OPT_IPXE));
	assert_true(dhcp_msg_has(&msg, DHCP_OPT_CLIENT_ID));
	assert_true(dhcp_msg_vendor_class_is(&msg, "PXEClient:Arch:00000:UNDI:002001"));
	assert_true(dhcp_msg_opt_addr(&msg, DHCP_OPT_REQUESTED_IP, &a));
	assert_int_equal(a, htonl(0x0a4d0105));
	assert_true(dhcp_msg_opt_addr(&msg, DHCP_OPT_SERVER_ID, &a));
	assert_int_equal(a, htonl(0x0a4d0001));
}

/* A reply built by the server's own builder reads back. */
static void test_dhcp_reply_parse(void **state)
{
	static struct dhcp_build b;
	struct dhcp_client_req q = { .rom = ROM_UEFI, .arch = 7, .msgtype = DHCPDISCOVER,
				     .xid = 0x01020304 };
	struct dhcp_client_reply r;
	uint8_t req[DHCP_REPLY_MAX], out[DHCP_REPLY_MAX];
	int len;

	(void)state;
	memcpy(q.mac, mac, 6);
	len = dhcp_client_build(&q, req, sizeof(req));
	assert_int_equal(dhcp_msg_parse(&msg, req, (size_t)len), DHCP_OK);
	dhcp_build_reply(&b, &msg, DHCPOFFER);
	b.hdr.yiaddr = htonl(0x0a4d0107);
	dhcp_build_add_addr(&b, DHCP_OPT_SERVER_ID, htonl(0x0a4d0001), 0);
	dhcp_build_add_addr(&b, DHCP_OPT_SUBNET_MASK, htonl(0xffff0000), 0);
	dhcp_build_add(&b, DHCP_OPT_BOOTFILE, "ipxe.efi", 8, 0);
	len = dhcp_build_encode(&b, NULL, 0, 1472, out, sizeof(out));
	assert_true(len > 0);
	assert_int_equal(dhcp_client_parse(out, (size_t)len, &msg, &r), 0);
	assert_int_equal(r.msgtype, DHCPOFFER);
	assert_int_equal(r.xid, q.xid);
	assert_memory_equal(r.mac, mac, 6);
	assert_int_equal(r.yiaddr, htonl(0x0a4d0107));
	assert_int_equal(r.server_id, htonl(0x0a4d0001));
	assert_int_equal(r.mask, htonl(0xffff0000));
	assert_int_equal(r.next_server, htonl(0x0a4d0001));   /* no siaddr, no 66 */
	assert_string_equal(r.bootfile, "ipxe.efi");
	/* a request is not a reply */
	assert_int_equal(dhcp_client_parse(req, sizeof(req), &msg, &r), -1);
	/* the file field, and siaddr, when there is no 67 (dnsmasq's way) */
	dhcp_build_reply(&b, &msg, DHCPACK);
	assert_int_equal(dhcp_msg_parse(&msg, req, (size_t)dhcp_client_build(&q, req, sizeof(req))), DHCP_OK);
	dhcp_build_reply(&b, &msg, DHCPACK);
	b.hdr.siaddr = htonl(0x0a4d0009);
	memcpy(b.hdr.file, "undi\001.kpxe", 11);
	len = dhcp_build_encode(&b, NULL, 0, 0, out, sizeof(out));
	assert_int_equal(dhcp_client_parse(out, (size_t)len, &msg, &r), 0);
	assert_int_equal(r.next_server, htonl(0x0a4d0009));
	assert_string_equal(r.bootfile, "undi?.kpxe");   /* control bytes masked */
}

/* ---------------------------------------------------------------- TFTP */

static size_t data(uint8_t *p, uint16_t block, size_t len)
{
	p[0] = 0;
	p[1] = 3;
	p[2] = (uint8_t)(block >> 8);
	p[3] = (uint8_t)block;
	memset(p + 4, 0x5a, len);
	return len + 4;
}

static void test_tftp_rrq_oack(void **state)
{
	uint8_t p[600];
	struct bench_oack o;
	size_t n;

	(void)state;
	n = bench_tftp_rrq(p, sizeof(p), "ipxe.efi", 1468, 4, true);
	assert_int_equal(n, 2 + 9 + 6 + 8 + 5 + 6 + 2 + 11 + 2);
	assert_memory_equal(p, "\0\001ipxe.efi\0octet\0blksize\0" "1468\0tsize\0" "0\0windowsize\0" "4", n);
	n = bench_tftp_rrq(p, sizeof(p), "f", 0, 0, true);    /* EDK2's probe */
	assert_memory_equal(p, "\0\001f\0octet\0tsize\0" "0", n);
	assert_int_equal(bench_tftp_rrq(p, 10, "ipxe.efi", 1468, 4, true), 0);
	assert_true(bench_oack_parse(LIT("\0\006tsize\0" "99\0BLKSIZE\0" "1468\0x\0y"), &o));
	assert_true(o.has_tsize);
	assert_int_equal(o.tsize, 99);
	assert_int_equal(o.blksize, 1468);
	assert_int_equal(o.window, 0);
	assert_false(bench_oack_parse((const uint8_t *)"\0\006tsize\0" "9", 9, &o));   /* unterminated */
	assert_false(bench_oack_parse((const uint8_t *)"\0\006tsize\0", 8, &o));       /* no value */
	assert_false(bench_oack_parse(LIT("\0\006tsize\0"), &o));        /* empty value */
	assert_false(bench_oack_parse(LIT("\0\006blksize\0" "0"), &o));
	assert_false(bench_oack_parse(LIT("\0\006windowsize\0-1"), &o));
}

static void test_tftp_window(void **state)
{
	struct tftp_rx rx;
	uint8_t p[1600], out[64];
	size_t ol;
	uint64_t now = 1000000000ull;

	(void)state;
	tftp_rx_init(&rx, 1468, 4, true, false);
	assert_int_equal(tftp_rx_input(&rx, now, 3000,
		LIT("\0\006blksize\0" "1468\0windowsize\0" "4\0tsize\0" "5972"), out, &ol),
		TFTP_RX_PROGRESS);
	assert_int_equal(ol, 4);
	assert_memory_equal(out, "\0\004\0\0", 4);   /* ACK 0 */
	/* a packet from another port is ignored */
	assert_int_equal(tftp_rx_input(&rx, now, 3001, p, data(p, 1, 1468), out, &ol), TFTP_RX_NONE);
	assert_int_equal(ol, 0);
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 1, 1468), out, &ol), TFTP_RX_PROGRESS);
	assert_int_equal(ol, 0);
	/* block 3 before 2: one ACK of 1, then silence until progress */
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 3, 1468), out, &ol), TFTP_RX_NONE);
	assert_memory_equal(out, "\0\004\0\001", 4);
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 4, 1468), out, &ol), TFTP_RX_NONE);
	assert_int_equal(ol, 0);
	assert_int_equal(rx.gaps, 2);
	/* after the ACK, 2..4 in order; 4 completes a window of 4 */
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 2, 1468), out, &ol), TFTP_RX_PROGRESS);
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 3, 1468), out, &ol), TFTP_RX_PROGRESS);
	assert_int_equal(ol, 0);
	/* a duplicate right after is not answered; a late one is, once */
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 2, 1468), out, &ol), TFTP_RX_NONE);
	assert_int_equal(ol, 0);
	assert_int_equal(tftp_rx_input(&rx, now + 2000000000ull, 3000, p, data(p, 2, 1468), out, &ol), TFTP_RX_NONE);
	assert_memory_equal(out, "\0\004\0\003", 4);
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 4, 1468), out, &ol), TFTP_RX_PROGRESS);
	/* the short block ends it and is ACKed */
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 5, 100), out, &ol), TFTP_RX_DONE);
	assert_memory_equal(out, "\0\004\0\005", 4);
	assert_int_equal(rx.bytes, 5972);
	assert_true(rx.has_tsize);
	/* the server lost the final ACK: it is repeated, 8 times at most */
	for (int k = 0; k < 8; k++) {
		assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 5, 100), out, &ol),
				 TFTP_RX_NONE);
		assert_int_equal(ol, 4);
		assert_memory_equal(out, "\0\004\0\005", 4);
	}
	assert_int_equal(tftp_rx_input(&rx, now, 3000, p, data(p, 5, 100), out, &ol), TFTP_RX_NONE);
	assert_int_equal(ol, 0);
}

static void test_tftp_probe_and_errors(void **state)
{
	struct tftp_rx rx;
	uint8_t p[1600], out[64];
	size_t ol;

	(void)state;
	tftp_rx_init(&rx, 0, 0, true, true);
	assert_int_equal(tftp_rx_input(&rx, 1, 4000, LIT("\0\006tsize\0" "1048576"), out, &ol),
			 TFTP_RX_DONE);
	assert_int_equal(rx.tsize, 1048576);
	assert_int_equal(out[1], 5);           /* ERROR */
	assert_int_equal(out[3], 8);           /* code 8: EDK2 ends its probe so */
	/* a blksize above what was asked is refused with error 8 */
	tftp_rx_init(&rx, 1468, 4, true, false);
	assert_int_equal(tftp_rx_input(&rx, 1, 4000, LIT("\0\006blksize\0" "9000"), out, &ol),
			 TFTP_RX_PROTOCOL);
	assert_int_equal(out[3], 8);
	/* ERROR from the server */
	tftp_rx_init(&rx, 1468, 4, true, false);
	assert_int_equal(tftp_rx_input(&rx, 1, 4000, LIT("\0\005\0\001nope"), out, &ol),
			 TFTP_RX_ERROR);
	assert_int_equal(rx.err_code, 1);
	/* no OACK: RFC 1350 defaults, a block over 512 is a protocol error */
	tftp_rx_init(&rx, 1468, 4, true, false);
	assert_int_equal(tftp_rx_input(&rx, 1, 4000, p, data(p, 1, 600), out, &ol), TFTP_RX_PROTOCOL);
	/* runts are ignored */
	tftp_rx_init(&rx, 1468, 4, true, false);
	assert_int_equal(tftp_rx_input(&rx, 1, 4000, p, 1, out, &ol), TFTP_RX_NONE);
	assert_int_equal(tftp_rx_input(&rx, 1, 4000, (const uint8_t *)"\0\003\0", 3, out, &ol), TFTP_RX_NONE);
}

static void test_tftp_rollover(void **state)
{
	struct tftp_rx rx;
	uint8_t p[64], out[64];
	size_t ol;

	(void)state;
	tftp_rx_init(&rx, 8, 1, false, false);
	assert_int_equal(tftp_rx_input(&rx, 1, 7, LIT("\0\006blksize\0" "8"), out, &ol),
			 TFTP_RX_PROGRESS);
	for (uint32_t blk = 1; blk <= 70000; blk++)
		assert_int_equal(tftp_rx_input(&rx, 1, 7, p, data(p, (uint16_t)blk, 8), out, &ol),
				 TFTP_RX_PROGRESS);
	assert_int_equal(tftp_rx_input(&rx, 1, 7, p, data(p, (uint16_t)70001, 0), out, &ol),
			 TFTP_RX_DONE);
	assert_int_equal(rx.bytes, 70000ull * 8);
}

/* ---------------------------------------------------------------- HTTP */

static int head(const char *s, struct http_head *h)
{
	return http_head_parse((const uint8_t *)s, strlen(s), h);
}

static void test_http_head(void **state)
{
	struct http_head h;

	(void)state;
	assert_int_equal(head("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 8388608\r\n"
			      "Connection: keep-alive\r\n\r\nBODY", &h), 1);
	assert_int_equal(h.status, 200);
	assert_true(h.has_length);
	assert_int_equal(h.length, 8388608);
	assert_false(h.close);
	assert_int_equal(h.head_len, strlen("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 8388608\r\n"
					    "Connection: keep-alive\r\n\r\n"));
	assert_int_equal(head("HTTP/1.1 404 Not Found\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n", &h), 1);
	assert_int_equal(h.status, 404);
	assert_true(h.close);
	assert_int_equal(head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", &h), 1);
	assert_true(h.close);                       /* 1.0 without keep-alive */
	assert_int_equal(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &h), 1);
	assert_true(h.chunked);
	assert_false(h.has_length);
	/* incomplete heads wait for more */
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", &h), 0);
	assert_int_equal(head("", &h), 0);
	/* malformed */
	assert_int_equal(head("HTTP/2 200 OK\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 2x0 OK\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", &h), -1);
}

static void test_url(void **state)
{
	struct url u, base;

	(void)state;
	assert_int_equal(url_parse("http://10.77.0.1/boot.ipxe", 26, NULL, &u), 0);
	assert_int_equal(u.ip, htonl(0x0a4d0001));
	assert_int_equal(u.port, 80);
	assert_string_equal(u.host, "10.77.0.1");
	assert_string_equal(u.path, "/boot.ipxe");
	assert_int_equal(url_parse("HTTP://10.0.0.2:8080", 20, NULL, &u), 0);
	assert_int_equal(u.port, 8080);
	assert_string_equal(u.host, "10.0.0.2:8080");
	assert_string_equal(u.path, "/");
	base = u;
	snprintf(base.path, sizeof(base.path), "/boot/a.ipxe");
	assert_int_equal(url_parse("vmlinuz", 7, &base, &u), 0);
	assert_string_equal(u.path, "/boot/vmlinuz");
	assert_int_equal(u.port, 8080);
	assert_int_equal(url_parse("/initrd.img", 11, &base, &u), 0);
	assert_string_equal(u.path, "/initrd.img");
	assert_int_equal(url_parse("vmlinuz", 7, NULL, &u), -1);         /* nothing to resolve against */
	assert_int_equal(url_parse("https://10.0.0.1/x", 18, NULL, &u), -1);
	assert_int_equal(url_parse("tftp://10.0.0.1/x", 17, &base, &u), -1);
	assert_int_equal(url_parse("http://boot.example/x", 21, NULL, &u), -1);   /* no names */
	assert_int_equal(url_parse("http://10.0.0.1:0/x", 19, NULL, &u), -1);
	assert_int_equal(url_parse("http:///x", 9, NULL, &u), -1);
	assert_int_equal(url_parse("http://10.0.0.1/a b", 19, NULL, &u), -1);
}

/* ---------------------------------------------------------------- iPXE */

static void test_ipxe_script(void **state)
{
	struct ipxe_script s;
	const char *t1 = "#!ipxe\r\n# comment: kernel nothing\r\n:label\r\n"
			 "kernel --name vmlinuz http://10.77.0.1/vmlinuz initrd=initrd.img quiet\r\n"
			 "initrd -n initrd.img initrd.img\r\ninitrd http://x/second\r\nboot\r\n";
	const char *t2 = "#!ipxe\nchain --autofree http://10.0.0.1/next.ipxe\n";

	(void)state;
	assert_int_equal(ipxe_script_parse(t1, strlen(t1), &s), 0);
	assert_string_equal(s.kernel, "http://10.77.0.1/vmlinuz");
	assert_string_equal(s.initrd, "initrd.img");       /* the first one */
	assert_int_equal(ipxe_script_parse(t2, strlen(t2), &s), 0);
	assert_string_equal(s.kernel, "http://10.0.0.1/next.ipxe");
	assert_string_equal(s.initrd, "");
	assert_int_equal(ipxe_script_parse("kernel x\n", 9, &s), -1);      /* no #!ipxe */
	assert_int_equal(ipxe_script_parse("#!ipxe\nboot\n", 12, &s), -1);  /* no kernel */
	assert_int_equal(ipxe_script_parse("#!ipxe\nkernel --name\n", 21, &s), -1);
	assert_int_equal(ipxe_script_parse("", 0, &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_rejects),
		cmocka_unit_test(test_dhcp_uefi_discover),
		cmocka_unit_test(test_dhcp_ipxe_request),
		cmocka_unit_test(test_dhcp_reply_parse),
		cmocka_unit_test(test_tftp_rrq_oack),
		cmocka_unit_test(test_tftp_window),
		cmocka_unit_test(test_tftp_probe_and_errors),
		cmocka_unit_test(test_tftp_rollover),
		cmocka_unit_test(test_http_head),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_ipxe_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
