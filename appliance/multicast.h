/* `[multicast NAME]` sessions of pxecast.conf and `pxecast multicast`.
 *
 *   [multicast rollout]
 *   object = images/debian.raw     # under the [http] root (else [tftp] root)
 *   group = 239.1.2.3:9000
 *   rate = 900M                    # bits per second, the AIMD ceiling
 *   min-receivers = 32
 *   max-wait = 60                  # seconds, then start with who is there
 *   deadline = 600                 # seconds after the start; laggards use HTTP
 *   fetch-url = http://10.0.0.1/images/debian.raw
 *   interface = eth0
 *   ttl = 1
 */
#ifndef PXECAST_APPLIANCE_MULTICAST_H
#define PXECAST_APPLIANCE_MULTICAST_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_multicast_session {
	char name[64];
	char object[PATH_MAX];
	uint32_t group_ip;     /* network order; 0 = not set */
	uint16_t group_port;   /* network order */
	char ifname[IFNAMSIZ];
	unsigned ttl;
	bool loop;
	bool gso;              /* DATA in UDP GSO batches */
	unsigned gso_segments; /* packets per batch */
	uint64_t rate_bps;
	uint64_t min_rate_bps;
	unsigned min_receivers;
	uint32_t max_wait_s;
	uint32_t deadline_s;   /* 0: none */
	uint32_t receiver_timeout_s;
	char fetch_url[256];
	unsigned symbol, k, redundancy;
	unsigned interleave;   /* slices sent together in the first pass */
	uint32_t session_id;   /* 0: derived from the name */
};

struct config_multicast {
	struct config_multicast_session *s;
	size_t n;
};

/* `pxecast multicast start NAME [--config FILE] [--quiet]` and
 * `pxecast multicast list [--config FILE]`. */
int multicast_cmd(int argc, char **argv);

#endif
