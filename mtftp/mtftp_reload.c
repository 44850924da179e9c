/* SIGHUP for [mtftp]: the server takes the new settings for new requests
 * while transfers already running finish on the ones they started with,
 * as the TFTP server does. A transfer whose settings (and, for PXE, its
 * file's group) are unchanged stays open to new clients; any other is
 * retired: it serves the clients it has to the end and takes no new one,
 * and a request for its file starts a transfer on the new settings.
 * Retirement is worked out from each transfer's own settings, so applying
 * the old config again (a reload rejected further on) undoes it.
 */
#include "mtftp/mtftp.h"
#include "mtftp/mtftp_server_private.h"

#include "appliance/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

struct mtftp_settings mtftp_settings_of(const struct mtftp_server_config *cfg)
{
	struct mtftp_settings s;

	memset(&s, 0, sizeof(s)); /* compared with memcmp: no stray padding */
	s.group_first = cfg->group_first;
	s.group_count = cfg->group_count;
	s.port = cfg->port;
	s.ttl = cfg->ttl;
	s.window = cfg->window;
	s.max_blksize = cfg->max_blksize;
	s.max_clients = cfg->max_clients;
	s.retransmit_ms = cfg->timing.retransmit_ms;
	s.retransmit_max_ms = cfg->timing.retransmit_max_ms;
	s.max_retries = cfg->timing.max_retries;
	s.pxe_listen_ip = cfg->pxe_listen_ip;
	s.pxe_client_port = cfg->pxe_client_port;
	return s;
}

/* The index of x's file in cfg's PXE list with the group x sends to, or -1. */
static int pxe_index(const struct xfer *x, const struct mtftp_server_config *cfg)
{
	uint32_t group = mtftp_xfer_params(x->eng)->group.ip;

	for (unsigned i = 0; i < cfg->npxe; i++)
		if (!strcmp(cfg->pxe[i].name, x->name) && cfg->pxe[i].group == group)
			return (int)i;
	return -1;
}

int mtftp_server_reconfigure(struct mtftp_server *srv, const struct mtftp_server_config *cfg)
{
	const struct mtftp_server_config *old = &srv->cfg;
	struct mtftp_settings now = mtftp_settings_of(cfg);
	bool want_pxe = cfg->enabled && cfg->npxe > 0;
	int sock = want_pxe ? srv->pxe_sock : -1;
	unsigned retired = 0;

	/* The one step that can fail comes first: nothing changed if it does. */
	if (want_pxe && (sock < 0 || cfg->pxe_listen_ip != old->pxe_listen_ip ||
			 cfg->pxe_server_port != old->pxe_server_port)) {
		sock = mtftp_pxe_socket_open(srv, cfg);
		if (sock == -EADDRINUSE && srv->pxe_sock >= 0) {
			/* The running socket holds the port (0.0.0.0 to one address):
			 * let it go, and take it back if the new one still fails. */
			srv->t->ops->udp_close(srv->t, srv->pxe_sock);
			srv->pxe_sock = -1;
			sock = mtftp_pxe_socket_open(srv, cfg);
			if (sock < 0)
				srv->pxe_sock = mtftp_pxe_socket_open(srv, old);
		}
		if (sock < 0)
			return sock;
	}
	if (srv->pxe_sock >= 0 && srv->pxe_sock != sock)
		srv->t->ops->udp_close(srv->t, srv->pxe_sock);
	srv->pxe_sock = sock;

	memset(srv->group_used, 0, sizeof(srv->group_used));
	for (struct xfer *x = srv->xfers; x; x = x->next) {
		uint32_t off = ntohl(mtftp_xfer_params(x->eng)->group.ip) - ntohl(cfg->group_first);
		int k = x->pxe >= 0 ? pxe_index(x, cfg) : -1;

		/* Whatever sends to a group of the new pool keeps it from new transfers. */
		x->group_slot = -1;
		if (off < cfg->group_count && off < GROUPS_MAX) {
			srv->group_used[off] = 1;
			x->group_slot = (int)off;
		}
		x->retired = !cfg->enabled || memcmp(&x->settings, &now, sizeof(now)) ||
			     (x->pxe >= 0 && k < 0);
		if (x->pxe >= 0 && k >= 0)
			x->pxe = k;
		retired += x->retired;
	}
	srv->cfg = *cfg;
	mtftp_hook_tftp(srv, cfg->enabled);
	log_event(LOG_INFO, "mtftp.reload", "enabled=%s transfers=%llu retired=%u pxe_files=%u",
		  cfg->enabled ? "yes" : "no", (unsigned long long)srv->c.transfers_active, retired,
		  cfg->enabled ? cfg->npxe : 0);
	return 0;
}
