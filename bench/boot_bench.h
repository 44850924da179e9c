/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pxecast-bench: simulated PXE clients, end to end (ROM DHCP, TFTP boot
 * file, iPXE DHCP, HTTP script, kernel, initrd).
 *
 * This header holds the pieces that know no I/O, so cmocka and libFuzzer
 * drive them with byte arrays: Ethernet/IPv4/UDP framing for DHCP before
 * a client has an address, the firmware-like DHCP requests (built and
 * parsed with control/dhcp's codec: one piece of code for both ends), the
 * HTTP response head, URLs and iPXE scripts; the TFTP receiver engine is
 * in tftp_rx.h (pxecast-tftp-load uses it too).
 */
#ifndef PXECAST_BENCH_BOOT_H
#define PXECAST_BENCH_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/dhcp/dhcp.h"
#include "tftp_rx.h"

/* ---- Ethernet + IPv4 + UDP (boot_frame.c) ---- */

#define FRAME_HDR_LEN (14 + 20 + 8)
#define FRAME_MAX 1514

/* A frame from src_mac to dst_mac carrying payload in UDP over IPv4 (no
 * IP options, DF clear, TTL 64, both checksums). Addresses in network
 * order, ports in host order. Returns the frame length, 0 when it does
 * not fit in cap. */
size_t frame_build_udp(uint8_t *out, size_t cap, const uint8_t src_mac[6],
		       const uint8_t dst_mac[6], uint32_t src_ip, uint32_t dst_ip,
		       uint16_t sport, uint16_t dport, const uint8_t *payload,
		       size_t len);

struct frame_udp {
	uint8_t dst_mac[6], src_mac[6];
	uint32_t src_ip, dst_ip;     /* network order */
	uint16_t sport, dport;       /* host order */
	const uint8_t *payload;      /* into the frame */
	size_t len;
};

/* Parse an Ethernet II frame holding an unfragmented IPv4 UDP datagram.
 * Every length (IHL, total length, UDP length) is checked against the
 * bytes present. 0, or -1 when it is not such a frame. */
int frame_parse_udp(const uint8_t *f, size_t n, struct frame_udp *out);

/* ---- DHCP client side (boot_dhcp.c) ---- */

enum boot_rom {
	ROM_UEFI,   /* EDK2 PxeBcDxe, arch 7 */
	ROM_BIOS,   /* a PXE 2.1 option ROM, arch 0 */
	ROM_IPXE,   /* iPXE after chain loading (user class "iPXE") */
};

struct dhcp_client_req {
	enum boot_rom rom;
	uint16_t arch;          /* option 93, for the iPXE that follows a ROM */
	uint8_t msgtype;        /* DHCPDISCOVER or DHCPREQUEST */
	uint8_t mac[6];
	uint8_t guid[16];
	uint32_t xid;           /* wire bytes */
	uint16_t secs;
	uint32_t requested_ip;  /* REQUEST: 50 (network order) */
	uint32_t server_id;     /* REQUEST: 54 */
};

/* The BOOTP payload as that firmware sends it (broadcast flag set).
 * Returns the length or a negative errno. */
int dhcp_client_build(const struct dhcp_client_req *r, uint8_t *out, size_t cap);

struct dhcp_client_reply {
	uint8_t msgtype;
	uint32_t xid;
	uint8_t mac[6];
	uint32_t yiaddr, server_id, mask, siaddr;   /* network order */
	uint32_t next_server;   /* siaddr, else 66 as an address, else 54 */
	char bootfile[256];     /* 67, else the file field; "" when none */
};

/* A BOOTREPLY from (buf, len), parsed with dhcp_msg_parse into *scratch
 * (large: the caller owns it). 0, or -1 when it is not a usable reply. */
int dhcp_client_parse(const uint8_t *buf, size_t len, struct dhcp_msg *scratch,
		      struct dhcp_client_reply *out);

/* ---- HTTP (boot_http.c) ---- */

struct http_head {
	int status;
	bool has_length;
	uint64_t length;
	bool close;           /* Connection: close, or HTTP/1.0 without keep-alive */
	bool chunked;
	size_t head_len;      /* bytes up to and including the blank line */
};

/* 1: a complete head, 0: more bytes needed, -1: malformed (or a head
 * over 16 KiB). */
int http_head_parse(const uint8_t *buf, size_t len, struct http_head *h);

#define URL_PATH_MAX 512

struct url {
	uint32_t ip;          /* network order: an IPv4 literal host */
	uint16_t port;        /* host order */
	char host[64];        /* as written, for Host: */
	char path[URL_PATH_MAX];
};

/* http://A.B.C.D[:port]/path (no user info, no names to resolve). A
 * reference without a scheme is resolved against base (may be NULL):
 * "/x" from the root, "x" beside the base path. 0 or -1. */
int url_parse(const char *s, size_t n, const struct url *base, struct url *out);

/* ---- iPXE script (boot_ipxe.c) ---- */

struct ipxe_script {
	char kernel[URL_PATH_MAX + 80];
	char initrd[URL_PATH_MAX + 80];
};

/* The image URLs of a script: first `kernel`/`chain`/`imgexec` and the
 * first `initrd`/`module`/`imgfetch`, options (--name x, -n x, --autofree)
 * skipped. 0 when "#!ipxe" starts it and a kernel was found, else -1. */
int ipxe_script_parse(const char *buf, size_t len, struct ipxe_script *out);

#endif
