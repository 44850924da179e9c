/* PXE boot policy: which file or URL a client gets (by user class,
 * vendor class and architecture, RFC 4578), template expansion, and the
 * boot fields of a reply (siaddr, sname/file, 66/67, 60, 43, 97) set from
 * one choice so they always agree.
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* RFC 4578 / IANA processor architecture types we route. */
enum {
	ARCH_BIOS = 0, ARCH_EFI_IA32 = 6, ARCH_EFI_X64 = 7, ARCH_EFI_BC = 9,
	ARCH_EFI_ARM32 = 10, ARCH_EFI_ARM64 = 11,
	ARCH_HTTP_X64 = 16, ARCH_HTTP_ARM64 = 19,
};

/* "PXEClient:Arch:00007:UNDI:003016": the arch field of option 60, for
 * old ROMs that send no option 93. -1 when absent. */
static int arch_from_vendor_class(const struct dhcp_msg *req)
{
	static const char *const prefixes[] = { "PXEClient:Arch:", "HTTPClient:Arch:" };
	size_t len;
	const uint8_t *p = dhcp_msg_opt(req, DHCP_OPT_VENDOR_CLASS, &len);

	for (size_t k = 0; p != NULL && k < 2; k++) {
		size_t pl = strlen(prefixes[k]);
		int v = 0;

		if (len < pl + 5 || memcmp(p, prefixes[k], pl) != 0)
			continue;
		for (size_t i = pl; i < pl + 5; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			v = v * 10 + (p[i] - '0');
		}
		return v;
	}
	return -1;
}

/* The first layer that sets the field at offset off. */
static const char *pick(const struct dhcp_boot *const *layers, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++) {
		const char *v;
		if (layers[i] == NULL)
			continue;
		memcpy(&v, (const char *)layers[i] + off, sizeof(v));
		if (v != NULL && v[0] != '\0')
			return v;
	}
	return NULL;
}

#define PICK(field) pick(layers, nlayers, offsetof(struct dhcp_boot, field))

