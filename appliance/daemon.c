#include "appliance/daemon.h"

#include "appliance/log.h"
#include "appliance/provisioning.h"
#include "control/dhcp/dhcp_service.h"
#include "dataplane/transport.h"
#include "imager/image.h"
#include "imager/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRICS_INTERVAL_US 1000000u
#define RING_DEPTH 4096

static volatile sig_atomic_t quit_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		quit_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct daemon {
	struct config cfg;
	struct transport *t;
	struct store *store;
	struct tftp_server *tftp;
	struct dhcp_service *dhcp;
	struct http_server *http;
	struct provisioning *provisioning;
	struct image_set *images;
	struct mtftp_server *mtftp;
};

static void write_http_metrics(const struct http_server *http, FILE *f)
{
	struct http_counters h;

	http_server_counters(http, &h);
#define M(name, v) fprintf(f, "pxecast_http_" name " %llu\n", (unsigned long long)(v))
	M("requests_total", h.requests);
	M("responses_2xx_total", h.responses_2xx);
	M("responses_3xx_total", h.responses_3xx);
	M("responses_4xx_total", h.responses_4xx);
	M("responses_5xx_total", h.responses_5xx);
	M("bytes_sent_total", h.bytes_sent);
	M("connections_total", h.connections_total);
	M("connections_active", h.connections_active);
	M("rejected_busy_total", h.rejected_busy);
	M("timeouts_total", h.timeouts);
	M("tls_failures_total", h.tls_failures);
#undef M
}

/* The HTTP root defaults to the TFTP one: the same tree serves both. */
static void http_paths(struct config *c)
{
	c->http.root = c->http_root[0] ? c->http_root : c->tftp_root;
	c->http.certificate = c->http_certificate;
	c->http.key = c->http_key;
}

static int http_start(struct daemon *d)
{
	char ip[INET_ADDRSTRLEN];

	http_paths(&d->cfg);
	provisioning_attach(d->provisioning, &d->cfg.http);
	d->http = http_server_new(d->t, &d->cfg.http);
	if (!d->http) {
		log_event(LOG_ERR, "daemon.start", "error=\"http: %s\"", strerror(errno));
		return -1;
	}
	inet_ntop(AF_INET, &d->cfg.http.listen_ip, ip, sizeof(ip));
	log_event(LOG_INFO, "http.listen", "addr=%s:%u https_port=%u root=%s", ip,
		  ntohs(d->cfg.http.listen_port), ntohs(d->cfg.http.tls_listen_port),
		  d->cfg.http.root);
	return 0;
}

/* [image NAME]: open c's ISO images and serve them from the TFTP store and
 * HTTP in place of the current set (at start, and on SIGHUP). */
static int images_apply(struct daemon *d, const struct config *c)
{
	char err[CONFIG_ERR_MAX];
	struct image_set *set, *old = d->images;

	if (!c->images && !old)
		return 0;
	set = config_images_open(c, err, sizeof(err));
	if (!set) {
		log_event(LOG_ERR, "daemon.images", "result=rejected error=\"%s\"", err);
		return -1;
	}
	if (d->store)
		store_set_images(d->store, set);
	if (d->http)
		http_server_set_images(d->http, set);
	d->images = set;
	image_set_free(old); /* open objects and requests hold their own descriptors */
	if (c != &d->cfg) {
		/* The running config's list is done with; the new one is freed by reload. */
		config_image_free(d->cfg.images);
		d->cfg.images = NULL;
	}
	if (image_set_start_digests(set) < 0)
		log_event(LOG_WARN, "daemon.images", "error=\"cannot start the digest thread\"");
	log_event(LOG_INFO, "daemon.images", "images=%zu", image_set_count(set));
	return 0;
}

