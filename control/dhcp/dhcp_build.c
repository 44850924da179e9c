/* DHCP reply layout (RFC 2131, 2132, 3396, 3046).
 *
 * Options are collected, then placed: first into the options field
 * alone; if something does not fit and file/sname are free, again with
 * option 52 so the overflow goes on into file, then sname (the order
 * RFC 3396 joins them in). Options longer than 255 bytes are cut into
 * consecutive instances; shorter ones are never cut, because clients
 * without RFC 3396 would read half an option.
 */
#include "control/dhcp/dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define BOOTP_MIN_LEN 300 /* some relays and ROMs drop shorter replies */

void dhcp_build_reply(struct dhcp_build *b, const struct dhcp_msg *req,
		      uint8_t msgtype)
{
	memset(b, 0, offsetof(struct dhcp_build, data));
	b->hdr.op = DHCP_BOOTREPLY;
	b->hdr.htype = req->hdr.htype;
	b->hdr.hlen = req->hdr.hlen;
	b->hdr.xid = req->hdr.xid;
	b->hdr.flags = req->hdr.flags;
	b->hdr.giaddr = req->hdr.giaddr;
	memcpy(b->hdr.chaddr, req->hdr.chaddr, DHCP_CHADDR_LEN);
	dhcp_build_add_u8(b, DHCP_OPT_MSGTYPE, msgtype, DHCP_OPTF_REQUIRED);
}

int dhcp_build_add(struct dhcp_build *b, uint8_t code, const void *data,
		   size_t len, unsigned flags)
{
	int err = 0;

	if (code == DHCP_OPT_PAD || code == DHCP_OPT_END || code == DHCP_OPT_OVERLOAD)
		err = -EINVAL;
	for (unsigned i = 0; err == 0 && i < b->nopt; i++)
		if (b->opt[i].code == code)
			err = -EEXIST;
	if (err == 0 && (b->nopt >= DHCP_BUILD_MAX_OPTS ||
			 len > (size_t)(DHCP_BUILD_DATA - b->used)))
		err = -ENOSPC;
	if (err != 0) {
		if (b->err == 0)
			b->err = err;
		return err;
	}
	b->opt[b->nopt].code = code;
	b->opt[b->nopt].flags = (uint8_t)flags;
	b->opt[b->nopt].off = b->used;
	b->opt[b->nopt].len = (uint16_t)len;
	b->nopt++;
	if (len > 0)
		memcpy(b->data + b->used, data, len);
	b->used = (uint16_t)(b->used + len);
	return 0;
}

int dhcp_build_add_u8(struct dhcp_build *b, uint8_t code, uint8_t v, unsigned flags)
{
	return dhcp_build_add(b, code, &v, 1, flags);
}

int dhcp_build_add_u32(struct dhcp_build *b, uint8_t code, uint32_t host_v,
		       unsigned flags)
{
	uint32_t v = htonl(host_v);

	return dhcp_build_add(b, code, &v, 4, flags);
}

int dhcp_build_add_addr(struct dhcp_build *b, uint8_t code, uint32_t net_addr,
			unsigned flags)
{
	return dhcp_build_add(b, code, &net_addr, 4, flags);
}

/* Where options go: up to three areas, each keeping a byte for END. */
struct layout {
	struct {
		uint8_t *p;
		size_t cap, pos;
	} area[3];
	unsigned nareas;
};

/* Place one option, or leave the layout untouched and return false. */
static bool layout_put(struct layout *l, uint8_t code, const uint8_t *d, size_t len)
{
	struct layout saved = *l;

	if (len <= 255) {
		for (unsigned i = 0; i < l->nareas; i++) {
			if (l->area[i].cap - l->area[i].pos >= 2 + len + 1) {
				uint8_t *p = l->area[i].p + l->area[i].pos;
				p[0] = code;
				p[1] = (uint8_t)len;
				memcpy(p + 2, d, len);
				l->area[i].pos += 2 + len;
				return true;
			}
		}
		return false;
	}
	/* RFC 3396: consecutive instances, in area order. */
	for (unsigned i = 0; i < l->nareas && len > 0; i++) {
		while (len > 0 && l->area[i].cap - l->area[i].pos >= 2 + 1 + 1) {
			size_t room = l->area[i].cap - l->area[i].pos - 3;
			size_t n = len < 255 ? len : 255;
			uint8_t *p = l->area[i].p + l->area[i].pos;

			if (n > room)
				n = room;
			p[0] = code;
			p[1] = (uint8_t)n;
			memcpy(p + 2, d, n);
			l->area[i].pos += 2 + n;
			d += n;
			len -= n;
		}
	}
	if (len > 0) {
		*l = saved;
		return false;
	}
	return true;
}

