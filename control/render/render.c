/* Template execution over the caller's data (see render.h). Recursion
 * follows section nesting only, which render_compile capped at
 * RENDER_MAX_DEPTH; list lengths come from the caller and are walked in
 * a loop under the RENDER_MAX_STEPS budget. */
#include "control/render/render_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const render_error_names[] = {
	[RENDER_OK] = "ok",
	[RENDER_E_UNCLOSED_TAG] = "unclosed_tag",
	[RENDER_E_UNCLOSED_SECTION] = "unclosed_section",
	[RENDER_E_MISMATCHED_CLOSE] = "mismatched_close",
	[RENDER_E_UNOPENED_CLOSE] = "unopened_close",
	[RENDER_E_BAD_NAME] = "bad_name",
	[RENDER_E_BAD_DELIMITERS] = "bad_delimiters",
	[RENDER_E_UNSUPPORTED] = "unsupported_tag",
	[RENDER_E_DEPTH] = "too_deep",
	[RENDER_E_TEMPLATE_TOO_LARGE] = "template_too_large",
	[RENDER_E_OUTPUT_TOO_LARGE] = "output_too_large",
	[RENDER_E_TOO_MUCH_WORK] = "too_much_work",
	[RENDER_E_UNSAFE_VALUE] = "unsafe_value",
	[RENDER_E_NOMEM] = "out_of_memory",
};

_Static_assert(sizeof(render_error_names) / sizeof(render_error_names[0]) == RENDER_E__COUNT,
	       "every enum render_error has a name");

const char *render_error_name(enum render_error err)
{
	if ((unsigned)err >= RENDER_E__COUNT || render_error_names[err] == NULL)
		return "unknown";
	return render_error_names[err];
}

void render_buf_init(struct render_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	/* room for the NUL after max bytes must not overflow */
	b->max = max < SIZE_MAX ? max : SIZE_MAX - 1;
}

void render_buf_free(struct render_buf *b)
{
	free(b->data);
	render_buf_init(b, b->max);
}

static enum render_error render_buf_append(struct render_buf *b, const char *s, size_t n)
{
	if (b->len > b->max || n > b->max - b->len)
		return RENDER_E_OUTPUT_TOO_LARGE;
	if (b->len + n + 1 > b->cap) {
		size_t need = b->len + n + 1, cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if (cap > b->max + 1)
			cap = b->max + 1; /* >= need: len + n <= max */
		d = realloc(b->data, cap);
		if (d == NULL)
			return RENDER_E_NOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return RENDER_OK;
}

struct render_run {
	const struct render_template *t;
	enum render_mode mode;
	const struct render_context *ctx;
	struct render_buf *out;
	struct render_value stack[RENDER_MAX_DEPTH + 1];
	size_t depth;
	unsigned long steps;
	unsigned line;
};

static bool render_lookup(const struct render_run *r, struct render_value map,
			  const char *name, size_t len, struct render_value *out)
{
	*out = (struct render_value){ RENDER_MISSING, NULL, 0, NULL };
	if (map.type != RENDER_MAP || r->ctx == NULL || r->ctx->lookup == NULL)
		return false;
	if (!r->ctx->lookup(r->ctx->user, map.node, name, len, out)) {
		*out = (struct render_value){ RENDER_MISSING, NULL, 0, NULL };
		return false;
	}
	return true;
}

/* Mustache name resolution: the first part up the context stack, each
 * further part only inside the previous result. */
static struct render_value render_resolve(const struct render_run *r, const char *name,
					  size_t len)
{
	struct render_value v = { RENDER_MISSING, NULL, 0, NULL };
	size_t part = 0, i;

	if (len == 1 && name[0] == '.')
		return r->stack[r->depth - 1];
	while (part < len && name[part] != '.')
		part++;
	for (i = r->depth; i > 0; i--)
		if (render_lookup(r, r->stack[i - 1], name, part, &v))
			break;
	while (part < len && v.type != RENDER_MISSING) {
		size_t s = part + 1;

		part = s;
		while (part < len && name[part] != '.')
			part++;
		render_lookup(r, v, name + s, part - s, &v);
	}
	return v;
}

static bool render_truthy(struct render_value v)
{
	switch (v.type) {
	case RENDER_TRUE:
	case RENDER_MAP:
		return true;
	case RENDER_LIST:
		return v.len > 0;
	case RENDER_STRING:
		return v.len > 0 && !(v.len == 1 && v.str[0] == '0') &&
		       !(v.len == 5 && memcmp(v.str, "false", 5) == 0);
	default:
		return false;
	}
}

static enum render_error render_emit_value(struct render_run *r, const struct render_tok *tok,
					   struct render_value v)
{
	const char *s;
	size_t n, run = 0;
	enum render_error err;

	switch (v.type) {
	case RENDER_STRING: s = v.str; n = v.str ? v.len : 0; break;
	case RENDER_TRUE: s = "true"; n = 4; break;
	case RENDER_FALSE: s = "false"; n = 5; break;
	default: return RENDER_OK;
	}
	if (r->mode == RENDER_MODE_SCRIPT)
		for (size_t i = 0; i < n; i++)
			if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
				return RENDER_E_UNSAFE_VALUE;
	if (tok->kind != RENDER_TOK_VAR || r->mode != RENDER_MODE_HTML)
		return render_buf_append(r->out, s, n);
	for (size_t i = 0; i < n; i++) {
		const char *esc;

		switch (s[i]) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		default: continue;
		}
		err = render_buf_append(r->out, s + run, i - run);
		if (err == RENDER_OK)
			err = render_buf_append(r->out, esc, strlen(esc));
		if (err != RENDER_OK)
			return err;
		run = i + 1;
	}
	return render_buf_append(r->out, s + run, n - run);
}

