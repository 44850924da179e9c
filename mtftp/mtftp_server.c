/* The MTFTP server: engine transfers over the transport and the content
 * store. RFC 2090 requests arrive through the TFTP server's multicast hook
 * (they are RRQs on the TFTP port); PXE MTFTP opens on a port of their own.
 * Each transfer has one socket: its OACKs, its DATA to the group and the
 * master's ACKs all use it, so clients see one TFTP peer (iPXE drops
 * packets from any other source port).
 */
#include "mtftp/mtftp.h"
#include "mtftp/mtftp_server_private.h"

#include "appliance/log.h"
#include "dataplane/timer_heap.h"
#include "imager/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void add_stats(struct mtftp_stats *a, const struct mtftp_stats *b)
{
	a->blocks_sent += b->blocks_sent;
	a->bytes_sent += b->bytes_sent;
	a->retransmits += b->retransmits;
	a->deaf_masters += b->deaf_masters;
	a->promotions += b->promotions;
	a->masters_done += b->masters_done;
	a->masters_lost += b->masters_lost;
	a->dropped_not_member += b->dropped_not_member;
	a->dropped_not_master += b->dropped_not_master;
	a->dropped_past_end += b->dropped_past_end;
	a->dropped_malformed += b->dropped_malformed;
	a->opens_ignored += b->opens_ignored;
}

static void format_addr(char *buf, size_t len, const struct net_addr *a)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(a->port));
}

static void xfer_end(struct xfer *x)
{
	struct mtftp_server *srv = x->srv;
	const struct mtftp_stats *st = mtftp_xfer_stats(x->eng);
	double secs = (double)(transport_now_us() - x->started_us) / 1e6;
	char group[32];
	struct xfer **pp = &srv->xfers;

	format_addr(group, sizeof(group), &mtftp_xfer_params(x->eng)->group);
	log_event(LOG_INFO, "mtftp.done",
		  "file=%s mode=%s group=%s seconds=%.3f blocks_sent=%llu retransmits=%llu "
		  "masters_done=%llu masters_lost=%llu promotions=%llu deaf_masters=%llu",
		  x->logname, x->pxe >= 0 ? "pxe" : "rfc2090", group, secs,
		  (unsigned long long)st->blocks_sent, (unsigned long long)st->retransmits,
		  (unsigned long long)st->masters_done, (unsigned long long)st->masters_lost,
		  (unsigned long long)st->promotions, (unsigned long long)st->deaf_masters);
	add_stats(&srv->c.s, st);
	while (*pp && *pp != x)
		pp = &(*pp)->next;
	if (*pp)
		*pp = x->next;
	timer_heap_set(&srv->timers, &x->timer, UINT64_MAX);
	if (x->sock >= 0)
		srv->t->ops->udp_close(srv->t, x->sock);
	if (x->group_slot >= 0)
		srv->group_used[x->group_slot] = 0;
	store_object_put(x->obj);
	mtftp_xfer_free(x->eng);
	srv->c.transfers_active--;
	free(x);
}

/* Send what the engine asked: runs of DATA to one destination go out
 * together (GSO). Ends the transfer when it is over. */
static void xfer_apply(struct xfer *x, struct mtftp_output *out)
{
	struct mtftp_server *srv = x->srv;
	unsigned blksize = mtftp_xfer_params(x->eng)->blksize;

	for (unsigned i = 0; i < out->n;) {
		unsigned n = 1;

		if (out->act[i].kind == TFTP_ACT_PACKET) {
			tftp_send_packet(srv->tx, x->sock, &out->to[i], out->ctl, out->ctl_len);
			i++;
			continue;
		}
		while (i + n < out->n && out->act[i + n].kind == TFTP_ACT_DATA &&
		       out->to[i + n].ip == out->to[i].ip && out->to[i + n].port == out->to[i].port)
			n++;
		if (tftp_send_data(srv->tx, x->sock, &out->to[i], x->obj, &out->act[i], n,
				   blksize) < 0)
			log_event(LOG_WARN, "mtftp.read", "file=%s error=\"read failed\"",
				  x->logname);
		i += n;
	}
	if (mtftp_xfer_finished(x->eng)) {
		xfer_end(x);
		return;
	}
	timer_heap_set(&srv->timers, &x->timer, mtftp_xfer_deadline(x->eng));
}

