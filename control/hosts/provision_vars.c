/* What a template sees for one host: the built-ins (mac, ip, hostname,
 * server, profile, arch, token and the URLs made from them), then the
 * host's own keys, then its profile's. Values from the config may use
 * ${name} for a built-in ("http://${server}/images/alma9/"), the syntax
 * [boot] already uses for DHCP boot files. */
#include "control/hosts/provision_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *view_add(struct provision_view *v, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static const char *view_add(struct provision_view *v, const char *key, const char *fmt, ...)
{
	size_t room = sizeof(v->strings) - v->used;
	char *dst = v->strings + v->used;
	va_list ap;
	int n;

	if (v->nbuiltin == sizeof(v->builtin) / sizeof(v->builtin[0]))
		return "";
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return "";
	v->used += (size_t)n + 1;
	v->builtin[v->nbuiltin++] = (struct render_kv){ key, dst };
	return dst;
}

static const char *builtin(const struct provision_view *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->nbuiltin; i++)
		if (strlen(v->builtin[i].key) == len && !memcmp(v->builtin[i].key, name, len))
			return v->builtin[i].value;
	return NULL;
}

static const char *vars_find(const struct provision_vars *vars, const char *name, size_t len)
{
	for (size_t i = 0; vars && i < vars->n; i++)
		if (strlen(vars->kv[i].key) == len && !memcmp(vars->kv[i].key, name, len))
			return vars->kv[i].value;
	return NULL;
}

static const char *raw_key(const struct provision_view *v, const char *name, size_t len)
{
	const char *s = v->host ? vars_find(&v->host->vars, name, len) : NULL;

	if (s == NULL && v->profile)
		s = vars_find(&v->profile->vars, name, len);
	return s;
}

const char *provision_view_key(const struct provision_view *v, const char *key)
{
	return raw_key(v, key, strlen(key));
}

static const char *expand(struct provision_view *v, const char *value);

/* A URL for a path under the served root, or the value itself if it is
 * a URL already. */
static const char *add_url(struct provision_view *v, const char *key, const char *base,
			   const char *value)
{
	if (value == NULL)
		return NULL;
	value = expand(v, value);
	if (strstr(value, "://"))
		return view_add(v, key, "%s", value);
	return view_add(v, key, "%s/%s", base, value + (value[0] == '/'));
}

/* GRUB names files on the network "(http,host:port)/path", not by URL. */
static void add_grub_path(struct provision_view *v, const char *key, const char *url)
{
	const char *auth, *path;

	if (url == NULL || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return;
	auth = strstr(url, "://") + 3;
	path = strchr(auth, '/');
	if (path == NULL)
		return;
	view_add(v, key, "(%.*s,%.*s)%s", (int)(auth - 3 - url), url, (int)(path - auth), auth,
		 path);
}

void provision_view_init(struct provision_view *v, struct provision *p, const uint8_t mac[6],
			 const struct provision_request *rq)
{
	char m[18], token[HOST_TOKEN_MAX], ipbuf[INET_ADDRSTRLEN], archbuf[32];
	const char *base, *mac_s, *arch = "x86_64";
	struct in_addr ip;
	uint32_t life = p->cfg.token_lifetime ? p->cfg.token_lifetime : 86400;

	memset(v, 0, sizeof(*v));
	v->p = p;
	memcpy(v->mac, mac, 6);
	v->host = provision_find_host(p, mac);
	v->profile = provision_find_profile(p, v->host && v->host->profile ? v->host->profile
							   : v->host ? NULL
							   : p->cfg.default_profile);
	host_mac_format(mac, ':', m);
	mac_s = view_add(v, "mac", "%s", m);
	host_mac_format(mac, '-', m);
	view_add(v, "mac_dashes", "%s", m);
	ip.s_addr = v->host && v->host->ip ? v->host->ip : rq->peer_ip;
	view_add(v, "ip", "%s", inet_ntop(AF_INET, &ip, ipbuf, sizeof(ipbuf)) ? ipbuf : "");
	if (v->host && v->host->hostname)
		view_add(v, "hostname", "%s", v->host->hostname);
	else
		view_add(v, "hostname", "host-%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
	view_add(v, "server", "%s", rq->server);
	base = view_add(v, "base_url", "%s://%s", rq->tls ? "https" : "http", rq->server);
	view_add(v, "profile", "%s", v->profile ? v->profile->name : "");
	/* iPXE scripts may pass ?arch=${buildarch}; default to the common case */
	for (const char *q = rq->query, *end = rq->query + rq->query_len; q && q < end;) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		size_t n = (size_t)((amp ? amp : end) - q);

		if (n > 5 && n < sizeof(archbuf) + 5 && !memcmp(q, "arch=", 5)) {
			/* a client's word in a script: letters, digits, '_' only */
			for (size_t i = 0; i < n - 5; i++) {
				char c = q[5 + i];

				archbuf[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
			}
			archbuf[n - 5] = '\0';
			arch = archbuf;
		}
		q = amp ? amp + 1 : end;
	}
	view_add(v, "arch", "%s", arch);
	host_token_make(p->cfg.secret, mac, rq->now + life, token);
	view_add(v, "token", "%s", token);
	view_add(v, "ks_url", "%s/ks/%s?token=%s", base, mac_s, token);
	view_add(v, "state_url", "%s/api/hosts/%s/state?token=%s", base, mac_s, token);
	/* cloud-init nocloud-net appends "user-data" and "meta-data" to it */
	view_add(v, "seed_url", "%s/ks/%s/%s/", base, mac_s, token);
	add_grub_path(v, "grub_kernel", add_url(v, "kernel_url", base, raw_key(v, "kernel", 6)));
	add_grub_path(v, "grub_initrd", add_url(v, "initrd_url", base, raw_key(v, "initrd", 6)));
}

/* value with ${builtin} replaced, in v->expand; the value itself when it
 * has none (or the expansion does not fit: better unexpanded than cut). */
static const char *expand(struct provision_view *v, const char *value)
{
	size_t room = sizeof(v->expand) - v->expand_used, n = 0;
	char *out = v->expand + v->expand_used;

	if (strstr(value, "${") == NULL)
		return value;
	for (const char *s = value; *s;) {
		const char *end, *b;
		size_t add;

		if (s[0] == '$' && s[1] == '{' && (end = strchr(s + 2, '}')) &&
		    (b = builtin(v, s + 2, (size_t)(end - s - 2)))) {
			add = strlen(b);
			if (n + add >= room)
				return value;
			memcpy(out + n, b, add);
			n += add;
			s = end + 1;
			continue;
		}
		if (n + 1 >= room)
			return value;
		out[n++] = *s++;
	}
	out[n] = '\0';
	v->expand_used += n + 1;
	return out;
}

static bool view_lookup(void *user, const void *map, const char *name, size_t len,
			struct render_value *out)
{
	struct provision_view *v = user;
	const char *s;

	(void)map;
	s = builtin(v, name, len);
	if (s == NULL && (s = raw_key(v, name, len)) != NULL)
		s = expand(v, s);
	if (s == NULL)
		return false;
	*out = (struct render_value){ .type = RENDER_STRING, .str = s, .len = strlen(s) };
	return true;
}

const struct render_context provision_view_context = { view_lookup, NULL, NULL };
