/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pxecast-bench results: text table, JSON, SVG plot, progress bar, and
 * the server's CPU and memory read from /proc. */
#include "boot_run.h"
#include "bench_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const boot_phase_name[PH_COUNT] = {
	"dhcp", "tftp", "ipxe_dhcp", "script", "kernel", "initrd", "multicast",
};
const char *const boot_reason_name[R_COUNT] = {
	"timeout", "nak", "error", "size", "protocol", "socket", "status",
	"closed", "no_bootfile", "deadline",
};

/* ---------------------------------------------------------------- server */

static bool proc_cpu_ticks(int pid, uint64_t *ticks)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return false;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return false;
	*ticks = ut + st;
	return true;
}

static uint64_t proc_status_kb(int pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			sscanf(line + kl + 1, "%llu", &v);
			break;
		}
	fclose(f);
	return v;
}

static uint64_t cpu_begin[16];

void boot_server_begin(struct boot_server_stats *s)
{
	for (unsigned i = 0; i < s->npids; i++)
		if (!proc_cpu_ticks(s->pids[i], &cpu_begin[i]))
			cpu_begin[i] = 0;
	boot_server_sample(s);
}

void boot_server_sample(struct boot_server_stats *s)
{
	uint64_t rss = 0;

	for (unsigned i = 0; i < s->npids; i++)
		rss += proc_status_kb(s->pids[i], "VmRSS");
	if (rss > s->peak_rss_kb)
		s->peak_rss_kb = rss;
}

void boot_server_end(struct boot_server_stats *s)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ticks = 0, t;

	boot_server_sample(s);
	s->hwm_kb = 0;
	for (unsigned i = 0; i < s->npids; i++) {
		if (proc_cpu_ticks(s->pids[i], &t) && t >= cpu_begin[i])
			ticks += t - cpu_begin[i];
		s->hwm_kb += proc_status_kb(s->pids[i], "VmHWM");
	}
	s->cpu_s = (double)ticks / (double)(hz > 0 ? hz : 100);
}

/* ---------------------------------------------------------------- stats */

struct dist {
	size_t n;
	uint64_t p50, p90, p99, max;
	uint64_t *sorted;   /* owned */
};

/* durations from t[from] to t[to] of clients that reached both */
static void dist_make(const struct boot_report *rep, unsigned from, unsigned to,
		      struct dist *d)
{
	memset(d, 0, sizeof(*d));
	d->sorted = calloc(rep->clients ? rep->clients : 1, sizeof(uint64_t));
	if (d->sorted == NULL)
		return;
	for (unsigned i = 0; i < rep->clients; i++) {
		const struct boot_result *r = &rep->r[i];

		if (r->t[from] && r->t[to])
			d->sorted[d->n++] = r->t[to] - r->t[from];
	}
	qsort(d->sorted, d->n, sizeof(uint64_t), bench_cmp_u64);
	d->p50 = bench_pct(d->sorted, d->n, 50);
	d->p90 = bench_pct(d->sorted, d->n, 90);
	d->p99 = bench_pct(d->sorted, d->n, 99);
	d->max = d->n ? d->sorted[d->n - 1] : 0;
}

static double sec(uint64_t ns) { return (double)ns / 1e9; }

static void text_row(FILE *f, const char *name, const struct dist *d)
{
	fprintf(f, "%-16s %5zu %8.3f %8.3f %8.3f %8.3f\n", name, d->n, sec(d->p50),
		sec(d->p90), sec(d->p99), sec(d->max));
}

static void json_dist(FILE *f, const char *name, const struct dist *d, bool comma)
{
	fprintf(f, "\"%s\":{\"n\":%zu,\"p50\":%.6f,\"p90\":%.6f,\"p99\":%.6f,\"max\":%.6f}%s",
		name, d->n, sec(d->p50), sec(d->p90), sec(d->p99), sec(d->max),
		comma ? "," : "");
}

/* ---------------------------------------------------------------- SVG */

