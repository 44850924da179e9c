/* The DHCP service: the engine of dhcp.h on a transport.
 *
 * It owns the sockets (67, and 4011 in proxy mode), the lease journal
 * and the group commit: requests of one loop turn queue their lease rows,
 * dhcp_service_commit() writes and syncs them with one fdatasync, and only
 * then do the ACKs that waited for them leave. Call it once per loop turn,
 * before the transport waits again.
 */
#ifndef PXECAST_CONTROL_DHCP_SERVICE_H
#define PXECAST_CONTROL_DHCP_SERVICE_H

#include "control/dhcp/dhcp.h"

#include <stdint.h>
#include <stdio.h>

#define DHCP_SERVICE_MAX_IFACES 16

struct transport;

struct dhcp_service_config {
	const struct dhcp_config *engine; /* borrowed for the service's life */
	const char *lease_file;           /* absolute; NULL in proxy mode: memory only */
	int ifindex[DHCP_SERVICE_MAX_IFACES]; /* requests from other interfaces
					       * are dropped; none: every one */
	unsigned nifindex;
	uint32_t max_leases;
	uint32_t compact_seconds;
};

struct dhcp_service;

/* Load the journal (bad rows are skipped and counted: a damaged file never
 * stops the start), rewrite it compacted, open the sockets. NULL with errno
 * on failure (a socket or the lease file's directory). */
struct dhcp_service *dhcp_service_new(struct transport *t, const struct dhcp_service_config *cfg);
void dhcp_service_free(struct dhcp_service *s);

/* Group commit and housekeeping; returns the next deadline (monotonic us). */
uint64_t dhcp_service_commit(struct dhcp_service *s, uint64_t now_us);

/* Prometheus lines, pxecast_dhcp_*. */
void dhcp_service_write_metrics(const struct dhcp_service *s, FILE *f);

#endif
