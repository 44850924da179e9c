/* Renderer behaviour beyond the Mustache spec: modes, truthiness of
 * strings, parse errors with line numbers, caps on nesting, output and
 * work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/render/render.h"

struct tjson;
struct tjson *tjson_parse(const char *s);
void tjson_free(struct tjson *n);
struct render_value tjson_value(const struct tjson *n);
extern const struct render_context tjson_context;

/* Render tpl with JSON data; returns the error, output in *out (static). */
static enum render_error run(const char *tpl, const char *json, enum render_mode mode,
			     size_t max, const char **out, unsigned *line)
{
	static char result[1 << 16];
	struct tjson *data = tjson_parse(json);
	struct render_buf b;
	enum render_error err;

	render_buf_init(&b, max);
	err = render_string(tpl, strlen(tpl), mode, &tjson_context, tjson_value(data), &b, line);
	snprintf(result, sizeof(result), "%s", b.data ? b.data : "");
	*out = result;
	render_buf_free(&b);
	tjson_free(data);
	return err;
}

static void expect_out(const char *tpl, const char *json, enum render_mode mode,
		       const char *want)
{
	const char *out;
	unsigned line;
	enum render_error err = run(tpl, json, mode, 1 << 16, &out, &line);

	if (err != RENDER_OK || strcmp(out, want) != 0) {
		print_error("'%s': %s, '%s' want '%s'\n", tpl, render_error_name(err), out, want);
		fail();
	}
}

static void expect_err(const char *tpl, const char *json, enum render_mode mode,
		       enum render_error want, unsigned want_line)
{
	const char *out;
	unsigned line = 12345;
	enum render_error err = run(tpl, json, mode, 1 << 16, &out, &line);

	if (err != want || line != want_line || out[0] != '\0') {
		print_error("'%s': %s line %u, want %s line %u (out '%s')\n", tpl,
			    render_error_name(err), line, render_error_name(want), want_line, out);
		fail();
	}
}

