/* TFTP wire format (RFC 1350, 2347). Every read is bounded by len; every
 * string must carry its NUL inside the datagram before it is used. */
#include "dataplane/tftp/tftp.h"

#include <string.h>
#include <strings.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The string at buf[*pos], bounded by len; NULL when it has no NUL. */
static const char *take_string(const uint8_t *buf, size_t len, size_t *pos, size_t *slen)
{
	const char *s = (const char *)buf + *pos;
	size_t n;

	if (*pos >= len)
		return NULL;
	n = strnlen(s, len - *pos);
	if (n == len - *pos)
		return NULL;
	*slen = n;
	*pos += n + 1;
	return s;
}

static enum tftp_parse_status parse_request(const uint8_t *buf, size_t len,
					    struct tftp_request *req)
{
	size_t pos = 2, n;
	const char *mode;

	req->filename = take_string(buf, len, &pos, &req->filename_len);
	if (!req->filename)
		return TFTP_PARSE_UNTERMINATED;
	if (req->filename_len == 0)
		return TFTP_PARSE_EMPTY_NAME;
	if (req->filename_len > TFTP_MAX_NAME)
		return TFTP_PARSE_NAME_TOO_LONG;
	mode = take_string(buf, len, &pos, &n);
	if (!mode)
		return TFTP_PARSE_UNTERMINATED;
	if (strcasecmp(mode, "octet") == 0)
		req->mode = TFTP_MODE_OCTET;
	else if (strcasecmp(mode, "netascii") == 0)
		req->mode = TFTP_MODE_NETASCII;
	else
		return TFTP_PARSE_BAD_MODE; /* "mail" is obsolete (RFC 1350) */

	req->nopts = 0;
	while (pos < len) {
		const char *name, *value;

		name = take_string(buf, len, &pos, &n);
		if (!name)
			return TFTP_PARSE_UNTERMINATED;
		if (n == 0 && pos == len)
			break; /* some clients pad with a trailing NUL */
		value = take_string(buf, len, &pos, &n);
		if (!value)
			return TFTP_PARSE_OPTION_NO_VALUE;
		if (req->nopts == TFTP_MAX_OPTIONS)
			return TFTP_PARSE_TOO_MANY_OPTIONS;
		req->opts[req->nopts].name = name;
		req->opts[req->nopts].value = value;
		req->nopts++;
	}
	return TFTP_PARSE_OK;
}

enum tftp_parse_status tftp_parse(const uint8_t *buf, size_t len, struct tftp_packet *out)
{
	size_t n, pos;

	if (len < 2)
		return TFTP_PARSE_SHORT;
	out->opcode = get16(buf);
	switch (out->opcode) {
	case TFTP_RRQ:
	case TFTP_WRQ:
		return parse_request(buf, len, &out->u.req);
	case TFTP_DATA:
		if (len < 4)
			return TFTP_PARSE_SHORT;
		out->u.data.block = get16(buf + 2);
		out->u.data.data = buf + 4;
		out->u.data.len = len - 4;
		return TFTP_PARSE_OK;
	case TFTP_ACK:
		if (len < 4)
			return TFTP_PARSE_SHORT;
		out->u.ack.block = get16(buf + 2);
		return TFTP_PARSE_OK;
	case TFTP_ERROR:
		if (len < 4)
			return TFTP_PARSE_SHORT;
		out->u.error.code = get16(buf + 2);
		pos = 4;
		/* A missing NUL is common in the wild; an empty message is fine. */
		out->u.error.msg = take_string(buf, len, &pos, &n);
		if (!out->u.error.msg)
			out->u.error.msg = "";
		return TFTP_PARSE_OK;
	case TFTP_OACK:
		return TFTP_PARSE_BAD_OPCODE; /* a server never receives OACK */
	default:
		return TFTP_PARSE_BAD_OPCODE;
	}
}

const char *tftp_parse_strerror(enum tftp_parse_status st)
{
	switch (st) {
	case TFTP_PARSE_OK: return "ok";
	case TFTP_PARSE_SHORT: return "packet too short";
	case TFTP_PARSE_BAD_OPCODE: return "illegal opcode";
	case TFTP_PARSE_UNTERMINATED: return "unterminated string";
	case TFTP_PARSE_EMPTY_NAME: return "empty file name";
	case TFTP_PARSE_NAME_TOO_LONG: return "file name too long";
	case TFTP_PARSE_BAD_MODE: return "unknown transfer mode";
	case TFTP_PARSE_OPTION_NO_VALUE: return "option without value";
	case TFTP_PARSE_TOO_MANY_OPTIONS: return "too many options";
	}
	return "unknown";
}

size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	if (cap < 4)
		return 0;
	put16(buf, TFTP_ACK);
	put16(buf + 2, block);
	return 4;
}

size_t tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	size_t n = strlen(msg);

	if (cap < 5)
		return 0;
	if (n > cap - 5)
		n = cap - 5; /* a long message is cut, never overflows */
	put16(buf, TFTP_ERROR);
	put16(buf + 2, code);
	memcpy(buf + 4, msg, n);
	buf[4 + n] = 0;
	return 5 + n;
}

static size_t put_string(uint8_t *buf, size_t cap, size_t pos, const char *s)
{
	size_t n = strlen(s) + 1;

	if (pos == 0 || n > cap - pos)
		return 0;
	memcpy(buf + pos, s, n);
	return pos + n;
}

size_t tftp_build_rrq(uint8_t *buf, size_t cap, const char *name, const char *mode,
		      const struct tftp_option *opts, unsigned nopts)
{
	size_t pos;

	if (cap < 2)
		return 0;
	put16(buf, TFTP_RRQ);
	pos = put_string(buf, cap, 2, name);
	pos = put_string(buf, cap, pos, mode);
	for (unsigned i = 0; i < nopts; i++) {
		pos = put_string(buf, cap, pos, opts[i].name);
		pos = put_string(buf, cap, pos, opts[i].value);
	}
	return pos;
}

void tftp_build_data_header(uint8_t hdr[4], uint16_t block)
{
	put16(hdr, TFTP_DATA);
	put16(hdr + 2, block);
}

const char *tftp_request_option(const struct tftp_request *req, const char *name)
{
	for (unsigned i = 0; i < req->nopts; i++)
		if (strcasecmp(req->opts[i].name, name) == 0)
			return req->opts[i].value;
	return NULL;
}
