/* The host state journal: rows of "MAC STATE UNIXTIME\n" (hosts.h). Text,
 * so an operator can read it with cat and grep; parsed strictly, row by
 * row, so one damaged row costs that row only. */
#include "control/hosts/hosts.h"
#include "common/file.h"
#include "common/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNAL_MAX_BYTES (256u << 20) /* far beyond 100k hosts x many installs */
#define ROW_MAX 64

static const char *const state_names[HOST_STATE__COUNT] = {
	[HOST_STATE_NONE] = "none",
	[HOST_STATE_BOOTING] = "booting",
	[HOST_STATE_INSTALLING] = "installing",
	[HOST_STATE_INSTALLED] = "installed",
	[HOST_STATE_FAILED] = "failed",
};

const char *host_state_name(enum host_state s)
{
	return (unsigned)s < HOST_STATE__COUNT ? state_names[s] : "unknown";
}

bool host_state_parse(const char *s, size_t len, enum host_state *out)
{
	for (unsigned i = HOST_STATE_BOOTING; i < HOST_STATE__COUNT; i++)
		if (strlen(state_names[i]) == len && memcmp(s, state_names[i], len) == 0) {
			*out = (enum host_state)i;
			return true;
		}
	return false;
}

bool host_mac_parse(const char *s, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_any(s[3 * i]), lo = hex_any(s[3 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		if (i < 5 && s[3 * i + 2] != ':' && s[3 * i + 2] != '-')
			return false;
		if (i > 0 && s[3 * i - 1] != s[2])
			return false; /* one separator throughout */
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void host_mac_format(const uint8_t mac[6], char sep, char out[18])
{
	snprintf(out, 18, "%02x%c%02x%c%02x%c%02x%c%02x%c%02x", mac[0], sep, mac[1], sep, mac[2],
		 sep, mac[3], sep, mac[4], sep, mac[5]);
}

/* "MAC STATE TIME" without the newline. */
static bool parse_row(const char *s, size_t len, struct host_record *r)
{
	const char *sp1, *sp2;
	int64_t t = 0;
	size_t i;

	if (len < 17 + 1 || s[17] != ' ' || !host_mac_parse(s, 17, r->mac))
		return false;
	sp1 = s + 17;
	sp2 = memchr(sp1 + 1, ' ', len - 18);
	if (sp2 == NULL || !host_state_parse(sp1 + 1, (size_t)(sp2 - sp1 - 1), &r->state))
		return false;
	i = (size_t)(sp2 + 1 - s);
	if (i == len || len - i > 12)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		t = t * 10 + (s[i] - '0');
	}
	r->time = t;
	return true;
}

size_t host_journal_parse(const char *buf, size_t len,
			  void (*fn)(void *user, const struct host_record *r), void *user)
{
	size_t bad = 0, pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t rowlen = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		struct host_record r;

		if (nl && rowlen == 0) {
			pos++;
			continue;
		}
		if (nl && parse_row(buf + pos, rowlen, &r))
			fn(user, &r);
		else
			bad++;
		pos += rowlen + (nl != NULL);
	}
	return bad;
}

size_t host_journal_format(const struct host_record *r, char *out, size_t size)
{
	char mac[18];
	int n;

	host_mac_format(r->mac, ':', mac);
	n = snprintf(out, size, "%s %s %lld\n", mac, host_state_name(r->state),
		     (long long)(r->time < 0 ? 0 : r->time));
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Rows are collected, then sorted by MAC and by their order in the file,
 * then folded: the last row of a host wins. Linear-time scans per row
 * would make a start with 100k hosts quadratic. */
struct load_row {
	struct host_record r;
	size_t seq;
};

struct load_ctx {
	struct load_row *rows;
	size_t n, cap;
	int err;
};

static int cmp_row(const void *a, const void *b)
{
	const struct load_row *x = a, *y = b;
	int c = memcmp(x->r.mac, y->r.mac, 6);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void load_row(void *user, const struct host_record *r)
{
	struct load_ctx *l = user;

	if (l->err)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct load_row *v = realloc(l->rows, cap * sizeof(*v));

		if (v == NULL) {
			l->err = -ENOMEM;
			return;
		}
		l->rows = v;
		l->cap = cap;
	}
	l->rows[l->n] = (struct load_row){ *r, l->n };
	l->n++;
}

/* One host_status per MAC, sorted by MAC; NULL only when out of memory. */
static struct host_status *fold(struct load_ctx *l, size_t *n)
{
	struct host_status *v = calloc(l->n ? l->n : 1, sizeof(*v));
	size_t k = 0;

	if (v == NULL)
		return NULL;
	qsort(l->rows, l->n, sizeof(*l->rows), cmp_row);
	for (size_t i = 0; i < l->n; i++) {
		const struct host_record *r = &l->rows[i].r;
		struct host_status *h;

		if (k == 0 || memcmp(v[k - 1].mac, r->mac, 6)) {
			memcpy(v[k].mac, r->mac, 6);
			k++;
		}
		h = &v[k - 1];
		h->state = r->state;
		h->since = r->time;
		h->entered[r->state] = r->time;
	}
	*n = k;
	return v;
}

int host_journal_load(const char *path, struct host_status **out, size_t *n, size_t *bad)
{
	struct load_ctx l = { 0 };
	size_t len = 0;
	int err;
	char *buf = file_read_whole(AT_FDCWD, path, 0, JOURNAL_MAX_BYTES, &len, &err);

	*out = NULL;
	*n = 0;
	*bad = 0;
	if (buf == NULL)
		return err == ENOENT ? 0 : -err;
	*bad = host_journal_parse(buf, len, load_row, &l);
	free(buf);
	if (!l.err && (*out = fold(&l, n)) == NULL)
		l.err = -ENOMEM;
	free(l.rows);
	return l.err;
}