static void test_modes(void **state)
{
	static const char data[] = "{'v':'<a href=\"x\">&\\'</a>','t':'a\\tb','nl':'a\\nchain http://evil/'}";

	(void)state;
	expect_out("{{v}}", data, RENDER_MODE_HTML, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	expect_out("{{v}}", data, RENDER_MODE_TEXT, "<a href=\"x\">&'</a>");
	expect_out("{{{v}}}|{{&v}}", data, RENDER_MODE_HTML, "<a href=\"x\">&'</a>|<a href=\"x\">&'</a>");
	expect_out("{{v}}", data, RENDER_MODE_SCRIPT, "<a href=\"x\">&'</a>");
	/* a value cannot add a line to a boot script */
	expect_out("{{nl}}", data, RENDER_MODE_TEXT, "a\nchain http://evil/");
	expect_err("#!ipxe\nset host {{nl}}\nboot", data, RENDER_MODE_SCRIPT, RENDER_E_UNSAFE_VALUE, 2);
	expect_err("x\n\n{{{nl}}}", data, RENDER_MODE_SCRIPT, RENDER_E_UNSAFE_VALUE, 3);
	expect_err("{{#v}}\n{{&nl}}{{/v}}", data, RENDER_MODE_SCRIPT, RENDER_E_UNSAFE_VALUE, 2);
	expect_out("{{t}}", data, RENDER_MODE_SCRIPT, "a\tb");
	/* but the template's own newlines are fine */
	expect_out("a\n{{t}}\n", data, RENDER_MODE_SCRIPT, "a\na\tb\n");
}

static void test_truthy(void **state)
{
	static const char data[] =
		"{'zero':'0','false':'false','empty':'','no':'no','one':'1','True':'True',"
		"'FALSE':'FALSE','space':' ','map':{},'list':[],'t':true,'f':false,'n':null,"
		"'num0':0}";
	static const char *const falsy[] = { "zero", "false", "empty", "list", "f", "n",
					     "missing", "num0" };
	static const char *const truthy[] = { "no", "one", "True", "FALSE", "space", "map", "t" };
	char tpl[128];

	(void)state;
	for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++) {
		snprintf(tpl, sizeof(tpl), "{{#%s}}yes{{/%s}}{{^%s}}no{{/%s}}", falsy[i],
			 falsy[i], falsy[i], falsy[i]);
		expect_out(tpl, data, RENDER_MODE_TEXT, "no");
	}
	for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++) {
		snprintf(tpl, sizeof(tpl), "{{#%s}}yes{{/%s}}{{^%s}}no{{/%s}}", truthy[i],
			 truthy[i], truthy[i], truthy[i]);
		expect_out(tpl, data, RENDER_MODE_TEXT, "yes");
	}
	/* how values print */
	expect_out("[{{t}}][{{f}}][{{n}}][{{map}}][{{list}}][{{zero}}]", data, RENDER_MODE_TEXT,
		   "[true][false][][][][0]");
	/* a string section pushes the string */
	expect_out("{{#one}}<{{.}}>{{/one}}", data, RENDER_MODE_TEXT, "<1>");
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_err("a\nb {{#x}}\nc", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_SECTION, 2);
	expect_err("{{#a}}\n{{#b}}\n{{/b}}\n", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_SECTION, 1);
	expect_err("{{#a}}\n{{^b}}\n", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_SECTION, 2);
	expect_err("{{#a}}\n{{/b}}", "{}", RENDER_MODE_TEXT, RENDER_E_MISMATCHED_CLOSE, 2);
	expect_err("{{#a}}{{#b}}{{/a}}{{/b}}", "{}", RENDER_MODE_TEXT, RENDER_E_MISMATCHED_CLOSE, 1);
	expect_err("{{#a.b}}{{/a}}", "{}", RENDER_MODE_TEXT, RENDER_E_MISMATCHED_CLOSE, 1);
	expect_err("x\n\n{{/a}}", "{}", RENDER_MODE_TEXT, RENDER_E_UNOPENED_CLOSE, 3);
	expect_err("a\n{{b", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_TAG, 2);
	expect_err("a\n\n\nb{{", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_TAG, 4);
	expect_err("{{{a}}", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_TAG, 1);
	expect_err("{{! never closed\n\n", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_TAG, 1);
	expect_err("{{}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("{{  }}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("{{{}}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("{{#}}{{/}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("\n{{a b}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 2);
	expect_err("{{a..b}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("{{.a}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("{{a.}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("{{..}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	expect_err("{{a\x01b}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 1);
	{
		static const char nul[] = "{{a\0b}}";
		struct render_buf b;
		unsigned line;

		render_buf_init(&b, 64);
		assert_int_equal(render_string(nul, sizeof(nul) - 1, RENDER_MODE_TEXT, NULL,
					       (struct render_value){ RENDER_NULL, NULL, 0, NULL },
					       &b, &line), RENDER_E_BAD_NAME);
		render_buf_free(&b);
	}
	expect_err("{{=<% %>}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_DELIMITERS, 1);
	expect_err("{{=<%=}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_DELIMITERS, 1);
	expect_err("{{==}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_DELIMITERS, 1);
	expect_err("{{=}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_DELIMITERS, 1);
	expect_err("{{=a b c=}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_DELIMITERS, 1);
	expect_err("{{=a= b=}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_DELIMITERS, 1);
	expect_err("{{=123456789 b=}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_DELIMITERS, 1);
	expect_err("x\n{{>partial}}", "{}", RENDER_MODE_TEXT, RENDER_E_UNSUPPORTED, 2);
	/* errors are found in sections that would not be rendered */
	expect_err("{{#missing}}\n{{a b}}\n{{/missing}}", "{}", RENDER_MODE_TEXT, RENDER_E_BAD_NAME, 2);
	/* new delimiters: the old ones are text, errors still found */
	expect_out("{{=<% %>=}}{{x}}<%x%>", "{'x':1}", RENDER_MODE_TEXT, "{{x}}1");
	expect_out("{{=<% %>=}}<%{x}%>|<%={{ }}=%>{{x}}", "{'x':'&'}", RENDER_MODE_HTML, "&|&amp;");
	expect_err("{{=<% %>=}}\n<%x", "{}", RENDER_MODE_TEXT, RENDER_E_UNCLOSED_TAG, 2);

	for (int e = 0; e < RENDER_E__COUNT; e++)
		assert_string_not_equal(render_error_name((enum render_error)e), "unknown");
	assert_string_equal(render_error_name(RENDER_E__COUNT), "unknown");
}

static void test_depth(void **state)
{
	char tpl[RENDER_MAX_DEPTH * 16 + 64];
	const char *out;
	unsigned line;
	size_t o;

	(void)state;
	for (int extra = 0; extra <= 1; extra++) {
		int n = RENDER_MAX_DEPTH + extra;

		o = 0;
		for (int i = 0; i < n; i++, o += 7)
			memcpy(tpl + o, "{{#t}}\n", 7);
		memcpy(tpl + o, "x\n", 2);
		o += 2;
		for (int i = 0; i < n; i++, o += 7)
			memcpy(tpl + o, "{{/t}}\n", 7);
		tpl[o] = '\0';
		if (extra) {
			assert_int_equal(run(tpl, "{'t':true}", RENDER_MODE_TEXT, 1 << 16, &out, &line),
					 RENDER_E_DEPTH);
			assert_int_equal(line, RENDER_MAX_DEPTH + 1);
		} else {
			assert_int_equal(run(tpl, "{'t':true}", RENDER_MODE_TEXT, 1 << 16, &out, &line),
					 RENDER_OK);
			assert_string_equal(out, "x\n");
		}
	}
}

static void test_output_cap(void **state)
{
	struct tjson *data = tjson_parse("{'x':'12345','l':[1,2,3,4,5,6,7,8,9,10]}");
	struct render_buf b;
	unsigned line = 0;

	(void)state;
	render_buf_init(&b, 10);
	assert_int_equal(render_string("ab{{x}}", 7, RENDER_MODE_TEXT, &tjson_context,
				       tjson_value(data), &b, &line), RENDER_OK);
	assert_string_equal(b.data, "ab12345");
	/* appends; exactly at the cap is fine */
	assert_int_equal(render_string("{{x}}", 5, RENDER_MODE_TEXT, &tjson_context,
				       tjson_value(data), &b, &line), RENDER_E_OUTPUT_TOO_LARGE);
	assert_int_equal(line, 1);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.data, "ab12345");
	assert_int_equal(render_string("abc", 3, RENDER_MODE_TEXT, &tjson_context,
				       tjson_value(data), &b, &line), RENDER_OK);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "ab12345abc");
	assert_int_equal(render_string("", 0, RENDER_MODE_TEXT, &tjson_context,
				       tjson_value(data), &b, &line), RENDER_OK);
	assert_int_equal(render_string("x", 1, RENDER_MODE_TEXT, &tjson_context,
				       tjson_value(data), &b, &line), RENDER_E_OUTPUT_TOO_LARGE);
	assert_int_equal(line, 0); /* plain text, no tag to blame */
	render_buf_free(&b);

	/* a list multiplying output hits the cap, not memory */
	render_buf_init(&b, 1000);
	assert_int_equal(render_string("{{#l}}{{#l}}{{#l}}{{x}}{{/l}}{{/l}}{{/l}}", 41, RENDER_MODE_TEXT,
				       &tjson_context, tjson_value(data), &b, &line),
			 RENDER_E_OUTPUT_TOO_LARGE);
	assert_int_equal(b.len, 0);
	assert_true(b.cap <= 1001);
	render_buf_free(&b);
	tjson_free(data);
}

static void test_work_cap(void **state)
{
	char json[1024];
	size_t o = 0;
	const char *out;
	unsigned line;

	(void)state;
	/* 100^5 empty iterations: refused by the step budget, fast */
	o += (size_t)sprintf(json + o, "{'l':[");
	for (int i = 0; i < 100; i++)
		o += (size_t)sprintf(json + o, "%s%d", i ? "," : "", i);
	sprintf(json + o, "]}");
	assert_int_equal(run("\n{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}", json,
			     RENDER_MODE_TEXT, 1 << 16, &out, &line),
			 RENDER_E_TOO_MUCH_WORK);
	assert_int_equal(line, 2);
}

/* Callers with no data, or a context without callbacks. */
static void test_no_context(void **state)
{
	struct render_context empty = { NULL, NULL, NULL };
	struct render_value root = { RENDER_MAP, NULL, 0, NULL };
	struct render_value list = { RENDER_LIST, NULL, 3, NULL };
	struct render_buf b;
	unsigned line;

	(void)state;
	render_buf_init(&b, 100);
	assert_int_equal(render_string("a{{x}}b{{#x}}c{{/x}}{{^x}}d{{/x}}", 33, RENDER_MODE_TEXT,
				       NULL, root, &b, &line), RENDER_OK);
	assert_string_equal(b.data, "abd");
	b.len = 0;
	assert_int_equal(render_string("{{#.}}[{{.}}]{{/.}}", 19, RENDER_MODE_TEXT, &empty, list,
				       &b, &line), RENDER_OK);
	assert_string_equal(b.data, "[][][]");
	b.len = 0;
	assert_int_equal(render_string(NULL, 0, RENDER_MODE_TEXT, NULL, root, &b, &line), RENDER_OK);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	render_buf_free(&b);
}

/* Compile once, render per host. */
static void test_reuse(void **state)
{
	static const char tpl[] =
		"#!ipxe\n"
		"{{! per-host boot script }}\n"
		"kernel {{base}}/vmlinuz ip={{ip}}{{#console}} console={{console}}{{/console}}\n"
		"{{#initrds}}\n"
		"initrd {{base}}/{{.}}\n"
		"{{/initrds}}\n"
		"{{^initrds}}\n"
		"# no initrd\n"
		"{{/initrds}}\n"
		"boot\n";
	static const char *const hosts[][2] = {
		{ "{'base':'http://10.0.0.1/debian','ip':'dhcp','console':'ttyS0,115200',"
		  "'initrds':['initrd.gz','firmware.cpio.gz']}",
		  "#!ipxe\nkernel http://10.0.0.1/debian/vmlinuz ip=dhcp console=ttyS0,115200\n"
		  "initrd http://10.0.0.1/debian/initrd.gz\n"
		  "initrd http://10.0.0.1/debian/firmware.cpio.gz\nboot\n" },
		{ "{'base':'http://h/x','ip':'10.0.0.9::10.0.0.1:255.255.255.0','console':'',"
		  "'initrds':[]}",
		  "#!ipxe\nkernel http://h/x/vmlinuz ip=10.0.0.9::10.0.0.1:255.255.255.0\n"
		  "# no initrd\nboot\n" },
	};
	enum render_error err;
	unsigned line;
	struct render_template *t = render_compile(tpl, sizeof(tpl) - 1, &err, &line);

	(void)state;
	assert_non_null(t);
	assert_int_equal(err, RENDER_OK);
	for (size_t i = 0; i < 2; i++) {
		struct tjson *d = tjson_parse(hosts[i][0]);
		struct render_buf b;

		render_buf_init(&b, 4096);
		assert_int_equal(render_execute(t, RENDER_MODE_SCRIPT, &tjson_context, tjson_value(d),
						&b, &line), RENDER_OK);
		assert_string_equal(b.data, hosts[i][1]);
		render_buf_free(&b);
		tjson_free(d);
	}
	render_template_free(t);
	render_template_free(NULL);

	assert_null(render_compile("{{#a}}", 6, &err, &line));
	assert_int_equal(err, RENDER_E_UNCLOSED_SECTION);
	assert_int_equal(line, 1);
}

/* Many tags and long text: linear, and the line count stays right. */
static void test_large(void **state)
{
	const size_t n = 20000;
	char *tpl = malloc(n * 12 + 32);
	struct tjson *d = tjson_parse("{'x':'y'}");
	struct render_buf b;
	unsigned line;
	size_t o = 0;

	(void)state;
	if (tpl == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(tpl + o, "{{x}}-\n");
	o += (size_t)sprintf(tpl + o, "{{/z}}");
	render_buf_init(&b, 1 << 20);
	assert_int_equal(render_string(tpl, o - 6, RENDER_MODE_TEXT, &tjson_context, tjson_value(d),
				       &b, &line), RENDER_OK);
	assert_int_equal(b.len, n * 3);
	b.len = 0;
	assert_int_equal(render_string(tpl, o, RENDER_MODE_TEXT, &tjson_context, tjson_value(d),
				       &b, &line), RENDER_E_UNOPENED_CLOSE);
	assert_int_equal(line, n + 1);
	render_buf_free(&b);
	tjson_free(d);
	free(tpl);
}

static void test_kv(void **state)
{
	static const struct render_kv kv[] = {
		{ "hostname", "node7" }, { "mac", "aa:bb:cc:dd:ee:ff" }, { "serial", NULL },
		{ "console", "0" }, { "hostname", "shadowed" },
	};
	const struct render_kv_map map = { kv, sizeof(kv) / sizeof(kv[0]) };
	static const char tpl[] = "{{hostname}} {{mac}} [{{serial}}]{{#console}} c{{/console}}"
				  "{{^console}} noc{{/console}} [{{host}}][{{hostnamex}}]";
	struct render_buf b;
	unsigned line;

	(void)state;
	render_buf_init(&b, 256);
	assert_int_equal(render_string(tpl, sizeof(tpl) - 1, RENDER_MODE_SCRIPT, &render_kv_context,
				       render_kv_root(&map), &b, &line), RENDER_OK);
	assert_string_equal(b.data, "node7 aa:bb:cc:dd:ee:ff [] noc [][]");
	render_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_truthy),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_work_cap),
		cmocka_unit_test(test_no_context),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_kv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
