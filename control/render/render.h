/* Logic-less templates (Mustache) for boot scripts, kickstarts, preseeds
 * and menus, rendered per host.
 *
 *   {{name}}          value, HTML-escaped in RENDER_MODE_HTML only
 *   {{{name}}} {{&name}}  value, never escaped
 *   {{#name}}..{{/name}}  section: skipped if falsy, repeated per item of
 *                         a list, else rendered once with the value pushed
 *   {{^name}}..{{/name}}  inverted section: rendered only if falsy
 *   {{! comment }}    {{=<% %>=}} set delimiters    {{a.b.c}} dotted names
 *   {{.}}             the value on top of the context stack
 * Partials ({{>name}}) and lambdas are not supported.
 *
 * Falsy: missing, null, false, an empty list, and the strings "", "0" and
 * "false" (inventory values are strings, so "0"/"false" must switch a
 * section off). A map, even empty, is truthy.
 *
 * Passes the Mustache spec (v1.3) for interpolation, sections, inverted,
 * comments and delimiters in RENDER_MODE_HTML; see tests/unit/test_render_spec.c.
 *
 * The data is the caller's: a render_context looks names up in the
 * caller's own maps and lists, so hosts and profiles need no conversion.
 * Everything is bounded: template nesting (RENDER_MAX_DEPTH), output size
 * (the caller's cap), and work (RENDER_MAX_STEPS, against lists nested in
 * lists producing nothing). Nothing recurses deeper than the nesting cap.
 */
#ifndef PXECAST_CONTROL_RENDER_RENDER_H
#define PXECAST_CONTROL_RENDER_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#define RENDER_MAX_DEPTH 32           /* nested sections in one template */
#define RENDER_MAX_DELIM 8            /* bytes of a custom delimiter */
#define RENDER_MAX_STEPS (1u << 22)   /* tags, texts and list items visited */
#define RENDER_MAX_TEMPLATE (16u << 20) /* template bytes */

enum render_error {
	RENDER_OK = 0,
	RENDER_E_UNCLOSED_TAG,     /* "{{" with no "}}" after it */
	RENDER_E_UNCLOSED_SECTION, /* {{#a}} or {{^a}} never closed */
	RENDER_E_MISMATCHED_CLOSE, /* {{/b}} while {{#a}} is open */
	RENDER_E_UNOPENED_CLOSE,   /* {{/a}} with no section open */
	RENDER_E_BAD_NAME,         /* empty, has whitespace, or empty dotted part */
	RENDER_E_BAD_DELIMITERS,   /* {{=..=}} not two words, too long, or has = */
	RENDER_E_UNSUPPORTED,      /* partial {{>x}} */
	RENDER_E_DEPTH,            /* sections nested over RENDER_MAX_DEPTH */
	RENDER_E_TEMPLATE_TOO_LARGE,
	RENDER_E_OUTPUT_TOO_LARGE, /* output would pass the buffer's cap */
	RENDER_E_TOO_MUCH_WORK,    /* over RENDER_MAX_STEPS */
	RENDER_E_UNSAFE_VALUE,     /* RENDER_MODE_SCRIPT: control byte in a value */
	RENDER_E_NOMEM,
	RENDER_E__COUNT
};

/* Stable lowercase name for logs and config errors. */
const char *render_error_name(enum render_error err);

enum render_mode {
	RENDER_MODE_HTML,   /* the spec: {{x}} escapes & < > " ' */
	RENDER_MODE_TEXT,   /* {{x}} verbatim: iPXE, kickstart, preseed, GRUB */
	/* TEXT, and a value holding a control byte other than TAB (CR, LF,
	 * ESC, NUL...) is refused: a client-supplied hostname then cannot add
	 * a line to a boot script. */
	RENDER_MODE_SCRIPT,
};

enum render_type {
	RENDER_MISSING = 0, /* not found: falsy, renders nothing */
	RENDER_NULL,        /* falsy, renders nothing */
	RENDER_FALSE,       /* falsy, renders "false" */
	RENDER_TRUE,        /* renders "true" */
	RENDER_STRING,      /* str/len; numbers are strings too */
	RENDER_MAP,         /* node: look names up with ctx->lookup */
	RENDER_LIST,        /* node: len items, fetched with ctx->item */
};

struct render_value {
	enum render_type type;
	const char *str;    /* STRING: bytes, not NUL terminated */
	size_t len;         /* STRING: length; LIST: number of items */
	const void *node;   /* MAP, LIST: the caller's handle */
};

struct render_context {
	/* Find name (name_len bytes, no dots) in map; false if absent. */
	bool (*lookup)(void *user, const void *map, const char *name,
		       size_t name_len, struct render_value *out);
	/* Item index (< the list's len) of list; false if absent. */
	bool (*item)(void *user, const void *list, size_t index,
		     struct render_value *out);
	void *user;
};

/* A ready-made context for the common case, a flat list of string pairs
 * (a host's key = value lines): render_kv_root() gives the root value,
 * render_kv_context looks names up in it (first match wins). */
struct render_kv {
	const char *key;
	const char *value;
};
struct render_kv_map {
	const struct render_kv *kv;
	size_t n;
};
extern const struct render_context render_kv_context;
struct render_value render_kv_root(const struct render_kv_map *map);

/* Output: grown with realloc up to max bytes (a NUL is kept after the
 * data, not counted). Start zeroed via render_buf_init. */
struct render_buf {
	char *data;
	size_t len, cap, max;
};

void render_buf_init(struct render_buf *b, size_t max);
void render_buf_free(struct render_buf *b);

/* A parsed template. It points into the template text, which must outlive
 * it. Parse once at config load (errors carry a line number), render per
 * request. */
struct render_template;

/* Parse tpl. On error returns NULL, *err and *line (1-based, the line of
 * the offending tag; for an unclosed section the line of its opening). */
struct render_template *render_compile(const char *tpl, size_t len,
				       enum render_error *err, unsigned *line);
void render_template_free(struct render_template *t);

/* Append the rendering of t with data root to out. On error out->len is
 * left as it was, and *line (may be NULL) is the line of the tag that
 * failed (0 for a cap hit outside a tag). */
enum render_error render_execute(const struct render_template *t,
				 enum render_mode mode,
				 const struct render_context *ctx,
				 struct render_value root,
				 struct render_buf *out, unsigned *line);

/* render_compile + render_execute + free, for one-off use. */
enum render_error render_string(const char *tpl, size_t len,
				enum render_mode mode,
				const struct render_context *ctx,
				struct render_value root,
				struct render_buf *out, unsigned *line);

#endif
