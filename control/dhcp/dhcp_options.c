/* Content of the options PXE relies on: lengths of known options,
 * sub-option runs (43, 82), client class helpers, and the PXE vendor
 * sub-options of option 43 (PXE 2.1, RFC 4578).
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* Step over one sub-option at buf[*i]: 1 with its code and body, 0 at the
 * end (or at END when pad_end), -1 when a length runs past the parent. */
static int subopt_next(const uint8_t *buf, size_t len, bool pad_end, size_t *i,
		       uint8_t *code, size_t *sublen)
{
	while (*i < len && pad_end && buf[*i] == 0)
		(*i)++;
	if (*i >= len || (pad_end && buf[*i] == 255))
		return 0;
	if (len - *i < 2 || buf[*i + 1] > len - *i - 2)
		return -1;
	*code = buf[*i];
	*sublen = buf[*i + 1];
	*i += 2 + *sublen;
	return 1;
}

bool dhcp_subopts_valid(const uint8_t *buf, size_t len, bool pad_end)
{
	size_t i = 0, sublen;
	uint8_t code;
	int r;

	while ((r = subopt_next(buf, len, pad_end, &i, &code, &sublen)) > 0)
		;
	return r == 0;
}

const uint8_t *dhcp_subopt_find(const uint8_t *buf, size_t len, bool pad_end,
				uint8_t code, size_t *sublen)
{
	size_t i = 0, n;
	uint8_t c;

	while (subopt_next(buf, len, pad_end, &i, &c, &n) > 0)
		if (c == code) {
			*sublen = n;
			return buf + i - n;
		}
	return NULL;
}

/* Options whose length is fixed by their RFC, with the error for each. */
static const struct {
	uint8_t code;
	uint8_t len;
	enum dhcp_err err;
} fixed_len[] = {
	{ DHCP_OPT_MSGTYPE, 1, DHCP_ERR_MSGTYPE_LEN },
	{ DHCP_OPT_MAXSIZE, 2, DHCP_ERR_MAXSIZE_LEN },
	{ DHCP_OPT_REQUESTED_IP, 4, DHCP_ERR_ADDR_LEN },
	{ DHCP_OPT_SERVER_ID, 4, DHCP_ERR_ADDR_LEN },
	{ DHCP_OPT_LEASE_TIME, 4, DHCP_ERR_TIME_LEN },
	{ DHCP_OPT_T1, 4, DHCP_ERR_TIME_LEN },
	{ DHCP_OPT_T2, 4, DHCP_ERR_TIME_LEN },
	{ DHCP_OPT_CLIENT_NDI, 3, DHCP_ERR_NDI_LEN },
	{ DHCP_OPT_UUID, 17, DHCP_ERR_UUID_LEN },
};

enum dhcp_err dhcp_msg_check_options(struct dhcp_msg *m)
{
	const uint8_t *p;
	size_t len;

	for (size_t i = 0; i < sizeof(fixed_len) / sizeof(fixed_len[0]); i++) {
		p = dhcp_msg_opt(m, fixed_len[i].code, &len);
		if (p != NULL && len != fixed_len[i].len)
			return fixed_len[i].err;
	}
	p = dhcp_msg_opt(m, DHCP_OPT_MSGTYPE, &len);
	if (p != NULL)
		m->msgtype = p[0];
	p = dhcp_msg_opt(m, DHCP_OPT_MAXSIZE, &len);
	if (p != NULL) {
		m->maxsize = (uint16_t)(p[0] << 8 | p[1]);
		if (m->maxsize < DHCP_MIN_MAXSIZE)
			return DHCP_ERR_MAXSIZE_SMALL;
	}
	p = dhcp_msg_opt(m, DHCP_OPT_CLIENT_ID, &len);
	if (p != NULL && len < 2)
		return DHCP_ERR_CLIENTID_SHORT;
	if (p != NULL && len > DHCP_CLIENTID_MAX)
		return DHCP_ERR_CLIENTID_LONG;
	p = dhcp_msg_opt(m, DHCP_OPT_RELAY_AGENT, &len);
	if (p != NULL && (len == 0 || !dhcp_subopts_valid(p, len, false)))
		return DHCP_ERR_RELAY_SUBOPT;
	p = dhcp_msg_opt(m, DHCP_OPT_VENDOR_CLASS, &len);
	if (p != NULL && len == 0)
		return DHCP_ERR_VENDOR_CLASS;
	/* Option 43 is opaque unless the client says it speaks PXE. */
	p = dhcp_msg_opt(m, DHCP_OPT_VENDOR, &len);
	if (p != NULL && (dhcp_msg_vendor_class_is(m, "PXEClient") ||
			  dhcp_msg_vendor_class_is(m, "HTTPClient")) &&
	    !dhcp_subopts_valid(p, len, true))
		return DHCP_ERR_VENDOR_SUBOPT;
	p = dhcp_msg_opt(m, DHCP_OPT_CLIENT_ARCH, &len);
	if (p != NULL && (len == 0 || len % 2 != 0))
		return DHCP_ERR_ARCH_LEN;
	return DHCP_OK;
}