static void ip_text(char *buf, size_t cap, uint32_t ip)
{
	const uint8_t *b = (const uint8_t *)&ip;

	snprintf(buf, cap, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

int dhcp_pxe_expand(char *out, size_t cap, const char *tmpl, uint32_t server_ip,
		    const uint8_t *mac, uint8_t hlen, uint32_t client_ip)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (cap == 0)
		return -1;
	for (const char *p = tmpl; *p != '\0';) {
		char val[3 * DHCP_CHADDR_LEN + 1];
		size_t skip = 0;

		val[0] = '\0';
		if (strncmp(p, "${server}", 9) == 0) {
			ip_text(val, sizeof(val), server_ip);
			skip = 9;
		} else if (strncmp(p, "${ip}", 5) == 0) {
			ip_text(val, sizeof(val), client_ip);
			skip = 5;
		} else if (strncmp(p, "${mac}", 6) == 0) {
			size_t v = 0;
			for (uint8_t i = 0; i < hlen && i < DHCP_CHADDR_LEN; i++) {
				if (i > 0)
					val[v++] = ':';
				val[v++] = hex[mac[i] >> 4];
				val[v++] = hex[mac[i] & 15];
			}
			val[v] = '\0';
			skip = 6;
		}
		size_t vl = skip ? strlen(val) : 1;
		if (o + vl >= cap) {
			out[0] = '\0';
			return -1;
		}
		if (skip) {
			memcpy(out + o, val, vl);
			p += skip;
		} else {
			out[o] = *p++;
		}
		o += vl;
	}
	out[o] = '\0';
	return (int)o;
}

void dhcp_pxe_choose(struct dhcp_boot_choice *out, const struct dhcp_msg *req,
		     const struct dhcp_boot *const *layers, size_t nlayers,
		     uint32_t server_ip, uint32_t client_ip)
{
	bool pxe = dhcp_msg_vendor_class_is(req, "PXEClient");
	bool http = dhcp_msg_vendor_class_is(req, "HTTPClient");
	int arch = dhcp_msg_client_arch(req);
	const char *tmpl = NULL;

	memset(out, 0, sizeof(*out));
	if (arch < 0)
		arch = arch_from_vendor_class(req);
	if (dhcp_msg_user_class_is(req, "iPXE") && (tmpl = PICK(ipxe)) != NULL) {
		/* The end of the chain: never the iPXE binary again. */
		out->kind = DHCP_BOOT_IPXE;
		out->vendor = pxe ? "PXEClient" : NULL;
	} else if (http || arch == ARCH_HTTP_X64 || arch == ARCH_HTTP_ARM64) {
		if (arch == ARCH_HTTP_ARM64)
			tmpl = PICK(httpboot_arm64);
		if (tmpl == NULL)
			tmpl = PICK(httpboot);
		out->kind = DHCP_BOOT_HTTP;
		out->vendor = "HTTPClient";
	} else if (pxe) {
		switch (arch < 0 ? ARCH_BIOS : arch) {
		case ARCH_BIOS: tmpl = PICK(bios); break;
		case ARCH_EFI_IA32: tmpl = PICK(efi32); break;
		case ARCH_EFI_X64:
		case ARCH_EFI_BC: tmpl = PICK(efi64); break;
		case ARCH_EFI_ARM32: tmpl = PICK(arm32); break;
		case ARCH_EFI_ARM64: tmpl = PICK(arm64); break;
		default: tmpl = NULL; break;
		}
		out->kind = DHCP_BOOT_PXE;
		out->vendor = "PXEClient";
	}
	if (tmpl == NULL || dhcp_pxe_expand(out->file, sizeof(out->file), tmpl, server_ip,
					    req->hdr.chaddr, req->hdr.hlen, client_ip) <= 0) {
		memset(out, 0, sizeof(*out));
		out->kind = DHCP_BOOT_NONE;
	}
}

void dhcp_pxe_add(struct dhcp_build *b, const struct dhcp_boot_choice *c,
		  const struct dhcp_msg *req, uint32_t server_ip, const struct dhcp_mtftp *mtftp)
{
	char sname[16];
	size_t flen = strlen(c->file), n;
	const uint8_t *p;

	if (c->kind == DHCP_BOOT_NONE)
		return;
	ip_text(sname, sizeof(sname), server_ip);
	b->hdr.siaddr = server_ip;
	memcpy(b->hdr.sname, sname, strlen(sname));
	/* A URL too long for the file field travels in option 67 alone. */
	if (flen < DHCP_FILE_LEN)
		memcpy(b->hdr.file, c->file, flen);
	dhcp_build_add(b, DHCP_OPT_TFTP_SERVER, sname, strlen(sname), DHCP_OPTF_REQUIRED);
	dhcp_build_add(b, DHCP_OPT_BOOTFILE, c->file, flen, DHCP_OPTF_REQUIRED);
	if (c->vendor != NULL)
		dhcp_build_add(b, DHCP_OPT_VENDOR_CLASS, c->vendor, strlen(c->vendor),
			       DHCP_OPTF_REQUIRED);
	if (c->vendor != NULL && strcmp(c->vendor, "PXEClient") == 0) {
		/* Legacy ROMs: boot the file named here, no discovery. An
		 * item the client chose (71, boot-server request) is echoed. */
		struct dhcp_pxe43 x;
		uint8_t v[64];
		int vl;

		memset(&x, 0, sizeof(x));
		p = dhcp_msg_opt(req, DHCP_OPT_VENDOR, &n);
		if (p != NULL) {
			struct dhcp_pxe43 in;
			if (dhcp_pxe43_parse(&in, p, n) == 0 && in.has_boot_item) {
				x.has_boot_item = true;
				x.boot_item_type = in.boot_item_type;
				x.boot_item_layer = in.boot_item_layer;
			}
		}
		x.has_discovery_control = true;
		x.discovery_control = DHCP_PXE_DC_USE_BOOTFILE;
		if (mtftp != NULL && mtftp->group_of != NULL &&
		    (x.mtftp_ip = mtftp->group_of(mtftp->ctx, c->file)) != 0) {
			x.has_mtftp = true;
			x.mtftp_cport = ntohs(mtftp->cport);
			x.mtftp_sport = ntohs(mtftp->sport);
			x.mtftp_tmout = mtftp->tmout;
			x.mtftp_delay = mtftp->delay;
		}
		vl = dhcp_pxe43_build(&x, v, sizeof(v));
		if (vl > 0)
			dhcp_build_add(b, DHCP_OPT_VENDOR, v, (size_t)vl, DHCP_OPTF_REQUIRED);
	}
	p = dhcp_msg_opt(req, DHCP_OPT_UUID, &n);
	if (p != NULL)
		dhcp_build_add(b, DHCP_OPT_UUID, p, n, DHCP_OPTF_REQUIRED);
}
