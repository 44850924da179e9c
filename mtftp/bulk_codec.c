/* Bulk stream packets: parse and build over (buf, len). Every length and
 * range comes from the wire and is checked here, so the engines only ever
 * see packets whose fields are in range. */
#include "mtftp/bulk.h"
#include "mtftp/rs.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)(v >> 32)); wr32(p + 4, (uint32_t)v); }

uint32_t bulk_nslices(uint64_t size, unsigned k, unsigned symbol)
{
	uint64_t per = (uint64_t)k * symbol;

	if (per == 0)
		return 0;
	return (uint32_t)((size + per - 1) / per);
}

unsigned bulk_slice_k(uint64_t size, unsigned k, unsigned symbol, uint32_t s)
{
	uint64_t per = (uint64_t)k * symbol, off = (uint64_t)s * per;

	if (off >= size)
		return 0;
	if (size - off >= per)
		return k;
	return (unsigned)((size - off + symbol - 1) / symbol);
}

/* Fixed length of each type after the common header; 0: unknown type. */
static size_t fixed_len(uint8_t type)
{
	switch (type) {
	case BULK_DATA: return BULK_DATA_HDR - BULK_HDR;
	case BULK_ANNOUNCE: return BULK_ANNOUNCE_LEN - BULK_HDR;
	case BULK_HELLO: return 8;
	case BULK_WELCOME: case BULK_DONE_ACK: return 4;
	case BULK_NAK: return BULK_NAK_HDR - BULK_HDR;
	case BULK_STATUS: return 24;
	case BULK_DONE: return 5;
	case BULK_FETCH: return 6;
	default: return 0;
	}
}

static enum bulk_parse_status parse_announce(const uint8_t *p, struct bulk_announce *a)
{
	a->tag = rd32(p);
	a->size = rd64(p + 4);
	memcpy(a->sha256, p + 12, 32);
	a->symbol = rd16(p + 44);
	a->k = p[46];
	a->state = p[47];
	a->nslices = rd32(p + 48);
	a->rate_kbps = rd32(p + 52);
	a->front = rd32(p + 56);
	a->members = rd16(p + 60);
	a->interleave = rd16(p + 62);
	a->next_seq = rd32(p + 64);
	if (a->interleave == 0)
		a->interleave = 1; /* a sender that sends slices one after the other */
	if (a->interleave > BULK_INTERLEAVE_MAX ||
	    a->symbol < BULK_SYMBOL_MIN || a->symbol > BULK_SYMBOL_MAX || a->k == 0 ||
	    a->k > RS_MAX_K || a->state > BULK_SS_FINISHED || a->size == 0 ||
	    a->nslices != bulk_nslices(a->size, a->k, a->symbol) || a->front > a->nslices)
		return BULK_PARSE_FIELD;
	return BULK_PARSE_OK;
}

enum bulk_parse_status bulk_parse(const uint8_t *buf, size_t len, struct bulk_packet *out)
{
	const uint8_t *p = buf + BULK_HDR;
	size_t fixed, rest;