static void on_xfer_packet(void *ctx, int sock, const struct transport_meta *meta,
			   const uint8_t *buf, size_t len)
{
	struct xfer *x = ctx;
	struct mtftp_output out;

	(void)sock;
	mtftp_xfer_input(x->eng, transport_now_us(), &meta->from, buf, len, &out);
	xfer_apply(x, &out);
}

static int group_alloc(struct mtftp_server *srv)
{
	for (unsigned i = 0; i < srv->cfg.group_count && i < GROUPS_MAX; i++)
		if (!srv->group_used[i]) {
			srv->group_used[i] = 1;
			return (int)i;
		}
	return -1;
}

/* A transfer with its socket, bound to the address the request reached so
 * clients see the server they asked, and multicast leaves by it. */
static struct xfer *xfer_new(struct mtftp_server *srv, const struct transport_meta *meta,
			     struct store_object *obj, const char *name, size_t name_len,
			     const struct mtftp_params *p, int pxe, int slot)
{
	struct xfer *x = calloc(1, sizeof(*x));
	struct transport_udp_opts o = {
		.bind = { .ip = pxe >= 0 && srv->cfg.pxe_listen_ip ? srv->cfg.pxe_listen_ip
								   : meta->to.ip },
		.multicast_ttl = srv->cfg.ttl ? srv->cfg.ttl : 1,
		.on_recv = on_xfer_packet,
	};

	if (!x)
		return NULL;
	x->srv = srv;
	x->obj = obj;
	x->pxe = pxe;
	x->group_slot = slot;
	x->settings = mtftp_settings_of(&srv->cfg);
	x->timer.deadline = UINT64_MAX;
	x->started_us = transport_now_us();
	memcpy(x->name, name, name_len);
	x->name[name_len] = '\0';
	log_sanitize(x->logname, sizeof(x->logname), name, name_len);
	x->eng = mtftp_xfer_new(p, &srv->cfg.timing);
	o.ctx = x;
	x->sock = x->eng ? srv->t->ops->udp_open(srv->t, &o, NULL) : -ENOMEM;
	if (x->sock < 0) {
		mtftp_xfer_free(x->eng);
		free(x);
		return NULL;
	}
	x->next = srv->xfers;
	srv->xfers = x;
	srv->c.transfers_started++;
	srv->c.transfers_active++;
	return x;
}

static bool same_object(const struct xfer *x, const struct store_object *obj)
{
	return x->obj == obj ||
	       (store_object_size(x->obj) == store_object_size(obj) &&
		store_object_mtime(x->obj) == store_object_mtime(obj));
}

/* ---- RFC 2090: RRQs with the multicast option, from the TFTP server ---- */

static bool on_multicast_rrq(void *ctx, const struct transport_meta *meta,
			     const struct tftp_request *req)
{
	struct mtftp_server *srv = ctx;
	struct tftp_limits lim = { .max_blksize = srv->cfg.max_blksize, .max_window = 1 };
	struct tftp_request sizes = *req;
	uint8_t oack[TFTP_OACK_MAX];
	struct tftp_params params;
	struct mtftp_output out;
	struct store_object *obj;
	struct xfer *x;
	unsigned ignored;
	size_t oack_len;

	if (req->mode != TFTP_MODE_OCTET) {
		srv->c.unicast_fallbacks++;
		return false;
	}
	if (store_open(srv->store, req->filename, req->filename_len, STORE_BACKSLASH_IS_SLASH,
		       &obj) != STORE_OK) {
		srv->c.unknown_files++;
		return false; /* the TFTP server answers with the right error */
	}
	/* Only blksize and tsize are per client; the transfer sets the pace. */
	sizes.nopts = 0;
	for (unsigned i = 0; i < req->nopts; i++)
		if (!strcasecmp(req->opts[i].name, "blksize") ||
		    !strcasecmp(req->opts[i].name, "tsize"))
			sizes.opts[sizes.nopts++] = req->opts[i];
	if (tftp_negotiate(&sizes, false, store_object_size(obj), &lim, &params, oack, &oack_len,
			   &ignored) != TFTP_NEG_OK ||
	    store_object_size(obj) / params.blksize + 1 > MTFTP_MAX_BLOCKS) {
		srv->c.unicast_fallbacks++;
		store_object_put(obj);
		return false;
	}
	if (oack_len == 0) { /* no options: the OACK carries multicast alone */
		oack[0] = 0;
		oack[1] = TFTP_OACK;
		oack_len = 2;
	}
	for (x = srv->xfers; x; x = x->next)
		if (x->pxe < 0 && !x->retired && !strcmp(x->name, req->filename) &&
		    mtftp_xfer_params(x->eng)->blksize == params.blksize && same_object(x, obj))
			break;
	if (!x) {
		int slot = group_alloc(srv);
		struct mtftp_params p = {
			.mode = MTFTP_MODE_RFC2090,
			.blksize = params.blksize,
			.window = srv->cfg.window,
			.size = store_object_size(obj),
			.group = { htonl(ntohl(srv->cfg.group_first) + (uint32_t)slot), srv->cfg.port },
			.max_clients = srv->cfg.max_clients,
			.keepalive_ms = 2000, /* iPXE listeners give up after ~16 s */
		};

		if (slot < 0 || !(x = xfer_new(srv, meta, obj, req->filename, req->filename_len,
					       &p, -1, slot))) {
			if (slot >= 0)
				srv->group_used[slot] = 0;
			srv->c.unicast_fallbacks++;
			store_object_put(obj);
			return false;
		}
		obj = NULL;
	}
	store_object_put(obj);
	if (!mtftp_xfer_join(x->eng, transport_now_us(), &meta->from, oack, oack_len, &out)) {
		srv->c.unicast_fallbacks++;
		if (mtftp_xfer_clients(x->eng) == 0)
			xfer_end(x);
		return false;
	}
	srv->c.requests++;
	xfer_apply(x, &out);
	return true;
}

