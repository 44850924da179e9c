/* `pxecast hosts`: every host of the config and of the state journal, with
 * its install state and when each state was entered. Reads the files the
 * daemon writes (the journal is fdatasync'ed per change), so it works with
 * the daemon running or stopped. */
#include "appliance/provisioning.h"

#include "control/hosts/hosts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void when(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(out, size, "-");
	else
		strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static int cmp_status(const void *key, const void *elem)
{
	return memcmp(key, ((const struct host_status *)elem)->mac, 6);
}

/* The journal's table is sorted by MAC (host_journal_load). */
static struct host_status *find(struct host_status *v, size_t n, const uint8_t *mac)
{
	return n ? bsearch(mac, v, n, sizeof(*v), cmp_status) : NULL;
}

static void row(const uint8_t *mac, const char *hostname, const char *profile,
		const struct host_status *h, bool json, bool *first)
{
	static const struct host_status never = { .state = HOST_STATE_NONE };
	char m[18], since[32], boot[32], inst[32];

	if (h == NULL)
		h = &never;
	host_mac_format(mac, ':', m);
	if (json) {
		printf("%s{\"mac\":\"%s\",\"hostname\":\"%s\",\"profile\":\"%s\",\"state\":\"%s\","
		       "\"since\":%lld,\"booting\":%lld,\"installing\":%lld,\"installed\":%lld,"
		       "\"failed\":%lld}",
		       *first ? "" : ",\n", m, hostname, profile, host_state_name(h->state),
		       (long long)h->since, (long long)h->entered[HOST_STATE_BOOTING],
		       (long long)h->entered[HOST_STATE_INSTALLING],
		       (long long)h->entered[HOST_STATE_INSTALLED],
		       (long long)h->entered[HOST_STATE_FAILED]);
	} else {
		when(h->since, since, sizeof(since));
		when(h->entered[HOST_STATE_BOOTING], boot, sizeof(boot));
		when(h->entered[HOST_STATE_INSTALLED], inst, sizeof(inst));
		printf("%-17s  %-16s  %-12s  %-10s  %-19s  %-19s  %s\n", m, *hostname ? hostname : "-",
		       *profile ? profile : "-", host_state_name(h->state), since, boot, inst);
	}
	*first = false;
}

int provisioning_cmd_hosts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/pxecast/pxecast.conf";
	struct host_status *st = NULL;
	size_t nst = 0, bad = 0, nh;
	char err[CONFIG_ERR_MAX];
	bool json = false, first = true, *listed;
	struct config c;
	int o, ret;

	while ((o = getopt_long(argc, argv, "c:j", opts, NULL)) != -1) {
		if (o == 'c')
			path = optarg;
		else if (o == 'j')
			json = true;
		else
			return 2;
	}
	config_defaults(&c);
	if (config_load(path, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "pxecast: %s\n", err);
		return 1;
	}
	if (c.host_state_file[0] &&
	    (ret = host_journal_load(c.host_state_file, &st, &nst, &bad)) < 0) {
		fprintf(stderr, "pxecast: host-state-file %s: %s\n", c.host_state_file,
			strerror(-ret));
		config_free(&c);
		return 1;
	}
	nh = c.dhcp ? c.dhcp->nhosts : 0;
	listed = calloc(nst ? nst : 1, sizeof(*listed));
	if (listed == NULL) {
		fprintf(stderr, "pxecast: out of memory\n");
		free(st);
		config_free(&c);
		return 1;
	}
	if (json)
		printf("[");
	else
		printf("%-17s  %-16s  %-12s  %-10s  %-19s  %-19s  %s\n", "MAC", "HOSTNAME", "PROFILE",
		       "STATE", "SINCE", "BOOTING", "INSTALLED");
	for (size_t i = 0; i < nh; i++) {
		const struct dhcp_host *h = &c.dhcp->hosts[i];
		struct host_status *s = find(st, nst, h->mac);

		row(h->mac, h->hostname ? h->hostname : "", h->profile ? h->profile : "", s, json,
		    &first);
		if (s)
			listed[s - st] = true;
	}
	/* machines served through default-profile, never configured */
	for (size_t i = 0; i < nst; i++)
		if (!listed[i])
			row(st[i].mac, "", c.default_profile, &st[i], json, &first);
	free(listed);
	if (json)
		printf("]\n");
	if (bad)
		fprintf(stderr, "pxecast: %s: %zu damaged rows skipped\n", c.host_state_file, bad);
	free(st);
	config_free(&c);
	return 0;
}
