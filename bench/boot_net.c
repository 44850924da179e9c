/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Namespaces, veths and macvlans for the simulated clients (see
 * boot_run.h for the layout and why). Links are made by `ip -batch`,
 * addresses during the run by rtnetlink (one round trip, no fork).
 */
#include "boot_run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int run_batch(const char *cmd, const char *text)
{
	FILE *p = popen(cmd, "w");
	int st;

	if (p == NULL)
		return -1;
	fputs(text, p);
	st = pclose(p);
	return st == 0 ? 0 : -1;
}

/* A growing text buffer for batch files. */
struct text {
	char *s;
	size_t len, cap;
};

static void tprintf(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0,
			      fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *s = realloc(t->s, cap);
		if (s == NULL)
			return;
		t->s = s;
		t->cap = cap;
	}
}

static int enter(struct boot_net *n, unsigned ns)
{
	return setns(n->ns_fd[ns], CLONE_NEWNET);
}

static void leave(struct boot_net *n)
{
	if (setns(n->self_ns, CLONE_NEWNET) != 0)
		abort();   /* every later socket would land in the wrong place */
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, val, strlen(val));
	close(fd);
	return w == (ssize_t)strlen(val) ? 0 : -1;
}

/* Before the macvlans exist, so each inherits "default". */
static void client_sysctls(void)
{
	static const char *const set[][2] = {
		{ "/proc/sys/net/ipv4/conf/all/arp_ignore", "1" },
		{ "/proc/sys/net/ipv4/conf/default/arp_ignore", "1" },
		{ "/proc/sys/net/ipv4/conf/all/arp_announce", "2" },
		{ "/proc/sys/net/ipv4/conf/default/arp_announce", "2" },
		{ "/proc/sys/net/ipv4/conf/all/rp_filter", "0" },
		{ "/proc/sys/net/ipv4/conf/default/rp_filter", "0" },
		{ "/proc/sys/net/ipv6/conf/all/disable_ipv6", "1" },
		{ "/proc/sys/net/ipv6/conf/default/disable_ipv6", "1" },
		{ "/proc/sys/net/ipv4/ip_local_port_range", "10000 60999" },
	};
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		write_sysctl(set[i][0], set[i][1]);
}

