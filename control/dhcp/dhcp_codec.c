/* DHCP message parsing (RFC 2131, 2132, 3396).
 *
 * Two passes over the option areas: the first checks every length and
 * sums the bytes per code, the second copies each code's pieces next to
 * each other, so a long option split by the sender (RFC 3396) reads as one
 * run. The content of known options is checked afterwards
 * (dhcp_options.c).
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <arpa/inet.h>
#include <string.h>

static const char *const err_names[DHCP_ERR__COUNT] = {
	[DHCP_OK] = "ok",
	[DHCP_ERR_SHORT] = "short",
	[DHCP_ERR_TOO_LONG] = "too_long",
	[DHCP_ERR_OP] = "bad_op",
	[DHCP_ERR_HLEN] = "bad_hlen",
	[DHCP_ERR_COOKIE] = "bad_cookie",
	[DHCP_ERR_OPT_NOLEN] = "opt_nolen",
	[DHCP_ERR_OPT_TRUNC] = "opt_trunc",
	[DHCP_ERR_NO_END] = "no_end",
	[DHCP_ERR_OVERLOAD_LEN] = "overload_len",
	[DHCP_ERR_OVERLOAD_VAL] = "overload_val",
	[DHCP_ERR_OVERLOAD_NESTED] = "overload_nested",
	[DHCP_ERR_OVL_FILE] = "overload_bad_file",
	[DHCP_ERR_OVL_SNAME] = "overload_bad_sname",
	[DHCP_ERR_MSGTYPE_DUP] = "msgtype_dup",
	[DHCP_ERR_MSGTYPE_LEN] = "msgtype_len",
	[DHCP_ERR_MAXSIZE_LEN] = "maxsize_len",
	[DHCP_ERR_MAXSIZE_SMALL] = "maxsize_small",
	[DHCP_ERR_CLIENTID_SHORT] = "clientid_short",
	[DHCP_ERR_CLIENTID_LONG] = "clientid_long",
	[DHCP_ERR_ADDR_LEN] = "addr_len",
	[DHCP_ERR_TIME_LEN] = "time_len",
	[DHCP_ERR_RELAY_SUBOPT] = "relay_subopt",
	[DHCP_ERR_VENDOR_SUBOPT] = "vendor_subopt",
	[DHCP_ERR_VENDOR_CLASS] = "vendor_class",
	[DHCP_ERR_ARCH_LEN] = "arch_len",
	[DHCP_ERR_NDI_LEN] = "ndi_len",
	[DHCP_ERR_UUID_LEN] = "uuid_len",
};

const char *dhcp_err_name(enum dhcp_err err)
{
	if ((unsigned)err >= DHCP_ERR__COUNT)
		return "unknown";
	return err_names[err];
}

/* One option area: the options field, or file/sname when overloaded. */
struct area {
	const uint8_t *p;
	size_t len;
	bool need_end;      /* the options field must end with END */
	bool allow_overload;
	enum dhcp_err bad;  /* what a malformed option here is reported as */
};

struct tally {
	uint16_t total[256];
	uint8_t count[256];
	uint8_t overload;
	bool seen_overload;
};

/* Pass one: check the TLV structure and count bytes per code. */
static enum dhcp_err area_scan(const struct area *a, struct tally *t)
{
	size_t i = 0;

	while (i < a->len) {
		uint8_t code = a->p[i];

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_OPT_END)
			return DHCP_OK;
		if (i + 1 >= a->len)
			return a->bad != DHCP_OK ? a->bad : DHCP_ERR_OPT_NOLEN;
		uint8_t olen = a->p[i + 1];
		if (olen > a->len - i - 2)
			return a->bad != DHCP_OK ? a->bad : DHCP_ERR_OPT_TRUNC;
		if (code == DHCP_OPT_OVERLOAD) {
			if (!a->allow_overload)
				return DHCP_ERR_OVERLOAD_NESTED;
			if (olen != 1 || t->seen_overload)
				return DHCP_ERR_OVERLOAD_LEN;
			t->overload = a->p[i + 2];
			t->seen_overload = true;
		}
		/* Sum bounded by DHCP_PARSE_MAX: no overflow of uint16. */
		t->total[code] = (uint16_t)(t->total[code] + olen);
		if (t->count[code] < UINT8_MAX)
			t->count[code]++;
		i += 2 + (size_t)olen;
	}
	return a->need_end ? DHCP_ERR_NO_END : DHCP_OK;
}

/* Pass two: append each option's bytes at its code's cursor. Only runs
 * over areas pass one accepted. */
static void area_copy(const struct area *a, struct dhcp_msg *m, uint16_t *cursor)
{
	size_t i = 0;

	while (i < a->len) {
		uint8_t code = a->p[i];

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_OPT_END)
			return;
		uint8_t olen = a->p[i + 1];
		memcpy(m->data + cursor[code], a->p + i + 2, olen);
		cursor[code] = (uint16_t)(cursor[code] + olen);
		i += 2 + (size_t)olen;
	}
}

