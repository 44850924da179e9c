/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DHCP as the firmware sends it. Requests are laid out by control/dhcp's
 * builder and replies read by its parser, so the bench and the server
 * share one codec. Option sets follow captures of the real clients:
 * EDK2's PxeBcDxe (UEFI x64), a PXE 2.1 BIOS ROM and iPXE.
 */
#include "boot_bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* EDK2 PxeBcDhcp4.c: the parameter request list of its DISCOVER. */
static const uint8_t prl_uefi[] = {
	1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43,
	50, 51, 54, 58, 59, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135,
};
/* A PXE 2.1 BIOS ROM (Intel Boot Agent). */
static const uint8_t prl_bios[] = {
	1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 67,
	128, 129, 130, 131, 132, 133, 134, 135,
};
/* iPXE (1.21): net.c dhcp_request_options. */
static const uint8_t prl_ipxe[] = {
	1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130,
	131, 132, 133, 134, 135, 175, 203,
};
/* iPXE's option 175: the features it was built with (encapsulated). */
static const uint8_t ipxe_features[] = {
	0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e,   /* bus id */
	0x13, 0x01, 0x01,                           /* HTTP */
	0x19, 0x01, 0x01,                           /* PXE extension */
	0x21, 0x01, 0x01,                           /* menu */
	0x23, 0x01, 0x01,                           /* EFI */
	0x24, 0x01, 0x01,                           /* PXE */
	0xeb, 0x03, 0x01, 0x15, 0x01,               /* version 1.21.1 */
};

int dhcp_client_build(const struct dhcp_client_req *r, uint8_t *out, size_t cap)
{
	static struct dhcp_build b;   /* 2 KiB: not on the stack per packet */
	uint8_t arch[2] = { (uint8_t)(r->arch >> 8), (uint8_t)r->arch };
	uint8_t ndi[3] = { 1, 3, r->rom == ROM_BIOS ? 0 : 16 };  /* UNDI 3.16 */
	uint8_t uuid[17];
	uint8_t cid[7];
	char vc[40];
	const uint8_t *prl;
	size_t prl_len;

	memset(&b, 0, sizeof(b));
	b.hdr.op = DHCP_BOOTREQUEST;
	b.hdr.htype = 1;
	b.hdr.hlen = 6;
	b.hdr.xid = r->xid;
	b.hdr.secs = r->secs;
	b.hdr.flags = DHCP_FLAG_BROADCAST;   /* no address yet: PXE spec, iPXE */
	memcpy(b.hdr.chaddr, r->mac, 6);

	dhcp_build_add_u8(&b, DHCP_OPT_MSGTYPE, r->msgtype, 0);
	if (r->msgtype == DHCPREQUEST) {
		dhcp_build_add_addr(&b, DHCP_OPT_REQUESTED_IP, r->requested_ip, 0);
		dhcp_build_add_addr(&b, DHCP_OPT_SERVER_ID, r->server_id, 0);
	}
	dhcp_build_add(&b, DHCP_OPT_MAXSIZE, (const uint8_t[]){ 0x05, 0xc0 }, 2, 0);
	switch (r->rom) {
	case ROM_UEFI: prl = prl_uefi; prl_len = sizeof(prl_uefi); break;
	case ROM_BIOS: prl = prl_bios; prl_len = sizeof(prl_bios); break;
	default: prl = prl_ipxe; prl_len = sizeof(prl_ipxe); break;
	}
	dhcp_build_add(&b, DHCP_OPT_PRL, prl, prl_len, 0);
	if (r->rom == ROM_IPXE) {
		cid[0] = 1;
		memcpy(cid + 1, r->mac, 6);
		dhcp_build_add(&b, DHCP_OPT_CLIENT_ID, cid, sizeof(cid), 0);
		dhcp_build_add(&b, DHCP_OPT_IPXE, ipxe_features,
			       sizeof(ipxe_features), 0);
		dhcp_build_add(&b, DHCP_OPT_USER_CLASS, "iPXE", 4, 0);
	}
	dhcp_build_add(&b, DHCP_OPT_CLIENT_ARCH, arch, 2, 0);
	dhcp_build_add(&b, DHCP_OPT_CLIENT_NDI, ndi, 3, 0);
	uuid[0] = 0;
	memcpy(uuid + 1, r->guid, 16);
	dhcp_build_add(&b, DHCP_OPT_UUID, uuid, sizeof(uuid), 0);
	/* EDK2: UNDI 003016; a BIOS ROM 002001; iPXE keeps the ROM's arch */
	snprintf(vc, sizeof(vc), "PXEClient:Arch:%05u:UNDI:%s", r->arch,
		 r->rom == ROM_BIOS || (r->rom == ROM_IPXE && r->arch == 0) ?
		 "002001" : "003016");
	dhcp_build_add(&b, DHCP_OPT_VENDOR_CLASS, vc, strlen(vc), 0);
	return dhcp_build_encode(&b, NULL, 0, 0, out, cap);
}

static void copy_name(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t k = 0;

	/* a NUL ends it (many servers pad); control bytes would break logs */
	for (size_t i = 0; i < n && p[i] != 0 && k + 1 < cap; i++)
		dst[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	dst[k] = '\0';
}

int dhcp_client_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m,
		      struct dhcp_client_reply *out)
{
	const uint8_t *p;
	size_t n;
	uint32_t a;

	memset(out, 0, sizeof(*out));
	if (dhcp_msg_parse(m, buf, len) != DHCP_OK)
		return -1;
	if (m->hdr.op != DHCP_BOOTREPLY || m->hdr.htype != 1 || m->hdr.hlen != 6)
		return -1;
	out->msgtype = m->msgtype;
	out->xid = m->hdr.xid;
	memcpy(out->mac, m->hdr.chaddr, 6);
	out->yiaddr = m->hdr.yiaddr;
	out->siaddr = m->hdr.siaddr;
	dhcp_msg_opt_addr(m, DHCP_OPT_SERVER_ID, &out->server_id);
	dhcp_msg_opt_addr(m, DHCP_OPT_SUBNET_MASK, &out->mask);
	out->next_server = out->siaddr;
	if (out->next_server == 0 &&
	    (p = dhcp_msg_opt(m, DHCP_OPT_TFTP_SERVER, &n)) != NULL && n > 0) {
		char s[64];

		copy_name(s, sizeof(s), p, n);
		if (inet_pton(AF_INET, s, &a) == 1)
			out->next_server = a;
	}
	if (out->next_server == 0)
		out->next_server = out->server_id;
	if ((p = dhcp_msg_opt(m, DHCP_OPT_BOOTFILE, &n)) != NULL)
		copy_name(out->bootfile, sizeof(out->bootfile), p, n);
	else if (m->has_file)
		copy_name(out->bootfile, sizeof(out->bootfile), m->hdr.file,
			  DHCP_FILE_LEN);
	return 0;
}