/* Only IPv4 UDP to port 68 reaches user space: `udp dst port 68`. */
static int attach_filter(int fd)
{
	static struct sock_filter code[] = {
		{ 0x28, 0, 0, 0x0000000c },   /* ldh [12] */
		{ 0x15, 0, 8, 0x00000800 },   /* jeq IPv4 */
		{ 0x30, 0, 0, 0x00000017 },   /* ldb [23] */
		{ 0x15, 0, 6, 0x00000011 },   /* jeq UDP */
		{ 0x28, 0, 0, 0x00000014 },   /* ldh [20] */
		{ 0x45, 4, 0, 0x00001fff },   /* jset fragment offset: drop */
		{ 0xb1, 0, 0, 0x0000000e },   /* ldxb 4*([14]&0xf) */
		{ 0x48, 0, 0, 0x00000010 },   /* ldh [x + 16] */
		{ 0x15, 0, 1, 0x00000044 },   /* jeq 68 */
		{ 0x06, 0, 0, 0x00040000 },   /* ret accept */
		{ 0x06, 0, 0, 0x00000000 },   /* ret drop */
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

static int packet_socket(int ifindex)
{
	struct sockaddr_ll sll = { 0 };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			htons(ETH_P_ALL));
	int one = 1, big = 8 << 20;

	if (fd < 0)
		return -1;
	if (attach_filter(fd) != 0)
		goto fail;
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* The neighbour table is one for every namespace, sized in the first:
 * each client costs an entry on both sides of the bridge, so 500 clients
 * pass the default gc_thresh2/3 (512/1024) and entries get evicted or
 * refused mid-run. Raise them for the run (never lower), restore after. */
static const char *const gc_path[3] = {
	"/proc/sys/net/ipv4/neigh/default/gc_thresh1",
	"/proc/sys/net/ipv4/neigh/default/gc_thresh2",
	"/proc/sys/net/ipv4/neigh/default/gc_thresh3",
};

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void raise_neigh(struct boot_net *n, unsigned nclients)
{
	long want[3] = { 4L * nclients + 1024, 8L * nclients + 2048, 16L * nclients + 4096 };

	for (int i = 0; i < 3; i++) {
		char v[24];

		n->gc_saved[i] = read_long(gc_path[i]);
		if (n->gc_saved[i] < 0 || n->gc_saved[i] >= want[i]) {
			n->gc_saved[i] = -1;
			continue;
		}
		snprintf(v, sizeof(v), "%ld", want[i]);
		if (write_sysctl(gc_path[i], v) != 0)
			n->gc_saved[i] = -1;
	}
}

static void restore_neigh(struct boot_net *n)
{
	for (int i = 2; i >= 0; i--)
		if (n->gc_saved[i] >= 0) {
			char v[24];

			snprintf(v, sizeof(v), "%ld", n->gc_saved[i]);
			write_sysctl(gc_path[i], v);
		}
}

int boot_net_setup(struct boot_net *n, const char *bridge_ns, const char *bridge,
		   unsigned nns, unsigned nclients, const uint8_t (*mac)[6],
		   int *ifindex)
{
	struct text t = { 0 };
	char cmd[256];
	int rc = -1;

	snprintf(n->prefix, sizeof(n->prefix), "pxb%u", (unsigned)getpid() % 10000000u);
	snprintf(n->bridge_ns, sizeof(n->bridge_ns), "%s", bridge_ns);
	snprintf(n->bridge, sizeof(n->bridge), "%s", bridge);
	n->nns = nns;
	n->ns_fd = calloc(nns, sizeof(int));
	n->nl_fd = calloc(nns, sizeof(int));
	n->pkt_fd = calloc(nns, sizeof(int));
	n->ns_made = calloc(nns, sizeof(bool));
	n->self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	n->gc_saved[0] = n->gc_saved[1] = n->gc_saved[2] = -1;
	n->gso_saved = -1;
	if (!n->ns_fd || !n->nl_fd || !n->pkt_fd || !n->ns_made || n->self_ns < 0)
		return -1;
	for (unsigned k = 0; k < nns; k++)
		n->ns_fd[k] = n->nl_fd[k] = n->pkt_fd[k] = -1;

	for (unsigned k = 0; k < nns; k++)
		tprintf(&t, "netns add %sc%u\n", n->prefix, k);
	if (t.s == NULL || run_batch("ip -batch -", t.s) != 0) {
		fprintf(stderr, "pxecast-bench: cannot create namespaces\n");
		goto out;
	}
	for (unsigned k = 0; k < nns; k++) {
		char path[128];

		n->ns_made[k] = true;
		snprintf(path, sizeof(path), "/run/netns/%sc%u", n->prefix, k);
		n->ns_fd[k] = open(path, O_RDONLY | O_CLOEXEC);
		if (n->ns_fd[k] < 0)
			goto out;
	}
	/* the server side: one bridge port per namespace; room for a
	 * neighbour entry per client */
	t.len = 0;
	for (unsigned k = 0; k < nns; k++)
		tprintf(&t, "link add %su%u type veth peer name uplink netns %sc%u\n"
			"link set %su%u master %s up\n", n->prefix, k, n->prefix, k,
			n->prefix, k, bridge);
	snprintf(cmd, sizeof(cmd), "ip -n %s -batch -", bridge_ns);
	if (run_batch(cmd, t.s) != 0) {
		fprintf(stderr, "pxecast-bench: cannot add ports to %s in %s\n",
			bridge, bridge_ns);
		goto out;
	}
	raise_neigh(n, nclients);

	/* multicast reaches every macvlan through one queue per uplink
	 * (1000 frames by default): a stream to 100 machines overflows it */
	char bcq[32] = "";
	if (n->bcqueuelen)
		snprintf(bcq, sizeof(bcq), " bcqueuelen %u", n->bcqueuelen);
	for (unsigned k = 0; k < nns; k++) {
		if (enter(n, k) != 0)
			goto out;
		client_sysctls();
		leave(n);
		t.len = 0;
		tprintf(&t, "link set lo up\nlink set uplink up\n");
		for (unsigned i = k; i < nclients; i += nns)
			tprintf(&t, "link add c%u link uplink address "
				"%02x:%02x:%02x:%02x:%02x:%02x type macvlan mode private%s\n"
				"link set c%u up\n", i, mac[i][0], mac[i][1], mac[i][2],
				mac[i][3], mac[i][4], mac[i][5], bcq, i);
		snprintf(cmd, sizeof(cmd), "ip -n %sc%u -batch -", n->prefix, k);
		if (run_batch(cmd, t.s) != 0) {
			fprintf(stderr, "pxecast-bench: cannot make the clients of %sc%u\n",
				n->prefix, k);
			goto out;
		}
		if (enter(n, k) != 0)
			goto out;
		for (unsigned i = k; i < nclients; i += nns) {
			char name[IF_NAMESIZE];

			snprintf(name, sizeof(name), "c%u", i);
			ifindex[i] = (int)if_nametoindex(name);
		}
		n->pkt_fd[k] = packet_socket((int)if_nametoindex("uplink"));
		n->nl_fd[k] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		leave(n);
		if (n->pkt_fd[k] < 0 || n->nl_fd[k] < 0) {
			fprintf(stderr, "pxecast-bench: sockets in %sc%u: %s\n",
				n->prefix, k, strerror(errno));
			goto out;
		}
		for (unsigned i = k; i < nclients; i += nns)
			if (ifindex[i] <= 0)
				goto out;
	}
	rc = 0;
out:
	free(t.s);
	return rc;
}

void boot_net_teardown(struct boot_net *n)
{
	struct text t = { 0 };
	char cmd[160];

	if (n->ns_fd == NULL)
		return;
	if (n->loss) {
		snprintf(cmd, sizeof(cmd), "ip netns exec %s nft delete table bridge %s",
			 n->bridge_ns, n->prefix);
		if (system(cmd) != 0)
			fprintf(stderr, "pxecast-bench: could not remove table %s\n", n->prefix);
	}
	if (n->gso_saved > 0) {
		snprintf(cmd, sizeof(cmd), "ip -n %s link set dev %s gso_max_segs %ld",
			 n->bridge_ns, n->bridge, n->gso_saved);
		if (system(cmd) != 0)
			fprintf(stderr, "pxecast-bench: gso_max_segs of %s not restored\n",
				n->bridge);
	}
	for (unsigned k = 0; k < n->nns; k++) {
		if (n->pkt_fd[k] >= 0)
			close(n->pkt_fd[k]);
		if (n->nl_fd[k] >= 0)
			close(n->nl_fd[k]);
		if (n->ns_fd[k] >= 0)
			close(n->ns_fd[k]);
		if (n->ns_made[k])
			tprintf(&t, "netns del %sc%u\n", n->prefix, k);
	}
	/* deleting a namespace deletes its links, and so the bridge ports */
	if (t.s != NULL && run_batch("ip -batch -", t.s) != 0)
		fprintf(stderr, "pxecast-bench: removing namespaces %sc* failed\n",
			n->prefix);
	free(t.s);
	free(n->ns_fd);
	free(n->nl_fd);
	free(n->pkt_fd);
	free(n->ns_made);
	n->ns_fd = NULL;
	restore_neigh(n);
	if (n->self_ns >= 0)
		close(n->self_ns);
}

int boot_net_addr(struct boot_net *n, unsigned ns, int ifindex, uint32_t ip,
		  unsigned prefix, bool add)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		struct rtattr a1;
		uint32_t local;
		struct rtattr a2;
		uint32_t addr;
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t r;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	req.nh.nlmsg_seq = (uint32_t)ifindex;
	req.ifa.ifa_family = AF_INET;
	req.ifa.ifa_prefixlen = (uint8_t)prefix;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = (unsigned)ifindex;
	req.a1.rta_len = RTA_LENGTH(4);
	req.a1.rta_type = IFA_LOCAL;
	req.local = ip;
	req.a2.rta_len = RTA_LENGTH(4);
	req.a2.rta_type = IFA_ADDRESS;
	req.addr = ip;
	if (sendto(n->nl_fd[ns], &req, sizeof(req), 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) != (ssize_t)sizeof(req))
		return -errno;
	for (;;) {
		r = recv(n->nl_fd[ns], &ack, sizeof(ack), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < (ssize_t)sizeof(ack))
			return -EIO;
		if (ack.nh.nlmsg_type == NLMSG_ERROR && ack.nh.nlmsg_seq == req.nh.nlmsg_seq)
			return ack.err.error;
	}
}

int boot_net_socket(struct boot_net *n, unsigned ns, int domain, int type)
{
	int fd;

	if (enter(n, ns) != 0)
		return -1;
	fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	leave(n);
	return fd;
}

int boot_net_loss(struct boot_net *n, double pct)
{
	struct text t = { 0 };
	char cmd[160];
	unsigned th = (unsigned)(pct * 100.0 + 0.5);   /* per 10000 frames */
	int rc;

	/* input/output: the server is the bridge's own address; forward: it
	 * is on another port. Each direction drawn independently. */
	tprintf(&t, "table bridge %s {\n"
		" chain loss_in { type filter hook input priority -100; "
		"iifname \"%su*\" numgen random mod 10000 < %u counter drop; }\n"
		" chain loss_out { type filter hook output priority -100; "
		"oifname \"%su*\" numgen random mod 10000 < %u counter drop; }\n"
		" chain loss_fwd { type filter hook forward priority -100; "
		"iifname \"%su*\" numgen random mod 10000 < %u counter drop; "
		"oifname \"%su*\" numgen random mod 10000 < %u counter drop; }\n}\n",
		n->prefix, n->prefix, th, n->prefix, th, n->prefix, th, n->prefix, th);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s nft -f -", n->bridge_ns);
	rc = t.s ? run_batch(cmd, t.s) : -1;
	free(t.s);
	if (rc != 0)
		return rc;
	n->loss = true;
	/* A wire drops frames, but a GSO/TSO packet crosses the bridge hooks
	 * whole (a TFTP window, 44 TCP segments): make the server segment
	 * before the bridge so every frame is drawn on its own. */
	snprintf(cmd, sizeof(cmd), "ip -n %s -d link show dev %s", n->bridge_ns, n->bridge);
	FILE *p = popen(cmd, "r");
	if (p != NULL) {
		char line[1024], *at;

		while (fgets(line, sizeof(line), p))
			if ((at = strstr(line, "gso_max_segs ")) != NULL)
				n->gso_saved = strtol(at + 13, NULL, 10);
		pclose(p);
	}
	snprintf(cmd, sizeof(cmd), "ip -n %s link set dev %s gso_max_segs 1",
		 n->bridge_ns, n->bridge);
	if (n->gso_saved < 0 || system(cmd) != 0) {
		fprintf(stderr, "pxecast-bench: cannot stop GSO on %s\n", n->bridge);
		n->gso_saved = -1;
		return -1;
	}
	return 0;
}
