/* Per-host rendering and the state API, driven through provision_handle()
 * as the HTTP server drives it: templates from a temporary directory,
 * hosts and profiles as the config builds them, the journal on disk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/hosts/hosts.h"

#define NOW 1700000000

static const struct render_kv alma_kv[] = {
	{ "kernel", "images/alma9/images/pxeboot/vmlinuz" },
	{ "initrd", "http://${server}/images/alma9/images/pxeboot/initrd.img" },
	{ "append", "inst.repo=http://${server}/images/alma9/ inst.ks=${ks_url}" },
	{ "install-template", "test.ks" },
	{ "disk", "sda" },
};
static const struct render_kv web1_kv[] = { { "disk", "nvme0n1" } };
static const struct render_kv evil_kv[] = { { "disk", "sda\n#!ipxe\nshell" } };
static const struct provision_profile profiles[] = {
	{ "alma9", { alma_kv, sizeof(alma_kv) / sizeof(alma_kv[0]) } },
};
static const struct provision_host hosts[] = {
	{ { 0x52, 0x54, 0, 0, 0, 0x01 }, 0, "web1", "alma9", { web1_kv, 1 } },
	{ { 0x52, 0x54, 0, 0, 0, 0x02 }, 0, NULL, "alma9", { evil_kv, 1 } },
};

struct fixture {
	char dir[64];
	char journal[128];
	struct provision_config cfg;
	struct provision *p;
};

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];

	snprintf(f->dir, sizeof(f->dir), "/tmp/pxc-provision.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	put(f->dir, "boot.ipxe", "#!ipxe\nkernel {{kernel_url}} {{append}}\ninitrd {{initrd_url}}\n"
				 "boot\n");
	put(f->dir, "test.ks", "# {{hostname}} {{mac}} {{ip}}\n"
			       "{{#disk}}ignoredisk --only-use={{disk}}{{/disk}}\n"
			       "%post\ncurl -d state=installed {{state_url}}\n%end\n");
	snprintf(f->journal, sizeof(f->journal), "%s/hosts.journal", f->dir);
	f->cfg = (struct provision_config){
		.templates_dir = f->dir, .state_file = f->journal, .require_token = true,
		.token_lifetime = 3600, .hosts = hosts, .nhosts = 2, .profiles = profiles,
		.nprofiles = 1,
	};
	memcpy(f->cfg.secret, "0123456789abcdef0123456789abcdef", HOST_SECRET_LEN);
	f->p = provision_new(&f->cfg, err, sizeof(err));
	if (f->p == NULL)
		fail_msg("%s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	provision_free(f->p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* GET or POST path (with ?query) from 10.0.0.9 to 10.0.0.1:8080. */
static struct provision_reply ask(struct provision *p, bool post, const char *target,
				  const char *body, int64_t now)
{
	struct provision_reply out;
	const char *q = strchr(target, '?');
	struct provision_request rq = {
		.post = post, .path = target, .path_len = q ? (size_t)(q - target) : strlen(target),
		.query = q ? q + 1 : "", .query_len = q ? strlen(q + 1) : 0,
		.body = body ? body : "", .body_len = body ? strlen(body) : 0,
		.server = "10.0.0.1:8080", .peer_ip = htonl(0x0a000009), .now = now,
	};

	provision_handle(p, &rq, &out);
	return out;
}

static char *token_in(const char *body)
{
	const char *t = strstr(body, "token=");
	static char tok[HOST_TOKEN_MAX];
	size_t n = 0;

	assert_non_null(t);
	t += 6;
	while (t[n] && t[n] != ' ' && t[n] != '\n' && t[n] != '&' && n < sizeof(tok) - 1)
		n++;
	memcpy(tok, t, n);
	tok[n] = '\0';
	return tok;
}

