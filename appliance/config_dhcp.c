/* The DHCP sections of pxecast.conf:
 *
 *   [dhcp]            mode, interfaces, lease-file, unknown-hosts, limits
 *   [subnet NAME]     network, pool, router, dns, domain, lease-time, ...
 *   [host MAC]        ip, hostname, profile and boot overrides
 *   [profile NAME]    boot files shared by hosts
 *   [boot]            the default boot files per client architecture
 *
 * They fill struct dhcp_config (control/dhcp/dhcp.h) directly; every
 * string the engine will borrow is copied once and owned by config_dhcp.
 */
#include "appliance/config_private.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_LEASES 65536
#define DEFAULT_COMPACT_SECONDS 3600
#define NAME_MAX_LEN 63
#define MAX_ITEMS 100000 /* hosts, subnets or profiles in one file */

static struct config_dhcp *dhcp_get(struct config *c)
{
	if (c->dhcp == NULL) {
		c->dhcp = calloc(1, sizeof(*c->dhcp));
		if (c->dhcp != NULL) {
			c->dhcp->engine.mode = DHCP_MODE_SERVER;
			c->dhcp->engine.unknown = DHCP_UNKNOWN_SERVE;
			c->dhcp->max_leases = DEFAULT_MAX_LEASES;
			c->dhcp->compact_seconds = DEFAULT_COMPACT_SECONDS;
		}
	}
	return c->dhcp;
}

void config_dhcp_free(struct config_dhcp *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nstrs; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d->subnets);
	free(d->subnet_info);
	for (size_t i = 0; i < d->nhosts; i++)
		free(d->host_vars[i].kv);
	for (size_t i = 0; i < d->nprofiles; i++)
		free(d->profile_vars[i].kv);
	free(d->host_vars);
	free(d->profile_vars);
	free(d->hosts);
	free(d->profiles);
	free(d);
}

/* The engine reads the arrays through its own pointers: refresh them
 * after every growth. */
static void dhcp_sync(struct config_dhcp *d)
{
	d->engine.subnets = d->subnets;
	d->engine.nsubnets = d->nsubnets;
	d->engine.hosts = d->hosts;
	d->engine.nhosts = d->nhosts;
	d->engine.profiles = d->profiles;
	d->engine.nprofiles = d->nprofiles;
}

/* Grow *arr (n items of size) by one zeroed item; NULL on failure. */
static void *grow(void **arr, size_t n, size_t size)
{
	char *p;

	if (n >= MAX_ITEMS)
		return NULL;
	p = realloc(*arr, (n + 1) * size);
	if (p == NULL)
		return NULL;
	memset(p + n * size, 0, size);
	*arr = p;
	return p + n * size;
}

static const char *keep_string(struct config_dhcp *d, const char *v, const char **out)
{
	char **strs = realloc(d->strs, (d->nstrs + 1) * sizeof(*strs));
	char *copy;

	if (strs == NULL)
		return "out of memory";
	d->strs = strs;
	copy = strdup(v);
	if (copy == NULL)
		return "out of memory";
	d->strs[d->nstrs++] = copy;
	*out = copy;
	return NULL;
}

/* ---- value parsers ---- */

static const char *parse_ip(const char *v, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1)
		return "expected an IPv4 address";
	*ip = a.s_addr;
	return NULL;
}

static const char *parse_network(const char *v, uint32_t *net, uint32_t *mask)
{
	char host[32];
	const char *slash = strchr(v, '/');
	uint64_t bits;
	uint32_t m;

	if (slash == NULL || (size_t)(slash - v) >= sizeof(host))
		return "expected ADDR/PREFIX";
	memcpy(host, v, (size_t)(slash - v));
	host[slash - v] = '\0';
	if (parse_ip(host, net) || config_value_uint(slash + 1, 1, 32, &bits))
		return "expected ADDR/PREFIX";
	m = htonl((uint32_t)(0xffffffffull << (32 - bits)));
	if (*net & ~m)
		return "host bits set (give the network address)";
	*mask = m;
	return NULL;
}

/* Split a list at commas and blanks; fn sees each item. */
static const char *each_item(const char *v, unsigned max,
			     const char *(*fn)(void *ctx, const char *item), void *ctx)
{
	char buf[1024], *save = NULL, *tok;
	unsigned n = 0;

	if (strlen(v) >= sizeof(buf))
		return "list too long";
	strcpy(buf, v);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		const char *why;

		if (++n > max)
			return "too many items";
		why = fn(ctx, tok);
		if (why)
			return why;
	}
	return n ? NULL : "empty list";
}

