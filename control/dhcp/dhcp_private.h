/* Functions shared between the files of control/dhcp; not public API. */
#ifndef PXECAST_CONTROL_DHCP_PRIVATE_H
#define PXECAST_CONTROL_DHCP_PRIVATE_H

#include "control/dhcp/dhcp.h"

/* Content checks of the known options after joining (dhcp_options.c):
 * fills m->msgtype and m->maxsize, returns the first failed check. */
enum dhcp_err dhcp_msg_check_options(struct dhcp_msg *m);

#endif
