/* libFuzzer: the template parser and renderer, with the input as the
 * template (operators write templates; a hostile or broken one must give
 * an error, never a crash, a hang or an output over the cap). Fixed data
 * with maps, lists, nested lists and every value type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/render/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fnode {
	enum render_type type;
	const char *str;
	const char *const *keys;  /* MAP: n keys */
	const struct fnode *kids; /* MAP, LIST: n children */
	size_t n;
};

#define S(s) { RENDER_STRING, s, NULL, NULL, 0 }
#define LIST(...) { RENDER_LIST, NULL, NULL, (const struct fnode[]){ __VA_ARGS__ }, \
		    sizeof((const struct fnode[]){ __VA_ARGS__ }) / sizeof(struct fnode) }

#define INNER { RENDER_MAP, NULL, (const char *const[]){ "name", "l", "x" }, \
		(const struct fnode[]){ S("inner"), LIST(S("1"), S("2")), S("<x>") }, 3 }

static const struct fnode fuzz_render_root = {
	RENDER_MAP, NULL,
	(const char *const[]){ "name", "empty", "zero", "t", "f", "n", "list", "map", "nl", "x" },
	(const struct fnode[]){
		S("host&<\"'>"), S(""), S("0"),
		{ RENDER_TRUE, NULL, NULL, NULL, 0 },
		{ RENDER_FALSE, NULL, NULL, NULL, 0 },
		{ RENDER_NULL, NULL, NULL, NULL, 0 },
		LIST(S("a"), INNER, LIST(S("b"), S("c"), LIST(S("d"))), S("")),
		INNER,
		S("a\nb"), S("x.y"),
	},
	10
};

static struct render_value fuzz_render_value(const struct fnode *n)
{
	struct render_value v = { n->type, n->str, 0, n };

	if (n->type == RENDER_STRING)
		v.len = strlen(n->str);
	else if (n->type == RENDER_LIST)
		v.len = n->n;
	return v;
}

static bool fuzz_render_lookup(void *user, const void *map, const char *name, size_t len,
			       struct render_value *out)
{
	const struct fnode *m = map;

	(void)user;
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->keys[i]) == len && memcmp(m->keys[i], name, len) == 0) {
			*out = fuzz_render_value(&m->kids[i]);
			return true;
		}
	return false;
}

static bool fuzz_render_item(void *user, const void *list, size_t i, struct render_value *out)
{
	const struct fnode *l = list;

	(void)user;
	if (i >= l->n)
		return false;
	*out = fuzz_render_value(&l->kids[i]);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct render_context ctx = { fuzz_render_lookup, fuzz_render_item, NULL };
	struct render_template *t;
	struct render_buf a, b;
	enum render_error err, err2;
	enum render_mode mode;
	unsigned line;
	size_t cap;

	if (size < 2)
		return 0;
	/* byte 0: mode; byte 1: output cap */
	mode = (enum render_mode)(data[0] % 3);
	cap = (size_t)data[1] * 64;
	data += 2;
	size -= 2;

	t = render_compile((const char *)data, size, &err, &line);
	if (t == NULL) {
		if (err == RENDER_OK)
			abort();
		return 0;
	}
	render_buf_init(&a, cap);
	render_buf_init(&b, cap);
	err = render_execute(t, mode, &ctx, fuzz_render_value(&fuzz_render_root), &a, &line);
	err2 = render_execute(t, mode, &ctx, fuzz_render_value(&fuzz_render_root), &b, &line);
	/* deterministic, capped, and nothing left behind on error */
	if (err != err2 || a.len != b.len || a.len > cap ||
	    (a.len > 0 && memcmp(a.data, b.data, a.len) != 0) ||
	    (err != RENDER_OK && a.len != 0))
		abort();
	render_buf_free(&a);
	render_buf_free(&b);
	render_template_free(t);
	return 0;
}
