/* Functions shared between the files of control/dhcp; not public API. */
#ifndef PXECAST_CONTROL_DHCP_PRIVATE_H
#define PXECAST_CONTROL_DHCP_PRIVATE_H

#include "control/dhcp/dhcp.h"

/* Content checks of the known options after joining (dhcp_options.c):
 * fills m->msgtype and m->maxsize, returns the first failed check. */
enum dhcp_err dhcp_msg_check_options(struct dhcp_msg *m);

/* Lease journal rows (dhcp_journal.c). */
#define DHCP_JOURNAL_ROW_MAX 256
/* Format e as one row with its newline; returns the length (< cap). */
size_t dhcp_journal_format(char *buf, size_t cap, const struct dhcp_lease *e);

/* Table internals used by the journal (dhcp_leases.c). */
int dhcp_leases_apply(struct dhcp_leases *l, int64_t now,
		      const struct dhcp_lease *e, bool journal);
void dhcp_leases_mark_durable(struct dhcp_leases *l);
struct dhcp_leases_stats *dhcp_leases_stats_mut(struct dhcp_leases *l);

#endif
