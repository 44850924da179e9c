/* [image NAME] sections: names checked, path required and absolute, errors
 * name file:line and key; opening names the image and its path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "appliance/config.h"
#include "imager/image.h"

static int parse(const char *text, struct config *c, char *err)
{
	config_defaults(c);
	return config_parse(text, strlen(text), "test.conf", c, err, CONFIG_ERR_MAX);
}

static void test_image_sections(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	struct image_set *set;

	(void)state;
	assert_int_equal(parse("[image alma9]\npath = /srv/iso/alma.iso\n"
			       "[image debian-12.5]\npath = /srv/iso/deb.iso\n"
			       "digests = /var/lib/pxecast/deb.sha256\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	/* Opening reports the first image that cannot be opened, by name and path. */
	set = config_images_open(&c, err, sizeof(err));
	assert_null(set);
	assert_non_null(strstr(err, "[image alma9] path /srv/iso/alma.iso"));
	config_free(&c);
	assert_null(c.images);

	/* No [image]: an empty set. */
	assert_int_equal(parse("[tftp]\nroot=/x\n", &c, err), 0);
	set = config_images_open(&c, err, sizeof(err));
	assert_non_null(set);
	assert_int_equal(image_set_count(set), 0);
	image_set_free(set);
	config_free(&c);
}

static void test_image_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "[image]\n", "test.conf:1: [image]: expected a name" },
		{ "[image ../x]\n", "test.conf:1: [image ../x]: expected a name" },
		{ "[image a b]\n", "test.conf:1: [image a\\x20b]: expected a name" },
		{ "[image a]\n[image a]\n", "test.conf:2: [image a]: defined twice" },
		{ "[image a]\npath = relative.iso\n", "test.conf:2: path: expected an absolute path" },
		{ "[image a]\npath =\n", "test.conf:2: path: expected an absolute path" },
		{ "[image a]\ndigests = x\n", "test.conf:2: digests: expected an absolute path" },
		{ "[image a]\nsize = 1\n", "test.conf:2: size: unknown key" },
	};
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].text, &c, err), -1);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].err);
		config_free(&c);
	}
	assert_int_equal(parse("[image a]\ndigests = /x.sha256\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "[image a] path: required");
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_sections),
		cmocka_unit_test(test_image_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
