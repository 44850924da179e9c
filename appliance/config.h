/* pxecast.conf: an INI file a dnsmasq or Kea user reads at sight.
 *
 *   [tftp]
 *   root = /srv/tftp
 *   listen = 0.0.0.0:69
 *
 * Parsing is a function over (buf, len); every error names file:line and
 * the key. Unknown sections and keys are errors: a typo must not silently
 * fall back to a default on a production line.
 */
#ifndef PXECAST_APPLIANCE_CONFIG_H
#define PXECAST_APPLIANCE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/dhcp/dhcp.h"
#include "control/render/render.h"
#include "dataplane/http/http_server.h"
#include "dataplane/tftp/tftp.h"
#include "mtftp/mtftp.h"

#include <net/if.h>

#define CONFIG_ERR_MAX 512
#define CONFIG_DHCP_MAX_IFACES 16

/* Names the engine structs have no room for, one per [subnet NAME]. */
struct config_dhcp_subnet {
	char name[64];
	char ifname[IFNAMSIZ]; /* "" = match by address */
};

/* A [host]'s or [profile]'s provisioning keys (kernel, initrd, append,
 * *-template, var.NAME as NAME), for the templates (control/hosts). */
struct config_vars {
	struct render_kv *kv;
	size_t n;
};

/* [dhcp], [subnet NAME], [host MAC], [profile NAME], [boot]. Heap data:
 * the engine borrows these arrays and strings for the life of the daemon,
 * so a config holding them is freed with config_free() only. */
struct config_dhcp {
	bool enabled;
	struct dhcp_config engine;      /* points into the arrays below */
	char lease_file[PATH_MAX];
	char ifnames[CONFIG_DHCP_MAX_IFACES][IFNAMSIZ]; /* none = every interface */
	unsigned nifnames;
	uint32_t max_leases;
	uint32_t compact_seconds;       /* journal rewrite period */
	struct dhcp_subnet *subnets;
	struct config_dhcp_subnet *subnet_info;
	struct dhcp_host *hosts;
	struct dhcp_profile *profiles;
	struct config_vars *host_vars;    /* parallel to hosts */
	struct config_vars *profile_vars; /* parallel to profiles */
	size_t nsubnets, nhosts, nprofiles;
	char **strs;                    /* every string the engine borrows */
	size_t nstrs;
};

struct config_multicast; /* appliance/multicast.h */

struct config {
	/* [daemon] */
	int log_level;                  /* enum log_level */
	char metrics_file[PATH_MAX];    /* "" = none */
	/* [tftp] */
	bool tftp_enabled;
	char tftp_root[PATH_MAX];
	char tftp_upload_dir[PATH_MAX]; /* "" = uploads refused */
	uint64_t tftp_cache_bytes;
	struct tftp_server_config tftp; /* listen, caps, timing */
	/* [dhcp] and friends; NULL until one of those sections appears */
	struct config_dhcp *dhcp;
	/* [http] */
	bool http_enabled;
	char http_root[PATH_MAX];       /* "" = the [tftp] root */
	char http_certificate[PATH_MAX];
	char http_key[PATH_MAX];
	struct http_server_config http; /* listen, caps, timeouts; the daemon sets the paths */
	struct config_multicast *multicast; /* [multicast NAME]; NULL when none */
	/* [http] provisioning: per-host templates, tokens, install state */
	char templates_dir[PATH_MAX];   /* "" = the shipped templates, if installed */
	char host_state_file[PATH_MAX]; /* "" = states kept in memory */
	char default_profile[64];       /* "" = unknown MACs get 404 */
	char token_secret_file[PATH_MAX]; /* "" = a new secret at each start */
	bool require_token;
	uint32_t token_lifetime;        /* seconds */
	/* [image NAME]: ISO images served under images/NAME/; NULL when none */
	struct config_images *images;
	struct mtftp_server_config mtftp; /* [mtftp] (appliance/config_mtftp.c) */
};

void config_defaults(struct config *c);
/* Free what parsing allocated (the DHCP tables); c is then defaults-ready. */
void config_free(struct config *c);
/* Parse buf into c (which holds defaults or an earlier file). name is used
 * in messages. Returns 0, or -1 with "name:line: key: why" in err. */
int config_parse(const char *buf, size_t len, const char *name, struct config *c, char *err,
		 size_t errlen);
/* Read and parse a file; same contract. */
int config_load(const char *path, struct config *c, char *err, size_t errlen);
/* Cross-field checks after parsing (root set, ...). */
int config_validate(const struct config *c, char *err, size_t errlen);

/* [image NAME] (config_image.c): open every configured ISO; NULL with
 * the reason in err. */
struct image_set;
struct config_images;
struct image_set *config_images_open(const struct config *c, char *err, size_t errlen);
void config_image_free(struct config_images *im);
int config_image_validate(const struct config_images *im, char *err, size_t errlen);
/* The PXE MTFTP parameters DHCP advertises (config_mtftp.c). */
void config_mtftp_dhcp(const struct config *c, struct dhcp_mtftp *out);

/* "ADDR[:PORT]" -> network-order ip and port (port kept when absent). */
int config_parse_endpoint(const char *s, uint32_t *ip, uint16_t *port);

#endif
