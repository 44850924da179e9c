/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pxecast-bench: hundreds of simulated PXE machines booting end to end
 * against any DHCP + TFTP + HTTP server on a bridge (pxecast, or dnsmasq
 * and nginx). See bench/README.md.
 */
#include "boot_client.h"
#include "bench_util.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
"usage: pxecast-bench --bridge-ns NS [--bridge BR] [options]\n"
"Clients get namespaces of their own, attached to bridge BR (default br0)\n"
"in namespace NS, where the servers listen. Needs root.\n"
"workload:\n"
"  --clients N            simulated machines (default 20)\n"
"  --storm-ms T           boot storm: every client starts within T ms (default 1000)\n"
"  --rate R               trickle instead: R clients start per second\n"
"  --loss PCT             drop PCT %% of frames each way on the bridge (nftables)\n"
"  --rom uefi|bios|mix    firmware played (default uefi: EDK2, arch 7)\n"
"  --collect-offers       UEFI: wait out the first DHCP timeout collecting offers, as EDK2 does\n"
"  --namespaces K         client namespaces (default 4; clients spread over them)\n"
"  --kernel-url URL, --initrd-url URL   fetch these instead of the script's lines\n"
"  --mcast-group A:P      then join the pxecast multicast session on group A:P\n"
"checks and timers:\n"
"  --expect-boot-size B, --expect-kernel-size B, --expect-initrd-size B,\n"
"  --expect-mcast-size B  sizes each machine must receive\n"
"  --tftp-timeout-ms MS   TFTP retransmission timeout (default 4000, EDK2)\n"
"  --tftp-retries N       TFTP retransmissions before failing (default 6, EDK2)\n"
"  --http-stall-ms MS     an HTTP transfer without progress this long fails (default 60000)\n"
"  --deadline S           the whole run (default 600)\n"
"output:\n"
"  --server-pid PID[,PID] server processes whose CPU and memory are read (repeatable)\n"
"  --label NAME  --json FILE|-  --svg FILE  --no-progress  --seed N\n"
"exit status: 0 every client booted, 1 some failed, 2 usage or setup error\n");
}

enum {
	O_BRNS = 256, O_BR, O_CLIENTS, O_STORM, O_RATE, O_LOSS, O_ROM, O_COLLECT,
	O_NNS, O_KURL, O_IURL, O_EB, O_EK, O_EI, O_TT, O_TR, O_HS, O_DL, O_PID,
	O_LABEL, O_JSON, O_SVG, O_NOPROG, O_SEED, O_MCAST, O_EM, O_HELP,
};

static bool add_pids(struct boot_server_stats *s, char *arg)
{
	for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		uint64_t v;

		if (s->npids >= 16 || !bench_parse_u64(tok, 1, 1u << 30, &v))
			return false;
		s->pids[s->npids++] = (int)v;
	}
	return true;
}

static bool parse_group(const char *s, struct sockaddr_in *g)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host) ||
	    !bench_parse_u64(colon + 1, 1, 65535, &port))
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(g, 0, sizeof(*g));
	g->sin_family = AF_INET;
	g->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &g->sin_addr) == 1 &&
	       IN_MULTICAST(ntohl(g->sin_addr.s_addr));
}