static void svg_series(FILE *f, const struct boot_report *rep, unsigned ti,
		       bool fails, double x0, double y0, double w, double h,
		       double tmax, const char *colour, const char *label, int ly)
{
	uint64_t *v = calloc(rep->clients ? rep->clients : 1, sizeof(uint64_t));
	size_t n = 0;

	if (v == NULL)
		return;
	for (unsigned i = 0; i < rep->clients; i++) {
		const struct boot_result *r = &rep->r[i];

		if (fails ? r->failed && r->t[0] : r->t[ti] != 0)
			v[n++] = fails ? r->t[0] - rep->t0 : r->t[ti] - rep->t0;
	}
	qsort(v, n, sizeof(uint64_t), bench_cmp_u64);
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%.1f,%.1f",
		colour, x0, y0 + h);
	for (size_t k = 0; k < n; k++) {
		double x = x0 + w * sec(v[k]) / tmax;
		double yb = y0 + h - h * (double)k / rep->clients;
		double ya = y0 + h - h * (double)(k + 1) / rep->clients;

		fprintf(f, " %.1f,%.1f %.1f,%.1f", x, yb, x, ya);
	}
	fprintf(f, " %.1f,%.1f\"/>\n", x0 + w, y0 + h - h * (double)n / rep->clients);
	fprintf(f, "<text x=\"%.0f\" y=\"%d\" fill=\"%s\">%s (%zu)</text>\n",
		x0 + 10, ly, colour, label, n);
	free(v);
}

static void write_svg(const struct boot_report *rep, const char *path)
{
	FILE *f = fopen(path, "w");
	const double x0 = 70, y0 = 40, w = 680, h = 300;
	double tmax = rep->wall_s > 0 ? rep->wall_s : 1;

	if (f == NULL) {
		perror(path);
		return;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"400\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"800\" height=\"400\" fill=\"white\"/>\n"
		"<text x=\"70\" y=\"22\" font-size=\"14\">%s: %u clients, completions over time</text>\n"
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#888\"/>\n",
		rep->target ? rep->target : "pxecast-bench", rep->clients, x0, y0, w, h);
	for (int k = 0; k <= 5; k++) {
		double x = x0 + w * k / 5, y = y0 + h - h * k / 5;

		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%.1f s</text>\n"
			"<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>\n"
			"<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#eee\"/>\n",
			x, y0 + h + 18, tmax * k / 5, x0 - 6, y + 4,
			(double)rep->clients * k / 5, x0, y, x0 + w, y);
	}
	svg_series(f, rep, PH_DHCP + 1, false, x0, y0, w, h, tmax, "#1f77b4", "DHCP bound", 60);
	svg_series(f, rep, PH_TFTP + 1, false, x0, y0, w, h, tmax, "#ff7f0e", "boot file", 76);
	svg_series(f, rep, PH_KERNEL + 1, false, x0, y0, w, h, tmax, "#2ca02c", "kernel", 92);
	svg_series(f, rep, PH_INITRD + 1, false, x0, y0, w, h, tmax, "#9467bd", "initrd", 108);
	svg_series(f, rep, 0, true, x0, y0, w, h, tmax, "#d62728", "failed (by start)", 124);
	fprintf(f, "</svg>\n");
	fclose(f);
}

/* ---------------------------------------------------------------- report */

