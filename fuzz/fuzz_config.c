/* libFuzzer: the config parser. */
#include <stddef.h>
#include <stdint.h>

#include "appliance/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CONFIG_ERR_MAX];

	config_free(&c); /* the previous input's DHCP tables */
	config_defaults(&c);
	if (config_parse((const char *)data, size, "fuzz", &c, err, sizeof(err)) == 0)
		config_validate(&c, err, sizeof(err));
	return 0;
}