int dhcp_msg_client_arch(const struct dhcp_msg *m)
{
	size_t len;
	const uint8_t *p = dhcp_msg_opt(m, DHCP_OPT_CLIENT_ARCH, &len);

	if (p == NULL || len < 2)
		return -1;
	return p[0] << 8 | p[1];
}

bool dhcp_msg_vendor_class_is(const struct dhcp_msg *m, const char *prefix)
{
	size_t len, plen = strlen(prefix);
	const uint8_t *p = dhcp_msg_opt(m, DHCP_OPT_VENDOR_CLASS, &len);

	return p != NULL && len >= plen && memcmp(p, prefix, plen) == 0;
}

bool dhcp_msg_user_class_is(const struct dhcp_msg *m, const char *name)
{
	size_t len, nlen = strlen(name), i = 0;
	const uint8_t *p = dhcp_msg_opt(m, DHCP_OPT_USER_CLASS, &len);

	if (p == NULL)
		return false;
	if (len == nlen && memcmp(p, name, nlen) == 0)
		return true;
	/* RFC 3004: a list of (len, data) entries. */
	while (i < len) {
		size_t el = p[i];
		if (el > len - i - 1)
			return false;
		if (el == nlen && memcmp(p + i + 1, name, nlen) == 0)
			return true;
		i += 1 + el;
	}
	return false;
}

/* ---- option 43 ---- */

struct out {
	uint8_t *p;
	size_t cap, len;
	bool full;
};

