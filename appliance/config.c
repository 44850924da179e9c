#include "appliance/config.h"
#include "appliance/config_private.h"

#include "appliance/log.h"
#include "common/file.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h> /* AT_FDCWD */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 4096
#define CONFIG_FILE_MAX (16u << 20)

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	c->tftp_cache_bytes = 256u << 20;
	c->tftp.listen_ip = htonl(INADDR_ANY);
	c->tftp.listen_port = htons(69);
	c->tftp.max_sessions = 1000;
	c->tftp.limits.max_blksize = TFTP_BLKSIZE_MAX;
	c->tftp.limits.max_window = TFTP_WINDOW_MAX;
	c->tftp.limits.max_file_size = 0;
	c->tftp.timing.retransmit_ms = 1000;
	c->tftp.timing.retransmit_max_ms = 8000;
	c->tftp.timing.max_retries = 6;
	c->tftp.timing.max_transfer_us = 600ull * 1000000u;
	c->http.listen_ip = htonl(INADDR_ANY);
	c->http.listen_port = htons(80);
	c->http.tls_listen_ip = htonl(INADDR_ANY);
	c->http.max_connections = 1024;
	c->http.idle_timeout_us = 60ull * 1000000u;
	c->http.header_timeout_us = 10ull * 1000000u;
	c->token_lifetime = 86400;
}

void config_free(struct config *c)
{
	config_dhcp_free(c->dhcp);
	c->dhcp = NULL;
	config_image_free(c->images);
	c->images = NULL;
	config_multicast_free(c->multicast);
	c->multicast = NULL;
}

int config_parse_endpoint(const char *s, uint32_t *ip, uint16_t *port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	struct in_addr a;

	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1)
		return -1;
	if (colon) {
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (colon[1] == '\0' || *end != '\0' || p == 0 || p > 65535)
			return -1;
		*port = htons((uint16_t)p);
	}
	*ip = a.s_addr;
	return 0;
}

/* ---- value parsers: each returns NULL or why the value is wrong ---- */

const char *config_value_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*v))
		return "expected a number";
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end != '\0')
		return "expected a number";
	if (n < min || n > max)
		return "out of range";
	*out = n;
	return NULL;
}

static const char *parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	uint64_t mul = 1;

	if (!isdigit((unsigned char)*v))
		return "expected a size such as 256M";
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return "out of range";
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	if (mul > 1)
		end++;
	if (*end != '\0')
		return "expected a size such as 256M";
	if (n > UINT64_MAX / mul)
		return "out of range";
	*out = n * mul;
	return NULL;
}

const char *config_value_path(const char *v, char *out)
{
	size_t n = strlen(v);

	if (n >= PATH_MAX)
		return "path too long";
	if (n && v[0] != '/')
		return "expected an absolute path";
	memcpy(out, v, n + 1);
	return NULL;
}

const char *config_value_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return "expected yes or no";
	return NULL;
}

/* ---- sections ---- */

static const char *set_daemon(struct config *c, const char *key, const char *v)
{
	if (!strcmp(key, "log-level")) {
		static const char *const names[] = { "err", "warn", "info", "debug" };

		for (int i = 0; i < 4; i++)
			if (!strcmp(v, names[i])) {
				c->log_level = i;
				return NULL;
			}
		return "expected err, warn, info or debug";
	}
	if (!strcmp(key, "metrics-file"))
		return config_value_path(v, c->metrics_file);
	return "unknown key";
}

/* Numeric keys: range-checked, scaled, stored into a field of its width. */
struct number_key {
	const char *key;
	uint64_t min, max, scale;
	size_t offset, width;
};

#define NUMBER(k, lo, hi, sc, field) \
	{ k, lo, hi, sc, offsetof(struct config, field), sizeof(((struct config *)0)->field) }

static const struct number_key tftp_numbers[] = {
	NUMBER("max-sessions", 1, 100000, 1, tftp.max_sessions),
	NUMBER("max-blksize", TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX, 1, tftp.limits.max_blksize),
	NUMBER("max-window", 1, TFTP_WINDOW_MAX, 1, tftp.limits.max_window),
	NUMBER("retransmit-ms", 10, 60000, 1, tftp.timing.retransmit_ms),
	NUMBER("retransmit-max-ms", 10, 600000, 1, tftp.timing.retransmit_max_ms),
	NUMBER("max-retries", 1, 100, 1, tftp.timing.max_retries),
	NUMBER("max-transfer-seconds", 1, 86400, 1000000, tftp.timing.max_transfer_us),
};

