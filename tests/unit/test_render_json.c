/* Test helper for the render tests: a small JSON reader whose tree serves
 * as a render_context, so the Mustache spec data can be written as it is
 * in the spec. Numbers stay the text they were written as ("1.21"), and
 * strings may be quoted with ' as well as " to spare C escapes. Malformed
 * JSON aborts: it is a bug in a test table, not input. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/render/render.h"

struct tjson {
	enum render_type type;
	char *str;
	size_t len;           /* STRING: bytes; MAP/LIST: children */
	char **keys;
	size_t *keylens;
	struct tjson **kids;
};

struct tjson *tjson_parse(const char *s);
void tjson_free(struct tjson *n);
struct render_value tjson_value(const struct tjson *n);
extern const struct render_context tjson_context;

static void tjson_die(const char *s, const char *msg)
{
	fprintf(stderr, "test JSON: %s at '%.20s'\n", msg, s);
	abort();
}

static const char *tjson_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static struct tjson *tjson_new(enum render_type type)
{
	struct tjson *n = calloc(1, sizeof(*n));

	if (n == NULL)
		abort();
	n->type = type;
	return n;
}

/* A quoted string at *s: returns a malloc'd copy, length in *len. */
static char *tjson_string(const char **sp, size_t *len)
{
	const char *s = *sp;
	char q = *s++, *out = malloc(strlen(s) + 1);
	size_t o = 0;

	if (out == NULL)
		abort();
	while (*s != q) {
		char c = *s++;

		if (c == '\0')
			tjson_die(*sp, "unterminated string");
		if (c == '\\') {
			c = *s++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '"': case '\'': case '\\': case '/': break;
			default: tjson_die(s, "unknown escape");
			}
		}
		out[o++] = c;
	}
	out[o] = '\0';
	*len = o;
	*sp = s + 1;
	return out;
}

static void tjson_add(struct tjson *n, char *key, size_t keylen, struct tjson *kid)
{
	n->kids = realloc(n->kids, (n->len + 1) * sizeof(*n->kids));
	n->keys = realloc(n->keys, (n->len + 1) * sizeof(*n->keys));
	n->keylens = realloc(n->keylens, (n->len + 1) * sizeof(*n->keylens));
	if (n->kids == NULL || n->keys == NULL || n->keylens == NULL)
		abort();
	n->kids[n->len] = kid;
	n->keys[n->len] = key;
	n->keylens[n->len] = keylen;
	n->len++;
}

static struct tjson *tjson_value_at(const char **sp)
{
	const char *s = tjson_ws(*sp);
	struct tjson *n;

	if (*s == '{' || *s == '[') {
		char close = *s == '{' ? '}' : ']';

		n = tjson_new(*s == '{' ? RENDER_MAP : RENDER_LIST);
		s = tjson_ws(s + 1);
		while (*s != close) {
			char *key = NULL;
			size_t keylen = 0;

			if (n->type == RENDER_MAP) {
				if (*s != '"' && *s != '\'')
					tjson_die(s, "key expected");
				key = tjson_string(&s, &keylen);
				s = tjson_ws(s);
				if (*s++ != ':')
					tjson_die(s, "':' expected");
			}
			tjson_add(n, key, keylen, tjson_value_at(&s));
			s = tjson_ws(s);
			if (*s == ',')
				s = tjson_ws(s + 1);
			else if (*s != close)
				tjson_die(s, "',' expected");
		}
		*sp = s + 1;
		return n;
	}
	if (*s == '"' || *s == '\'') {
		n = tjson_new(RENDER_STRING);
		n->str = tjson_string(&s, &n->len);
		*sp = s;
		return n;
	}
	if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0 ||
	    strncmp(s, "null", 4) == 0) {
		n = tjson_new(s[0] == 't' ? RENDER_TRUE : s[0] == 'f' ? RENDER_FALSE : RENDER_NULL);
		*sp = s + (s[0] == 'f' ? 5 : 4);
		return n;
	}
	if (*s == '-' || (*s >= '0' && *s <= '9')) {
		const char *e = s;

		while (*e == '-' || *e == '+' || *e == '.' || *e == 'e' || *e == 'E' ||
		       (*e >= '0' && *e <= '9'))
			e++;
		n = tjson_new(RENDER_STRING);
		n->len = (size_t)(e - s);
		n->str = strndup(s, n->len);
		if (n->str == NULL)
			abort();
		*sp = e;
		return n;
	}
	tjson_die(s, "value expected");
	return NULL;
}

struct tjson *tjson_parse(const char *s)
{
	struct tjson *n = tjson_value_at(&s);

	if (*tjson_ws(s) != '\0')
		tjson_die(s, "trailing bytes");
	return n;
}

void tjson_free(struct tjson *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; n->type >= RENDER_MAP && i < n->len; i++) {
		free(n->keys[i]);
		tjson_free(n->kids[i]);
	}
	free(n->keys);
	free(n->keylens);
	free(n->kids);
	free(n->str);
	free(n);
}

struct render_value tjson_value(const struct tjson *n)
{
	struct render_value v = { n->type, NULL, 0, NULL };

	if (n->type == RENDER_STRING) {
		v.str = n->str;
		v.len = n->len;
	} else if (n->type == RENDER_MAP || n->type == RENDER_LIST) {
		v.node = n;
		v.len = n->type == RENDER_LIST ? n->len : 0;
	}
	return v;
}

static bool tjson_lookup(void *user, const void *map, const char *name, size_t len,
			 struct render_value *out)
{
	const struct tjson *n = map;

	(void)user;
	for (size_t i = 0; i < n->len; i++)
		if (n->keylens[i] == len && memcmp(n->keys[i], name, len) == 0) {
			*out = tjson_value(n->kids[i]);
			return true;
		}
	return false;
}

static bool tjson_item(void *user, const void *list, size_t index, struct render_value *out)
{
	const struct tjson *n = list;

	(void)user;
	if (index >= n->len)
		return false;
	*out = tjson_value(n->kids[index]);
	return true;
}

const struct render_context tjson_context = { tjson_lookup, tjson_item, NULL };
