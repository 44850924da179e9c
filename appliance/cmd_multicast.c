/* `pxecast multicast`: run a configured bulk multicast session in the
 * foreground with per-receiver progress, like udpcast's udp-sender. The
 * object comes from the content store (the [http] root, else the [tftp]
 * root), the same file laggards fetch over HTTP. */
#include "appliance/config.h"
#include "appliance/log.h"
#include "appliance/multicast.h"
#include "imager/store.h"
#include "mtftp/bulk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/pxecast/pxecast.conf"

static const char usage[] =
	"usage: pxecast multicast start NAME [--config FILE] [--quiet]\n"
	"       pxecast multicast list [--config FILE]\n";

static int object_sha256(struct store_object *obj, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t size = store_object_size(obj);
	unsigned len = 32;
	int rc = 0;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		rc = -1;
	for (uint64_t off = 0; rc == 0 && off < size;) {
		uint32_t n = size - off < STORE_CHUNK_SIZE ? (uint32_t)(size - off) : STORE_CHUNK_SIZE;
		struct iovec iov[2];
		struct store_chunk *pins[2];
		int k = store_object_map(obj, off, n, iov, pins);

		if (k < 0) {
			rc = -1;
			break;
		}
		for (int i = 0; i < k; i++)
			EVP_DigestUpdate(md, iov[i].iov_base, iov[i].iov_len);
		store_chunk_put(pins[0]);
		store_chunk_put(pins[1]);
		off += n;
	}
	if (rc == 0)
		EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
	return rc;
}

static uint32_t session_id(const struct config_multicast_session *s)
{
	uint32_t h = 2166136261u;

	if (s->session_id)
		return s->session_id;
	for (const char *p = s->name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h ? h : 1;
}

static int start(const struct config *c, const struct config_multicast_session *s, bool quiet)
{
	const char *root = c->http_root[0] ? c->http_root : c->tftp_root;
	struct bulk_run_config rc = { 0 };
	struct store *st;
	struct store_object *obj = NULL;
	enum store_status ss;
	char group[INET_ADDRSTRLEN];
	int r;

	if (!root[0]) {
		fprintf(stderr, "pxecast: [multicast %s]: no [http] or [tftp] root to serve from\n",
			s->name);
		return 1;
	}
	st = store_new(root, 64u << 20);
	if (!st) {
		fprintf(stderr, "pxecast: %s: %s\n", root, strerror(errno));
		return 1;
	}
	ss = store_open(st, s->object, strlen(s->object), 0, &obj);
	if (ss != STORE_OK || store_object_size(obj) == 0) {
		fprintf(stderr, "pxecast: [multicast %s] object %s: %s\n", s->name, s->object,
			ss != STORE_OK ? store_strerror(ss) : "empty file");
		if (obj)
			store_object_put(obj);
		store_free(st);
		return 1;
	}
	bulk_sender_defaults(&rc.engine);
	rc.engine.session = session_id(s);
	rc.engine.size = store_object_size(obj);
	if (object_sha256(obj, rc.engine.sha256) < 0) {
		fprintf(stderr, "pxecast: [multicast %s] cannot read %s\n", s->name, s->object);
		store_object_put(obj);
		store_free(st);
		return 1;
	}
	rc.engine.symbol = (uint16_t)s->symbol;
	rc.engine.k = (uint8_t)s->k;
	rc.engine.proactive = (uint8_t)s->redundancy;
	rc.engine.interleave = (uint16_t)s->interleave;
	rc.engine.max_rate = s->rate_bps / 8;
	rc.engine.min_rate = s->min_rate_bps ? s->min_rate_bps / 8 : rc.engine.max_rate / 50;
	rc.engine.min_receivers = s->min_receivers;
	rc.engine.max_wait_us = (uint64_t)s->max_wait_s * 1000000u;
	rc.engine.deadline_us = (uint64_t)s->deadline_s * 1000000u;
	rc.engine.member_timeout_us = (uint64_t)s->receiver_timeout_s * 1000000u;
	rc.engine.fetch_url = s->fetch_url[0] ? s->fetch_url : NULL;
	rc.name = s->name;
	rc.group_ip = s->group_ip;
	rc.group_port = s->group_port;
	rc.ifname = s->ifname[0] ? s->ifname : NULL;
	rc.ttl = s->ttl;
	rc.loop = s->loop;
	rc.gso = s->gso;
	rc.gso_segments = s->gso_segments;
	rc.progress_ms = quiet ? 0 : 1000;
	rc.linger_us = 1000000;
	inet_ntop(AF_INET, &s->group_ip, group, sizeof(group));
	log_event(LOG_INFO, "multicast.start",
		  "session=%s id=%u object=%s bytes=%llu group=%s:%u rate_bps=%llu min_receivers=%u",
		  s->name, rc.engine.session, s->object, (unsigned long long)rc.engine.size, group,
		  ntohs(s->group_port), (unsigned long long)s->rate_bps, s->min_receivers);
	r = bulk_send_run(&rc, obj);
	if (r < 0)
		fprintf(stderr, "pxecast: [multicast %s]: %s\n", s->name, strerror(-r));
	store_object_put(obj);
	store_free(st);
	return r == 0 ? 0 : 1;
}

int multicast_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG, *verb, *name = NULL;
	char err[CONFIG_ERR_MAX];
	struct config c;
	bool quiet = false;
	int o, rc = 1;

	while ((o = getopt_long(argc, argv, "c:q", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'q': quiet = true; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	verb = argv[optind++];
	if (!strcmp(verb, "start") && optind + 1 == argc)
		name = argv[optind];
	else if (strcmp(verb, "list") || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	config_defaults(&c);
	if (config_load(path, &c, err, sizeof(err)) < 0 || config_validate(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "pxecast: %s\n", err);
		config_free(&c);
		return 1;
	}
	for (size_t i = 0; c.multicast && i < c.multicast->n; i++) {
		const struct config_multicast_session *s = &c.multicast->s[i];
		char group[INET_ADDRSTRLEN];

		if (!name) {
			inet_ntop(AF_INET, &s->group_ip, group, sizeof(group));
			printf("%-16s %s:%u  %s\n", s->name, group, ntohs(s->group_port), s->object);
			rc = 0;
		} else if (!strcmp(s->name, name)) {
			rc = start(&c, s, quiet);
			name = NULL;
			goto out;
		}
	}
	if (name)
		fprintf(stderr, "pxecast: %s: no [multicast %s]\n", path, name);
	else if (rc)
		fprintf(stderr, "pxecast: %s: no [multicast NAME] sections\n", path);
out:
	config_free(&c);
	return rc;
}