static const char *set_number(struct config *c, const struct number_key *k, const char *v)
{
	uint64_t n;
	const char *why = config_value_uint(v, k->min, k->max, &n);
	char *field = (char *)c + k->offset;

	if (why)
		return why;
	n *= k->scale;
	switch (k->width) {
	case 2: { uint16_t x = (uint16_t)n; memcpy(field, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)n; memcpy(field, &x, 4); break; }
	default: memcpy(field, &n, 8); break;
	}
	return NULL;
}

static const char *set_tftp(struct config *c, const char *key, const char *v)
{
	struct tftp_server_config *t = &c->tftp;
	const char *why;
	uint64_t n;

	c->tftp_enabled = true;
	if (!strcmp(key, "enable"))
		return config_value_bool(v, &c->tftp_enabled);
	if (!strcmp(key, "root"))
		return config_value_path(v, c->tftp_root);
	if (!strcmp(key, "upload-dir"))
		return config_value_path(v, c->tftp_upload_dir);
	if (!strcmp(key, "listen"))
		return config_parse_endpoint(v, &t->listen_ip, &t->listen_port)
			       ? "expected ADDR or ADDR:PORT" : NULL;
	if (!strcmp(key, "cache-size"))
		return parse_size(v, &c->tftp_cache_bytes);
	if (!strcmp(key, "max-upload-size")) {
		why = parse_size(v, &n);
		if (!why && n > UINT32_MAX)
			why = "out of range (at most 4G)";
		if (!why)
			t->limits.max_file_size = (uint32_t)n;
		return why;
	}
	for (size_t i = 0; i < sizeof(tftp_numbers) / sizeof(tftp_numbers[0]); i++)
		if (!strcmp(key, tftp_numbers[i].key))
			return set_number(c, &tftp_numbers[i], v);
	return "unknown key";
}

static const struct number_key http_numbers[] = {
	NUMBER("max-connections", 1, 1000000, 1, http.max_connections),
	NUMBER("idle-timeout", 1, 86400, 1000000, http.idle_timeout_us),
	NUMBER("header-timeout", 1, 3600, 1000000, http.header_timeout_us),
	NUMBER("token-lifetime", 60, 365 * 86400, 1, token_lifetime),
};

static const char *set_http(struct config *c, const char *key, const char *v)
{
	struct http_server_config *h = &c->http;

	c->http_enabled = true;
	if (!strcmp(key, "enable"))
		return config_value_bool(v, &c->http_enabled);
	if (!strcmp(key, "root"))
		return config_value_path(v, c->http_root);
	if (!strcmp(key, "certificate"))
		return config_value_path(v, c->http_certificate);
	if (!strcmp(key, "key"))
		return config_value_path(v, c->http_key);
	if (!strcmp(key, "templates"))
		return config_value_path(v, c->templates_dir);
	if (!strcmp(key, "host-state-file"))
		return config_value_path(v, c->host_state_file);
	if (!strcmp(key, "token-secret-file"))
		return config_value_path(v, c->token_secret_file);
	if (!strcmp(key, "require-token"))
		return config_value_bool(v, &c->require_token);
	if (!strcmp(key, "default-profile")) {
		if (*v == '\0' || strlen(v) >= sizeof(c->default_profile))
			return "expected a profile name";
		snprintf(c->default_profile, sizeof(c->default_profile), "%s", v);
		return NULL;
	}
	if (!strcmp(key, "listen"))
		return config_parse_endpoint(v, &h->listen_ip, &h->listen_port)
			       ? "expected ADDR or ADDR:PORT" : NULL;
	if (!strcmp(key, "https-listen")) {
		h->tls_listen_port = htons(443);
		return config_parse_endpoint(v, &h->tls_listen_ip, &h->tls_listen_port)
			       ? "expected ADDR or ADDR:PORT" : NULL;
	}
	for (size_t i = 0; i < sizeof(http_numbers) / sizeof(http_numbers[0]); i++)
		if (!strcmp(key, http_numbers[i].key))
			return set_number(c, &http_numbers[i], v);
	return "unknown key";
}

static const char *open_plain(struct config *c, const char *arg)
{
	(void)c;
	return *arg ? "this section takes no name" : NULL;
}

