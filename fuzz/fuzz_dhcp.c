/* libFuzzer: parse any datagram; when it parses, build a reply carrying
 * all its options and check the reply parses back to the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/dhcp/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dhcp_msg m, r;
	static struct dhcp_build b;
	static uint8_t out[DHCP_REPLY_MAX];
	struct dhcp_pxe43 x;
	size_t n, prl_len;

	if (dhcp_msg_parse(&m, data, size) != DHCP_OK)
		return 0;
	(void)dhcp_pxe43_parse(&x, data, size);
	dhcp_build_reply(&b, &m, DHCPOFFER);
	if (m.has_file)
		memcpy(b.hdr.file, m.hdr.file, DHCP_FILE_LEN);
	if (m.has_sname)
		memcpy(b.hdr.sname, m.hdr.sname, DHCP_SNAME_LEN);
	for (unsigned c = 1; c < 255; c++) {
		const uint8_t *p = dhcp_msg_opt(&m, (uint8_t)c, &n);
		if (p == NULL || c == DHCP_OPT_MSGTYPE || c == DHCP_OPT_OVERLOAD)
			continue;
		dhcp_build_add(&b, (uint8_t)c, p, n, DHCP_OPTF_REQUIRED);
	}
	const uint8_t *prl = dhcp_msg_opt(&m, DHCP_OPT_PRL, &prl_len);
	int len = dhcp_build_encode(&b, prl, prl_len, m.maxsize, out, sizeof(out));
	if (len < 0)
		return 0;
	if (dhcp_msg_parse(&r, out, (size_t)len) != DHCP_OK)
		abort();
	if (r.msgtype != DHCPOFFER)
		abort();
	for (unsigned i = 0; i < b.nopt; i++) {
		const uint8_t *p = dhcp_msg_opt(&r, b.opt[i].code, &n);
		if (p == NULL || n != b.opt[i].len ||
		    memcmp(p, b.data + b.opt[i].off, n) != 0)
			abort();
	}
	return 0;
}