/* ---- PXE MTFTP: opens on the MTFTP server port ---- */

static void on_pxe_request(void *ctx, int sock, const struct transport_meta *meta,
			   const uint8_t *buf, size_t len)
{
	struct mtftp_server *srv = ctx;
	struct tftp_packet pkt;
	struct mtftp_output out;
	struct store_object *obj;
	struct xfer *x;
	int k = -1;

	(void)sock;
	if (tftp_parse(buf, len, &pkt) != TFTP_PARSE_OK || pkt.opcode != TFTP_RRQ ||
	    pkt.u.req.mode != TFTP_MODE_OCTET) {
		srv->c.bad_requests++;
		if (len >= 2 && (buf[0] != 0 || buf[1] != TFTP_ERROR))
			tftp_send_error(srv->tx, srv->pxe_sock, &meta->from, TFTP_ERR_ILLEGAL_OP,
					"MTFTP serves octet RRQs only");
		return;
	}
	for (unsigned i = 0; i < srv->cfg.npxe; i++)
		if (!strcmp(srv->cfg.pxe[i].name, pkt.u.req.filename))
			k = (int)i;
	if (k < 0 || store_open(srv->store, pkt.u.req.filename, pkt.u.req.filename_len,
				STORE_BACKSLASH_IS_SLASH, &obj) != STORE_OK) {
		srv->c.unknown_files++;
		tftp_send_error(srv->tx, srv->pxe_sock, &meta->from, TFTP_ERR_NOT_FOUND,
				"not an MTFTP file");
		return;
	}
	for (x = srv->xfers; x && (x->pxe != k || x->retired); x = x->next)
		;
	if (x) {
		store_object_put(obj);
	} else {
		struct mtftp_params p = {
			.mode = MTFTP_MODE_PXE,
			.blksize = TFTP_BLKSIZE_DEFAULT, /* a PXE open carries no options */
			.window = srv->cfg.window,
			.size = store_object_size(obj),
			.group = { srv->cfg.pxe[k].group, srv->cfg.pxe_client_port },
		};

		if (p.size / p.blksize + 1 > MTFTP_MAX_BLOCKS ||
		    !(x = xfer_new(srv, meta, obj, pkt.u.req.filename, pkt.u.req.filename_len, &p,
				   k, -1))) {
			srv->c.unicast_fallbacks++;
			tftp_send_error(srv->tx, srv->pxe_sock, &meta->from, TFTP_ERR_UNDEFINED,
					"cannot serve this file by MTFTP");
			store_object_put(obj);
			return;
		}
	}
	if (mtftp_xfer_open(x->eng, transport_now_us(), &meta->from, &out))
		srv->c.pxe_opens++;
	xfer_apply(x, &out);
}

