/* Template parser: text and tags into a flat token array, sections linked
 * to their close (see render.h). Every structural error is found here, at
 * config load, not halfway through a response.
 *
 * Standalone lines (Mustache spec): a line holding only whitespace and one
 * section, inverted, close, comment or delimiter tag vanishes entirely,
 * newline included, so templates can be indented and commented freely
 * without leaving blank lines in a kickstart.
 */
#include "control/render/render_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct render_parser {
	const char *s;
	size_t len;
	char open[RENDER_MAX_DELIM], close[RENDER_MAX_DELIM + 1];
	size_t olen, clen;
	size_t text_start;    /* first byte not yet emitted as text */
	size_t last_tag_end;
	size_t line_pos;      /* newlines are counted up to here */
	unsigned line;
	size_t stack[RENDER_MAX_DEPTH]; /* open sections: token indexes */
	size_t depth;
	struct render_template *t;
};

/* The 1-based line of position pos; positions only move forward. */
static unsigned render_line_at(struct render_parser *p, size_t pos)
{
	for (; p->line_pos < pos; p->line_pos++)
		if (p->s[p->line_pos] == '\n')
			p->line++;
	return p->line;
}

static enum render_error render_push_tok(struct render_template *t,
					 enum render_tok_kind kind, size_t off,
					 size_t len, unsigned line)
{
	if (t->ntoks == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct render_tok *n = realloc(t->toks, cap * sizeof(*n));

		if (n == NULL)
			return RENDER_E_NOMEM;
		t->toks = n;
		t->cap = cap;
	}
	t->toks[t->ntoks++] = (struct render_tok){ kind, off, len, 0, line };
	return RENDER_OK;
}

static bool render_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void render_trim(const char *s, size_t *off, size_t *len)
{
	while (*len > 0 && render_is_space(s[*off])) {
		(*off)++;
		(*len)--;
	}
	while (*len > 0 && render_is_space(s[*off + *len - 1]))
		(*len)--;
}

/* "." or dot-separated non-empty parts, no whitespace or control bytes
 * (a NUL in a name would cut it short in a C-string lookup). */
static enum render_error render_check_name(const char *n, size_t len)
{
	if (len == 0)
		return RENDER_E_BAD_NAME;
	if (len == 1 && n[0] == '.')
		return RENDER_OK;
	if (n[0] == '.' || n[len - 1] == '.')
		return RENDER_E_BAD_NAME;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)n[i] <= ' ' || n[i] == 0x7f)
			return RENDER_E_BAD_NAME;
		if (n[i] == '.' && n[i + 1] == '.')
			return RENDER_E_BAD_NAME;
	}
	return RENDER_OK;
}

/* {{=<% %>=}}: content is "<% %>=" after the first '='. */
static enum render_error render_set_delims(struct render_parser *p, size_t off, size_t len)
{
	const char *s = p->s;
	size_t a, alen = 0, b, blen = 0;

	if (len == 0 || s[off + len - 1] != '=')
		return RENDER_E_BAD_DELIMITERS;
	len--;
	render_trim(s, &off, &len);
	a = off;
	while (alen < len && !render_is_space(s[a + alen]))
		alen++;
	b = a + alen;
	while (b < off + len && render_is_space(s[b]))
		b++;
	blen = off + len - b;
	if (alen == 0 || blen == 0 || alen > RENDER_MAX_DELIM || blen > RENDER_MAX_DELIM ||
	    memchr(s + a, '=', alen) || memchr(s + b, '=', blen))
		return RENDER_E_BAD_DELIMITERS;
	for (size_t i = 0; i < blen; i++)
		if (render_is_space(s[b + i]))
			return RENDER_E_BAD_DELIMITERS;
	memcpy(p->open, s + a, alen);
	p->olen = alen;
	memcpy(p->close, s + b, blen);
	p->clen = blen;
	return RENDER_OK;
}

static enum render_error render_emit_text(struct render_parser *p, size_t end)
{
	enum render_error err = RENDER_OK;

	if (end > p->text_start)
		err = render_push_tok(p->t, RENDER_TOK_TEXT, p->text_start,
				      end - p->text_start, 0);
	return err;
}

/* If the tag [tag, tag_end) stands alone on its line, the text before it
 * ends at *text_end and text resumes at *resume. */
static bool render_standalone(const struct render_parser *p, size_t tag, size_t tag_end,
			      size_t *text_end, size_t *resume)
{
	const char *s = p->s;
	size_t ls = tag, r = tag_end;

	while (ls > 0 && (s[ls - 1] == ' ' || s[ls - 1] == '\t'))
		ls--;
	if ((ls > 0 && s[ls - 1] != '\n') || ls < p->last_tag_end)
		return false;
	while (r < p->len && (s[r] == ' ' || s[r] == '\t'))
		r++;
	if (r == p->len)
		*resume = r;
	else if (s[r] == '\n')
		*resume = r + 1;
	else if (s[r] == '\r' && r + 1 < p->len && s[r + 1] == '\n')
		*resume = r + 2;
	else
		return false;
	*text_end = ls;
	return true;
}

