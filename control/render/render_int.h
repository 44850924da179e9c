/* Private to control/render: the parsed form shared by compile and execute. */
#ifndef PXECAST_CONTROL_RENDER_RENDER_INT_H
#define PXECAST_CONTROL_RENDER_RENDER_INT_H

#include "control/render/render.h"

enum render_tok_kind {
	RENDER_TOK_TEXT,
	RENDER_TOK_VAR,      /* {{x}}: escaped in HTML mode */
	RENDER_TOK_RAW,      /* {{{x}}} {{&x}} */
	RENDER_TOK_SECTION,  /* {{#x}} */
	RENDER_TOK_INVERTED, /* {{^x}} */
	RENDER_TOK_CLOSE,    /* {{/x}} */
};

struct render_tok {
	enum render_tok_kind kind;
	size_t off, len;  /* TEXT: the text; others: the trimmed name */
	size_t end;       /* SECTION/INVERTED: index of the matching CLOSE */
	unsigned line;
};

struct render_template {
	const char *src;
	struct render_tok *toks;
	size_t ntoks, cap;
};

#endif
