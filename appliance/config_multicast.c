/* The [multicast NAME] sections of pxecast.conf (appliance/multicast.h). */
#include "appliance/config_private.h"
#include "appliance/multicast.h"
#include "mtftp/bulk.h"
#include "mtftp/rs.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 256

static struct config_multicast_session *current(struct config *c)
{
	return c->multicast && c->multicast->n ? &c->multicast->s[c->multicast->n - 1] : NULL;
}

const char *config_multicast_open(struct config *c, const char *arg)
{
	struct config_multicast_session *s;

	if (!*arg || strlen(arg) >= sizeof(s->name) || strpbrk(arg, " \t"))
		return "needs a name: one word of at most 63 bytes";
	if (!c->multicast && !(c->multicast = calloc(1, sizeof(*c->multicast))))
		return "out of memory";
	for (size_t i = 0; i < c->multicast->n; i++)
		if (!strcmp(c->multicast->s[i].name, arg))
			return "defined twice";
	if (c->multicast->n >= MAX_SESSIONS)
		return "too many sessions";
	s = realloc(c->multicast->s, (c->multicast->n + 1) * sizeof(*s));
	if (!s)
		return "out of memory";
	c->multicast->s = s;
	s = &s[c->multicast->n++];
	memset(s, 0, sizeof(*s));
	strcpy(s->name, arg);
	s->ttl = 1;
	s->gso = true;
	s->gso_segments = 16;
	s->rate_bps = 1000ull * 1000 * 1000;
	s->min_receivers = 1;
	s->max_wait_s = 60;
	s->receiver_timeout_s = 5;
	s->symbol = BULK_SYMBOL_DEFAULT;
	s->k = BULK_K_DEFAULT;
	s->redundancy = 1;
	s->interleave = BULK_INTERLEAVE_DEFAULT;
	return NULL;
}

/* "900M", "1G", "500000k" or plain bits per second. */
static const char *parse_rate(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	uint64_t mul = 1;

	if (end == v)
		return "expected a rate such as 900M (bits per second)";
	if (*end == 'k' || *end == 'K')
		mul = 1000, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1000 * 1000, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1000 * 1000 * 1000, end++;
	if (*end || n == 0 || n > 100ull * 1000 * 1000 * 1000 / mul)
		return "expected a rate such as 900M (bits per second)";
	*out = n * mul;
	return NULL;
}

const char *config_multicast_set(struct config *c, const char *key, const char *v)
{
	struct config_multicast_session *s = current(c);
	uint64_t n;
	const char *why = NULL;

	if (!s)
		return "no session";
	if (!strcmp(key, "object")) {
		if (!*v || strlen(v) >= sizeof(s->object))
			return "expected a path under the served root";
		strcpy(s->object, v);
	} else if (!strcmp(key, "group")) {
		uint32_t ip;
		uint16_t port = 0;

		if (config_parse_endpoint(v, &ip, &port) < 0 || !port || !IN_MULTICAST(ntohl(ip)))
			return "expected a multicast ADDR:PORT such as 239.1.2.3:9000";
		s->group_ip = ip;
		s->group_port = port;
	} else if (!strcmp(key, "interface")) {
		if (!*v || strlen(v) >= sizeof(s->ifname))
			return "expected an interface name";
		strcpy(s->ifname, v);
	} else if (!strcmp(key, "ttl")) {
		if (!(why = config_value_uint(v, 1, 255, &n)))
			s->ttl = (unsigned)n;
	} else if (!strcmp(key, "loop")) {
		why = config_value_bool(v, &s->loop);
	} else if (!strcmp(key, "gso")) {
		why = config_value_bool(v, &s->gso);
	} else if (!strcmp(key, "gso-segments")) {
		if (!(why = config_value_uint(v, 2, 64, &n)))
			s->gso_segments = (unsigned)n;
	} else if (!strcmp(key, "rate")) {
		why = parse_rate(v, &s->rate_bps);
	} else if (!strcmp(key, "min-rate")) {
		why = parse_rate(v, &s->min_rate_bps);
	} else if (!strcmp(key, "min-receivers")) {
		if (!(why = config_value_uint(v, 0, 65535, &n)))
			s->min_receivers = (unsigned)n;
	} else if (!strcmp(key, "max-wait")) {
		if (!(why = config_value_uint(v, 0, 86400, &n)))
			s->max_wait_s = (uint32_t)n;
	} else if (!strcmp(key, "deadline")) {
		if (!(why = config_value_uint(v, 0, 7 * 86400, &n)))
			s->deadline_s = (uint32_t)n;
	} else if (!strcmp(key, "receiver-timeout")) {
		if (!(why = config_value_uint(v, 1, 3600, &n)))
			s->receiver_timeout_s = (uint32_t)n;
	} else if (!strcmp(key, "fetch-url")) {
		if (strncmp(v, "http://", 7) || strlen(v) > BULK_URL_MAX || strpbrk(v, " \t"))
			return "expected an http:// URL of at most 255 bytes";
		strcpy(s->fetch_url, v);
	} else if (!strcmp(key, "symbol-size")) {
		if (!(why = config_value_uint(v, BULK_SYMBOL_MIN, BULK_SYMBOL_MAX, &n)))
			s->symbol = (unsigned)n;
	} else if (!strcmp(key, "slice-symbols")) {
		if (!(why = config_value_uint(v, 1, RS_MAX_K, &n)))
			s->k = (unsigned)n;
	} else if (!strcmp(key, "redundancy")) {
		if (!(why = config_value_uint(v, 0, 64, &n)))
			s->redundancy = (unsigned)n;
	} else if (!strcmp(key, "interleave")) {
		if (!(why = config_value_uint(v, 1, BULK_INTERLEAVE_MAX, &n)))
			s->interleave = (unsigned)n;
	} else if (!strcmp(key, "session-id")) {
		if (!(why = config_value_uint(v, 1, UINT32_MAX, &n)))
			s->session_id = (uint32_t)n;
	} else {
		return "unknown key";
	}
	return why;
}

void config_multicast_free(struct config_multicast *m)
{
	if (!m)
		return;
	free(m->s);
	free(m);
}

int config_multicast_validate(const struct config_multicast *m, char *err, size_t errlen)
{
	for (size_t i = 0; m && i < m->n; i++) {
		const struct config_multicast_session *s = &m->s[i];

		if (!s->object[0] || !s->group_ip) {
			snprintf(err, errlen, "[multicast %s] object and group are required", s->name);
			return -1;
		}
		if (s->min_rate_bps > s->rate_bps) {
			snprintf(err, errlen, "[multicast %s] min-rate: above rate", s->name);
			return -1;
		}
	}
	return 0;
}
