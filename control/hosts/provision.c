/* Provisioning setup: templates loaded and compiled once (a broken template
 * stops the daemon at start with file:line, not a host at install time),
 * hosts indexed by MAC, and the state table with its journal. */
#include "control/hosts/provision_int.h"

#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Templates every host may be served even if no profile names them. */
static const char *const default_templates[] = { "boot.ipxe", "grub.cfg", "pxelinux.cfg" };
/* The keys that name a template. */
static const char *const template_keys[] = { "script-template", "install-template",
					     "grub-template", "pxelinux-template" };

static int cmp_host(const void *a, const void *b)
{
	return memcmp((*(const struct provision_host *const *)a)->mac,
		      (*(const struct provision_host *const *)b)->mac, 6);
}

const struct provision_host *provision_find_host(const struct provision *p, const uint8_t mac[6])
{
	size_t lo = 0, hi = p->cfg.nhosts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->by_mac[mid]->mac, mac, 6);

		if (c == 0)
			return p->by_mac[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct provision_profile *provision_find_profile(const struct provision *p,
							const char *name)
{
	for (size_t i = 0; name && i < p->cfg.nprofiles; i++)
		if (!strcmp(p->cfg.profiles[i].name, name))
			return &p->cfg.profiles[i];
	return NULL;
}

const struct provision_template *provision_template(const struct provision *p, const char *name)
{
	for (size_t i = 0; name && i < p->ntpl; i++)
		if (!strcmp(p->tpl[i].name, name))
			return &p->tpl[i];
	return NULL;
}

/* Load and compile name from the templates directory, once. */
static int load_template(struct provision *p, int dirfd, const char *name, bool required,
			 char *err, size_t errlen)
{
	struct provision_template *t;
	enum render_error rerr;
	unsigned line = 0;
	size_t len = 0;
	int e;

	if (provision_template(p, name))
		return 0;
	if (strchr(name, '/') || name[0] == '.' || strlen(name) >= sizeof(t->name)) {
		snprintf(err, errlen, "template %s: a file name in the templates directory", name);
		return -1;
	}
	if (p->ntpl == PROVISION_MAX_TEMPLATES) {
		snprintf(err, errlen, "template %s: more than %d templates", name,
			 PROVISION_MAX_TEMPLATES);
		return -1;
	}
	t = &p->tpl[p->ntpl];
	t->text = file_read_whole(dirfd, name, O_NOFOLLOW | O_NONBLOCK, RENDER_MAX_TEMPLATE, &len, &e);
	if (t->text == NULL) {
		if (!required && e == ENOENT)
			return 0;
		snprintf(err, errlen, "%s/%s: %s", p->cfg.templates_dir, name, strerror(e));
		return -1;
	}
	t->compiled = render_compile(t->text, len, &rerr, &line);
	if (t->compiled == NULL) {
		snprintf(err, errlen, "%s/%s:%u: %s", p->cfg.templates_dir, name, line,
			 render_error_name(rerr));
		free(t->text);
		return -1;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	p->ntpl++;
	return 0;
}

static int load_vars_templates(struct provision *p, int dirfd, const struct provision_vars *v,
			       char *err, size_t errlen)
{
	for (size_t i = 0; i < v->n; i++)
		for (size_t k = 0; k < sizeof(template_keys) / sizeof(template_keys[0]); k++)
			if (!strcmp(v->kv[i].key, template_keys[k]) &&
			    load_template(p, dirfd, v->kv[i].value, true, err, errlen))
				return -1;
	return 0;
}

static int load_templates(struct provision *p, char *err, size_t errlen)
{
	int dirfd = open(p->cfg.templates_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = -1;

	if (dirfd < 0) {
		snprintf(err, errlen, "templates %s: %s", p->cfg.templates_dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(default_templates) / sizeof(default_templates[0]); i++)
		if (load_template(p, dirfd, default_templates[i], false, err, errlen))
			goto out;
	for (size_t i = 0; i < p->cfg.nprofiles; i++)
		if (load_vars_templates(p, dirfd, &p->cfg.profiles[i].vars, err, errlen))
			goto out;
	for (size_t i = 0; i < p->cfg.nhosts; i++)
		if (load_vars_templates(p, dirfd, &p->cfg.hosts[i].vars, err, errlen))
			goto out;
	ret = 0;
out:
	close(dirfd);
	return ret;
}

/* Rewrite the journal compacted (one row per host per state entered), then
 * keep it open for appending. */
static int journal_open(struct provision *p, char *err, size_t errlen)
{
	const char *path = p->cfg.state_file;
	char tmp[4096], row[64];
	size_t bad = 0;
	FILE *f;
	int ret = host_journal_load(path, &p->status, &p->nstatus, &bad);

	if (ret < 0) {
		snprintf(err, errlen, "host-state-file %s: %s", path, strerror(-ret));
		return -1;
	}
	p->capstatus = p->nstatus;
	p->c.journal_bad_rows = bad;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f == NULL) {
		snprintf(err, errlen, "host-state-file %s: %s", tmp, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < p->nstatus; i++) {
		const struct host_status *h = &p->status[i];

		/* each state's last entry in time order, the current one last */
		for (int pass = 0; pass < 2; pass++)
			for (unsigned s = HOST_STATE_BOOTING; s < HOST_STATE__COUNT; s++) {
				struct host_record r = { .state = (enum host_state)s,
							 .time = h->entered[s] };

				if (!h->entered[s] || (pass == 0) == (s == h->state))
					continue;
				memcpy(r.mac, h->mac, 6);
				if (host_journal_format(&r, row, sizeof(row)))
					fputs(row, f);
			}
	}
	if (fflush(f) || fdatasync(fileno(f)) || fclose(f) || rename(tmp, path)) {
		snprintf(err, errlen, "host-state-file %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	p->journal_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (p->journal_fd < 0) {
		snprintf(err, errlen, "host-state-file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct provision *provision_new(const struct provision_config *cfg, char *err, size_t errlen)
{
	struct provision *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	p->journal_fd = -1;
	p->by_mac = calloc(cfg->nhosts ? cfg->nhosts : 1, sizeof(*p->by_mac));
	if (p->by_mac == NULL) {
		snprintf(err, errlen, "out of memory");
		provision_free(p);
		return NULL;
	}
	for (size_t i = 0; i < cfg->nhosts; i++)
		p->by_mac[i] = &cfg->hosts[i];
	qsort(p->by_mac, cfg->nhosts, sizeof(*p->by_mac), cmp_host);
	if (cfg->default_profile && !provision_find_profile(p, cfg->default_profile)) {
		snprintf(err, errlen, "default-profile: no [profile %s]", cfg->default_profile);
		provision_free(p);
		return NULL;
	}
	if (load_templates(p, err, errlen) || (cfg->state_file && journal_open(p, err, errlen))) {
		provision_free(p);
		return NULL;
	}
	return p;
}

void provision_free(struct provision *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->ntpl; i++) {
		render_template_free(p->tpl[i].compiled);
		free(p->tpl[i].text);
	}
	if (p->journal_fd >= 0)
		close(p->journal_fd);
	free(p->by_mac);
	free(p->status);
	free(p);
}

struct host_status *provision_status(struct provision *p, const uint8_t mac[6], bool create)
{
	size_t lo = 0, hi = p->nstatus;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->status[mid].mac, mac, 6);

		if (c == 0)
			return &p->status[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!create)
		return NULL;
	if (p->nstatus == p->capstatus) {
		size_t cap = p->capstatus ? p->capstatus * 2 : 64;
		struct host_status *v = realloc(p->status, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		p->status = v;
		p->capstatus = cap;
	}
	memmove(&p->status[lo + 1], &p->status[lo], (p->nstatus - lo) * sizeof(*p->status));
	p->nstatus++;
	memset(&p->status[lo], 0, sizeof(*p->status));
	memcpy(p->status[lo].mac, mac, 6);
	return &p->status[lo];
}

int provision_set_state(struct provision *p, const uint8_t mac[6], enum host_state s,
			int64_t now)
{
	struct host_status *h = provision_status(p, mac, true);
	struct host_record r = { .state = s, .time = now };
	char row[64];
	size_t len;

	if (h == NULL)
		return -ENOMEM;
	memcpy(r.mac, mac, 6);
	len = host_journal_format(&r, row, sizeof(row));
	/* Durable before it is acknowledged: the installer is told "recorded"
	 * only once the row is on disk. */
	if (p->journal_fd >= 0 &&
	    (write(p->journal_fd, row, len) != (ssize_t)len || fdatasync(p->journal_fd) < 0))
		return errno ? -errno : -EIO;
	h->state = s;
	h->since = now;
	h->entered[s] = now;
	p->c.state_changes++;
	return 0;
}

void provision_counters(const struct provision *p, struct provision_counters *out)
{
	*out = p->c;
}

void provision_carry_counters(struct provision *to, const struct provision *from)
{
	uint64_t bad = to->c.journal_bad_rows; /* a gauge: this load's */

	to->c = from->c;
	to->c.journal_bad_rows = bad;
}
