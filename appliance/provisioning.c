/* Per-host provisioning wired into the daemon: tables from the config,
 * the token secret from its file (made on first start), and the adapter
 * between the HTTP server's dynamic hook and provision_handle(). */
#include "appliance/provisioning.h"

#include "appliance/log.h"
#include "control/hosts/hosts.h"
#include "dataplane/http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PXECAST_TEMPLATES_DIR
#define PXECAST_TEMPLATES_DIR "/usr/share/pxecast/templates"
#endif

struct provisioning {
	struct provision *p;
	struct provision_host *hosts;
	struct provision_profile *profiles;
};

const char *provisioning_templates_dir(const struct config *c)
{
	struct stat sb;

	if (c->templates_dir[0])
		return c->templates_dir;
	return stat(PXECAST_TEMPLATES_DIR, &sb) == 0 ? PXECAST_TEMPLATES_DIR : "";
}

/* The secret: HOST_SECRET_LEN bytes in a 0600 file, created if missing so
 * tokens survive restarts; without a file, a fresh one per start. */
static int load_secret(const char *path, uint8_t out[HOST_SECRET_LEN], char *err, size_t errlen)
{
	ssize_t n;
	int fd;

	if (!path[0]) {
		if (getrandom(out, HOST_SECRET_LEN, 0) != HOST_SECRET_LEN) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (getrandom(out, HOST_SECRET_LEN, 0) != HOST_SECRET_LEN ||
			    write(fd, out, HOST_SECRET_LEN) != HOST_SECRET_LEN || fsync(fd) < 0) {
				snprintf(err, errlen, "token-secret-file %s: %s", path, strerror(errno));
				close(fd);
				unlink(path);
				return -1;
			}
			close(fd);
			return 0;
		}
	}
	if (fd < 0) {
		snprintf(err, errlen, "token-secret-file %s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, out, HOST_SECRET_LEN);
	close(fd);
	if (n != HOST_SECRET_LEN) {
		snprintf(err, errlen, "token-secret-file %s: shorter than %d bytes", path,
			 HOST_SECRET_LEN);
		return -1;
	}
	return 0;
}

struct provisioning *provisioning_start(const struct config *c, char *err, size_t errlen)
{
	const struct config_dhcp *d = c->dhcp;
	size_t nh = d ? d->nhosts : 0, np = d ? d->nprofiles : 0;
	struct provision_config pc = {
		.templates_dir = provisioning_templates_dir(c),
		.state_file = c->host_state_file[0] ? c->host_state_file : NULL,
		.default_profile = c->default_profile[0] ? c->default_profile : NULL,
		.require_token = c->require_token,
		.token_lifetime = c->token_lifetime,
		.nhosts = nh,
		.nprofiles = np,
	};
	struct provisioning *pv;

	err[0] = '\0';
	if (!pc.templates_dir[0])
		return NULL;
	pv = calloc(1, sizeof(*pv));
	if (pv == NULL || !(pv->hosts = calloc(nh + 1, sizeof(*pv->hosts))) ||
	    !(pv->profiles = calloc(np + 1, sizeof(*pv->profiles)))) {
		snprintf(err, errlen, "out of memory");
		provisioning_free(pv);
		return NULL;
	}
	for (size_t i = 0; i < nh; i++) {
		memcpy(pv->hosts[i].mac, d->hosts[i].mac, 6);
		pv->hosts[i].ip = d->hosts[i].ip;
		pv->hosts[i].hostname = d->hosts[i].hostname;
		pv->hosts[i].profile = d->hosts[i].profile;
		pv->hosts[i].vars = (struct provision_vars){ d->host_vars[i].kv, d->host_vars[i].n };
	}
	for (size_t i = 0; i < np; i++) {
		pv->profiles[i].name = d->profiles[i].name;
		pv->profiles[i].vars =
			(struct provision_vars){ d->profile_vars[i].kv, d->profile_vars[i].n };
	}
	pc.hosts = pv->hosts;
	pc.profiles = pv->profiles;
	if (load_secret(c->token_secret_file, pc.secret, err, errlen) ||
	    !(pv->p = provision_new(&pc, err, errlen))) {
		provisioning_free(pv);
		return NULL;
	}
	if (!c->token_secret_file[0] && c->require_token)
		log_event(LOG_WARN, "provision.start",
			  "note=\"no token-secret-file: tokens end with this process\"");
	log_event(LOG_INFO, "provision.start", "templates=%s hosts=%zu profiles=%zu", pc.templates_dir,
		  nh, np);
	return pv;
}

int provisioning_check(const struct config *c, char *err, size_t errlen)
{
	struct config *dry = malloc(sizeof(*dry));
	struct provisioning *pv;

	if (dry == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* no journal rewrite, no secret file created */
	*dry = *c;
	dry->host_state_file[0] = '\0';
	dry->token_secret_file[0] = '\0';
	pv = provisioning_start(dry, err, errlen);
	free(dry);
	if (pv == NULL && err[0])
		return -1;
	provisioning_free(pv);
	return 0;
}

void provisioning_carry(struct provisioning *pv, const struct provisioning *old)
{
	if (pv && old)
		provision_carry_counters(pv->p, old->p);
}

void provisioning_free(struct provisioning *pv)
{
	if (pv == NULL)
		return;
	provision_free(pv->p);
	free(pv->hosts);
	free(pv->profiles);
	free(pv);
}

static void on_dynamic(void *user, const struct http_dynamic_request *rq,
		       struct http_dynamic_reply *out)
{
	struct provisioning *pv = user;
	char server[300], ip[INET_ADDRSTRLEN];
	struct provision_request pr = {
		.post = rq->method == HTTP_METHOD_POST, .path = rq->path, .path_len = rq->path_len,
		.query = rq->query, .query_len = rq->query_len, .body = rq->body,
		.body_len = rq->body_len, .server = server, .tls = rq->tls, .peer_ip = rq->peer_ip,
		.now = time(NULL),
	};
	struct provision_reply r;
	bool host_ok = rq->host_len > 0 && rq->host_len < sizeof(server);

	/* The Host field names this server as the client reached it (port
	 * included); it goes into scripts, so only URL-safe bytes pass. */
	for (size_t i = 0; host_ok && i < rq->host_len; i++) {
		char ch = rq->host[i];

		host_ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == ':' ||
			  ch == '[' || ch == ']';
	}
	if (host_ok)
		snprintf(server, sizeof(server), "%.*s", (int)rq->host_len, rq->host);
	else
		snprintf(server, sizeof(server), "%s",
			 inet_ntop(AF_INET, &rq->local_ip, ip, sizeof(ip)) ? ip : "");
	provision_handle(pv->p, &pr, &r);
	out->status = r.status;
	out->content_type = r.content_type;
	out->body = r.body;
	out->len = r.len;
	out->gzip_ok = r.gzip_ok;
}

/* TFTP names come from firmware: '\\' may separate, a leading '/' may
 * stand for the root. */
static bool on_tftp(void *user, const char *name, size_t len, uint32_t peer_ip, uint32_t local_ip,
		    char **body, size_t *blen)
{
	struct provisioning *pv = user;
	char path[256], server[INET_ADDRSTRLEN];
	struct provision_request pr = { .path = path, .query = "", .body = "", .server = server,
					.peer_ip = peer_ip, .now = time(NULL) };
	struct provision_reply r;
	size_t n = 0;

	while (len && (*name == '/' || *name == '\\')) {
		name++;
		len--;
	}
	if (len >= sizeof(path))
		return false;
	for (size_t i = 0; i < len; i++)
		path[n++] = name[i] == '\\' ? '/' : name[i];
	path[n] = '\0';
	pr.path_len = n;
	if (!inet_ntop(AF_INET, &local_ip, server, sizeof(server)))
		server[0] = '\0';
	provision_handle(pv->p, &pr, &r);
	if (r.status == 0)
		return false;
	if (r.status != 200) {
		free(r.body);
		r.body = NULL;
	}
	*body = r.body;
	*blen = r.len;
	return true;
}

void provisioning_attach_tftp(struct provisioning *pv, struct tftp_server_config *t)
{
	t->render = pv ? on_tftp : NULL;
	t->render_user = pv;
}

void provisioning_attach(struct provisioning *pv, struct http_server_config *h)
{
	h->dynamic = pv ? on_dynamic : NULL;
	h->dynamic_user = pv;
}

void provisioning_write_metrics(const struct provisioning *pv, FILE *f)
{
	struct provision_counters k;

	if (pv == NULL)
		return;
	provision_counters(pv->p, &k);
#define M(name, v) fprintf(f, "pxecast_provision_" name " %llu\n", (unsigned long long)(v))
	M("rendered_total", k.rendered);
	M("not_found_total", k.not_found);
	M("token_refused_total", k.token_refused);
	M("render_errors_total", k.render_errors);
	M("state_changes_total", k.state_changes);
	M("journal_bad_rows", k.journal_bad_rows);
#undef M
}