	if (len < BULK_HDR)
		return BULK_PARSE_SHORT;
	if (buf[0] != 'P' || buf[1] != 'B')
		return BULK_PARSE_MAGIC;
	if (buf[2] != BULK_VERSION)
		return BULK_PARSE_VERSION;
	out->type = buf[3];
	out->session = rd32(buf + 4);
	fixed = fixed_len(out->type);
	if (fixed == 0)
		return BULK_PARSE_TYPE;
	if (len - BULK_HDR < fixed)
		return BULK_PARSE_SHORT;
	rest = len - BULK_HDR - fixed;
	switch (out->type) {
	case BULK_DATA:
		out->u.data.tag = rd32(p);
		out->u.data.slice = rd32(p + 4);
		out->u.data.esi = rd16(p + 8);
		out->u.data.burst = p[10];
		out->u.data.flags = p[11];
		out->u.data.seq = rd32(p + 12);
		out->u.data.payload = p + fixed;
		out->u.data.len = rest;
		if (out->u.data.esi >= RS_SYMBOLS || rest < BULK_SYMBOL_MIN || rest > BULK_SYMBOL_MAX)
			return out->u.data.esi >= RS_SYMBOLS ? BULK_PARSE_FIELD : BULK_PARSE_LENGTH;
		return BULK_PARSE_OK;
	case BULK_ANNOUNCE:
		if (rest != 0)
			return BULK_PARSE_LENGTH;
		return parse_announce(p, &out->u.ann);
	case BULK_HELLO:
		out->u.hello.receiver = rd32(p);
		out->u.hello.tag = rd32(p + 4);
		break;
	case BULK_WELCOME:
		out->u.welcome.receiver = rd32(p);
		break;
	case BULK_DONE_ACK:
		out->u.done_ack.receiver = rd32(p);
		break;
	case BULK_NAK:
		out->u.nak.receiver = rd32(p);
		out->u.nak.loss_permille = rd16(p + 4);
		out->u.nak.overflows = rd16(p + 6);
		out->u.nak.seen_seq = rd32(p + 8);
		out->u.nak.base = rd32(p + 12);
		out->u.nak.count = rd16(p + 16);
		out->u.nak.missing = p + fixed;
		if (out->u.nak.count == 0 || out->u.nak.count > BULK_NAK_MAX)
			return BULK_PARSE_FIELD;
		if (rest != out->u.nak.count)
			return BULK_PARSE_LENGTH;
		if (out->u.nak.loss_permille > 1000 ||
		    (uint64_t)out->u.nak.base + out->u.nak.count > UINT32_MAX)
			return BULK_PARSE_FIELD;
		return BULK_PARSE_OK;
	case BULK_STATUS:
		out->u.status.receiver = rd32(p);
		out->u.status.slices_done = rd32(p + 4);
		out->u.status.bytes = rd64(p + 8);
		out->u.status.loss_permille = rd16(p + 16);
		out->u.status.overflows = rd16(p + 18);
		out->u.status.seen_seq = rd32(p + 20);
		if (out->u.status.loss_permille > 1000)
			return BULK_PARSE_FIELD;
		break;
	case BULK_DONE:
		out->u.done.receiver = rd32(p);
		out->u.done.result = p[4];
		if (out->u.done.result > BULK_RESULT_FETCHED)
			return BULK_PARSE_FIELD;
		break;
	case BULK_FETCH:
		out->u.fetch.receiver = rd32(p);
		out->u.fetch.url_len = rd16(p + 4);
		out->u.fetch.url = (const char *)(p + fixed);
		if (out->u.fetch.url_len > BULK_URL_MAX)
			return BULK_PARSE_FIELD;
		if (rest != out->u.fetch.url_len)
			return BULK_PARSE_LENGTH;
		for (size_t i = 0; i < rest; i++)
			if (p[fixed + i] < 0x21 || p[fixed + i] > 0x7e)
				return BULK_PARSE_FIELD; /* a URL is printable, no spaces */
		return BULK_PARSE_OK;
	}
	/* Fixed-size control packets carry nothing more. */
	return rest == 0 ? BULK_PARSE_OK : BULK_PARSE_LENGTH;
}

const char *bulk_parse_strerror(enum bulk_parse_status st)
{
	switch (st) {
	case BULK_PARSE_OK: return "ok";
	case BULK_PARSE_SHORT: return "truncated";
	case BULK_PARSE_MAGIC: return "not a bulk packet";
	case BULK_PARSE_VERSION: return "unknown version";
	case BULK_PARSE_TYPE: return "unknown type";
	case BULK_PARSE_FIELD: return "field out of range";
	case BULK_PARSE_LENGTH: return "length mismatch";
	}
	return "?";
}

static size_t hdr(uint8_t *buf, size_t cap, size_t need, uint8_t type, uint32_t session)
{
	if (cap < need)
		return 0;
	buf[0] = 'P';
	buf[1] = 'B';
	buf[2] = BULK_VERSION;
	buf[3] = type;
	wr32(buf + 4, session);
	return need;
}