static enum render_error render_range(struct render_run *r, size_t from, size_t to);

/* Render the body of section tok with v on top of the context stack. */
static enum render_error render_with(struct render_run *r, const struct render_tok *tok,
				     size_t body, struct render_value v)
{
	enum render_error err;

	if (r->depth > RENDER_MAX_DEPTH)
		return RENDER_E_DEPTH; /* compile caps nesting; belt and braces */
	r->stack[r->depth++] = v;
	err = render_range(r, body, tok->end);
	r->depth--;
	return err;
}

static enum render_error render_section(struct render_run *r, size_t i)
{
	const struct render_tok *tok = &r->t->toks[i];
	struct render_value v = render_resolve(r, r->t->src + tok->off, tok->len);
	enum render_error err = RENDER_OK;

	if (tok->kind == RENDER_TOK_INVERTED)
		return render_truthy(v) ? RENDER_OK : render_range(r, i + 1, tok->end);
	if (!render_truthy(v))
		return RENDER_OK;
	if (v.type != RENDER_LIST)
		return render_with(r, tok, i + 1, v);
	for (size_t k = 0; k < v.len && err == RENDER_OK; k++) {
		struct render_value item = { RENDER_MISSING, NULL, 0, NULL };

		if (++r->steps > RENDER_MAX_STEPS) {
			r->line = tok->line;
			return RENDER_E_TOO_MUCH_WORK;
		}
		if (r->ctx != NULL && r->ctx->item != NULL &&
		    !r->ctx->item(r->ctx->user, v.node, k, &item))
			item = (struct render_value){ RENDER_MISSING, NULL, 0, NULL };
		err = render_with(r, tok, i + 1, item);
	}
	return err;
}

static enum render_error render_range(struct render_run *r, size_t from, size_t to)
{
	const struct render_template *t = r->t;
	enum render_error err = RENDER_OK;

	for (size_t i = from; i < to && err == RENDER_OK; i++) {
		const struct render_tok *tok = &t->toks[i];

		if (++r->steps > RENDER_MAX_STEPS) {
			r->line = tok->line;
			return RENDER_E_TOO_MUCH_WORK;
		}
		switch (tok->kind) {
		case RENDER_TOK_TEXT:
			err = render_buf_append(r->out, t->src + tok->off, tok->len);
			break;
		case RENDER_TOK_VAR:
		case RENDER_TOK_RAW:
			err = render_emit_value(r, tok, render_resolve(r, t->src + tok->off, tok->len));
			if (err != RENDER_OK && r->line == 0)
				r->line = tok->line;
			break;
		case RENDER_TOK_SECTION:
		case RENDER_TOK_INVERTED:
			err = render_section(r, i);
			if (err != RENDER_OK && r->line == 0)
				r->line = tok->line;
			i = tok->end;
			break;
		case RENDER_TOK_CLOSE:
			break;
		}
	}
	return err;
}

enum render_error render_execute(const struct render_template *t, enum render_mode mode,
				 const struct render_context *ctx, struct render_value root,
				 struct render_buf *out, unsigned *line)
{
	struct render_run r;
	size_t start = out->len;
	enum render_error err;

	memset(&r, 0, sizeof(r));
	r.t = t;
	r.mode = mode;
	r.ctx = ctx;
	r.out = out;
	r.stack[0] = root;
	r.depth = 1;
	err = render_range(&r, 0, t->ntoks);
	if (err == RENDER_OK)
		err = render_buf_append(out, "", 0); /* a NUL even for empty output */
	if (err != RENDER_OK) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	if (line != NULL)
		*line = err == RENDER_OK ? 0 : r.line;
	return err;
}

enum render_error render_string(const char *tpl, size_t len, enum render_mode mode,
				const struct render_context *ctx, struct render_value root,
				struct render_buf *out, unsigned *line)
{
	enum render_error err;
	unsigned l = 0;
	struct render_template *t = render_compile(tpl, len, &err, &l);

	if (t == NULL) {
		if (line != NULL)
			*line = l;
		return err;
	}
	err = render_execute(t, mode, ctx, root, out, line);
	render_template_free(t);
	return err;
}

static bool render_kv_lookup(void *user, const void *map, const char *name, size_t len,
			     struct render_value *out)
{
	const struct render_kv_map *m = map;

	(void)user;
	for (size_t i = 0; m != NULL && i < m->n; i++) {
		const char *k = m->kv[i].key;

		if (k != NULL && strlen(k) == len && memcmp(k, name, len) == 0) {
			const char *v = m->kv[i].value ? m->kv[i].value : "";

			*out = (struct render_value){ RENDER_STRING, v, strlen(v), NULL };
			return true;
		}
	}
	return false;
}

const struct render_context render_kv_context = { render_kv_lookup, NULL, NULL };

struct render_value render_kv_root(const struct render_kv_map *map)
{
	return (struct render_value){ RENDER_MAP, NULL, 0, map };
}
