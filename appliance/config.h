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

#include "dataplane/tftp/tftp.h"

#define CONFIG_ERR_MAX 512

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
};

void config_defaults(struct config *c);
/* Parse buf into c (which holds defaults or an earlier file). name is used
 * in messages. Returns 0, or -1 with "name:line: key: why" in err. */
int config_parse(const char *buf, size_t len, const char *name, struct config *c, char *err,
		 size_t errlen);
/* Read and parse a file; same contract. */
int config_load(const char *path, struct config *c, char *err, size_t errlen);
/* Cross-field checks after parsing (root set, ...). */
int config_validate(const struct config *c, char *err, size_t errlen);

/* "ADDR[:PORT]" -> network-order ip and port (port kept when absent). */
int config_parse_endpoint(const char *s, uint32_t *ip, uint16_t *port);

#endif
