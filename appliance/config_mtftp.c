/* The [mtftp] section of pxecast.conf: multicast TFTP (mtftp/mtftp.h).
 *
 *   [mtftp]
 *   groups = 239.255.1.0/24        RFC 2090 (tftm://): one group per running transfer
 *   port = 1758                    the data port on those groups
 *   ttl = 1
 *   pxe-file = undionly.kpxe 239.255.2.1    PXE MTFTP: a file and its group (repeat)
 *   pxe-listen = 0.0.0.0:1759      MTFTP-SPORT; pxe-client-port is MTFTP-CPORT
 *
 * The section switches MTFTP on (enable = no turns it off again); it
 * needs [tftp], whose port takes the RFC 2090 requests.
 */
#include "appliance/config_private.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static void mtftp_defaults(struct mtftp_server_config *m)
{
	memset(m, 0, sizeof(*m));
	m->enabled = true;
	m->group_first = htonl(0xefff0100); /* 239.255.1.0/24: site-local scope */
	m->group_count = 256;
	m->port = htons(1758);
	m->ttl = 1;
	m->window = 8;
	m->max_blksize = 1432;              /* what iPXE asks for; no IP fragments */
	m->max_clients = 256;
	m->timing.retransmit_ms = 1000;
	m->timing.retransmit_max_ms = 8000;
	m->timing.max_retries = 6;
	m->pxe_listen_ip = htonl(INADDR_ANY);
	m->pxe_server_port = htons(1759);
	m->pxe_client_port = htons(3001);   /* iPXE's mtftp:// defaults */
	m->pxe_open_timeout = 2;
	m->pxe_reopen_delay = 2;
}

static const char *open_mtftp(struct config *c, const char *arg)
{
	if (*arg)
		return "this section takes no name";
	if (!c->mtftp.enabled)
		mtftp_defaults(&c->mtftp);
	return NULL;
}

static bool is_multicast(uint32_t ip)
{
	return (ntohl(ip) >> 28) == 14;
}

/* "A.B.C.D/LEN": a multicast range of at most 4096 groups. */
static const char *parse_groups(const char *v, struct mtftp_server_config *m)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	uint64_t len;
	struct in_addr a;
	uint32_t mask;

	if (!slash || (size_t)(slash - v) >= sizeof(ip))
		return "expected a multicast range such as 239.255.1.0/24";
	memcpy(ip, v, (size_t)(slash - v));
	ip[slash - v] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1 || config_value_uint(slash + 1, 20, 32, &len))
		return "expected a multicast range such as 239.255.1.0/24 (prefix 20 to 32)";
	mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
	if (!is_multicast(a.s_addr) || (ntohl(a.s_addr) & ~mask))
		return "not a multicast network address";
	m->group_first = a.s_addr;
	m->group_count = 1u << (32 - len);
	return NULL;
}

static const char *parse_pxe_file(const char *v, struct mtftp_server_config *m)
{
	const char *sp = strrchr(v, ' ');
	struct mtftp_pxe_file *f;
	struct in_addr a;
	size_t n;

	if (!sp || inet_pton(AF_INET, sp + 1, &a) != 1 || !is_multicast(a.s_addr))
		return "expected FILE GROUP, e.g. undionly.kpxe 239.255.2.1";
	n = (size_t)(sp - v);
	while (n > 0 && v[n - 1] == ' ')
		n--;
	if (n == 0 || n >= MTFTP_PXE_NAME_MAX)
		return "file name empty or too long";
	if (m->npxe == MTFTP_PXE_FILES_MAX)
		return "too many pxe-file entries (16 at most)";
	for (unsigned i = 0; i < m->npxe; i++)
		if (m->pxe[i].group == a.s_addr)
			return "group already used by another pxe-file";
	f = &m->pxe[m->npxe++];
	memcpy(f->name, v, n);
	f->name[n] = '\0';
	f->group = a.s_addr;
	return NULL;
}

static const char *number(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	return config_value_uint(v, min, max, out);
}

