/* Private state of provisioning, shared by provision.c (setup, templates,
 * the state table), provision_vars.c (what a template sees) and
 * provision_http.c (the routes). */
#ifndef PXECAST_CONTROL_HOSTS_PROVISION_INT_H
#define PXECAST_CONTROL_HOSTS_PROVISION_INT_H

#include "control/hosts/hosts.h"

#define PROVISION_MAX_TEMPLATES 256
#define PROVISION_OUTPUT_MAX (4u << 20) /* one rendered answer */

struct provision_template {
	char name[128];
	char *text;
	struct render_template *compiled;
};

struct provision {
	struct provision_config cfg;
	struct provision_template tpl[PROVISION_MAX_TEMPLATES];
	size_t ntpl;
	const struct provision_host **by_mac; /* cfg.hosts sorted by MAC */
	struct host_status *status;           /* sorted by MAC */
	size_t nstatus, capstatus;
	int journal_fd;                       /* -1: memory only */
	struct provision_counters c;
};

/* provision.c */
const struct provision_host *provision_find_host(const struct provision *p, const uint8_t mac[6]);
const struct provision_profile *provision_find_profile(const struct provision *p,
							const char *name);
const struct provision_template *provision_template(const struct provision *p, const char *name);
struct host_status *provision_status(struct provision *p, const uint8_t mac[6], bool create);
/* Record a state change durably (journal row + fdatasync). 0 or -errno. */
int provision_set_state(struct provision *p, const uint8_t mac[6], enum host_state s,
			int64_t now);

/* provision_vars.c: one host as a template sees it. */
struct provision_view {
	const struct provision *p;
	const struct provision_host *host;       /* NULL: unknown, default profile */
	const struct provision_profile *profile; /* NULL: none */
	uint8_t mac[6];
	struct render_kv builtin[20];
	size_t nbuiltin;
	char strings[2048];                      /* the built-ins' values */
	size_t used;
	char expand[8192];                       /* ${name} expansions in values */
	size_t expand_used;
};

void provision_view_init(struct provision_view *v, struct provision *p, const uint8_t mac[6],
			 const struct provision_request *rq);
/* A host key, then its profile's ("script-template"...); NULL if neither. */
const char *provision_view_key(const struct provision_view *v, const char *key);
extern const struct render_context provision_view_context;

#endif