static uint8_t *out_sub(struct out *o, uint8_t code, size_t len)
{
	if (len > 255 || o->full || o->cap - o->len < 2 + len) {
		o->full = true;
		return NULL;
	}
	o->p[o->len] = code;
	o->p[o->len + 1] = (uint8_t)len;
	o->len += 2 + len;
	return o->p + o->len - len;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int dhcp_pxe43_build(const struct dhcp_pxe43 *x, uint8_t *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };
	uint8_t *p;
	size_t n;

	if (x->has_mtftp) {
		if ((p = out_sub(&o, DHCP_PXE_MTFTP_IP, 4)) != NULL)
			memcpy(p, &x->mtftp_ip, 4);
		if ((p = out_sub(&o, DHCP_PXE_MTFTP_CPORT, 2)) != NULL)
			put16(p, x->mtftp_cport);
		if ((p = out_sub(&o, DHCP_PXE_MTFTP_SPORT, 2)) != NULL)
			put16(p, x->mtftp_sport);
		if ((p = out_sub(&o, DHCP_PXE_MTFTP_TMOUT, 1)) != NULL)
			p[0] = x->mtftp_tmout;
		if ((p = out_sub(&o, DHCP_PXE_MTFTP_DELAY, 1)) != NULL)
			p[0] = x->mtftp_delay;
	}
	if (x->has_discovery_control &&
	    (p = out_sub(&o, DHCP_PXE_DISCOVERY_CONTROL, 1)) != NULL)
		p[0] = x->discovery_control;
	if (x->nservers > DHCP_PXE_MAX_SERVERS || x->nmenu > DHCP_PXE_MAX_MENU)
		return -EINVAL;
	n = 0;
	for (unsigned i = 0; i < x->nservers; i++) {
		if (x->servers[i].nip > DHCP_PXE_MAX_SERVER_IPS)
			return -EINVAL;
		n += 3 + 4 * (size_t)x->servers[i].nip;
	}
	if (n > 0 && (p = out_sub(&o, DHCP_PXE_BOOT_SERVERS, n)) != NULL) {
		for (unsigned i = 0; i < x->nservers; i++) {
			put16(p, x->servers[i].type);
			p[2] = x->servers[i].nip;
			memcpy(p + 3, x->servers[i].ip, 4 * (size_t)x->servers[i].nip);
			p += 3 + 4 * (size_t)x->servers[i].nip;
		}
	}
	n = 0;
	for (unsigned i = 0; i < x->nmenu; i++)
		n += 3 + (size_t)x->menu[i].desc_len;
	if (n > 0 && (p = out_sub(&o, DHCP_PXE_BOOT_MENU, n)) != NULL) {
		for (unsigned i = 0; i < x->nmenu; i++) {
			put16(p, x->menu[i].type);
			p[2] = x->menu[i].desc_len;
			if (x->menu[i].desc_len > 0)
				memcpy(p + 3, x->menu[i].desc, x->menu[i].desc_len);
			p += 3 + (size_t)x->menu[i].desc_len;
		}
	}
	if (x->has_prompt &&
	    (p = out_sub(&o, DHCP_PXE_MENU_PROMPT, 1 + (size_t)x->prompt_len)) != NULL) {
		p[0] = x->prompt_timeout;
		if (x->prompt_len > 0)
			memcpy(p + 1, x->prompt, x->prompt_len);
	}
	if (x->has_boot_item && (p = out_sub(&o, DHCP_PXE_BOOT_ITEM, 4)) != NULL) {
		put16(p, x->boot_item_type);
		put16(p + 2, x->boot_item_layer);
	}
	if (o.full || o.len >= o.cap)
		return -ENOSPC;
	buf[o.len++] = DHCP_OPT_END;
	return (int)o.len;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One sub-option into x; false when its length is wrong. */
static bool pxe43_take(struct dhcp_pxe43 *x, uint8_t code, const uint8_t *p, size_t n)
{
	size_t i;

	switch (code) {
	case DHCP_PXE_MTFTP_IP:
		if (n != 4)
			return false;
		memcpy(&x->mtftp_ip, p, 4);
		x->has_mtftp = true;
		return true;
	case DHCP_PXE_MTFTP_CPORT:
	case DHCP_PXE_MTFTP_SPORT:
		if (n != 2)
			return false;
		*(code == DHCP_PXE_MTFTP_CPORT ? &x->mtftp_cport : &x->mtftp_sport) = get16(p);
		return true;
	case DHCP_PXE_MTFTP_TMOUT:
	case DHCP_PXE_MTFTP_DELAY:
	case DHCP_PXE_DISCOVERY_CONTROL:
		if (n != 1)
			return false;
		if (code == DHCP_PXE_MTFTP_TMOUT)
			x->mtftp_tmout = p[0];
		else if (code == DHCP_PXE_MTFTP_DELAY)
			x->mtftp_delay = p[0];
		else {
			x->discovery_control = p[0];
			x->has_discovery_control = true;
		}
		return true;
	case DHCP_PXE_BOOT_SERVERS:
		for (i = 0; i < n;) {
			if (n - i < 3 || (size_t)p[i + 2] * 4 > n - i - 3)
				return false;
			if (x->nservers < DHCP_PXE_MAX_SERVERS) {
				unsigned k = x->nservers++;
				uint8_t nip = p[i + 2] < DHCP_PXE_MAX_SERVER_IPS ?
					      p[i + 2] : DHCP_PXE_MAX_SERVER_IPS;
				x->servers[k].type = get16(p + i);
				x->servers[k].nip = nip;
				memcpy(x->servers[k].ip, p + i + 3, 4 * (size_t)nip);
			}
			i += 3 + 4 * (size_t)p[i + 2];
		}
		return true;
	case DHCP_PXE_BOOT_MENU:
		for (i = 0; i < n;) {
			if (n - i < 3 || p[i + 2] > n - i - 3)
				return false;
			if (x->nmenu < DHCP_PXE_MAX_MENU) {
				unsigned k = x->nmenu++;
				x->menu[k].type = get16(p + i);
				x->menu[k].desc_len = p[i + 2];
				x->menu[k].desc = p + i + 3;
			}
			i += 3 + (size_t)p[i + 2];
		}
		return true;
	case DHCP_PXE_MENU_PROMPT:
		if (n < 1)
			return false;
		x->has_prompt = true;
		x->prompt_timeout = p[0];
		x->prompt_len = (uint8_t)(n - 1);
		x->prompt = p + 1;
		return true;
	case DHCP_PXE_BOOT_ITEM:
		if (n != 4)
			return false;
		x->has_boot_item = true;
		x->boot_item_type = get16(p);
		x->boot_item_layer = get16(p + 2);
		return true;
	default:
		return true;
	}
}

int dhcp_pxe43_parse(struct dhcp_pxe43 *x, const uint8_t *buf, size_t len)
{
	size_t i = 0;

	memset(x, 0, sizeof(*x));
	while (i < len) {
		if (buf[i] == 0) {
			i++;
			continue;
		}
		if (buf[i] == 255)
			return 0;
		if (len - i < 2 || buf[i + 1] > len - i - 2)
			return -EINVAL;
		if (!pxe43_take(x, buf[i], buf + i + 2, buf[i + 1]))
			return -EINVAL;
		i += 2 + (size_t)buf[i + 1];
	}
	return 0;
}