/* Prometheus text format, replaced atomically so readers never see half. */
static void write_metrics(const struct daemon *d)
{
	char tmp[PATH_MAX + 8];
	struct tftp_counters c;
	struct store_stats ss;
	FILE *f;

	if (!d->cfg.metrics_file[0] || (!d->tftp && !d->dhcp && !d->http))
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->cfg.metrics_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	if (d->dhcp)
		dhcp_service_write_metrics(d->dhcp, f);
	if (d->http)
		write_http_metrics(d->http, f);
	provisioning_write_metrics(d->provisioning, f);
	mtftp_server_write_metrics(d->mtftp, f);
	if (!d->tftp)
		goto done;
	tftp_server_counters(d->tftp, &c);
	store_get_stats(d->store, &ss);
#define M(name, v) fprintf(f, "pxecast_" name " %llu\n", (unsigned long long)(v))
	M("tftp_requests_total", c.requests);
	M("tftp_sessions_active", c.sessions_active);
	M("tftp_transfers_ok_total", c.transfers_ok);
	M("tftp_transfers_failed_total", c.transfers_failed);
	M("tftp_size_probes_total", c.size_probes);
	M("tftp_bytes_sent_total", c.bytes_sent);
	M("tftp_dropped_short_total", c.dropped_short);
	M("tftp_bad_requests_total", c.bad_requests);
	M("tftp_denied_total", c.denied);
	M("tftp_not_found_total", c.not_found);
	M("tftp_busy_total", c.busy);
	M("tftp_wrong_tid_total", c.wrong_tid);
	M("tftp_duplicate_requests_total", c.duplicate_requests);
	M("tftp_options_ignored_total", c.options_ignored);
	M("tftp_timeouts_total", c.timeouts);
	M("tftp_uploads_total", c.uploads);
	M("store_chunk_loads_total", ss.chunk_loads);
	M("store_chunk_hits_total", ss.chunk_hits);
	M("store_cached_bytes", ss.cached_bytes);
	M("store_objects", ss.objects);
#undef M
done:
	if (fclose(f) == 0)
		rename(tmp, d->cfg.metrics_file);
}

/* [mtftp] on SIGHUP (and to undo it when a later step rejects the reload):
 * running transfers finish on their settings (mtftp_server_reconfigure). */
static int mtftp_apply(struct daemon *d, const struct mtftp_server_config *m)
{
	int rc;

	if (!d->tftp)
		return 0;
	if (!d->mtftp) {
		if (m->enabled && !(d->mtftp = mtftp_server_new(d->t, d->store, d->tftp, m)))
			return -1;
		return 0;
	}
	rc = mtftp_server_reconfigure(d->mtftp, m);
	errno = -rc;
	return rc < 0 ? -1 : 0;
}

static void reload(struct daemon *d, const char *path, void (*reapply)(struct config *c))
{
	struct provisioning *pv;
	struct config next;
	char err[CONFIG_ERR_MAX];

	config_defaults(&next);
	err[0] = '\0';
	if ((!path || config_load(path, &next, err, sizeof(err)) == 0) && reapply)
		reapply(&next);
	if (err[0] || config_validate(&next, err, sizeof(err)) < 0) {
		log_event(LOG_ERR, "config.reload", "result=rejected error=\"%s\"", err);
		config_free(&next);
		return;
	}
	if (images_apply(d, &next) < 0) {
		config_free(&next);
		return;
	}
	/* The running DHCP engine borrows its tables: they are read at start only. */
	if (next.dhcp || d->cfg.dhcp)
		log_event(LOG_WARN, "config.reload", "note=\"DHCP changes need a restart\"");
	config_free(&next);
	next.dhcp = d->cfg.dhcp;
	if (next.tftp.listen_ip != d->cfg.tftp.listen_ip ||
	    next.tftp.listen_port != d->cfg.tftp.listen_port)
		log_event(LOG_WARN, "config.reload", "note=\"listen address changes need a restart\"");
	if (mtftp_apply(d, &next.mtftp) < 0) {
		log_event(LOG_ERR, "config.reload", "result=rejected error=\"[mtftp]: %s\"",
			  strerror(errno));
		return;
	}
	/* Without TFTP (a DHCP-only daemon) there is no store or server to reconfigure. */
	if (d->store && strcmp(next.tftp_root, d->cfg.tftp_root) &&
	    store_set_root(d->store, next.tftp_root) < 0) {
		mtftp_apply(d, &d->cfg.mtftp);
		log_event(LOG_ERR, "config.reload", "result=rejected error=\"cannot open root %s\"",
			  next.tftp_root);
		return;
	}
	/* Templates are re-read: an operator edits them between installs. */
	pv = provisioning_start(&next, err, sizeof(err));
	if (!pv && err[0]) {
		mtftp_apply(d, &d->cfg.mtftp);
		log_event(LOG_ERR, "config.reload", "result=rejected error=\"%s\"", err);
		return;
	}
	provisioning_attach_tftp(pv, &next.tftp);
	next.tftp.upload_dir = next.tftp_upload_dir[0] ? next.tftp_upload_dir : NULL;
	if (d->tftp && tftp_server_reconfigure(d->tftp, &next.tftp) < 0) {
		provisioning_free(pv);
		mtftp_apply(d, &d->cfg.mtftp);
		log_event(LOG_ERR, "config.reload", "result=rejected error=\"cannot open upload-dir\"");
		return;
	}
	http_paths(&next);
	provisioning_attach(pv, &next.http);
	if (d->http && http_server_reconfigure(d->http, &next.http) < 0) {
		/* the TFTP server keeps pv's hook: restore the running one */
		provisioning_attach_tftp(d->provisioning, &next.tftp);
		if (d->tftp)
			tftp_server_reconfigure(d->tftp, &next.tftp);
		provisioning_free(pv);
		mtftp_apply(d, &d->cfg.mtftp);
		log_event(LOG_ERR, "config.reload", "result=rejected error=\"cannot open http root\"");
		return;
	}
	provisioning_carry(pv, d->provisioning);
	provisioning_free(d->provisioning);
	d->provisioning = pv;
	next.tftp.listen_ip = d->cfg.tftp.listen_ip;
	next.tftp.listen_port = d->cfg.tftp.listen_port;
	d->cfg = next;
	if (d->cfg.dhcp) /* option 43's MTFTP sub-options follow [mtftp] */
		config_mtftp_dhcp(&d->cfg, &d->cfg.dhcp->engine.mtftp);
	log_set_level((enum log_level)next.log_level);
	log_event(LOG_INFO, "config.reload", "result=ok");
}