static const char *set_mtftp(struct config *c, const char *key, const char *v)
{
	struct mtftp_server_config *m = &c->mtftp;
	const char *why = NULL;
	uint64_t n = 0;

	if (!strcmp(key, "enable"))
		return config_value_bool(v, &m->enabled);
	if (!strcmp(key, "groups"))
		return parse_groups(v, m);
	if (!strcmp(key, "pxe-file"))
		return parse_pxe_file(v, m);
	if (!strcmp(key, "pxe-listen"))
		return config_parse_endpoint(v, &m->pxe_listen_ip, &m->pxe_server_port)
			       ? "expected ADDR or ADDR:PORT" : NULL;
	if (!strcmp(key, "port") || !strcmp(key, "pxe-client-port")) {
		if (!(why = number(v, 1, 65535, &n)))
			*(!strcmp(key, "port") ? &m->port : &m->pxe_client_port) = htons((uint16_t)n);
	} else if (!strcmp(key, "ttl")) {
		if (!(why = number(v, 1, 255, &n)))
			m->ttl = (uint8_t)n;
	} else if (!strcmp(key, "window")) {
		if (!(why = number(v, 1, MTFTP_WINDOW_MAX, &n)))
			m->window = (uint16_t)n;
	} else if (!strcmp(key, "max-blksize")) {
		if (!(why = number(v, TFTP_BLKSIZE_DEFAULT, 1468, &n)))
			m->max_blksize = (uint16_t)n;
	} else if (!strcmp(key, "max-clients")) {
		if (!(why = number(v, 1, 65536, &n)))
			m->max_clients = (unsigned)n;
	} else if (!strcmp(key, "retransmit-ms")) {
		if (!(why = number(v, 10, 60000, &n)))
			m->timing.retransmit_ms = (uint32_t)n;
	} else if (!strcmp(key, "retransmit-max-ms")) {
		if (!(why = number(v, 10, 600000, &n)))
			m->timing.retransmit_max_ms = (uint32_t)n;
	} else if (!strcmp(key, "max-retries")) {
		if (!(why = number(v, 1, 100, &n)))
			m->timing.max_retries = (unsigned)n;
	} else if (!strcmp(key, "pxe-open-timeout") || !strcmp(key, "pxe-reopen-delay")) {
		if (!(why = number(v, 1, 255, &n)))
			*(!strcmp(key, "pxe-open-timeout") ? &m->pxe_open_timeout
							   : &m->pxe_reopen_delay) = (uint8_t)n;
	} else {
		return "unknown key";
	}
	return why;
}

const struct config_section config_mtftp_sections[] = {
	{ "mtftp", open_mtftp, set_mtftp },
};
const size_t config_mtftp_nsections = sizeof(config_mtftp_sections) / sizeof(config_mtftp_sections[0]);

int config_mtftp_validate(const struct config *c, char *err, size_t errlen)
{
	const struct mtftp_server_config *m = &c->mtftp;
	uint32_t first = ntohl(m->group_first);

	if (!m->enabled)
		return 0;
	if (!c->tftp_enabled) {
		snprintf(err, errlen, "[mtftp]: needs [tftp] (its root, and its port takes the requests)");
		return -1;
	}
	if (m->timing.retransmit_max_ms < m->timing.retransmit_ms) {
		snprintf(err, errlen, "[mtftp] retransmit-max-ms: smaller than retransmit-ms");
		return -1;
	}
	for (unsigned i = 0; i < m->npxe; i++) {
		uint32_t g = ntohl(m->pxe[i].group);

		if (g >= first && g - first < m->group_count) {
			snprintf(err, errlen, "[mtftp] pxe-file %s: its group is inside groups",
				 m->pxe[i].name);
			return -1;
		}
	}
	if (m->npxe && m->pxe_server_port == c->tftp.listen_port &&
	    (!m->pxe_listen_ip || !c->tftp.listen_ip || m->pxe_listen_ip == c->tftp.listen_ip)) {
		snprintf(err, errlen, "[mtftp] pxe-listen: the TFTP port");
		return -1;
	}
	return 0;
}

/* DHCP advertises a PXE MTFTP file's group and ports in option 43. */
static uint32_t pxe_group(const void *ctx, const char *file)
{
	return mtftp_pxe_group(ctx, file);
}

void config_mtftp_dhcp(const struct config *c, struct dhcp_mtftp *out)
{
	memset(out, 0, sizeof(*out));
	if (!c->mtftp.enabled || c->mtftp.npxe == 0)
		return;
	out->group_of = pxe_group;
	out->ctx = &c->mtftp;
	out->cport = c->mtftp.pxe_client_port;
	out->sport = c->mtftp.pxe_server_port;
	out->tmout = c->mtftp.pxe_open_timeout;
	out->delay = c->mtftp.pxe_reopen_delay;
}
