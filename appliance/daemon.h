/* The pxecast daemon: wires config, transport, content store and servers
 * into one event loop. */
#ifndef PXECAST_APPLIANCE_DAEMON_H
#define PXECAST_APPLIANCE_DAEMON_H

#include "appliance/config.h"

/* Runs until SIGINT/SIGTERM. config_path (may be NULL) is re-read on
 * SIGHUP, with the command-line overrides applied again by reapply.
 * The DHCP tables of initial pass to the daemon, which frees them.
 * Returns the process exit status. */
int daemon_run(const char *config_path, const struct config *initial,
	       void (*reapply)(struct config *c));

#endif
