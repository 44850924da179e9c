/* Option negotiation: RFC 2347 (OACK), 2348 (blksize), 2349 (timeout,
 * tsize), 7440 (windowsize). Options are a table, as in iPXE: each entry
 * validates its value and records what the server agrees to. */
#include "dataplane/tftp/tftp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Strict decimal: digits only, no sign or blanks; saturates at UINT64_MAX. */
static bool parse_decimal(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

enum { OPT_BLKSIZE, OPT_TSIZE, OPT_TIMEOUT, OPT_WINDOWSIZE, OPT_COUNT };

struct negotiation {
	const struct tftp_limits *lim;
	bool is_write;
	uint64_t file_size;
	struct tftp_params *p;
	uint64_t accepted[OPT_COUNT]; /* value to echo in the OACK */
	bool present[OPT_COUNT];      /* seen, valid or not (duplicates) */
	bool valid[OPT_COUNT];
};

/* Each returns false when the value is malformed (the option is ignored). */
static bool opt_blksize(struct negotiation *n, uint64_t v)
{
	if (v < TFTP_BLKSIZE_MIN)
		return false;
	if (v > n->lim->max_blksize)
		v = n->lim->max_blksize; /* RFC 2348: the server may answer smaller */
	n->p->blksize = (uint16_t)v;
	n->accepted[OPT_BLKSIZE] = v;
	return true;
}

static bool opt_tsize(struct negotiation *n, uint64_t v)
{
	if (n->is_write) {
		n->p->tsize = v;
		n->accepted[OPT_TSIZE] = v;
	} else {
		n->p->tsize = n->file_size; /* RFC 2349: RRQ sends 0, we answer */
		n->accepted[OPT_TSIZE] = n->file_size;
	}
	return true;
}

static bool opt_timeout(struct negotiation *n, uint64_t v)
{
	if (v < 1 || v > 255)
		return false;
	n->p->timeout_s = (uint8_t)v;
	n->accepted[OPT_TIMEOUT] = v;
	return true;
}

static bool opt_windowsize(struct negotiation *n, uint64_t v)
{
	if (v < 1)
		return false;
	if (v > n->lim->max_window)
		v = n->lim->max_window;
	n->p->windowsize = (uint16_t)v;
	n->accepted[OPT_WINDOWSIZE] = v;
	return true;
}

static const struct {
	const char *name;
	bool (*apply)(struct negotiation *n, uint64_t v);
} option_table[OPT_COUNT] = {
	[OPT_BLKSIZE] = { "blksize", opt_blksize },
	[OPT_TSIZE] = { "tsize", opt_tsize },
	[OPT_TIMEOUT] = { "timeout", opt_timeout },
	[OPT_WINDOWSIZE] = { "windowsize", opt_windowsize },
};

static size_t oack_put(uint8_t *oack, size_t pos, const char *name, uint64_t v)
{
	char num[24];
	size_t nl = strlen(name) + 1;
	int vl = snprintf(num, sizeof(num), "%" PRIu64, v);

	/* Sized for the maximum (CVE-2021-41054): never past TFTP_OACK_MAX. */
	if (vl < 0 || pos + nl + (size_t)vl + 1 > TFTP_OACK_MAX)
		return pos;
	memcpy(oack + pos, name, nl);
	memcpy(oack + pos + nl, num, (size_t)vl + 1);
	return pos + nl + (size_t)vl + 1;
}

enum tftp_negotiate_status tftp_negotiate(const struct tftp_request *req, bool is_write,
					  uint64_t file_size, const struct tftp_limits *lim,
					  struct tftp_params *out, uint8_t *oack,
					  size_t *oack_len, unsigned *ignored)
{
	struct negotiation n = { .lim = lim, .is_write = is_write, .file_size = file_size, .p = out };
	size_t pos;

	memset(out, 0, sizeof(*out));
	out->blksize = TFTP_BLKSIZE_DEFAULT;
	out->windowsize = 1;
	*ignored = 0;
	*oack_len = 0;
	for (unsigned i = 0; i < req->nopts; i++) {
		unsigned k;
		uint64_t v;

		for (k = 0; k < OPT_COUNT; k++)
			if (strcasecmp(req->opts[i].name, option_table[k].name) == 0)
				break;
		if (k == OPT_COUNT)
			continue; /* unknown options are ignored (RFC 2347) */
		if (n.present[k])
			return TFTP_NEG_DUPLICATE;
		n.present[k] = true;
		n.valid[k] = parse_decimal(req->opts[i].value, &v) && option_table[k].apply(&n, v);
		if (!n.valid[k])
			(*ignored)++;
	}
	if (is_write && lim->max_file_size && n.valid[OPT_TSIZE] &&
	    out->tsize > lim->max_file_size)
		return TFTP_NEG_TOO_LARGE;

	oack[0] = 0;
	oack[1] = TFTP_OACK;
	pos = 2;
	for (unsigned k = 0; k < OPT_COUNT; k++)
		if (n.valid[k])
			pos = oack_put(oack, pos, option_table[k].name, n.accepted[k]);
	if (pos > 2) {
		out->has_options = true;
		*oack_len = pos;
	}
	return TFTP_NEG_OK;
}
