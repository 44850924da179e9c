/* Config parsing: values, and errors that name file:line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "appliance/config.h"

static int parse(const char *text, struct config *c, char *err)
{
	config_defaults(c);
	return config_parse(text, strlen(text), "test.conf", c, err, CONFIG_ERR_MAX);
}

static void test_full_tftp_section(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("# comment\n; also\n[daemon]\nlog-level = debug\n"
			       "metrics-file=/run/m.prom\n\n[tftp]\n  root = /srv/tftp  \n"
			       "listen = 10.0.0.1:6969\nmax-sessions = 50\nmax-window = 8\n"
			       "max-blksize = 1468\ncache-size = 64M\nupload-dir = /srv/up\r\n"
			       "max-upload-size = 1G\nretransmit-ms = 250\nmax-retries = 4\n"
			       "max-transfer-seconds = 30\n",
			       &c, err),
			 0);
	assert_int_equal(c.log_level, 3);
	assert_string_equal(c.metrics_file, "/run/m.prom");
	assert_true(c.tftp_enabled);
	assert_string_equal(c.tftp_root, "/srv/tftp");
	assert_int_equal(c.tftp.listen_ip, inet_addr("10.0.0.1"));
	assert_int_equal(ntohs(c.tftp.listen_port), 6969);
	assert_int_equal(c.tftp.max_sessions, 50);
	assert_int_equal(c.tftp.limits.max_window, 8);
	assert_int_equal(c.tftp.limits.max_blksize, 1468);
	assert_int_equal(c.tftp_cache_bytes, 64u << 20);
	assert_string_equal(c.tftp_upload_dir, "/srv/up");
	assert_int_equal(c.tftp.limits.max_file_size, 1u << 30);
	assert_int_equal(c.tftp.timing.retransmit_ms, 250);
	assert_int_equal(c.tftp.timing.max_retries, 4);
	assert_int_equal(c.tftp.timing.max_transfer_us, 30000000ull);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

static void test_listen_without_port_keeps_69(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[tftp]\nlisten = 127.0.0.1\nroot=/x\n", &c, err), 0);
	assert_int_equal(ntohs(c.tftp.listen_port), 69);
}

static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "[tftp]\nmax-window = 65\n", "test.conf:2: max-window: out of range" },
	{ "[tftp]\nmax-window = 0\n", "test.conf:2: max-window: out of range" },
	{ "[tftp]\nmax-blksize = 7\n", "test.conf:2: max-blksize: out of range" },
	{ "[tftp]\nmax-sessions = lots\n", "test.conf:2: max-sessions: expected a number" },
	{ "[tftp]\nmax-sessions = -1\n", "test.conf:2: max-sessions: expected a number" },
	{ "[tftp]\nmax-sessions = 99999999999999999999999\n", "test.conf:2: max-sessions: expected a number" },
	{ "\n\n[tftp]\nroot = relative/path\n", "test.conf:4: root: expected an absolute path" },
	{ "[tftp]\nlisten = 1.2.3.4:0\n", "test.conf:2: listen: expected ADDR or ADDR:PORT" },
	{ "[tftp]\nlisten = 1.2.3:69\n", "test.conf:2: listen: expected ADDR or ADDR:PORT" },
	{ "[tftp]\nlisten = 1.2.3.4:70000\n", "test.conf:2: listen: expected ADDR or ADDR:PORT" },
	{ "[tftp]\ncache-size = 12Q\n", "test.conf:2: cache-size: expected a size such as 256M" },
	{ "[tftp]\nrot = /srv\n", "test.conf:2: rot: unknown key" },
	{ "[tftpd]\n", "test.conf:1: unknown section [tftpd]" },
	{ "[tftp\n", "test.conf:1: malformed section header" },
	{ "[tftp] x\n", "test.conf:1: malformed section header" },
	{ "root = /srv\n", "test.conf:1: root: key outside any section" },
	{ "[tftp]\njust words\n", "test.conf:2: expected key = value" },
	{ "[daemon]\nlog-level = loud\n", "test.conf:2: log-level: expected err, warn, info or debug" },
	{ "[tftp]\nenable = maybe\n", "test.conf:2: enable: expected yes or no" },
};

static void test_errors_name_line_and_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c;
		char err[CONFIG_ERR_MAX];

		assert_int_equal(parse(bad[i].text, &c, err), -1);
		assert_string_equal(err, bad[i].error);
	}
}

static void test_nul_and_long_lines(void **state)
{
	static const char nul[] = "[tftp]\nroot = /a\0b\n";
	char big[6000];
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_parse(nul, sizeof(nul) - 1, "n.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "n.conf:2: NUL byte in line");
	memset(big, 'a', sizeof(big));
	assert_int_equal(config_parse(big, sizeof(big), "b.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "b.conf:1: line too long");
}

static void test_validate(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[tftp]\nlisten = 127.0.0.1\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "[tftp] root: required when TFTP is enabled");
	assert_int_equal(parse("[tftp]\nroot=/x\nretransmit-ms=5000\nretransmit-max-ms=100\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_tftp_section),
		cmocka_unit_test(test_listen_without_port_keeps_69),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