unsigned boot_report_write(const struct boot_report *rep, FILE *f,
			   const char *json, const char *svg)
{
	struct dist d[PH_COUNT], ttk, ttb;
	unsigned fails[PH_COUNT][R_COUNT] = { { 0 } };
	unsigned nfail = 0, done = 0;
	uint64_t bytes[PH_COUNT] = { 0 };
	double cpu_pct = rep->wall_s > 0 ? 100.0 * rep->srv.cpu_s / rep->wall_s : 0;

	for (unsigned p = 0; p < PH_COUNT; p++)
		dist_make(rep, p, p + 1, &d[p]);
	dist_make(rep, 0, PH_KERNEL + 1, &ttk);
	dist_make(rep, 0, PH_INITRD + 1, &ttb);
	for (unsigned i = 0; i < rep->clients; i++) {
		const struct boot_result *r = &rep->r[i];

		if (r->failed) {
			nfail++;
			fails[r->fail_phase][r->fail_reason]++;
		} else if (r->t[PH_KERNEL + 1]) {
			done++;
		}
		for (unsigned p = 0; p < PH_COUNT; p++)
			bytes[p] += r->bytes[p];
	}

	fprintf(f, "pxecast-bench: %s: %u clients (%s), %s, loss %.2f%%, %u namespaces, %.1f s\n",
		rep->target ? rep->target : "-", rep->clients, rep->rom, rep->workload,
		rep->loss_pct, rep->nns, rep->wall_s);
	fprintf(f, "%-16s %5s %8s %8s %8s %8s   (seconds)\n", "phase", "n", "p50", "p90",
		"p99", "max");
	for (unsigned p = 0; p < PH_COUNT; p++)
		text_row(f, boot_phase_name[p], &d[p]);
	text_row(f, "time-to-kernel", &ttk);
	text_row(f, "time-to-initrd", &ttb);
	fprintf(f, "reached the kernel: %u/%u, failed: %u\n", ttk.n > done ? (unsigned)ttk.n : done,
		rep->clients, nfail);
	if (ttk.n > 0) {
		fprintf(f, "time-to-kernel deciles:");
		for (int q = 10; q <= 100; q += 10)
			fprintf(f, " %.2f", sec(bench_pct(ttk.sorted, ttk.n, q)));
		fprintf(f, "\n");
	}
	for (unsigned p = 0; p < PH_COUNT; p++)
		for (unsigned k = 0; k < R_COUNT; k++)
			if (fails[p][k])
				fprintf(f, "  failed in %s: %s x%u\n", boot_phase_name[p],
					boot_reason_name[k], fails[p][k]);
	fprintf(f, "server: cpu %.2f s (%.0f%% of one core over the run), peak rss %llu KiB "
		"(sampled every 100 ms; VmHWM %llu KiB)\n", rep->srv.cpu_s, cpu_pct,
		(unsigned long long)rep->srv.peak_rss_kb, (unsigned long long)rep->srv.hwm_kb);
	fprintf(f, "client: cpu %.2f s; dhcp sent %llu (retransmitted %llu, NAKs %llu); "
		"tftp retransmissions %llu, gaps %llu; http connections %llu; "
		"sends dropped %llu\n", rep->client_cpu_s,
		(unsigned long long)rep->cnt.dhcp_tx, (unsigned long long)rep->cnt.dhcp_retx,
		(unsigned long long)rep->cnt.dhcp_naks, (unsigned long long)rep->cnt.tftp_retx,
		(unsigned long long)rep->cnt.tftp_gaps, (unsigned long long)rep->cnt.http_connects,
		(unsigned long long)rep->cnt.tx_dropped);

	if (json != NULL) {
		FILE *j = strcmp(json, "-") == 0 ? stdout : fopen(json, "w");

		if (j == NULL) {
			perror(json);
		} else {
			fprintf(j, "{\"target\":\"%s\",\"clients\":%u,\"rom\":\"%s\","
				"\"workload\":\"%s\",\"storm_ms\":%.1f,\"rate\":%.3f,"
				"\"loss_pct\":%.3f,\"namespaces\":%u,\"wall_s\":%.3f,"
				"\"reached_kernel\":%zu,\"completed\":%zu,\"failed\":%u,\"phases\":{",
				rep->target ? rep->target : "", rep->clients, rep->rom,
				rep->workload, rep->storm_ms, rep->rate, rep->loss_pct, rep->nns,
				rep->wall_s, ttk.n, ttb.n, nfail);
			for (unsigned p = 0; p < PH_COUNT; p++)
				json_dist(j, boot_phase_name[p], &d[p], p + 1 < PH_COUNT);
			fprintf(j, "},");
			json_dist(j, "time_to_kernel", &ttk, true);
			json_dist(j, "time_to_initrd", &ttb, true);
			fprintf(j, "\"time_to_kernel_deciles\":[");
			for (int q = 10; q <= 100; q += 10)
				fprintf(j, "%.6f%s", sec(bench_pct(ttk.sorted, ttk.n, q)),
					q < 100 ? "," : "");
			fprintf(j, "],\"failures\":{");
			bool first = true;
			for (unsigned p = 0; p < PH_COUNT; p++)
				for (unsigned k = 0; k < R_COUNT; k++)
					if (fails[p][k]) {
						fprintf(j, "%s\"%s:%s\":%u", first ? "" : ",",
							boot_phase_name[p], boot_reason_name[k],
							fails[p][k]);
						first = false;
					}
			fprintf(j, "},\"bytes\":{");
			for (unsigned p = 0; p < PH_COUNT; p++)
				fprintf(j, "\"%s\":%llu%s", boot_phase_name[p],
					(unsigned long long)bytes[p], p + 1 < PH_COUNT ? "," : "");
			fprintf(j, "},\"server\":{\"pids\":%u,\"cpu_s\":%.3f,\"cpu_pct\":%.1f,"
				"\"peak_rss_kb\":%llu,\"hwm_kb\":%llu},\"client_cpu_s\":%.3f,"
				"\"counters\":{\"dhcp_tx\":%llu,\"dhcp_retx\":%llu,\"dhcp_naks\":%llu,"
				"\"dhcp_stray\":%llu,\"tftp_retx\":%llu,\"tftp_gaps\":%llu,"
				"\"tftp_dups\":%llu,\"http_connects\":%llu,\"tx_dropped\":%llu,"
				"\"tx_errors\":%llu}}\n",
				rep->srv.npids, rep->srv.cpu_s, cpu_pct,
				(unsigned long long)rep->srv.peak_rss_kb,
				(unsigned long long)rep->srv.hwm_kb, rep->client_cpu_s,
				(unsigned long long)rep->cnt.dhcp_tx,
				(unsigned long long)rep->cnt.dhcp_retx,
				(unsigned long long)rep->cnt.dhcp_naks,
				(unsigned long long)rep->cnt.dhcp_stray,
				(unsigned long long)rep->cnt.tftp_retx,
				(unsigned long long)rep->cnt.tftp_gaps,
				(unsigned long long)rep->cnt.tftp_dups,
				(unsigned long long)rep->cnt.http_connects,
				(unsigned long long)rep->cnt.tx_dropped,
				(unsigned long long)rep->cnt.tx_errors);
			if (j != stdout)
				fclose(j);
		}
	}
	if (svg != NULL)
		write_svg(rep, svg);
	for (unsigned p = 0; p < PH_COUNT; p++)
		free(d[p].sorted);
	free(ttk.sorted);
	free(ttb.sorted);
	return nfail;
}

