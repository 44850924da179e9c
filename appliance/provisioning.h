/* The daemon's side of per-host provisioning (control/hosts): the host and
 * profile tables built from the config, the token secret, and the HTTP
 * server's dynamic-response hook. */
#ifndef PXECAST_APPLIANCE_PROVISIONING_H
#define PXECAST_APPLIANCE_PROVISIONING_H

#include "appliance/config.h"

#include <stdio.h>

struct provisioning;

/* NULL with err set on failure. NULL with err "" when provisioning is off
 * (no templates directory configured and none installed). */
struct provisioning *provisioning_start(const struct config *c, char *err, size_t errlen);
void provisioning_free(struct provisioning *pv);
/* After a reload: pv's counters continue from old's (either may be NULL). */
void provisioning_carry(struct provisioning *pv, const struct provisioning *old);
/* Route h's dynamic responses to pv (pv may be NULL: files only). */
void provisioning_attach(struct provisioning *pv, struct http_server_config *h);
/* The same for TFTP: pxelinux.cfg/01-MAC, grub.cfg-01-MAC, boot/MAC.ipxe. */
void provisioning_attach_tftp(struct provisioning *pv, struct tftp_server_config *t);
void provisioning_write_metrics(const struct provisioning *pv, FILE *f);
/* The templates directory a config uses ("" when none). */
const char *provisioning_templates_dir(const struct config *c);

/* Compile every template c needs, touching no file (check-config). */
int provisioning_check(const struct config *c, char *err, size_t errlen);

/* `pxecast hosts [--config FILE] [--json]` (cmd_hosts.c). */
int provisioning_cmd_hosts(int argc, char **argv);

#endif
