/* [multicast NAME] sections: values land in the session, bad values name
 * the line and the key, required keys are checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "appliance/config.h"
#include "appliance/multicast.h"

static int parse(const char *text, struct config *c, char *err)
{
	config_defaults(c);
	if (config_parse(text, strlen(text), "t.conf", c, err, CONFIG_ERR_MAX) < 0)
		return -1;
	return config_validate(c, err, CONFIG_ERR_MAX);
}

static void test_session_values(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const struct config_multicast_session *s;

	(void)state;
	assert_int_equal(parse("[tftp]\nroot = /srv\n"
			       "[multicast rollout]\nobject = images/a.raw\ngroup = 239.1.2.3:9000\n"
			       "rate = 900M\nmin-receivers = 32\nmax-wait = 30\ndeadline = 600\n"
			       "fetch-url = http://10.0.0.1/images/a.raw\ninterface = eth1\nttl = 4\n"
			       "gso = no\ninterleave = 4\n"
			       "[multicast second]\nobject = b\ngroup = 239.1.2.4:9001\n",
			       &c, err), 0);
	assert_non_null(c.multicast);
	assert_int_equal(c.multicast->n, 2);
	s = &c.multicast->s[0];
	assert_string_equal(s->name, "rollout");
	assert_string_equal(s->object, "images/a.raw");
	assert_int_equal(s->group_ip, inet_addr("239.1.2.3"));
	assert_int_equal(s->group_port, htons(9000));
	assert_int_equal(s->rate_bps, 900000000ull);
	assert_int_equal(s->min_receivers, 32);
	assert_int_equal(s->max_wait_s, 30);
	assert_int_equal(s->deadline_s, 600);
	assert_string_equal(s->fetch_url, "http://10.0.0.1/images/a.raw");
	assert_string_equal(s->ifname, "eth1");
	assert_int_equal(s->ttl, 4);
	assert_false(s->gso);
	assert_int_equal(s->interleave, 4);
	/* defaults */
	s = &c.multicast->s[1];
	assert_int_equal(s->ttl, 1);
	assert_int_equal(s->min_receivers, 1);
	assert_int_equal(s->deadline_s, 0);
	assert_true(s->gso);
	assert_int_equal(s->gso_segments, 16);
	assert_int_equal(s->interleave, 16);
	config_free(&c);
	assert_null(c.multicast);
}

static void test_errors(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "[multicast]\nobject = a\n", "needs a name" },
		{ "[multicast a]\n[multicast a]\n", "defined twice" },
		{ "[multicast a]\ngroup = 10.0.0.1:9000\n", "multicast ADDR:PORT" },
		{ "[multicast a]\ngroup = 239.1.1.1\n", "multicast ADDR:PORT" },
		{ "[multicast a]\nrate = fast\n", "rate such as" },
		{ "[multicast a]\nttl = 0\n", "out of range" },
		{ "[multicast a]\nfetch-url = ftp://x/y\n", "http:// URL" },
		{ "[multicast a]\nslice-symbols = 200\n", "out of range" },
		{ "[multicast a]\ninterleave = 0\n", "out of range" },
		{ "[multicast a]\ninterleave = 257\n", "out of range" },
		{ "[multicast a]\ncolour = red\n", "unknown key" },
		{ "[multicast a]\nobject = x\n", "object and group are required" },
		{ "[multicast a]\nobject = x\ngroup = 239.1.1.1:1\nrate = 10M\nmin-rate = 20M\n",
		  "min-rate" },
	};
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i].text, &c, err), -1);
		if (!strstr(err, bad[i].want))
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].text, err, bad[i].want);
		config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_values),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