void boot_progress(const struct boot_report *rep, uint64_t now, bool final)
{
	unsigned started = 0, dhcp = 0, tftp = 0, http = 0, kernel = 0, done = 0, failed = 0;
	char bar[41];
	unsigned fill;

	for (unsigned i = 0; i < rep->clients; i++) {
		const struct boot_result *r = &rep->r[i];

		if (!r->t[0])
			continue;
		started++;
		if (r->failed)
			failed++;
		else if (r->t[PH_INITRD + 1])
			done++;
		else if (!r->t[PH_DHCP + 1])
			dhcp++;
		else if (!r->t[PH_TFTP + 1])
			tftp++;
		else if (!r->t[PH_IPXE_DHCP + 1])
			dhcp++;
		else
			http++;
		if (r->t[PH_KERNEL + 1])
			kernel++;
	}
	fill = rep->clients ? 40u * kernel / rep->clients : 0;
	memset(bar, '#', fill);
	memset(bar + fill, '.', 40 - fill);
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] kernel %u/%u  dhcp %u tftp %u http %u  done %u failed %u  %.1f s%s",
		bar, kernel, rep->clients, dhcp, tftp, http, done, failed,
		now > rep->t0 ? sec(now - rep->t0) : 0.0, final ? "\n" : " ");
	(void)started;
}
