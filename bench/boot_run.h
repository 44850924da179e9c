/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pxecast-bench internals shared by its .c files (not a public API). */
#ifndef PXECAST_BENCH_RUN_H
#define PXECAST_BENCH_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- namespaces (boot_net.c) ----
 *
 * Clients live in nns namespaces "<prefix>c<k>". Each has one veth
 * ("uplink") whose peer "<prefix>u<k>" is a port of the caller's bridge,
 * and one macvlan per client ("c<i>", the client's MAC) on that uplink.
 * Before a lease, DHCP of every client in a namespace goes through one
 * AF_PACKET socket on the uplink (frames carry the client's MAC); after
 * it, the leased address is added to the client's macvlan and its TFTP
 * and TCP sockets are bound to that address and device, so every client
 * has its own MAC and IP on the wire while the kernel does the rest
 * (ARP, TCP). arp_ignore=1 makes only the owner answer ARP. */
struct boot_net {
	char prefix[16];
	char bridge_ns[64];
	char bridge[16];
	unsigned nns;
	int self_ns;          /* the namespace we came from */
	int *ns_fd;
	int *nl_fd;           /* rtnetlink, one per namespace */
	int *pkt_fd;          /* AF_PACKET on the uplink, UDP to port 68 only */
	bool *ns_made;
	bool loss;
	unsigned bcqueuelen;  /* macvlan broadcast/multicast queue; 0: default */
	long gso_saved;       /* the bridge's gso_max_segs, -1: untouched */
	long gc_saved[3];     /* neighbour limits to restore, -1: untouched */
};

int boot_net_setup(struct boot_net *n, const char *bridge_ns, const char *bridge,
		   unsigned nns, unsigned nclients, const uint8_t (*mac)[6],
		   int *ifindex);
void boot_net_teardown(struct boot_net *n);
/* add (or remove) ip/prefix on ifindex in namespace ns */
int boot_net_addr(struct boot_net *n, unsigned ns, int ifindex, uint32_t ip,
		  unsigned prefix, bool add);
/* a socket created inside namespace ns (non-blocking, close-on-exec) */
int boot_net_socket(struct boot_net *n, unsigned ns, int domain, int type);
/* drop pct % of frames to and from the client ports (nftables, bridge) */
int boot_net_loss(struct boot_net *n, double pct);

/* ---- results (boot_report.c) ---- */

enum boot_phase {
	PH_DHCP, PH_TFTP, PH_IPXE_DHCP, PH_SCRIPT, PH_KERNEL, PH_INITRD,
	PH_MCAST,         /* optional: a pxecast multicast session */
	PH_COUNT
};

enum boot_reason {
	R_TIMEOUT, R_NAK, R_ERROR, R_SIZE, R_PROTOCOL, R_SOCKET, R_STATUS,
	R_CLOSED, R_NOFILE, R_DEADLINE, R_COUNT
};

/* What the report needs of one client. t[0] start, t[p + 1] end of
 * phase p (0: not reached). */
struct boot_result {
	uint64_t t[PH_COUNT + 1];
	bool failed;
	enum boot_phase fail_phase;
	enum boot_reason fail_reason;
	uint64_t bytes[PH_COUNT];     /* TFTP boot file, script, kernel, initrd, image */
};

struct boot_server_stats {
	unsigned npids;
	int pids[16];
	double cpu_s;
	uint64_t peak_rss_kb;
	uint64_t hwm_kb;
};

struct boot_counters {
	uint64_t dhcp_tx, dhcp_retx, dhcp_naks, dhcp_rx, dhcp_stray;
	uint64_t tftp_retx, tftp_gaps, tftp_dups;
	uint64_t http_connects, tx_dropped, tx_errors;
};

struct boot_report {
	const char *target;       /* label */
	const char *workload;     /* "storm" or "trickle" */
	double storm_ms, rate, loss_pct;
	unsigned clients, nns;
	const char *rom;
	uint64_t t0;              /* run start */
	double wall_s;
	double client_cpu_s;
	const struct boot_result *r;
	struct boot_server_stats srv;
	struct boot_counters cnt;
};

extern const char *const boot_phase_name[PH_COUNT];
extern const char *const boot_reason_name[R_COUNT];

/* text to f, JSON to json (NULL: none), SVG to svg (NULL: none);
 * returns the number of failed clients */
unsigned boot_report_write(const struct boot_report *rep, FILE *f,
			   const char *json, const char *svg);
void boot_progress(const struct boot_report *rep, uint64_t now, bool final);

/* server sampling: CPU ticks at start/end, VmRSS peak */
void boot_server_begin(struct boot_server_stats *s);
void boot_server_sample(struct boot_server_stats *s);
void boot_server_end(struct boot_server_stats *s);

#endif
