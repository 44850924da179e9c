/* pxecast: the daemon and its command line. */
#include "appliance/config.h"
#include "appliance/daemon.h"
#include "appliance/multicast.h"
#include "appliance/import.h"
#include "appliance/provisioning.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: pxecast serve [--config FILE] [--tftp-root DIR] [--listen ADDR[:PORT]]\n"
	"                     [--log-level err|warn|info|debug]\n"
	"       pxecast check-config FILE\n"
	"       pxecast hosts [--config FILE] [--json]\n"
	"       pxecast multicast start NAME | list [--config FILE] [--quiet]\n"
	"       pxecast import ISO [--name NAME] [--profile-out FILE] [--digests FILE]\n"
	"       pxecast version\n";

/* Command-line values win over the file, also after a SIGHUP reload. */
static struct {
	const char *tftp_root;
	const char *listen;
	const char *log_level;
} overrides;

static int apply_overrides(struct config *c, char *err, size_t errlen)
{
	char buf[PATH_MAX + 64];
	int n = 0;

	if (overrides.tftp_root)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "[tftp]\nroot = %s\n", overrides.tftp_root);
	if (overrides.listen)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "[tftp]\nlisten = %s\n", overrides.listen);
	if (overrides.log_level)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "[daemon]\nlog-level = %s\n",
			      overrides.log_level);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(err, errlen, "command line: argument too long");
		return -1;
	}
	return config_parse(buf, (size_t)n, "command line", c, err, errlen);
}

static void reapply(struct config *c)
{
	char err[CONFIG_ERR_MAX];

	apply_overrides(c, err, sizeof(err)); /* checked once at start-up */
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "tftp-root", required_argument, NULL, 'r' },
		{ "listen", required_argument, NULL, 'l' },
		{ "log-level", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	char err[CONFIG_ERR_MAX];
	struct config c;
	int o;

	while ((o = getopt_long(argc, argv, "c:r:l:v:", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config_path = optarg; break;
		case 'r': overrides.tftp_root = optarg; break;
		case 'l': overrides.listen = optarg; break;
		case 'v': overrides.log_level = optarg; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc || (!config_path && !overrides.tftp_root)) {
		fputs(usage, stderr);
		return 2;
	}
	config_defaults(&c);
	if ((config_path && config_load(config_path, &c, err, sizeof(err)) < 0) ||
	    apply_overrides(&c, err, sizeof(err)) < 0 || config_validate(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "pxecast: %s\n", err);
		return 1;
	}
	return daemon_run(config_path, &c, reapply);
}

static int cmd_check_config(int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	struct config c;

	if (argc != 2) {
		fputs(usage, stderr);
		return 2;
	}
	config_defaults(&c);
	if (config_load(argv[1], &c, err, sizeof(err)) < 0 || config_validate(&c, err, sizeof(err)) < 0 ||
	    provisioning_check(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "pxecast: %s\n", err);
		config_free(&c);
		return 1;
	}
	printf("%s: ok\n", argv[1]);
	config_free(&c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "check-config"))
		return cmd_check_config(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "multicast"))
		return multicast_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "import"))
		return import_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "hosts"))
		return provisioning_cmd_hosts(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "version")) {
		printf("pxecast %s\n", PXECAST_VERSION);
		return 0;
	}
	fputs(usage, stderr);
	return 2;
}
