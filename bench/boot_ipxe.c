/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image lines of an iPXE script: what a booting iPXE fetches. */
#include "boot_bench.h"

#include <string.h>

struct words {
	const char *w[8];
	size_t n[8];
	unsigned count;
};

static void split(const char *s, size_t len, struct words *ws)
{
	size_t i = 0;

	ws->count = 0;
	while (i < len && ws->count < 8) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		ws->w[ws->count] = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		ws->n[ws->count] = (size_t)(s + i - ws->w[ws->count]);
		ws->count++;
	}
}

static bool is(const char *w, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(w, s, n) == 0;
}

/* The first word that is not an option, or -1. Options taking a value
 * in the next word: -n/--name, -t/--timeout. */
static int image_word(const struct words *ws)
{
	for (unsigned i = 1; i < ws->count; i++) {
		const char *w = ws->w[i];
		size_t n = ws->n[i];

		if (w[0] != '-')
			return (int)i;
		if (is(w, n, "-n") || is(w, n, "--name") || is(w, n, "-t") ||
		    is(w, n, "--timeout"))
			i++;
	}
	return -1;
}

static void take(char *dst, size_t cap, const struct words *ws)
{
	int i = image_word(ws);

	if (i < 0 || dst[0] != '\0' || ws->n[i] >= cap)
		return;
	memcpy(dst, ws->w[i], ws->n[i]);
	dst[ws->n[i]] = '\0';
}

int ipxe_script_parse(const char *s, size_t len, struct ipxe_script *out)
{
	size_t i = 0;
	bool first = true;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		size_t eol = i;
		size_t l;
		struct words ws;

		while (eol < len && s[eol] != '\n')
			eol++;
		l = eol - i;
		if (l > 0 && s[i + l - 1] == '\r')
			l--;
		if (first) {
			if (l < 6 || memcmp(s + i, "#!ipxe", 6) != 0)
				return -1;
			first = false;
		} else {
			split(s + i, l, &ws);
			if (ws.count > 0 && ws.w[0][0] != '#' && ws.w[0][0] != ':') {
				const char *c = ws.w[0];
				size_t n = ws.n[0];

				if (is(c, n, "kernel") || is(c, n, "chain") ||
				    is(c, n, "imgexec"))
					take(out->kernel, sizeof(out->kernel), &ws);
				else if (is(c, n, "initrd") || is(c, n, "module") ||
					 is(c, n, "imgfetch"))
					take(out->initrd, sizeof(out->initrd), &ws);
			}
		}
		i = eol + 1;
	}
	return out->kernel[0] != '\0' ? 0 : -1;
}