static int find_opt(const struct dhcp_build *b, uint8_t code)
{
	for (unsigned i = 0; i < b->nopt; i++)
		if (b->opt[i].code == code)
			return (int)i;
	return -1;
}

/* Place every option in order. *skipped counts optional ones left out;
 * -ENOSPC when a required one does not fit. */
static int layout_all(const struct dhcp_build *b, struct layout *l,
		      const uint8_t *prl, size_t prl_len, unsigned *skipped)
{
	uint8_t order[DHCP_BUILD_MAX_OPTS];
	bool taken[DHCP_BUILD_MAX_OPTS] = { false };
	unsigned n = 0;
	int i;

	*skipped = 0;
	/* 53, 54, then option 55's order, then required, 82 last. */
	static const uint8_t first[] = { DHCP_OPT_MSGTYPE, DHCP_OPT_SERVER_ID };
	for (size_t k = 0; k < sizeof(first); k++)
		if ((i = find_opt(b, first[k])) >= 0 && !taken[i]) {
			taken[i] = true;
			order[n++] = (uint8_t)i;
		}
	for (size_t k = 0; prl != NULL && k < prl_len; k++)
		if (prl[k] != DHCP_OPT_RELAY_AGENT &&
		    (i = find_opt(b, prl[k])) >= 0 && !taken[i]) {
			taken[i] = true;
			order[n++] = (uint8_t)i;
		}
	for (unsigned k = 0; k < b->nopt; k++)
		if (!taken[k] && b->opt[k].code != DHCP_OPT_RELAY_AGENT &&
		    (prl == NULL || (b->opt[k].flags & DHCP_OPTF_REQUIRED))) {
			taken[k] = true;
			order[n++] = (uint8_t)k;
		}
	if ((i = find_opt(b, DHCP_OPT_RELAY_AGENT)) >= 0)
		order[n++] = (uint8_t)i;

	for (unsigned k = 0; k < n; k++) {
		unsigned o = order[k];
		bool required = (b->opt[o].flags & DHCP_OPTF_REQUIRED) ||
				b->opt[o].code == DHCP_OPT_RELAY_AGENT;

		if (layout_put(l, b->opt[o].code, b->data + b->opt[o].off,
			       b->opt[o].len))
			continue;
		if (required)
			return -ENOSPC;
		(*skipped)++;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void hdr_write(uint8_t *out, const struct dhcp_hdr *h)
{
	uint16_t v16;
	uint32_t cookie = htonl(DHCP_MAGIC);

	out[0] = h->op;
	out[1] = h->htype;
	out[2] = h->hlen;
	out[3] = h->hops;
	memcpy(out + 4, &h->xid, 4);
	v16 = htons(h->secs);
	memcpy(out + 8, &v16, 2);
	v16 = htons(h->flags);
	memcpy(out + 10, &v16, 2);
	memcpy(out + 12, &h->ciaddr, 4);
	memcpy(out + 16, &h->yiaddr, 4);
	memcpy(out + 20, &h->siaddr, 4);
	memcpy(out + 24, &h->giaddr, 4);
	memcpy(out + 28, h->chaddr, DHCP_CHADDR_LEN);
	memcpy(out + 44, h->sname, DHCP_SNAME_LEN);
	memcpy(out + 108, h->file, DHCP_FILE_LEN);
	memcpy(out + DHCP_FIXED_LEN, &cookie, 4);
}

/* The options field alone, or (overflow) after a 3-byte option 52 and
 * followed by whichever of file and sname are free. */
static void layout_init(struct layout *l, uint8_t *out, size_t limit,
			bool overflow, bool file_free, bool sname_free)
{
	size_t skip = overflow ? 3 : 0;

	memset(l, 0, sizeof(*l));
	l->area[0].p = out + DHCP_MIN_LEN + skip;
	l->area[0].cap = limit - DHCP_MIN_LEN - skip;
	l->nareas = 1;
	if (overflow && file_free) {
		l->area[l->nareas].p = out + 108;
		l->area[l->nareas++].cap = DHCP_FILE_LEN;
	}
	if (overflow && sname_free) {
		l->area[l->nareas].p = out + 44;
		l->area[l->nareas++].cap = DHCP_SNAME_LEN;
	}
}

/* Close an overflow layout: option 52 naming the areas used, END in
 * each. Returns the value of option 52, 0 when nothing overflowed. */
static uint8_t layout_close_overflow(struct layout *l, uint8_t *out)
{
	uint8_t ovl = 0;

	for (unsigned a = 1; a < l->nareas; a++)
		if (l->area[a].pos > 0)
			ovl |= l->area[a].p == out + 108 ? DHCP_OVERLOAD_FILE
							 : DHCP_OVERLOAD_SNAME;
	if (ovl == 0)
		return 0;
	for (unsigned a = 1; a < l->nareas; a++) {
		if (l->area[a].pos == 0)
			continue;
		l->area[a].p[l->area[a].pos] = DHCP_OPT_END;
		memset(l->area[a].p + l->area[a].pos + 1, 0,
		       l->area[a].cap - l->area[a].pos - 1);
	}
	out[DHCP_MIN_LEN] = DHCP_OPT_OVERLOAD;
	out[DHCP_MIN_LEN + 1] = 1;
	out[DHCP_MIN_LEN + 2] = ovl;
	l->area[0].pos += 3;
	return ovl;
}

int dhcp_build_encode(const struct dhcp_build *b, const uint8_t *prl,
		      size_t prl_len, uint16_t maxsize, uint8_t *out, size_t cap)
{
	size_t limit = DHCP_DEFAULT_MAXLEN;
	bool file_free = all_zero(b->hdr.file, DHCP_FILE_LEN);
	bool sname_free = all_zero(b->hdr.sname, DHCP_SNAME_LEN);
	struct layout l;
	unsigned skipped;
	int err;

	if (b->err != 0)
		return b->err;
	if (maxsize >= DHCP_MIN_MAXSIZE)
		limit = (size_t)maxsize - DHCP_IPUDP_LEN;
	if (limit > cap)
		limit = cap;
	if (limit > DHCP_REPLY_MAX)
		limit = DHCP_REPLY_MAX;
	if (limit < DHCP_MIN_LEN + 4)
		return -ENOSPC;

	hdr_write(out, &b->hdr);
	layout_init(&l, out, limit, false, false, false);
	err = layout_all(b, &l, prl, prl_len, &skipped);
	if ((err != 0 || skipped > 0) && (file_free || sname_free)) {
		struct layout l2;
		unsigned skipped2;

		layout_init(&l2, out, limit, true, file_free, sname_free);
		int err2 = layout_all(b, &l2, prl, prl_len, &skipped2);
		if (err2 == 0 && (err != 0 || skipped2 < skipped) &&
		    layout_close_overflow(&l2, out) != 0) {
			l = l2;
			err = 0;
		} else {
			/* Overflow gained nothing: lay out the plain way again. */
			hdr_write(out, &b->hdr);
			layout_init(&l, out, limit, false, false, false);
			err = layout_all(b, &l, prl, prl_len, &skipped);
		}
	}
	if (err != 0)
		return err;

	size_t len = DHCP_MIN_LEN + l.area[0].pos;
	out[len++] = DHCP_OPT_END;
	if (len < BOOTP_MIN_LEN && limit >= BOOTP_MIN_LEN) {
		memset(out + len, 0, BOOTP_MIN_LEN - len);
		len = BOOTP_MIN_LEN;
	}
	return (int)len;
}