/* Interface names become indexes once, here: a name that does not exist
 * is a start-up error, not a silent "serve nowhere". */
static int dhcp_start(struct daemon *d)
{
	struct config_dhcp *c = d->cfg.dhcp;
	struct dhcp_service_config sc = {
		.engine = &c->engine,
		.lease_file = c->engine.mode == DHCP_MODE_SERVER ? c->lease_file : NULL,
		.max_leases = c->max_leases,
		.compact_seconds = c->compact_seconds,
	};

	config_mtftp_dhcp(&d->cfg, &c->engine.mtftp);

	for (unsigned i = 0; i < c->nifnames; i++) {
		sc.ifindex[sc.nifindex++] = (int)if_nametoindex(c->ifnames[i]);
		if (sc.ifindex[i] == 0) {
			log_event(LOG_ERR, "daemon.start", "error=\"dhcp interface %s: %s\"",
				  c->ifnames[i], strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < c->nsubnets; i++) {
		const char *ifn = c->subnet_info[i].ifname;

		c->subnets[i].ifindex = ifn[0] ? (int)if_nametoindex(ifn) : 0;
		if (ifn[0] && c->subnets[i].ifindex == 0) {
			log_event(LOG_ERR, "daemon.start", "error=\"[subnet %s] interface %s: %s\"",
				  c->subnet_info[i].name, ifn, strerror(errno));
			return -1;
		}
	}
	d->dhcp = dhcp_service_new(d->t, &sc);
	if (!d->dhcp) {
		log_event(LOG_ERR, "daemon.start", "error=\"dhcp: %s\"", strerror(errno));
		return -1;
	}
	log_event(LOG_INFO, "dhcp.listen", "mode=%s subnets=%zu hosts=%zu interfaces=%u",
		  c->engine.mode == DHCP_MODE_PROXY ? "proxy" : "server", c->nsubnets, c->nhosts,
		  c->nifnames);
	return 0;
}

int daemon_run(const char *config_path, const struct config *initial,
	       void (*reapply)(struct config *c))
{
	struct daemon d = { .cfg = *initial };
	uint64_t next_metrics = 0;
	char ip[INET_ADDRSTRLEN];
	int status = 0;

	install_signals();
	log_set_level((enum log_level)d.cfg.log_level);
	d.t = transport_uring_create(RING_DEPTH);
	if (!d.t) {
		log_event(LOG_ERR, "daemon.start", "error=\"io_uring: %s\"", strerror(errno));
		return 1;
	}
	{
		char err[CONFIG_ERR_MAX];

		d.provisioning = provisioning_start(&d.cfg, err, sizeof(err));
		if (!d.provisioning && err[0]) {
			log_event(LOG_ERR, "daemon.start", "error=\"provisioning: %s\"", err);
			status = 1;
			goto out;
		}
		provisioning_attach_tftp(d.provisioning, &d.cfg.tftp);
	}
	if (d.cfg.tftp_enabled) {
		d.store = store_new(d.cfg.tftp_root, d.cfg.tftp_cache_bytes);
		if (!d.store) {
			log_event(LOG_ERR, "daemon.start", "error=\"tftp root %s: %s\"", d.cfg.tftp_root,
				  strerror(errno));
			status = 1;
			goto out;
		}
		d.cfg.tftp.upload_dir = d.cfg.tftp_upload_dir[0] ? d.cfg.tftp_upload_dir : NULL;
		d.tftp = tftp_server_new(d.t, d.store, &d.cfg.tftp);
		if (!d.tftp) {
			log_event(LOG_ERR, "daemon.start", "error=\"tftp listen: %s\"", strerror(errno));
			status = 1;
			goto out;
		}
		inet_ntop(AF_INET, &d.cfg.tftp.listen_ip, ip, sizeof(ip));
		log_event(LOG_INFO, "tftp.listen", "addr=%s:%u root=%s transport=%s", ip,
			  ntohs(d.cfg.tftp.listen_port), d.cfg.tftp_root, d.t->ops->name);
		if (d.cfg.mtftp.enabled &&
		    !(d.mtftp = mtftp_server_new(d.t, d.store, d.tftp, &d.cfg.mtftp))) {
			log_event(LOG_ERR, "daemon.start", "error=\"mtftp: %s\"", strerror(errno));
			status = 1;
			goto out;
		}
	}
	if (d.cfg.http_enabled && http_start(&d) < 0) {
		status = 1;
		goto out;
	}
	if (images_apply(&d, &d.cfg) < 0) {
		status = 1;
		goto out;
	}
	if (d.cfg.dhcp && d.cfg.dhcp->enabled && dhcp_start(&d) < 0) {
		status = 1;
		goto out;
	}
	log_event(LOG_INFO, "daemon.ready", "pid=%d", (int)getpid());
	while (!quit_requested) {
		uint64_t now = transport_now_us();
		uint64_t next = d.tftp ? tftp_server_tick(d.tftp, now) : UINT64_MAX;
		uint64_t mn = mtftp_server_tick(d.mtftp, now);
		int ret;

		/* Group commit: this turn's lease rows in one fdatasync, then the
		 * ACKs that waited for them. */
		if (d.dhcp) {
			uint64_t dn = dhcp_service_commit(d.dhcp, now);

			next = dn < next ? dn : next;
		}
		next = mn < next ? mn : next;
		if (d.http) {
			uint64_t hn = http_server_tick(d.http, now);

			next = hn < next ? hn : next;
		}
		if (reload_requested) {
			reload_requested = 0;
			reload(&d, config_path, reapply);
		}
		if (d.cfg.metrics_file[0]) {
			if (now >= next_metrics) {
				write_metrics(&d);
				next_metrics = now + METRICS_INTERVAL_US;
			}
			if (next > next_metrics)
				next = next_metrics;
		}
		ret = d.t->ops->run_once(d.t, next);
		if (ret < 0) {
			log_event(LOG_ERR, "daemon.loop", "error=\"%s\"", strerror(-ret));
			status = 1;
			break;
		}
	}
	write_metrics(&d);
	log_event(LOG_INFO, "daemon.stop", "status=%d", status);
out:
	dhcp_service_free(d.dhcp);
	http_server_free(d.http);
	provisioning_free(d.provisioning);
	mtftp_server_free(d.mtftp);
	tftp_server_free(d.tftp);
	d.t->ops->destroy(d.t);
	store_free(d.store);
	image_set_free(d.images);
	config_free(&d.cfg);
	return status;
}