static int parse_opts(int argc, char **argv, struct bench *b)
{
	static const struct option lo[] = {
		{ "bridge-ns", 1, NULL, O_BRNS }, { "bridge", 1, NULL, O_BR },
		{ "clients", 1, NULL, O_CLIENTS }, { "storm-ms", 1, NULL, O_STORM },
		{ "rate", 1, NULL, O_RATE }, { "loss", 1, NULL, O_LOSS },
		{ "rom", 1, NULL, O_ROM }, { "collect-offers", 0, NULL, O_COLLECT },
		{ "namespaces", 1, NULL, O_NNS }, { "kernel-url", 1, NULL, O_KURL },
		{ "initrd-url", 1, NULL, O_IURL }, { "expect-boot-size", 1, NULL, O_EB },
		{ "expect-kernel-size", 1, NULL, O_EK }, { "expect-initrd-size", 1, NULL, O_EI },
		{ "tftp-timeout-ms", 1, NULL, O_TT }, { "tftp-retries", 1, NULL, O_TR },
		{ "http-stall-ms", 1, NULL, O_HS }, { "deadline", 1, NULL, O_DL },
		{ "server-pid", 1, NULL, O_PID }, { "label", 1, NULL, O_LABEL },
		{ "json", 1, NULL, O_JSON }, { "svg", 1, NULL, O_SVG },
		{ "no-progress", 0, NULL, O_NOPROG }, { "seed", 1, NULL, O_SEED },
		{ "mcast-group", 1, NULL, O_MCAST }, { "expect-mcast-size", 1, NULL, O_EM },
		{ "help", 0, NULL, O_HELP }, { NULL, 0, NULL, 0 },
	};
	struct opts *o = &b->o;
	uint64_t v;
	int opt;
	bool ok = true;

	o->bridge = "br0";
	o->clients = 20;
	o->nns = 4;
	o->storm_ms = 1000;
	o->deadline_s = 600;
	o->rom = "uefi";
	o->tftp_timeout_ms = 4000;
	o->tftp_retries = 6;
	o->http_stall_ms = 60000;
	o->progress = isatty(2);
	o->seed = 1;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case O_BRNS: o->bridge_ns = optarg; break;
		case O_BR: o->bridge = optarg; break;
		case O_CLIENTS: ok = bench_parse_u64(optarg, 1, 1u << 20, &v); o->clients = (unsigned)v; break;
		case O_STORM: ok = bench_parse_double(optarg, 0, 3.6e6, &o->storm_ms); break;
		case O_RATE: ok = bench_parse_double(optarg, 0.001, 1e6, &o->rate); break;
		case O_LOSS: ok = bench_parse_double(optarg, 0, 100, &o->loss_pct); break;
		case O_ROM: o->rom = optarg;
			ok = !strcmp(optarg, "uefi") || !strcmp(optarg, "bios") || !strcmp(optarg, "mix");
			break;
		case O_COLLECT: o->collect_offers = true; break;
		case O_NNS: ok = bench_parse_u64(optarg, 1, 256, &v); o->nns = (unsigned)v; break;
		case O_KURL: o->kernel_url = optarg; break;
		case O_IURL: o->initrd_url = optarg; break;
		case O_EB: ok = bench_parse_u64(optarg, 1, UINT64_MAX, &o->expect_boot); break;
		case O_EK: ok = bench_parse_u64(optarg, 1, UINT64_MAX, &o->expect_kernel); break;
		case O_EI: ok = bench_parse_u64(optarg, 1, UINT64_MAX, &o->expect_initrd); break;
		case O_TT: ok = bench_parse_u64(optarg, 10, 600000, &v); o->tftp_timeout_ms = (unsigned)v; break;
		case O_TR: ok = bench_parse_u64(optarg, 0, 100, &v); o->tftp_retries = (unsigned)v; break;
		case O_HS: ok = bench_parse_u64(optarg, 100, 3600000, &v); o->http_stall_ms = (unsigned)v; break;
		case O_DL: ok = bench_parse_double(optarg, 1, 86400, &o->deadline_s); break;
		case O_PID: ok = add_pids(&b->rep.srv, optarg); break;
		case O_LABEL: o->label = optarg; break;
		case O_JSON: o->json = optarg; break;
		case O_SVG: o->svg = optarg; break;
		case O_NOPROG: o->progress = false; break;
		case O_SEED: ok = bench_parse_u64(optarg, 1, UINT32_MAX, &v); o->seed = (uint32_t)v; break;
		case O_MCAST: o->mcast_group = optarg; ok = parse_group(optarg, &b->mcast_group); break;
		case O_EM: ok = bench_parse_u64(optarg, 1, UINT64_MAX, &o->expect_mcast); break;
		case 'h': case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (!ok) {
			fprintf(stderr, "pxecast-bench: bad value for --%s: %s\n",
				lo[opt - O_BRNS].name, optarg);
			return -1;
		}
	}
	if (o->bridge_ns == NULL || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (o->nns > o->clients)
		o->nns = o->clients;
	if ((o->kernel_url && url_parse(o->kernel_url, strlen(o->kernel_url), NULL,
					&b->kernel_override) != 0) ||
	    (o->initrd_url && url_parse(o->initrd_url, strlen(o->initrd_url), NULL,
					&b->initrd_override) != 0)) {
		fprintf(stderr, "pxecast-bench: URLs must be http://A.B.C.D[:port]/path\n");
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	boot_quit = 1;
}

static double cpu_self(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int clients_init(struct bench *b, uint8_t (*mac)[6])
{
	const struct opts *o = &b->o;

	b->c = calloc(o->clients, sizeof(*b->c));
	b->res = calloc(o->clients, sizeof(*b->res));
	b->scratch = malloc(sizeof(*b->scratch));
	if (b->c == NULL || b->res == NULL || b->scratch == NULL)
		return -1;
	for (unsigned i = 0; i < o->clients; i++) {
		struct client *c = &b->c[i];

		c->idx = i;
		c->ns = i % o->nns;
		c->fd = -1;
		/* locally administered 02:70:78 ("px"), the index below */
		mac[i][0] = 0x02;
		mac[i][1] = 0x70;
		mac[i][2] = 0x78;
		mac[i][3] = (uint8_t)(i >> 16);
		mac[i][4] = (uint8_t)(i >> 8);
		mac[i][5] = (uint8_t)i;
		memcpy(c->mac, mac[i], 6);
		for (int k = 0; k < 16; k++)
			c->guid[k] = (uint8_t)bench_rand(b);
		c->rom = !strcmp(o->rom, "bios") || (!strcmp(o->rom, "mix") && (i & 1)) ?
			 ROM_BIOS : ROM_UEFI;
		c->buf = malloc(CLIENT_BUF);
		if (c->buf == NULL)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	uint8_t (*mac)[6];
	int *ifindex;
	unsigned failed;
	double cpu0;
	char workload[64];

	if (parse_opts(argc, argv, b) != 0)
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "pxecast-bench: needs root (network namespaces)\n");
		return 2;
	}
	b->rng = b->o.seed * 2654435761u + 1;
	raise_nofile();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	mac = calloc(b->o.clients, sizeof(*mac));
	ifindex = calloc(b->o.clients, sizeof(int));
	if (mac == NULL || ifindex == NULL || clients_init(b, mac) != 0) {
		fprintf(stderr, "pxecast-bench: out of memory\n");
		return 2;
	}
	if (b->o.mcast_group != NULL)
		b->net.bcqueuelen = 8192;
	if (boot_net_setup(&b->net, b->o.bridge_ns, b->o.bridge, b->o.nns, b->o.clients,
			   (const uint8_t (*)[6])mac, ifindex) != 0 ||
	    (b->o.loss_pct > 0 && boot_net_loss(&b->net, b->o.loss_pct) != 0) ||
	    io_init(b) != 0) {
		fprintf(stderr, "pxecast-bench: setup failed\n");
		boot_net_teardown(&b->net);
		free(ifindex);
		free(mac);
		return 2;
	}
	for (unsigned i = 0; i < b->o.clients; i++)
		b->c[i].ifindex = ifindex[i];
	free(ifindex);
	free(mac);

	/* starts: a storm spreads them uniformly over storm_ms, a trickle
	 * at fixed intervals */
	b->now = bench_mono_ns();
	b->t0 = b->now + 200 * BENCH_NS_PER_MS;   /* let the links settle */
	b->next_due = UINT64_MAX;
	for (unsigned i = 0; i < b->o.clients; i++) {
		double ms = b->o.rate > 0 ? 1000.0 * i / b->o.rate :
			    b->o.storm_ms * (bench_rand(b) / 4294967296.0);

		b->c[i].due = b->t0 + (uint64_t)(ms * 1e6);
		if (b->c[i].due < b->next_due)
			b->next_due = b->c[i].due;
	}
	b->waiting = b->o.clients;
	b->deadline = b->t0 + (uint64_t)(b->o.deadline_s * 1e9);
	if (b->o.rate > 0)
		snprintf(workload, sizeof(workload), "trickle %.1f/s", b->o.rate);
	else
		snprintf(workload, sizeof(workload), "storm %.0f ms", b->o.storm_ms);
	b->rep.target = b->o.label;
	b->rep.workload = workload;
	b->rep.storm_ms = b->o.rate > 0 ? 0 : b->o.storm_ms;
	b->rep.rate = b->o.rate;
	b->rep.loss_pct = b->o.loss_pct;
	b->rep.clients = b->o.clients;
	b->rep.nns = b->o.nns;
	b->rep.rom = b->o.rom;
	b->rep.t0 = b->t0;
	b->rep.r = b->res;

	boot_server_begin(&b->rep.srv);
	cpu0 = cpu_self();
	io_loop(b);
	b->now = bench_mono_ns();
	boot_server_end(&b->rep.srv);
	b->rep.wall_s = (double)(b->now - b->t0) / 1e9;
	b->rep.client_cpu_s = cpu_self() - cpu0;
	b->rep.cnt = b->cnt;
	if (b->o.progress)
		boot_progress(&b->rep, b->now, true);
	for (unsigned i = 0; i < b->o.clients; i++)
		io_close(b, &b->c[i]);
	boot_net_teardown(&b->net);
	failed = boot_report_write(&b->rep, stdout, b->o.json, b->o.svg);
	return failed == 0 ? 0 : 1;
}