uint32_t mtftp_pxe_group(const struct mtftp_server_config *cfg, const char *name)
{
	for (unsigned i = 0; cfg && cfg->enabled && i < cfg->npxe; i++)
		if (!strcmp(cfg->pxe[i].name, name))
			return cfg->pxe[i].group;
	return 0;
}

int mtftp_pxe_socket_open(struct mtftp_server *srv, const struct mtftp_server_config *cfg)
{
	struct transport_udp_opts o = {
		.bind = { cfg->pxe_listen_ip, cfg->pxe_server_port },
		.on_recv = on_pxe_request,
		.ctx = srv,
	};

	return srv->t->ops->udp_open(srv->t, &o, NULL);
}

void mtftp_hook_tftp(struct mtftp_server *srv, bool on)
{
	if (srv->tftp)
		tftp_server_set_multicast(srv->tftp, on ? on_multicast_rrq : NULL, on ? srv : NULL);
}

struct mtftp_server *mtftp_server_new(struct transport *t, struct store *st,
				      struct tftp_server *tftp,
				      const struct mtftp_server_config *cfg)
{
	struct mtftp_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->t = t;
	srv->store = st;
	srv->tftp = tftp;
	srv->cfg = *cfg;
	srv->pxe_sock = -1;
	timer_heap_init(&srv->timers);
	srv->tx = tftp_sender_new(t);
	if (!srv->tx || (cfg->enabled && cfg->npxe > 0 &&
			 (srv->pxe_sock = mtftp_pxe_socket_open(srv, cfg)) < 0)) {
		errno = srv->tx ? -srv->pxe_sock : ENOMEM;
		tftp_sender_free(srv->tx);
		free(srv);
		return NULL;
	}
	mtftp_hook_tftp(srv, cfg->enabled);
	return srv;
}

void mtftp_server_free(struct mtftp_server *srv)
{
	if (!srv)
		return;
	mtftp_hook_tftp(srv, false);
	while (srv->xfers)
		xfer_end(srv->xfers);
	if (srv->pxe_sock >= 0)
		srv->t->ops->udp_close(srv->t, srv->pxe_sock);
	tftp_sender_free(srv->tx);
	timer_heap_free(&srv->timers);
	free(srv);
}

uint64_t mtftp_server_tick(struct mtftp_server *srv, uint64_t now_us)
{
	struct timer_node *t;

	if (!srv)
		return UINT64_MAX;
	while ((t = timer_heap_peek(&srv->timers)) && t->deadline <= now_us) {
		struct xfer *x = (struct xfer *)((char *)t - offsetof(struct xfer, timer));
		struct mtftp_output out;

		mtftp_xfer_tick(x->eng, now_us, &out);
		xfer_apply(x, &out);
	}
	t = timer_heap_peek(&srv->timers);
	return t ? t->deadline : UINT64_MAX;
}

void mtftp_server_counters(const struct mtftp_server *srv, struct mtftp_counters *out)
{
	*out = srv->c;
	for (const struct xfer *x = srv->xfers; x; x = x->next)
		add_stats(&out->s, mtftp_xfer_stats(x->eng));
}

void mtftp_server_write_metrics(const struct mtftp_server *srv, FILE *f)
{
	struct mtftp_counters c;

	if (!srv)
		return;
	mtftp_server_counters(srv, &c);
#define M(name, v) fprintf(f, "pxecast_mtftp_" name " %llu\n", (unsigned long long)(v))
	M("requests_total", c.requests);
	M("pxe_opens_total", c.pxe_opens);
	M("transfers_started_total", c.transfers_started);
	M("transfers_active", c.transfers_active);
	M("unicast_fallbacks_total", c.unicast_fallbacks);
	M("unknown_files_total", c.unknown_files);
	M("bad_requests_total", c.bad_requests);
	M("blocks_sent_total", c.s.blocks_sent);
	M("bytes_sent_total", c.s.bytes_sent);
	M("retransmits_total", c.s.retransmits);
	M("deaf_masters_total", c.s.deaf_masters);
	M("promotions_total", c.s.promotions);
	M("masters_done_total", c.s.masters_done);
	M("masters_lost_total", c.s.masters_lost);
	M("dropped_not_member_total", c.s.dropped_not_member);
	M("dropped_not_master_total", c.s.dropped_not_master);
	M("dropped_past_end_total", c.s.dropped_past_end);
	M("dropped_malformed_total", c.s.dropped_malformed);
	M("opens_ignored_total", c.s.opens_ignored);
#undef M
}
