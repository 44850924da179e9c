/* The provisioning routes (hosts.h): which template a path asks for, the
 * token check, the state API. Answers are made in memory; the HTTP server
 * sends them. */
#include "control/hosts/provision_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_text(struct provision_reply *out, int status, const char *type,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void reply_text(struct provision_reply *out, int status, const char *type,
		       const char *fmt, ...)
{
	va_list ap;
	int n;

	out->status = status;
	out->content_type = type;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	out->body = malloc((size_t)n + 1);
	if (out->body == NULL) {
		out->status = 503;
		out->len = 0;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(out->body, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->len = (size_t)n;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The value of key in an "a=1&b=2" list (query or form body). */
static bool form_value(const char *s, size_t len, const char *key, const char **v, size_t *vlen)
{
	size_t klen = strlen(key);

	for (const char *p = s, *end = s + len; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		size_t n = (size_t)((amp ? amp : end) - p);

		if (n > klen && p[klen] == '=' && !memcmp(p, key, klen)) {
			*v = p + klen + 1;
			*vlen = n - klen - 1;
			return true;
		}
		p = amp ? amp + 1 : end;
	}
	return false;
}

static const char *type_of(const char *name)
{
	size_t n = strlen(name);

	if (has_suffix(name, n, ".ign") || has_suffix(name, n, ".json"))
		return "application/json";
	if (has_suffix(name, n, ".yaml") || has_suffix(name, n, ".yml"))
		return "text/yaml";
	return "text/plain; charset=utf-8";
}

/* Render for host mac the template its key names ("install-template"),
 * or dflt when neither the host nor its profile has the key. */
static void render_for(struct provision *p, const uint8_t mac[6], const char *key,
		       const char *dflt, const struct provision_request *rq,
		       struct provision_reply *out)
{
	struct provision_view *v = malloc(sizeof(*v));
	const struct provision_template *t;
	struct render_context ctx = provision_view_context;
	struct render_buf b;
	enum render_error err;
	unsigned line = 0;
	const char *name;

	if (v == NULL) {
		reply_text(out, 503, "text/plain", "out of memory\n");
		return;
	}
	provision_view_init(v, p, mac, rq);
	name = provision_view_key(v, key);
	if (name == NULL)
		name = dflt;
	t = provision_template(p, name);
	if (t == NULL) {
		free(v);
		p->c.not_found++;
		reply_text(out, 404, "text/plain", "no template %s\n", name ? name : "(none)");
		return;
	}
	ctx.user = v;
	render_buf_init(&b, PROVISION_OUTPUT_MAX);
	err = render_execute(t->compiled, RENDER_MODE_SCRIPT, &ctx,
			     (struct render_value){ .type = RENDER_MAP, .node = v }, &b, &line);
	free(v);
	if (err != RENDER_OK) {
		render_buf_free(&b);
		p->c.render_errors++;
		reply_text(out, 500, "text/plain", "%s:%u: %s\n", name, line, render_error_name(err));
		return;
	}
	p->c.rendered++;
	out->status = 200;
	out->content_type = type_of(name);
	out->body = b.data ? b.data : calloc(1, 1);
	out->len = b.len;
	out->gzip_ok = true;
}

/* The host behind a MAC in a path: known, or served by the default profile. */
static bool host_known(struct provision *p, const uint8_t mac[6])
{
	return provision_find_host(p, mac) != NULL || p->cfg.default_profile != NULL;
}

/* The token comes as ?token=, in a POST form, or as a path segment
 * (path_tok: cloud-init's nocloud-net appends file names to a seed URL,
 * so the token must sit in the path there). */
static bool token_ok(struct provision *p, const uint8_t mac[6], const struct provision_request *rq,
		     const char *path_tok, size_t path_tok_len)
{
	const char *tok = path_tok;
	size_t len = path_tok_len;

	if (!p->cfg.require_token)
		return true;
	if ((tok || form_value(rq->query, rq->query_len, "token", &tok, &len) ||
	     (rq->post && form_value(rq->body, rq->body_len, "token", &tok, &len))) &&
	    host_token_check(p->cfg.secret, mac, tok, len, rq->now))
		return true;
	p->c.token_refused++;
	return false;
}

/* The names PXELINUX and GRUB look for beside themselves, in whatever
 * directory they were loaded from: ".../pxelinux.cfg/01-aa-bb-cc-dd-ee-ff",
 * ".../grub.cfg-01-aa-bb-cc-dd-ee-ff". */
static bool mac_suffix(const char *path, size_t len, const char *marker, uint8_t mac[6])
{
	size_t m = strlen(marker);
	const char *tail;

	if (len < m + 17)
		return false;
	tail = path + len - 17 - m;
	if (memcmp(tail, marker, m) != 0 || (tail != path && tail[-1] != '/'))
		return false;
	return host_mac_parse(tail + m, 17, mac);
}

/* A body of "state=installed", {"state": "installed"} or just "installed". */
static bool body_state(const char *b, size_t len, enum host_state *s)
{
	const char *v, *q;
	size_t vlen;

	while (len && (b[len - 1] == '\n' || b[len - 1] == '\r' || b[len - 1] == ' '))
		len--;
	if (form_value(b, len, "state", &v, &vlen))
		return host_state_parse(v, vlen, s);
	if (len && b[0] == '{' && (q = memmem(b, len, "\"state\"", 7)) != NULL) {
		const char *end = b + len, *open;

		q += 7;
		while (q < end && (*q == ' ' || *q == ':'))
			q++;
		if (q == end || *q != '"')
			return false;
		open = ++q;
		while (q < end && *q != '"')
			q++;
		return q < end && host_state_parse(open, (size_t)(q - open), s);
	}
	return host_state_parse(b, len, s);
}

static void status_json(struct provision *p, const uint8_t mac[6], char *buf, size_t size)
{
	const struct host_status *h = provision_status(p, mac, false);
	const struct provision_host *host = provision_find_host(p, mac);
	char m[18];

	host_mac_format(mac, ':', m);
	snprintf(buf, size,
		 "{\"mac\":\"%s\",\"hostname\":\"%s\",\"profile\":\"%s\",\"state\":\"%s\","
		 "\"since\":%lld,\"booting\":%lld,\"installing\":%lld,\"installed\":%lld,"
		 "\"failed\":%lld}",
		 m, host && host->hostname ? host->hostname : "",
		 host && host->profile ? host->profile : "",
		 host_state_name(h ? h->state : HOST_STATE_NONE), (long long)(h ? h->since : 0),
		 (long long)(h ? h->entered[HOST_STATE_BOOTING] : 0),
		 (long long)(h ? h->entered[HOST_STATE_INSTALLING] : 0),
		 (long long)(h ? h->entered[HOST_STATE_INSTALLED] : 0),
		 (long long)(h ? h->entered[HOST_STATE_FAILED] : 0));
}

static void api_state(struct provision *p, const uint8_t mac[6],
		      const struct provision_request *rq, struct provision_reply *out)
{
	enum host_state s;
	char json[512];
	int ret;

	if (!rq->post) {
		status_json(p, mac, json, sizeof(json));
		reply_text(out, 200, "application/json", "%s\n", json);
		return;
	}
	if (!token_ok(p, mac, rq, NULL, 0)) {
		reply_text(out, 403, "text/plain", "token missing, invalid or expired\n");
		return;
	}
	if (!body_state(rq->body, rq->body_len, &s)) {
		reply_text(out, 400, "text/plain",
			   "state: one of booting, installing, installed, failed\n");
		return;
	}
	ret = provision_set_state(p, mac, s, rq->now);
	if (ret < 0) {
		reply_text(out, 503, "text/plain", "state not recorded: %s\n", strerror(-ret));
		return;
	}
	status_json(p, mac, json, sizeof(json));
	reply_text(out, 200, "application/json", "%s\n", json);
}

static void api_list(struct provision *p, struct provision_reply *out)
{
	size_t cap = 64 + (p->cfg.nhosts + p->nstatus) * 512, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL) {
		reply_text(out, 503, "text/plain", "out of memory\n");
		return;
	}
	buf[len++] = '[';
	/* configured hosts, then hosts seen only through the default profile */
	for (size_t i = 0; i < p->cfg.nhosts + p->nstatus; i++) {
		const uint8_t *mac = i < p->cfg.nhosts ? p->by_mac[i]->mac
						       : p->status[i - p->cfg.nhosts].mac;

		if (i >= p->cfg.nhosts && provision_find_host(p, mac))
			continue;
		if (len > 1)
			buf[len++] = ',';
		status_json(p, mac, buf + len, cap - len - 3);
		len += strlen(buf + len);
	}
	buf[len++] = ']';
	buf[len++] = '\n';
	out->status = 200;
	out->content_type = "application/json";
	out->body = buf;
	out->len = len;
	out->gzip_ok = true;
}

void provision_handle(struct provision *p, const struct provision_request *rq,
		      struct provision_reply *out)
{
	const char *path = rq->path;
	size_t len = rq->path_len;
	uint8_t mac[6];

	memset(out, 0, sizeof(*out));
	if (len == 9 && !memcmp(path, "api/hosts", 9)) {
		if (rq->post)
			reply_text(out, 405, "text/plain", "GET only\n");
		else
			api_list(p, out);
		return;
	}
	if (has_prefix(path, len, "api/hosts/") && len == 10 + 17 + 6 &&
	    !memcmp(path + 27, "/state", 6) && host_mac_parse(path + 10, 17, mac)) {
		if (!host_known(p, mac)) {
			p->c.not_found++;
			reply_text(out, 404, "text/plain", "unknown host\n");
		} else {
			api_state(p, mac, rq, out);
		}
		return;
	}
	if (rq->post)
		return; /* not ours: the server answers 405 */
	if (has_prefix(path, len, "boot/") && len == 5 + 17 + 5 && has_suffix(path, len, ".ipxe") &&
	    host_mac_parse(path + 5, 17, mac)) {
		if (!host_known(p, mac))
			goto unknown;
		render_for(p, mac, "script-template", "boot.ipxe", rq, out);
		/* FOG-like: fetching the boot script is the start of an install */
		if (out->status == 200 && provision_set_state(p, mac, HOST_STATE_BOOTING, rq->now))
			p->c.render_errors++;
		return;
	}
	if (has_prefix(path, len, "ks/") && len >= 3 + 17 && host_mac_parse(path + 3, 17, mac) &&
	    (len == 20 || path[20] == '/')) {
		const char *sub = path + 20 + (len > 20), *tok = NULL, *slash;
		size_t sublen = len > 20 ? len - 21 : 0, toklen = 0;

		if (!host_known(p, mac))
			goto unknown;
		/* ks/MAC/TOKEN/user-data: a token is digits, '-', hex */
		slash = memchr(sub, '/', sublen);
		if (slash && slash > sub && sub[0] >= '0' && sub[0] <= '9') {
			tok = sub;
			toklen = (size_t)(slash - sub);
			sublen -= toklen + 1;
			sub = slash + 1;
		}
		if (!token_ok(p, mac, rq, tok, toklen)) {
			reply_text(out, 403, "text/plain", "token missing, invalid or expired\n");
			return;
		}
		if (sublen == 0 || (sublen == 9 && !memcmp(sub, "user-data", 9)))
			render_for(p, mac, "install-template", NULL, rq, out);
		else if (sublen == 9 && !memcmp(sub, "meta-data", 9))
			reply_text(out, 200, "text/yaml", "instance-id: %.17s\n", path + 3);
		else if (sublen == 11 && !memcmp(sub, "vendor-data", 11))
			reply_text(out, 200, "text/yaml", "%s", "");
		else
			reply_text(out, 404, "text/plain", "not found\n");
		return;
	}
	if ((has_prefix(path, len, "grub/") && len == 5 + 17 + 4 && has_suffix(path, len, ".cfg") &&
	     host_mac_parse(path + 5, 17, mac)) ||
	    mac_suffix(path, len, "grub.cfg-01-", mac)) {
		if (!host_known(p, mac))
			goto unknown;
		render_for(p, mac, "grub-template", "grub.cfg", rq, out);
		return;
	}
	if (mac_suffix(path, len, "pxelinux.cfg/01-", mac)) {
		if (!host_known(p, mac))
			goto unknown;
		render_for(p, mac, "pxelinux-template", "pxelinux.cfg", rq, out);
		return;
	}
	return;
unknown:
	p->c.not_found++;
	reply_text(out, 404, "text/plain", "unknown host\n");
}