size_t bulk_build_data_hdr(uint8_t *buf, size_t cap, uint32_t session, uint32_t tag,
			   uint32_t slice, uint16_t esi, uint8_t burst, uint8_t flags, uint32_t seq)
{
	if (!hdr(buf, cap, BULK_DATA_HDR, BULK_DATA, session))
		return 0;
	wr32(buf + 8, tag);
	wr32(buf + 12, slice);
	wr16(buf + 16, esi);
	buf[18] = burst;
	buf[19] = flags;
	wr32(buf + 20, seq);
	return BULK_DATA_HDR;
}

size_t bulk_build_announce(uint8_t *buf, size_t cap, uint32_t session,
			   const struct bulk_announce *a)
{
	uint8_t *p = buf + BULK_HDR;

	if (!hdr(buf, cap, BULK_ANNOUNCE_LEN, BULK_ANNOUNCE, session))
		return 0;
	wr32(p, a->tag);
	wr64(p + 4, a->size);
	memcpy(p + 12, a->sha256, 32);
	wr16(p + 44, a->symbol);
	p[46] = a->k;
	p[47] = a->state;
	wr32(p + 48, a->nslices);
	wr32(p + 52, a->rate_kbps);
	wr32(p + 56, a->front);
	wr16(p + 60, a->members);
	wr16(p + 62, a->interleave);
	wr32(p + 64, a->next_seq);
	return BULK_ANNOUNCE_LEN;
}

size_t bulk_build_hello(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
			uint32_t tag)
{
	if (!hdr(buf, cap, BULK_HDR + 8, BULK_HELLO, session))
		return 0;
	wr32(buf + 8, receiver);
	wr32(buf + 12, tag);
	return BULK_HDR + 8;
}

size_t bulk_build_id(uint8_t *buf, size_t cap, uint8_t type, uint32_t session, uint32_t receiver)
{
	if (!hdr(buf, cap, BULK_HDR + 4, type, session))
		return 0;
	wr32(buf + 8, receiver);
	return BULK_HDR + 4;
}

size_t bulk_build_nak(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
		      uint16_t loss_permille, uint16_t overflows, uint32_t seen_seq, uint32_t base,
		      uint16_t count, const uint8_t *missing)
{
	if (count == 0 || count > BULK_NAK_MAX ||
	    !hdr(buf, cap, (size_t)BULK_NAK_HDR + count, BULK_NAK, session))
		return 0;
	wr32(buf + 8, receiver);
	wr16(buf + 12, loss_permille);
	wr16(buf + 14, overflows);
	wr32(buf + 16, seen_seq);
	wr32(buf + 20, base);
	wr16(buf + 24, count);
	memcpy(buf + BULK_NAK_HDR, missing, count);
	return (size_t)BULK_NAK_HDR + count;
}

size_t bulk_build_status(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
			 uint32_t slices_done, uint64_t bytes, uint16_t loss_permille,
			 uint16_t overflows, uint32_t seen_seq)
{
	if (!hdr(buf, cap, BULK_HDR + 24, BULK_STATUS, session))
		return 0;
	wr32(buf + 8, receiver);
	wr32(buf + 12, slices_done);
	wr64(buf + 16, bytes);
	wr16(buf + 24, loss_permille);
	wr16(buf + 26, overflows);
	wr32(buf + 28, seen_seq);
	return BULK_HDR + 24;
}

size_t bulk_build_done(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
		       uint8_t result)
{
	if (!hdr(buf, cap, BULK_HDR + 5, BULK_DONE, session))
		return 0;
	wr32(buf + 8, receiver);
	buf[12] = result;
	return BULK_HDR + 5;
}

size_t bulk_build_fetch(uint8_t *buf, size_t cap, uint32_t session, uint32_t receiver,
			const char *url)
{
	size_t ul = url ? strlen(url) : 0;

	if (ul > BULK_URL_MAX || !hdr(buf, cap, BULK_HDR + 6 + ul, BULK_FETCH, session))
		return 0;
	wr32(buf + 8, receiver);
	wr16(buf + 12, (uint16_t)ul);
	if (ul)
		memcpy(buf + 14, url, ul);
	return BULK_HDR + 6 + ul;
}