static enum render_error render_tag(struct render_parser *p, char sigil,
				    size_t off, size_t len, unsigned line)
{
	struct render_template *t = p->t;
	enum render_tok_kind kind;
	enum render_error err;

	if (sigil == '!')
		return RENDER_OK;
	if (sigil == '=')
		return render_set_delims(p, off, len);
	if (sigil == '>')
		return RENDER_E_UNSUPPORTED;
	render_trim(p->s, &off, &len);
	err = render_check_name(p->s + off, len);
	if (err != RENDER_OK)
		return err;
	switch (sigil) {
	case '#':
	case '^':
		if (p->depth == RENDER_MAX_DEPTH)
			return RENDER_E_DEPTH;
		p->stack[p->depth++] = t->ntoks;
		kind = sigil == '#' ? RENDER_TOK_SECTION : RENDER_TOK_INVERTED;
		break;
	case '/': {
		struct render_tok *o;

		if (p->depth == 0)
			return RENDER_E_UNOPENED_CLOSE;
		o = &t->toks[p->stack[p->depth - 1]];
		if (o->len != len || memcmp(p->s + o->off, p->s + off, len) != 0)
			return RENDER_E_MISMATCHED_CLOSE;
		o->end = t->ntoks;
		p->depth--;
		kind = RENDER_TOK_CLOSE;
		break;
	}
	case '&':
	case '{':
		kind = RENDER_TOK_RAW;
		break;
	default:
		kind = RENDER_TOK_VAR;
		break;
	}
	return render_push_tok(t, kind, off, len, line);
}

static enum render_error render_parse(struct render_parser *p, unsigned *line)
{
	const char *s = p->s;
	size_t pos = 0;
	enum render_error err;

	if (p->len == 0)
		return RENDER_OK; /* tpl may be NULL */
	for (;;) {
		const char *hit = memmem(s + pos, p->len - pos, p->open, p->olen);
		char closer[RENDER_MAX_DELIM + 1];
		size_t tag, c, cs, q, tag_end, closer_len, text_end, resume;
		const char *found;
		char sigil;
		bool alone;

		if (hit == NULL)
			break;
		tag = (size_t)(hit - s);
		*line = render_line_at(p, tag);
		c = tag + p->olen;
		if (c >= p->len)
			return RENDER_E_UNCLOSED_TAG;
		sigil = s[c];
		cs = strchr("#^/!=>&{", sigil) != NULL && sigil != '\0' ? c + 1 : c;
		/* {{{x}}} closes with '}' and the closing delimiter */
		closer_len = 0;
		if (sigil == '{')
			closer[closer_len++] = '}';
		memcpy(closer + closer_len, p->close, p->clen);
		closer_len += p->clen;
		found = memmem(s + cs, p->len - cs, closer, closer_len);
		if (found == NULL)
			return RENDER_E_UNCLOSED_TAG;
		q = (size_t)(found - s);
		tag_end = q + closer_len;

		alone = strchr("#^/!=>", sigil) != NULL && sigil != '\0' &&
			render_standalone(p, tag, tag_end, &text_end, &resume);
		err = render_emit_text(p, alone ? text_end : tag);
		if (err != RENDER_OK)
			return err;
		p->text_start = alone ? resume : tag_end;
		err = render_tag(p, sigil, cs, q - cs, *line);
		if (err != RENDER_OK)
			return err;
		pos = tag_end;
		p->last_tag_end = tag_end;
	}
	err = render_emit_text(p, p->len);
	if (err != RENDER_OK)
		return err;
	if (p->depth > 0) {
		*line = p->t->toks[p->stack[p->depth - 1]].line;
		return RENDER_E_UNCLOSED_SECTION;
	}
	return RENDER_OK;
}

struct render_template *render_compile(const char *tpl, size_t len,
				       enum render_error *err, unsigned *line)
{
	struct render_parser p;
	enum render_error e;
	unsigned l = 0;

	if (len > RENDER_MAX_TEMPLATE) {
		*err = RENDER_E_TEMPLATE_TOO_LARGE;
		*line = 0;
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.s = tpl;
	p.len = len;
	memcpy(p.open, "{{", 2);
	memcpy(p.close, "}}", 2);
	p.olen = p.clen = 2;
	p.line = 1;
	p.t = calloc(1, sizeof(*p.t));
	if (p.t == NULL) {
		*err = RENDER_E_NOMEM;
		*line = 0;
		return NULL;
	}
	p.t->src = tpl;
	e = render_parse(&p, &l);
	if (e != RENDER_OK) {
		render_template_free(p.t);
		*err = e;
		*line = e == RENDER_E_NOMEM ? 0 : l;
		return NULL;
	}
	*err = RENDER_OK;
	*line = 0;
	return p.t;
}

void render_template_free(struct render_template *t)
{
	if (t == NULL)
		return;
	free(t->toks);
	free(t);
}