static const struct config_section base_sections[] = {
	{ "daemon", open_plain, set_daemon },
	{ "tftp", open_plain, set_tftp },
	{ "http", open_plain, set_http },
	{ "multicast", config_multicast_open, config_multicast_set },
};

#define NBASE (sizeof(base_sections) / sizeof(base_sections[0]))

static const struct config_section *section_find(const char *name)
{
	for (size_t i = 0; i < NBASE; i++)
		if (!strcmp(name, base_sections[i].name))
			return &base_sections[i];
	for (size_t i = 0; i < config_dhcp_nsections; i++)
		if (!strcmp(name, config_dhcp_sections[i].name))
			return &config_dhcp_sections[i];
	for (size_t i = 0; i < config_image_nsections; i++)
		if (!strcmp(name, config_image_sections[i].name))
			return &config_image_sections[i];
	for (size_t i = 0; i < config_mtftp_nsections; i++)
		if (!strcmp(name, config_mtftp_sections[i].name))
			return &config_mtftp_sections[i];
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int config_parse(const char *buf, size_t len, const char *name, struct config *c, char *err,
		 size_t errlen)
{
	char line[LINE_MAX_LEN];
	const struct config_section *section = NULL;
	unsigned lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		char *s, *eq, *key, *value;
		const char *why;

		lineno++;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%u: line too long", name, lineno);
			return -1;
		}
		if (memchr(buf + pos, '\0', n)) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", name, lineno);
			return -1;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end || trim(end + 1)[0] != '\0') {
				snprintf(err, errlen, "%s:%u: malformed section header", name, lineno);
				return -1;
			}
			*end = '\0';
			s = trim(s + 1);
			/* "[subnet lab]": a section name, then its item's name. */
			char *arg = s + strcspn(s, " \t");
			char safe[64];

			if (*arg)
				*arg++ = '\0';
			arg = trim(arg);
			section = section_find(s);
			if (!section) {
				snprintf(err, errlen, "%s:%u: unknown section [%s]", name, lineno,
					 log_sanitize(safe, sizeof(safe), s, strlen(s)));
				return -1;
			}
			why = section->open(c, arg);
			if (why) {
				snprintf(err, errlen, "%s:%u: [%s%s%s]: %s", name, lineno, s, *arg ? " " : "",
					 log_sanitize(safe, sizeof(safe), arg, strlen(arg)), why);
				return -1;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected key = value", name, lineno);
			return -1;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (!section) {
			snprintf(err, errlen, "%s:%u: %s: key outside any section", name, lineno, key);
			return -1;
		}
		why = section->set(c, key, value);
		if (why) {
			char safe[64];

			snprintf(err, errlen, "%s:%u: %s: %s", name, lineno,
				 log_sanitize(safe, sizeof(safe), key, strlen(key)), why);
			return -1;
		}
	}
	return 0;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	size_t len = 0;
	int e, rc;
	char *buf = file_read_whole(AT_FDCWD, path, 0, CONFIG_FILE_MAX, &len, &e);

	if (buf == NULL) {
		if (e == EINVAL || e == EFBIG)
			snprintf(err, errlen, "%s: not a regular file of at most 16 MiB", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -1;
	}
	rc = config_parse(buf, len, path, c, err, errlen);
	free(buf);
	return rc;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	if (c->tftp_enabled && c->tftp_root[0] == '\0') {
		snprintf(err, errlen, "[tftp] root: required when TFTP is enabled");
		return -1;
	}
	if (c->tftp.timing.retransmit_max_ms < c->tftp.timing.retransmit_ms) {
		snprintf(err, errlen, "[tftp] retransmit-max-ms: smaller than retransmit-ms");
		return -1;
	}
	if (c->http_enabled && !c->http_root[0] && !c->tftp_root[0]) {
		snprintf(err, errlen, "[http] root: required when [tftp] has no root");
		return -1;
	}
	if (c->http_enabled && c->http.tls_listen_port &&
	    (!c->http_certificate[0] || !c->http_key[0])) {
		snprintf(err, errlen, "[http] https-listen: needs certificate and key");
		return -1;
	}
	if (config_image_validate(c->images, err, errlen) < 0)
		return -1;
	if (config_multicast_validate(c->multicast, err, errlen) < 0)
		return -1;
	if (config_mtftp_validate(c, err, errlen) < 0)
		return -1;
	return config_dhcp_validate(c->dhcp, err, errlen);
}