static void test_boot_script_then_kickstart(void **state)
{
	struct fixture *f = *state;
	struct provision_reply r = ask(f->p, false, "boot/52:54:00:00:00:01.ipxe", NULL, NOW);
	char target[256], *tok;

	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "kernel http://10.0.0.1:8080/images/alma9/images/pxeboot/vmlinuz "
				       "inst.repo=http://10.0.0.1:8080/images/alma9/ "
				       "inst.ks=http://10.0.0.1:8080/ks/52:54:00:00:00:01?token="));
	assert_non_null(strstr(r.body, "initrd http://10.0.0.1:8080/images/alma9/images/pxeboot/initrd.img\n"));
	tok = token_in(r.body);
	free(r.body);

	/* no token, a forged one, then the one the script carried */
	r = ask(f->p, false, "ks/52:54:00:00:00:01", NULL, NOW);
	assert_int_equal(r.status, 403);
	free(r.body);
	r = ask(f->p, false, "ks/52:54:00:00:00:01?token=1800000000-00000000000000000000000000000000",
		NULL, NOW);
	assert_int_equal(r.status, 403);
	free(r.body);
	snprintf(target, sizeof(target), "ks/52:54:00:00:00:01?token=%s", tok);
	r = ask(f->p, false, target, NULL, NOW + 10);
	assert_int_equal(r.status, 200);
	/* the host's own disk wins over its profile's; the requester's ip */
	assert_non_null(strstr(r.body, "# web1 52:54:00:00:00:01 10.0.0.9\n"));
	assert_non_null(strstr(r.body, "ignoredisk --only-use=nvme0n1\n"));
	assert_non_null(strstr(r.body, "curl -d state=installed http://10.0.0.1:8080/api/hosts/"
				       "52:54:00:00:00:01/state?token="));
	free(r.body);
	/* the token of one host does not open another's answer */
	snprintf(target, sizeof(target), "ks/52:54:00:00:00:02?token=%s", tok);
	r = ask(f->p, false, target, NULL, NOW + 10);
	assert_int_equal(r.status, 403);
	free(r.body);
	/* and it expires */
	snprintf(target, sizeof(target), "ks/52:54:00:00:00:01?token=%s", tok);
	r = ask(f->p, false, target, NULL, NOW + 3601);
	assert_int_equal(r.status, 403);
	free(r.body);
}

static void test_state_api_is_durable(void **state)
{
	struct fixture *f = *state;
	struct provision_reply r = ask(f->p, false, "boot/52:54:00:00:00:01.ipxe", NULL, NOW);
	char target[256], err[256];
	struct provision_counters c;

	snprintf(target, sizeof(target), "api/hosts/52:54:00:00:00:01/state?token=%s",
		 token_in(r.body));
	free(r.body);
	r = ask(f->p, true, target, "state=flying", NOW + 1);
	assert_int_equal(r.status, 400);
	free(r.body);
	r = ask(f->p, true, "api/hosts/52:54:00:00:00:01/state", "state=installed", NOW + 1);
	assert_int_equal(r.status, 403);
	free(r.body);
	r = ask(f->p, true, target, "{\"state\": \"installing\"}", NOW + 2);
	assert_int_equal(r.status, 200);
	free(r.body);
	r = ask(f->p, true, target, "installed\n", NOW + 3);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"state\":\"installed\",\"since\":1700000003"));
	free(r.body);
	provision_counters(f->p, &c);
	assert_int_equal(c.state_changes, 3); /* booting, installing, installed */

	/* a restart reads it back */
	provision_free(f->p);
	f->p = provision_new(&f->cfg, err, sizeof(err));
	assert_non_null(f->p);
	r = ask(f->p, false, "api/hosts", NULL, NOW + 4);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "{\"mac\":\"52:54:00:00:00:01\",\"hostname\":\"web1\","
				       "\"profile\":\"alma9\",\"state\":\"installed\","
				       "\"since\":1700000003,\"booting\":1700000000,"
				       "\"installing\":1700000002,\"installed\":1700000003"));
	assert_non_null(strstr(r.body, "{\"mac\":\"52:54:00:00:00:02\",\"hostname\":\"\","
				       "\"profile\":\"alma9\",\"state\":\"none\""));
	free(r.body);
}

