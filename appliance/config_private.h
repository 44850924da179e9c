/* Shared between config.c and config_dhcp.c; not public API. */
#ifndef PXECAST_APPLIANCE_CONFIG_PRIVATE_H
#define PXECAST_APPLIANCE_CONFIG_PRIVATE_H

#include "appliance/config.h"

/* Value parsers: NULL, or why the value is wrong. */
const char *config_value_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out);
const char *config_value_path(const char *v, char *out);
const char *config_value_bool(const char *v, bool *out);

/* A section: open() sees the text after the name ("" when none) and
 * starts a new item; set() takes one key of it. */
struct config_section {
	const char *name;
	const char *(*open)(struct config *c, const char *arg);
	const char *(*set)(struct config *c, const char *key, const char *value);
};

extern const struct config_section config_dhcp_sections[];
extern const size_t config_dhcp_nsections;

extern const struct config_section config_image_sections[];
extern const size_t config_image_nsections;
const char *config_multicast_open(struct config *c, const char *arg);
const char *config_multicast_set(struct config *c, const char *key, const char *value);
void config_multicast_free(struct config_multicast *m);
int config_multicast_validate(const struct config_multicast *m, char *err, size_t errlen);
extern const struct config_section config_mtftp_sections[];
extern const size_t config_mtftp_nsections;

void config_dhcp_free(struct config_dhcp *d);
int config_dhcp_validate(const struct config_dhcp *d, char *err, size_t errlen);
int config_mtftp_validate(const struct config *c, char *err, size_t errlen);

#endif