static void hdr_read(struct dhcp_hdr *h, const uint8_t *buf)
{
	uint16_t v16;

	h->op = buf[0];
	h->htype = buf[1];
	h->hlen = buf[2];
	h->hops = buf[3];
	memcpy(&h->xid, buf + 4, 4);
	memcpy(&v16, buf + 8, 2);
	h->secs = ntohs(v16);
	memcpy(&v16, buf + 10, 2);
	h->flags = ntohs(v16);
	memcpy(&h->ciaddr, buf + 12, 4);
	memcpy(&h->yiaddr, buf + 16, 4);
	memcpy(&h->siaddr, buf + 20, 4);
	memcpy(&h->giaddr, buf + 24, 4);
	memcpy(h->chaddr, buf + 28, DHCP_CHADDR_LEN);
	memcpy(h->sname, buf + 44, DHCP_SNAME_LEN);
	memcpy(h->file, buf + 108, DHCP_FILE_LEN);
}

enum dhcp_err dhcp_msg_parse(struct dhcp_msg *m, const uint8_t *buf, size_t len)
{
	struct tally t;
	struct area areas[3];
	unsigned nareas = 0;
	uint32_t cookie;
	enum dhcp_err err;

	if (buf == NULL || len < DHCP_MIN_LEN)
		return DHCP_ERR_SHORT;
	if (len > DHCP_PARSE_MAX)
		return DHCP_ERR_TOO_LONG;
	if (buf[0] != DHCP_BOOTREQUEST && buf[0] != DHCP_BOOTREPLY)
		return DHCP_ERR_OP;
	if (buf[2] > DHCP_CHADDR_LEN)
		return DHCP_ERR_HLEN;
	memcpy(&cookie, buf + DHCP_FIXED_LEN, 4);
	if (ntohl(cookie) != DHCP_MAGIC)
		return DHCP_ERR_COOKIE;

	memset(m, 0, offsetof(struct dhcp_msg, data));
	hdr_read(&m->hdr, buf);
	memset(&t, 0, sizeof(t));

	areas[nareas++] = (struct area){ buf + DHCP_MIN_LEN, len - DHCP_MIN_LEN,
					 true, true, DHCP_OK };
	err = area_scan(&areas[0], &t);
	if (err != DHCP_OK)
		return err;
	if (t.seen_overload) {
		if (t.overload < DHCP_OVERLOAD_FILE || t.overload > DHCP_OVERLOAD_BOTH)
			return DHCP_ERR_OVERLOAD_VAL;
		/* RFC 3396: the joined value is options, then file, then sname. */
		if (t.overload & DHCP_OVERLOAD_FILE)
			areas[nareas++] = (struct area){ buf + 108, DHCP_FILE_LEN,
							 false, false, DHCP_ERR_OVL_FILE };
		if (t.overload & DHCP_OVERLOAD_SNAME)
			areas[nareas++] = (struct area){ buf + 44, DHCP_SNAME_LEN,
							 false, false, DHCP_ERR_OVL_SNAME };
		for (unsigned i = 1; i < nareas; i++) {
			err = area_scan(&areas[i], &t);
			if (err != DHCP_OK)
				return err;
		}
	}
	m->overload = t.overload;
	m->has_file = !(t.overload & DHCP_OVERLOAD_FILE);
	m->has_sname = !(t.overload & DHCP_OVERLOAD_SNAME);

	/* Lay the codes out back to back; the sum is at most len. */
	uint16_t cursor[256];
	uint32_t off = 0;
	for (unsigned c = 0; c < 256; c++) {
		m->opt_off[c] = (uint16_t)off;
		cursor[c] = (uint16_t)off;
		m->opt_len[c] = t.total[c];
		off += t.total[c];
		if (t.count[c] != 0 && c != DHCP_OPT_PAD && c != DHCP_OPT_END)
			m->present[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	m->data_len = (uint16_t)off;
	for (unsigned i = 0; i < nareas; i++)
		area_copy(&areas[i], m, cursor);

	if (t.count[DHCP_OPT_MSGTYPE] > 1)
		return DHCP_ERR_MSGTYPE_DUP;
	return dhcp_msg_check_options(m);
}

bool dhcp_msg_has(const struct dhcp_msg *m, uint8_t code)
{
	return (m->present[code / 8] >> (code % 8)) & 1;
}

const uint8_t *dhcp_msg_opt(const struct dhcp_msg *m, uint8_t code, size_t *len)
{
	if (!dhcp_msg_has(m, code)) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = m->opt_len[code];
	return m->data + m->opt_off[code];
}

bool dhcp_msg_opt_addr(const struct dhcp_msg *m, uint8_t code, uint32_t *addr)
{
	size_t len;
	const uint8_t *p = dhcp_msg_opt(m, code, &len);

	if (p == NULL || len != 4)
		return false;
	memcpy(addr, p, 4);
	return true;
}

bool dhcp_msg_opt_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *val)
{
	uint32_t v;

	if (!dhcp_msg_opt_addr(m, code, &v))
		return false;
	*val = ntohl(v);
	return true;
}