static void test_unknown_hosts(void **state)
{
	struct fixture *f = *state;
	struct provision_reply r = ask(f->p, false, "boot/52:54:00:00:00:99.ipxe", NULL, NOW);
	char err[256];

	assert_int_equal(r.status, 404);
	free(r.body);
	/* not ours at all: the file tree answers */
	r = ask(f->p, false, "boot/ipxe.efi", NULL, NOW);
	assert_int_equal(r.status, 0);
	r = ask(f->p, true, "boot/ipxe.efi", "x", NOW);
	assert_int_equal(r.status, 0);
	/* with a default profile, any MAC is served by it */
	provision_free(f->p);
	f->cfg.default_profile = "alma9";
	f->p = provision_new(&f->cfg, err, sizeof(err));
	assert_non_null(f->p);
	r = ask(f->p, false, "boot/52:54:00:00:00:99.ipxe", NULL, NOW);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "ks/52:54:00:00:00:99?token="));
	free(r.body);
	/* a default profile that does not exist is a start-up error */
	provision_free(f->p);
	f->cfg.default_profile = "nope";
	f->p = provision_new(&f->cfg, err, sizeof(err));
	assert_null(f->p);
	assert_string_equal(err, "default-profile: no [profile nope]");
	f->cfg.default_profile = NULL;
	f->p = provision_new(&f->cfg, err, sizeof(err));
	assert_non_null(f->p);
}

static void test_value_cannot_add_script_lines(void **state)
{
	struct fixture *f = *state;
	struct provision_reply r = ask(f->p, false, "boot/52:54:00:00:00:02.ipxe", NULL, NOW);
	char target[256];
	struct provision_counters c;

	assert_int_equal(r.status, 200); /* the boot script does not use disk */
	snprintf(target, sizeof(target), "ks/52:54:00:00:00:02?token=%s", token_in(r.body));
	free(r.body);
	r = ask(f->p, false, target, NULL, NOW);
	assert_int_equal(r.status, 500);
	assert_null(strstr(r.body, "shell"));
	free(r.body);
	provision_counters(f->p, &c);
	assert_int_equal(c.render_errors, 1);
}

static void test_cloud_init_paths(void **state)
{
	struct fixture *f = *state;
	struct provision_reply r = ask(f->p, false, "boot/52:54:00:00:00:01.ipxe", NULL, NOW);
	char target[256], *tok = token_in(r.body);

	free(r.body);
	snprintf(target, sizeof(target), "ks/52:54:00:00:00:01/meta-data?token=%s", tok);
	r = ask(f->p, false, target, NULL, NOW);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "instance-id: 52:54:00:00:00:01\n");
	free(r.body);
	snprintf(target, sizeof(target), "ks/52:54:00:00:00:01/user-data?token=%s", tok);
	r = ask(f->p, false, target, NULL, NOW);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "# web1 "));
	free(r.body);
	snprintf(target, sizeof(target), "ks/52:54:00:00:00:01/other?token=%s", tok);
	r = ask(f->p, false, target, NULL, NOW);
	assert_int_equal(r.status, 404);
	free(r.body);
}

static void test_broken_template_named_at_start(void **state)
{
	struct fixture *f = *state;
	char err[512], want[256];

	put(f->dir, "test.ks", "line one\n{{#disk}}\nnever closed\n");
	provision_free(f->p);
	f->p = provision_new(&f->cfg, err, sizeof(err));
	assert_null(f->p);
	snprintf(want, sizeof(want), "%s/test.ks:2: unclosed_section", f->dir);
	assert_string_equal(err, want);
	put(f->dir, "test.ks", "ok\n");
	f->p = provision_new(&f->cfg, err, sizeof(err));
	assert_non_null(f->p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_boot_script_then_kickstart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_api_is_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_cannot_add_script_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloud_init_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_template_named_at_start, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
