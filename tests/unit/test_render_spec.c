/* The Mustache spec (github.com/mustache/spec, v1.3, specs/<name>.yml, MIT) for
 * interpolation, sections, inverted, comments and delimiters, rendered in
 * RENDER_MODE_HTML. Data is written as JSON (single quotes allowed, see
 * test_render_json.c); numbers are kept as the text of the spec.
 *
 * Left out, because the context model or the feature set cannot express
 * them:
 * - delimiters "Partial Inheritence" and "Post-Partial Behavior": partials
 *   are not supported ({{>x}} is RENDER_E_UNSUPPORTED).
 * - interpolation "Dotted Names - Leading Dot" ({{.name}}), found in one
 *   revision of interpolation.yml only: ".name" is a parse error here.
 * - partials.yml, ~lambdas.yml, ~inheritance.yml, ~dynamic-names.yml:
 *   features we do not implement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/render/render.h"

struct tjson;
struct tjson *tjson_parse(const char *s);
void tjson_free(struct tjson *n);
struct render_value tjson_value(const struct tjson *n);
extern const struct render_context tjson_context;

struct spec_case {
	const char *file, *name, *data, *tpl, *expected;
};

static const struct spec_case spec_cases[] = {
	/* ---- interpolation.yml ---- */
	{ "interpolation", "No Interpolation", "{}",
	  "Hello from {Mustache}!\n", "Hello from {Mustache}!\n" },
	{ "interpolation", "Basic Interpolation", "{'subject':'world'}",
	  "Hello, {{subject}}!\n", "Hello, world!\n" },
	{ "interpolation", "No Re-interpolation", "{'template':'{{planet}}','planet':'Earth'}",
	  "{{template}}: {{planet}}", "{{planet}}: Earth" },
	{ "interpolation", "HTML Escaping", "{'forbidden':'& \" < >'}",
	  "These characters should be HTML escaped: {{forbidden}}\n",
	  "These characters should be HTML escaped: &amp; &quot; &lt; &gt;\n" },
	{ "interpolation", "Triple Mustache", "{'forbidden':'& \" < >'}",
	  "These characters should not be HTML escaped: {{{forbidden}}}\n",
	  "These characters should not be HTML escaped: & \" < >\n" },
	{ "interpolation", "Ampersand", "{'forbidden':'& \" < >'}",
	  "These characters should not be HTML escaped: {{&forbidden}}\n",
	  "These characters should not be HTML escaped: & \" < >\n" },
	{ "interpolation", "Basic Integer Interpolation", "{'mph':85}",
	  "\"{{mph}} miles an hour!\"", "\"85 miles an hour!\"" },
	{ "interpolation", "Triple Mustache Integer Interpolation", "{'mph':85}",
	  "\"{{{mph}}} miles an hour!\"", "\"85 miles an hour!\"" },
	{ "interpolation", "Ampersand Integer Interpolation", "{'mph':85}",
	  "\"{{&mph}} miles an hour!\"", "\"85 miles an hour!\"" },
	{ "interpolation", "Basic Decimal Interpolation", "{'power':1.21}",
	  "\"{{power}} jiggawatts!\"", "\"1.21 jiggawatts!\"" },
	{ "interpolation", "Triple Mustache Decimal Interpolation", "{'power':1.21}",
	  "\"{{{power}}} jiggawatts!\"", "\"1.21 jiggawatts!\"" },
	{ "interpolation", "Ampersand Decimal Interpolation", "{'power':1.21}",
	  "\"{{&power}} jiggawatts!\"", "\"1.21 jiggawatts!\"" },
	{ "interpolation", "Basic Null Interpolation", "{'cannot':null}",
	  "I ({{cannot}}) be seen!", "I () be seen!" },
	{ "interpolation", "Triple Mustache Null Interpolation", "{'cannot':null}",
	  "I ({{{cannot}}}) be seen!", "I () be seen!" },
	{ "interpolation", "Ampersand Null Interpolation", "{'cannot':null}",
	  "I ({{&cannot}}) be seen!", "I () be seen!" },
	{ "interpolation", "Basic Context Miss Interpolation", "{}",
	  "I ({{cannot}}) be seen!", "I () be seen!" },
	{ "interpolation", "Triple Mustache Context Miss Interpolation", "{}",
	  "I ({{{cannot}}}) be seen!", "I () be seen!" },
	{ "interpolation", "Ampersand Context Miss Interpolation", "{}",
	  "I ({{&cannot}}) be seen!", "I () be seen!" },
	{ "interpolation", "Dotted Names - Basic Interpolation", "{'person':{'name':'Joe'}}",
	  "\"{{person.name}}\" == \"{{#person}}{{name}}{{/person}}\"", "\"Joe\" == \"Joe\"" },
	{ "interpolation", "Dotted Names - Triple Mustache Interpolation", "{'person':{'name':'Joe'}}",
	  "\"{{{person.name}}}\" == \"{{#person}}{{{name}}}{{/person}}\"", "\"Joe\" == \"Joe\"" },
	{ "interpolation", "Dotted Names - Ampersand Interpolation", "{'person':{'name':'Joe'}}",
	  "\"{{&person.name}}\" == \"{{#person}}{{&name}}{{/person}}\"", "\"Joe\" == \"Joe\"" },
	{ "interpolation", "Dotted Names - Arbitrary Depth",
	  "{'a':{'b':{'c':{'d':{'e':{'name':'Phil'}}}}}}",
	  "\"{{a.b.c.d.e.name}}\" == \"Phil\"", "\"Phil\" == \"Phil\"" },
	{ "interpolation", "Dotted Names - Broken Chains", "{'a':{}}",
	  "\"{{a.b.c}}\" == \"\"", "\"\" == \"\"" },
	{ "interpolation", "Dotted Names - Broken Chain Resolution",
	  "{'a':{'b':{}},'c':{'name':'Jim'}}",
	  "\"{{a.b.c.name}}\" == \"\"", "\"\" == \"\"" },
	{ "interpolation", "Dotted Names - Initial Resolution",
	  "{'a':{'b':{'c':{'d':{'e':{'name':'Phil'}}}}},'b':{'c':{'d':{'e':{'name':'Wrong'}}}}}",
	  "\"{{#a}}{{b.c.d.e.name}}{{/a}}\" == \"Phil\"", "\"Phil\" == \"Phil\"" },
	{ "interpolation", "Dotted Names - Context Precedence", "{'a':{'b':{}},'b':{'c':'ERROR'}}",
	  "{{#a}}{{b.c}}{{/a}}", "" },
	{ "interpolation", "Dotted Names are never single keys", "{'a.b':'c'}",
	  "{{a.b}}", "" },
	{ "interpolation", "Dotted Names - No Masking", "{'a.b':'c','a':{'b':'d'}}",
	  "{{a.b}}", "d" },
	{ "interpolation", "Implicit Iterators - Basic Interpolation", "'world'",
	  "Hello, {{.}}!\n", "Hello, world!\n" },
	{ "interpolation", "Implicit Iterators - HTML Escaping", "'& \" < >'",
	  "These characters should be HTML escaped: {{.}}\n",
	  "These characters should be HTML escaped: &amp; &quot; &lt; &gt;\n" },
	{ "interpolation", "Implicit Iterators - Triple Mustache", "'& \" < >'",
	  "These characters should not be HTML escaped: {{{.}}}\n",
	  "These characters should not be HTML escaped: & \" < >\n" },
	{ "interpolation", "Implicit Iterators - Ampersand", "'& \" < >'",
	  "These characters should not be HTML escaped: {{&.}}\n",
	  "These characters should not be HTML escaped: & \" < >\n" },
	{ "interpolation", "Implicit Iterators - Basic Integer Interpolation", "85",
	  "\"{{.}} miles an hour!\"", "\"85 miles an hour!\"" },
	{ "interpolation", "Interpolation - Surrounding Whitespace", "{'string':'---'}",
	  "| {{string}} |", "| --- |" },
	{ "interpolation", "Triple Mustache - Surrounding Whitespace", "{'string':'---'}",
	  "| {{{string}}} |", "| --- |" },
	{ "interpolation", "Ampersand - Surrounding Whitespace", "{'string':'---'}",
	  "| {{&string}} |", "| --- |" },
	{ "interpolation", "Interpolation - Standalone", "{'string':'---'}",
	  "  {{string}}\n", "  ---\n" },
	{ "interpolation", "Triple Mustache - Standalone", "{'string':'---'}",
	  "  {{{string}}}\n", "  ---\n" },
	{ "interpolation", "Ampersand - Standalone", "{'string':'---'}",
	  "  {{&string}}\n", "  ---\n" },
	{ "interpolation", "Interpolation With Padding", "{'string':'---'}",
	  "|{{ string }}|", "|---|" },
	{ "interpolation", "Triple Mustache With Padding", "{'string':'---'}",
	  "|{{{ string }}}|", "|---|" },
	{ "interpolation", "Ampersand With Padding", "{'string':'---'}",
	  "|{{& string }}|", "|---|" },

	/* ---- sections.yml ---- */
	{ "sections", "Truthy", "{'boolean':true}",
	  "\"{{#boolean}}This should be rendered.{{/boolean}}\"", "\"This should be rendered.\"" },
	{ "sections", "Falsey", "{'boolean':false}",
	  "\"{{#boolean}}This should not be rendered.{{/boolean}}\"", "\"\"" },
	{ "sections", "Null is falsey", "{'null':null}",
	  "\"{{#null}}This should not be rendered.{{/null}}\"", "\"\"" },
	{ "sections", "Context", "{'context':{'name':'Joe'}}",
	  "\"{{#context}}Hi {{name}}.{{/context}}\"", "\"Hi Joe.\"" },
	{ "sections", "Parent contexts", "{'a':'foo','b':'wrong','sec':{'b':'bar'},'c':{'d':'baz'}}",
	  "\"{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}\"", "\"foo, bar, baz\"" },
	{ "sections", "Variable test", "{'foo':'bar'}",
	  "\"{{#foo}}{{.}} is {{foo}}{{/foo}}\"", "\"bar is bar\"" },
	{ "sections", "List Contexts",
	  "{'tops':[{'tname':{'upper':'A','lower':'a'},"
	  "'middles':[{'mname':'1','bottoms':[{'bname':'x'},{'bname':'y'}]}]}]}",
	  "{{#tops}}{{#middles}}{{tname.lower}}{{mname}}.{{#bottoms}}{{tname.upper}}{{mname}}"
	  "{{bname}}.{{/bottoms}}{{/middles}}{{/tops}}",
	  "a1.A1x.A1y." },
	{ "sections", "Deeply Nested Contexts",
	  "{'a':{'one':1},'b':{'two':2},'c':{'three':3,'d':{'four':4,'five':5}}}",
	  "{{#a}}\n{{one}}\n{{#b}}\n{{one}}{{two}}{{one}}\n{{#c}}\n"
	  "{{one}}{{two}}{{three}}{{two}}{{one}}\n{{#d}}\n"
	  "{{one}}{{two}}{{three}}{{four}}{{three}}{{two}}{{one}}\n{{#five}}\n"
	  "{{one}}{{two}}{{three}}{{four}}{{five}}{{four}}{{three}}{{two}}{{one}}\n"
	  "{{one}}{{two}}{{three}}{{four}}{{.}}6{{.}}{{four}}{{three}}{{two}}{{one}}\n"
	  "{{one}}{{two}}{{three}}{{four}}{{five}}{{four}}{{three}}{{two}}{{one}}\n"
	  "{{/five}}\n{{one}}{{two}}{{three}}{{four}}{{three}}{{two}}{{one}}\n{{/d}}\n"
	  "{{one}}{{two}}{{three}}{{two}}{{one}}\n{{/c}}\n{{one}}{{two}}{{one}}\n{{/b}}\n"
	  "{{one}}\n{{/a}}\n",
	  "1\n121\n12321\n1234321\n123454321\n12345654321\n123454321\n1234321\n12321\n121\n1\n" },
	{ "sections", "List", "{'list':[{'item':1},{'item':2},{'item':3}]}",
	  "\"{{#list}}{{item}}{{/list}}\"", "\"123\"" },
	{ "sections", "Empty List", "{'list':[]}",
	  "\"{{#list}}Yay lists!{{/list}}\"", "\"\"" },
	{ "sections", "Doubled", "{'bool':true,'two':'second'}",
	  "{{#bool}}\n* first\n{{/bool}}\n* {{two}}\n{{#bool}}\n* third\n{{/bool}}\n",
	  "* first\n* second\n* third\n" },
	{ "sections", "Nested (Truthy)", "{'bool':true}",
	  "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", "| A B C D E |" },
	{ "sections", "Nested (Falsey)", "{'bool':false}",
	  "| A {{#bool}}B {{#bool}}C{{/bool}} D{{/bool}} E |", "| A  E |" },
	{ "sections", "Context Misses", "{}",
	  "[{{#missing}}Found key 'missing'!{{/missing}}]", "[]" },
	{ "sections", "Implicit Iterator - String", "{'list':['a','b','c','d','e']}",
	  "\"{{#list}}({{.}}){{/list}}\"", "\"(a)(b)(c)(d)(e)\"" },
	{ "sections", "Implicit Iterator - Integer", "{'list':[1,2,3,4,5]}",
	  "\"{{#list}}({{.}}){{/list}}\"", "\"(1)(2)(3)(4)(5)\"" },
	{ "sections", "Implicit Iterator - Decimal", "{'list':[1.1,2.2,3.3,4.4,5.5]}",
	  "\"{{#list}}({{.}}){{/list}}\"", "\"(1.1)(2.2)(3.3)(4.4)(5.5)\"" },
	{ "sections", "Implicit Iterator - Array", "{'list':[[1,2,3],['a','b','c']]}",
	  "\"{{#list}}({{#.}}{{.}}{{/.}}){{/list}}\"", "\"(123)(abc)\"" },
	{ "sections", "Implicit Iterator - HTML Escaping", "{'list':['&','\"','<','>']}",
	  "\"{{#list}}({{.}}){{/list}}\"", "\"(&amp;)(&quot;)(&lt;)(&gt;)\"" },
	{ "sections", "Implicit Iterator - Triple mustache", "{'list':['&','\"','<','>']}",
	  "\"{{#list}}({{{.}}}){{/list}}\"", "\"(&)(\")(<)(>)\"" },
	{ "sections", "Implicit Iterator - Ampersand", "{'list':['&','\"','<','>']}",
	  "\"{{#list}}({{&.}}){{/list}}\"", "\"(&)(\")(<)(>)\"" },
	{ "sections", "Implicit Iterator - Root-level", "[{'value':'a'},{'value':'b'}]",
	  "\"{{#.}}({{value}}){{/.}}\"", "\"(a)(b)\"" },
	{ "sections", "Dotted Names - Truthy", "{'a':{'b':{'c':true}}}",
	  "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"Here\"", "\"Here\" == \"Here\"" },
	{ "sections", "Dotted Names - Falsey", "{'a':{'b':{'c':false}}}",
	  "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"\"", "\"\" == \"\"" },
	{ "sections", "Dotted Names - Broken Chains", "{'a':{}}",
	  "\"{{#a.b.c}}Here{{/a.b.c}}\" == \"\"", "\"\" == \"\"" },
	{ "sections", "Surrounding Whitespace", "{'boolean':true}",
	  " | {{#boolean}}\t|\t{{/boolean}} | \n", " | \t|\t | \n" },
	{ "sections", "Internal Whitespace", "{'boolean':true}",
	  " | {{#boolean}} {{! Important Whitespace }}\n {{/boolean}} | \n", " |  \n  | \n" },
	{ "sections", "Indented Inline Sections", "{'boolean':true}",
	  " {{#boolean}}YES{{/boolean}}\n {{#boolean}}GOOD{{/boolean}}\n", " YES\n GOOD\n" },
	{ "sections", "Standalone Lines", "{'boolean':true}",
	  "| This Is\n{{#boolean}}\n|\n{{/boolean}}\n| A Line\n", "| This Is\n|\n| A Line\n" },
	{ "sections", "Indented Standalone Lines", "{'boolean':true}",
	  "| This Is\n  {{#boolean}}\n|\n  {{/boolean}}\n| A Line\n", "| This Is\n|\n| A Line\n" },
	{ "sections", "Standalone Line Endings", "{'boolean':true}",
	  "|\r\n{{#boolean}}\r\n{{/boolean}}\r\n|", "|\r\n|" },
	{ "sections", "Standalone Without Previous Line", "{'boolean':true}",
	  "  {{#boolean}}\n#{{/boolean}}\n/", "#\n/" },
	{ "sections", "Standalone Without Newline", "{'boolean':true}",
	  "#{{#boolean}}\n/\n  {{/boolean}}", "#\n/\n" },
	{ "sections", "Padding", "{'boolean':true}",
	  "|{{# boolean }}={{/ boolean }}|", "|=|" },

	/* ---- inverted.yml ---- */
	{ "inverted", "Falsey", "{'boolean':false}",
	  "\"{{^boolean}}This should be rendered.{{/boolean}}\"", "\"This should be rendered.\"" },
	{ "inverted", "Truthy", "{'boolean':true}",
	  "\"{{^boolean}}This should not be rendered.{{/boolean}}\"", "\"\"" },
	{ "inverted", "Null is falsey", "{'null':null}",
	  "\"{{^null}}This should be rendered.{{/null}}\"", "\"This should be rendered.\"" },
	{ "inverted", "Context", "{'context':{'name':'Joe'}}",
	  "\"{{^context}}Hi {{name}}.{{/context}}\"", "\"\"" },
	{ "inverted", "List", "{'list':[{'n':1},{'n':2},{'n':3}]}",
	  "\"{{^list}}{{n}}{{/list}}\"", "\"\"" },
	{ "inverted", "Empty List", "{'list':[]}",
	  "\"{{^list}}Yay lists!{{/list}}\"", "\"Yay lists!\"" },
	{ "inverted", "Doubled", "{'bool':false,'two':'second'}",
	  "{{^bool}}\n* first\n{{/bool}}\n* {{two}}\n{{^bool}}\n* third\n{{/bool}}\n",
	  "* first\n* second\n* third\n" },
	{ "inverted", "Nested (Falsey)", "{'bool':false}",
	  "| A {{^bool}}B {{^bool}}C{{/bool}} D{{/bool}} E |", "| A B C D E |" },
	{ "inverted", "Nested (Truthy)", "{'bool':true}",
	  "| A {{^bool}}B {{^bool}}C{{/bool}} D{{/bool}} E |", "| A  E |" },
	{ "inverted", "Context Misses", "{}",
	  "[{{^missing}}Cannot find key 'missing'!{{/missing}}]", "[Cannot find key 'missing'!]" },
	{ "inverted", "Dotted Names - Truthy", "{'a':{'b':{'c':true}}}",
	  "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"\"", "\"\" == \"\"" },
	{ "inverted", "Dotted Names - Falsey", "{'a':{'b':{'c':false}}}",
	  "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"Not Here\"", "\"Not Here\" == \"Not Here\"" },
	{ "inverted", "Dotted Names - Broken Chains", "{'a':{}}",
	  "\"{{^a.b.c}}Not Here{{/a.b.c}}\" == \"Not Here\"", "\"Not Here\" == \"Not Here\"" },
	{ "inverted", "Surrounding Whitespace", "{'boolean':false}",
	  " | {{^boolean}}\t|\t{{/boolean}} | \n", " | \t|\t | \n" },
	{ "inverted", "Internal Whitespace", "{'boolean':false}",
	  " | {{^boolean}} {{! Important Whitespace }}\n {{/boolean}} | \n", " |  \n  | \n" },
	{ "inverted", "Indented Inline Sections", "{'boolean':false}",
	  " {{^boolean}}NO{{/boolean}}\n {{^boolean}}WAY{{/boolean}}\n", " NO\n WAY\n" },
	{ "inverted", "Standalone Lines", "{'boolean':false}",
	  "| This Is\n{{^boolean}}\n|\n{{/boolean}}\n| A Line\n", "| This Is\n|\n| A Line\n" },
	{ "inverted", "Standalone Indented Lines", "{'boolean':false}",
	  "| This Is\n  {{^boolean}}\n|\n  {{/boolean}}\n| A Line\n", "| This Is\n|\n| A Line\n" },
	{ "inverted", "Standalone Line Endings", "{'boolean':false}",
	  "|\r\n{{^boolean}}\r\n{{/boolean}}\r\n|", "|\r\n|" },
	{ "inverted", "Standalone Without Previous Line", "{'boolean':false}",
	  "  {{^boolean}}\n^{{/boolean}}\n/", "^\n/" },
	{ "inverted", "Standalone Without Newline", "{'boolean':false}",
	  "^{{^boolean}}\n/\n  {{/boolean}}", "^\n/\n" },
	{ "inverted", "Padding", "{'boolean':false}",
	  "|{{^ boolean }}={{/ boolean }}|", "|=|" },

	/* ---- comments.yml ---- */
	{ "comments", "Inline", "{}", "12345{{! Comment Block! }}67890", "1234567890" },
	{ "comments", "Multiline", "{}",
	  "12345{{!\n  This is a\n  multi-line comment...\n}}67890\n", "1234567890\n" },
	{ "comments", "Standalone", "{}",
	  "Begin.\n{{! Comment Block! }}\nEnd.\n", "Begin.\nEnd.\n" },
	{ "comments", "Indented Standalone", "{}",
	  "Begin.\n  {{! Indented Comment Block! }}\nEnd.\n", "Begin.\nEnd.\n" },
	{ "comments", "Standalone Line Endings", "{}",
	  "|\r\n{{! Standalone Comment }}\r\n|", "|\r\n|" },
	{ "comments", "Standalone Without Previous Line", "{}",
	  "  {{! I'm Still Standalone }}\n!", "!" },
	{ "comments", "Standalone Without Newline", "{}",
	  "!\n  {{! I'm Still Standalone }}", "!\n" },
	{ "comments", "Multiline Standalone", "{}",
	  "Begin.\n{{!\nSomething's going on here...\n}}\nEnd.\n", "Begin.\nEnd.\n" },
	{ "comments", "Indented Multiline Standalone", "{}",
	  "Begin.\n  {{!\n    Something's going on here...\n  }}\nEnd.\n", "Begin.\nEnd.\n" },
	{ "comments", "Indented Inline", "{}", "  12 {{! 34 }}\n", "  12 \n" },
	{ "comments", "Surrounding Whitespace", "{}",
	  "12345 {{! Comment Block! }} 67890", "12345  67890" },
	{ "comments", "Variable Name Collision",
	  "{'! comment':1,'! comment ':2,'!comment':3,'comment':4}",
	  "comments never show: >{{! comment }}<", "comments never show: ><" },

	/* ---- delimiters.yml ---- */
	{ "delimiters", "Pair Behavior", "{'text':'Hey!'}", "{{=<% %>=}}(<%text%>)", "(Hey!)" },
	{ "delimiters", "Special Characters", "{'text':'It worked!'}",
	  "({{=[ ]=}}[text])", "(It worked!)" },
	{ "delimiters", "Sections", "{'section':true,'data':'I got interpolated.'}",
	  "[\n{{#section}}\n  {{data}}\n  |data|\n{{/section}}\n\n{{= | | =}}\n|#section|\n"
	  "  {{data}}\n  |data|\n|/section|\n]\n",
	  "[\n  I got interpolated.\n  |data|\n\n  {{data}}\n  I got interpolated.\n]\n" },
	{ "delimiters", "Inverted Sections", "{'section':false,'data':'I got interpolated.'}",
	  "[\n{{^section}}\n  {{data}}\n  |data|\n{{/section}}\n\n{{= | | =}}\n|^section|\n"
	  "  {{data}}\n  |data|\n|/section|\n]\n",
	  "[\n  I got interpolated.\n  |data|\n\n  {{data}}\n  I got interpolated.\n]\n" },
	{ "delimiters", "Surrounding Whitespace", "{}", "| {{=@ @=}} |", "|  |" },
	{ "delimiters", "Outlying Whitespace (Inline)", "{}", " | {{=@ @=}}\n", " | \n" },
	{ "delimiters", "Standalone Tag", "{}", "Begin.\n{{=@ @=}}\nEnd.\n", "Begin.\nEnd.\n" },
	{ "delimiters", "Indented Standalone Tag", "{}",
	  "Begin.\n  {{=@ @=}}\nEnd.\n", "Begin.\nEnd.\n" },
	{ "delimiters", "Standalone Line Endings", "{}", "|\r\n{{= @ @ =}}\r\n|", "|\r\n|" },
	{ "delimiters", "Standalone Without Previous Line", "{}", "  {{=@ @=}}\n=", "=" },
	{ "delimiters", "Standalone Without Newline", "{}", "=\n  {{=@ @=}}", "=\n" },
	{ "delimiters", "Pair with Padding", "{}", "|{{= @   @ =}}|", "||" },
};

static void test_spec(void **state)
{
	size_t failed = 0, n = sizeof(spec_cases) / sizeof(spec_cases[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const struct spec_case *c = &spec_cases[i];
		struct tjson *data = tjson_parse(c->data);
		struct render_buf out;
		unsigned line = 99;
		enum render_error err;

		render_buf_init(&out, 1 << 16);
		err = render_string(c->tpl, strlen(c->tpl), RENDER_MODE_HTML, &tjson_context,
				    tjson_value(data), &out, &line);
		if (err != RENDER_OK || out.data == NULL || strcmp(out.data, c->expected) != 0) {
			print_error("%s: %s: %s line %u\n  got  '%s'\n  want '%s'\n", c->file,
				    c->name, render_error_name(err), line,
				    out.data ? out.data : "(null)", c->expected);
			failed++;
		}
		render_buf_free(&out);
		tjson_free(data);
	}
	print_message("%zu spec cases, %zu failed\n", n, failed);
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