static const char *add_ifname(void *ctx, const char *item)
{
	struct config_dhcp *d = ctx;

	if (strlen(item) >= IFNAMSIZ)
		return "interface name too long";
	strcpy(d->ifnames[d->nifnames++], item);
	return NULL;
}

static const char *add_dns(void *ctx, const char *item)
{
	struct dhcp_subnet *sn = ctx;

	return parse_ip(item, &sn->dns[sn->ndns++]);
}

static int parse_mac(const char *v, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (strlen(v) != 17 ||
	    sscanf(v, "%2x%*1[:-]%2x%*1[:-]%2x%*1[:-]%2x%*1[:-]%2x%*1[:-]%2x%c", &b[0], &b[1],
		   &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* ---- boot files: [boot], [profile NAME], [host MAC] ---- */

static const struct {
	const char *key;
	size_t offset;
} boot_keys[] = {
	{ "bios", offsetof(struct dhcp_boot, bios) },
	{ "efi32", offsetof(struct dhcp_boot, efi32) },
	{ "efi64", offsetof(struct dhcp_boot, efi64) },
	{ "arm32", offsetof(struct dhcp_boot, arm32) },
	{ "arm64", offsetof(struct dhcp_boot, arm64) },
	{ "ipxe", offsetof(struct dhcp_boot, ipxe) },
	{ "httpboot", offsetof(struct dhcp_boot, httpboot) },
	{ "httpboot-arm64", offsetof(struct dhcp_boot, httpboot_arm64) },
};

static const char *set_boot_key(struct config_dhcp *d, struct dhcp_boot *b, const char *key,
				const char *v)
{
	for (size_t i = 0; i < sizeof(boot_keys) / sizeof(boot_keys[0]); i++)
		if (!strcmp(key, boot_keys[i].key)) {
			if (*v == '\0' || strlen(v) >= DHCP_BOOTFILE_MAX)
				return "expected a file name or URL of 1..255 bytes";
			return keep_string(d, v, (const char **)((char *)b + boot_keys[i].offset));
		}
	return "unknown key";
}

/* ---- provisioning keys of [host] and [profile] (control/hosts) ---- */

static const char *const provision_keys[] = {
	"kernel", "initrd", "append", "script-template", "install-template",
	"grub-template", "pxelinux-template",
};
/* What templates get from the appliance itself (control/hosts). */
static const char *const builtin_names[] = {
	"mac", "mac_dashes", "ip", "hostname", "server", "base_url", "profile", "arch",
	"token", "ks_url", "state_url", "seed_url", "kernel_url", "initrd_url", "grub_kernel", "grub_initrd",
};

static const char *var_name_why(const char *name)
{
	if (*name == '\0' || strlen(name) > 63)
		return "var.NAME: a name of 1..63 letters, digits and '_'";
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return "var.NAME: a name of 1..63 letters, digits and '_'";
	for (size_t i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++)
		if (!strcmp(name, builtin_names[i]))
			return "var.NAME: that name is a built-in";
	return NULL;
}

/* NULL when taken, "unknown key" when key is not a provisioning key. */
static const char *set_var(struct config_dhcp *d, struct config_vars *vars, const char *key,
			   const char *v)
{
	const char *name = NULL, *why;
	struct render_kv *kv;

	for (size_t i = 0; i < sizeof(provision_keys) / sizeof(provision_keys[0]); i++)
		if (!strcmp(key, provision_keys[i]))
			name = key;
	if (name == NULL && !strncmp(key, "var.", 4)) {
		name = key + 4;
		if ((why = var_name_why(name)) != NULL)
			return why;
	}
	if (name == NULL)
		return "unknown key";
	if (strlen(name) > 12 && !strcmp(name + strlen(name) - 9, "-template") &&
	    (strchr(v, '/') || v[0] == '.' || v[0] == '\0'))
		return "expected a file name in the templates directory";
	for (size_t i = 0; i < vars->n; i++)
		if (!strcmp(vars->kv[i].key, name))
			return "given twice";
	kv = grow((void **)&vars->kv, vars->n, sizeof(*kv));
	if (kv == NULL)
		return "out of memory";
	vars->n++;
	if ((why = keep_string(d, name, &kv->key)) != NULL)
		return why;
	return keep_string(d, v, &kv->value);
}

static const char *open_plain(struct config *c, const char *arg)
{
	if (*arg)
		return "this section takes no name";
	return dhcp_get(c) ? NULL : "out of memory";
}

/* The [dhcp] section switches the service on, even when empty. */
static const char *open_dhcp(struct config *c, const char *arg)
{
	const char *why = open_plain(c, arg);

	if (!why)
		c->dhcp->enabled = true;
	return why;
}

static const char *set_boot(struct config *c, const char *key, const char *v)
{
	return set_boot_key(c->dhcp, &c->dhcp->engine.boot, key, v);
}

/* ---- [dhcp] ---- */

static const char *set_dhcp(struct config *c, const char *key, const char *v)
{
	struct config_dhcp *d = c->dhcp;
	struct dhcp_config *e = &d->engine;
	static const struct {
		const char *key;
		uint64_t min, max;
		size_t off;
	} nums[] = {
		{ "offer-hold", 1, 3600, offsetof(struct dhcp_config, offer_hold) },
		{ "decline-hold", 1, 86400, offsetof(struct dhcp_config, decline_hold) },
		{ "rate-burst", 1, 1000000, offsetof(struct dhcp_config, rate_burst) },
		{ "rate-per-sec", 1, 1000000, offsetof(struct dhcp_config, rate_per_sec) },
		{ "max-pending", 1, 65536, offsetof(struct dhcp_config, max_pending) },
	};
	uint64_t n;
	const char *why;

	if (!strcmp(key, "enable"))
		return config_value_bool(v, &d->enabled);
	if (!strcmp(key, "mode")) {
		if (!strcmp(v, "server"))
			e->mode = DHCP_MODE_SERVER;
		else if (!strcmp(v, "proxy"))
			e->mode = DHCP_MODE_PROXY;
		else
			return "expected server or proxy";
		return NULL;
	}
	if (!strcmp(key, "unknown-hosts")) {
		if (!strcmp(v, "serve"))
			e->unknown = DHCP_UNKNOWN_SERVE;
		else if (!strcmp(v, "ignore"))
			e->unknown = DHCP_UNKNOWN_IGNORE;
		else
			return "expected serve or ignore";
		return NULL;
	}
	if (!strcmp(key, "interfaces")) {
		d->nifnames = 0;
		return each_item(v, CONFIG_DHCP_MAX_IFACES, add_ifname, d);
	}
	if (!strcmp(key, "lease-file"))
		return config_value_path(v, d->lease_file);
	if (!strcmp(key, "max-leases")) {
		why = config_value_uint(v, 16, 16u << 20, &n);
		d->max_leases = (uint32_t)n;
		return why;
	}
	if (!strcmp(key, "compact-interval")) {
		why = config_value_uint(v, 10, 7 * 86400, &n);
		d->compact_seconds = (uint32_t)n;
		return why;
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!strcmp(key, nums[i].key)) {
			why = config_value_uint(v, nums[i].min, nums[i].max, &n);
			if (!why) {
				unsigned u = (unsigned)n;

				memcpy((char *)e + nums[i].off, &u, sizeof(u));
			}
			return why;
		}
	return "unknown key";
}

/* ---- [subnet NAME] ---- */

static const char *check_name(const char *arg)
{
	if (*arg == '\0')
		return "needs a name";
	if (strlen(arg) > NAME_MAX_LEN || strpbrk(arg, " \t"))
		return "name must be one word of at most 63 bytes";
	return NULL;
}

static const char *open_subnet(struct config *c, const char *arg)
{
	struct config_dhcp *d = dhcp_get(c);
	struct config_dhcp_subnet *info;
	const char *why = check_name(arg);

	if (why)
		return why;
	if (d == NULL)
		return "out of memory";
	for (size_t i = 0; i < d->nsubnets; i++)
		if (!strcmp(d->subnet_info[i].name, arg))
			return "defined twice";
	info = grow((void **)&d->subnet_info, d->nsubnets, sizeof(*info));
	if (info == NULL || !grow((void **)&d->subnets, d->nsubnets, sizeof(*d->subnets)))
		return "out of memory";
	strcpy(info->name, arg);
	d->nsubnets++;
	dhcp_sync(d);
	return NULL;
}

static const char *set_subnet(struct config *c, const char *key, const char *v)
{
	struct config_dhcp *d = c->dhcp;
	struct dhcp_subnet *sn = &d->subnets[d->nsubnets - 1];
	struct config_dhcp_subnet *info = &d->subnet_info[d->nsubnets - 1];
	uint64_t n;
	const char *why;

	if (!strcmp(key, "network"))
		return parse_network(v, &sn->network, &sn->netmask);
	if (!strcmp(key, "pool")) {
		char a[32], b[32];

		if (sscanf(v, "%31[0-9.] - %31[0-9.]", a, b) != 2 &&
		    sscanf(v, "%31[0-9.]-%31[0-9.]", a, b) != 2)
			return "expected FIRST - LAST";
		if (parse_ip(a, &sn->pool_start) || parse_ip(b, &sn->pool_end))
			return "expected FIRST - LAST";
		return NULL;
	}
	if (!strcmp(key, "router"))
		return parse_ip(v, &sn->router);
	if (!strcmp(key, "server-ip"))
		return parse_ip(v, &sn->server_ip);
	if (!strcmp(key, "dns")) {
		sn->ndns = 0;
		return each_item(v, 4, add_dns, sn);
	}
	if (!strcmp(key, "domain")) {
		if (strlen(v) > 253 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
						 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(v))
			return "expected a domain name";
		return keep_string(d, v, &sn->domain);
	}
	if (!strcmp(key, "interface")) {
		if (*v == '\0' || strlen(v) >= IFNAMSIZ)
			return "expected an interface name";
		strcpy(info->ifname, v);
		return NULL;
	}
	if (!strcmp(key, "lease-time") || !strcmp(key, "renew-time") ||
	    !strcmp(key, "rebind-time")) {
		why = config_value_uint(v, 10, 365u * 86400, &n);
		if (why)
			return why;
		if (key[0] == 'l')
			sn->lease_time = (uint32_t)n;
		else if (key[2] == 'n')
			sn->t1 = (uint32_t)n;
		else
			sn->t2 = (uint32_t)n;
		return NULL;
	}
	return "unknown key";
}

/* ---- [host MAC] and [profile NAME] ---- */

static const char *open_host(struct config *c, const char *arg)
{
	struct config_dhcp *d = dhcp_get(c);
	struct dhcp_host *h;
	uint8_t mac[6];

	if (parse_mac(arg, mac))
		return "expected a MAC address aa:bb:cc:dd:ee:ff";
	if (d == NULL)
		return "out of memory";
	for (size_t i = 0; i < d->nhosts; i++)
		if (!memcmp(d->hosts[i].mac, mac, 6))
			return "defined twice";
	h = grow((void **)&d->hosts, d->nhosts, sizeof(*h));
	if (h == NULL || !grow((void **)&d->host_vars, d->nhosts, sizeof(*d->host_vars)))
		return "out of memory";
	memcpy(h->mac, mac, 6);
	d->nhosts++;
	dhcp_sync(d);
	return NULL;
}

static const char *set_host(struct config *c, const char *key, const char *v)
{
	struct config_dhcp *d = c->dhcp;
	struct dhcp_host *h = &d->hosts[d->nhosts - 1];

	if (!strcmp(key, "ip"))
		return parse_ip(v, &h->ip);
	if (!strcmp(key, "hostname")) {
		char clean[DHCP_HOSTNAME_MAX + 1];

		if (*v == '\0' || strlen(v) > DHCP_HOSTNAME_MAX ||
		    dhcp_hostname_sanitize(clean, sizeof(clean), (const uint8_t *)v, strlen(v)) !=
			    strlen(v) ||
		    strcmp(clean, v))
			return "expected a host name of [A-Za-z0-9._-], at most 63 bytes";
		return keep_string(d, v, &h->hostname);
	}
	if (!strcmp(key, "profile")) {
		const char *why = check_name(v);

		return why ? why : keep_string(d, v, &h->profile);
	}
	const char *why = set_var(d, &d->host_vars[d->nhosts - 1], key, v);

	if (why == NULL || strcmp(why, "unknown key"))
		return why;
	return set_boot_key(d, &h->boot, key, v);
}

static const char *open_profile(struct config *c, const char *arg)
{
	struct config_dhcp *d = dhcp_get(c);
	struct dhcp_profile *p;
	const char *why = check_name(arg);

	if (why)
		return why;
	if (d == NULL)
		return "out of memory";
	for (size_t i = 0; i < d->nprofiles; i++)
		if (!strcmp(d->profiles[i].name, arg))
			return "defined twice";
	p = grow((void **)&d->profiles, d->nprofiles, sizeof(*p));
	if (p == NULL || !grow((void **)&d->profile_vars, d->nprofiles, sizeof(*d->profile_vars)))
		return "out of memory";
	d->nprofiles++;
	dhcp_sync(d);
	return keep_string(d, arg, &p->name);
}

static const char *set_profile(struct config *c, const char *key, const char *v)
{
	struct config_dhcp *d = c->dhcp;

	const char *why = set_var(d, &d->profile_vars[d->nprofiles - 1], key, v);

	if (why == NULL || strcmp(why, "unknown key"))
		return why;
	return set_boot_key(d, &d->profiles[d->nprofiles - 1].boot, key, v);
}

const struct config_section config_dhcp_sections[] = {
	{ "dhcp", open_dhcp, set_dhcp },
	{ "subnet", open_subnet, set_subnet },
	{ "host", open_host, set_host },
	{ "profile", open_profile, set_profile },
	{ "boot", open_plain, set_boot },
};
const size_t config_dhcp_nsections = sizeof(config_dhcp_sections) / sizeof(config_dhcp_sections[0]);

/* ---- cross-field checks ---- */

static bool profile_known(const struct config_dhcp *d, const char *name)
{
	for (size_t i = 0; i < d->nprofiles; i++)
		if (!strcmp(d->profiles[i].name, name))
			return true;
	return false;
}

static int subnet_validate(const struct config_dhcp *d, size_t i, char *err, size_t errlen)
{
	const struct dhcp_subnet *sn = &d->subnets[i];
	const char *name = d->subnet_info[i].name;
	uint32_t a = ntohl(sn->pool_start), b = ntohl(sn->pool_end);
	uint32_t lt = sn->lease_time ? sn->lease_time : 3600;
	const char *why = NULL;

	if (sn->netmask == 0)
		why = "network: required";
	else if (sn->pool_start && ((sn->pool_start & sn->netmask) != sn->network ||
				    (sn->pool_end & sn->netmask) != sn->network))
		why = "pool: not inside the network";
	else if (a > b)
		why = "pool: first address after the last";
	else if (b - a >= 65536)
		why = "pool: more than 65536 addresses";
	else if ((sn->t1 && sn->t1 >= lt) || (sn->t2 && sn->t2 >= lt) ||
		 (sn->t1 && sn->t2 && sn->t1 >= sn->t2))
		why = "renew-time < rebind-time < lease-time required";
	if (why) {
		snprintf(err, errlen, "[subnet %s] %s", name, why);
		return -1;
	}
	return 0;
}

int config_dhcp_validate(const struct config_dhcp *d, char *err, size_t errlen)
{
	char mac[18];

	if (d == NULL || !d->enabled)
		return 0;
	if (d->engine.mode == DHCP_MODE_SERVER && d->lease_file[0] == '\0') {
		snprintf(err, errlen, "[dhcp] lease-file: required in server mode");
		return -1;
	}
	if (d->engine.mode == DHCP_MODE_SERVER && d->nsubnets == 0) {
		snprintf(err, errlen, "[dhcp] mode: server mode needs a [subnet NAME] section");
		return -1;
	}
	for (size_t i = 0; i < d->nsubnets; i++)
		if (subnet_validate(d, i, err, errlen))
			return -1;
	for (size_t i = 0; i < d->nhosts; i++) {
		const struct dhcp_host *h = &d->hosts[i];
		bool inside = h->ip == 0 || d->engine.mode == DHCP_MODE_PROXY;

		for (size_t k = 0; k < d->nsubnets && !inside; k++)
			inside = (h->ip & d->subnets[k].netmask) == d->subnets[k].network;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", h->mac[0], h->mac[1],
			 h->mac[2], h->mac[3], h->mac[4], h->mac[5]);
		if (!inside) {
			snprintf(err, errlen, "[host %s] ip: in no [subnet]", mac);
			return -1;
		}
		if (h->profile && !profile_known(d, h->profile)) {
			snprintf(err, errlen, "[host %s] profile: no [profile %s]", mac, h->profile);
			return -1;
		}
	}
	return 0;
}
