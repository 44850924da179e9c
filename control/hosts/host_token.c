/* Per-host tokens: HMAC-SHA256(secret, mac | expiry). A token names its own
 * expiry, so nothing is stored per token; a new secret revokes them all. */
#include "control/hosts/hosts.h"
#include "common/hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_MAC_BYTES 16 /* 128 bits of the HMAC: plenty against guessing */

static bool token_mac(const uint8_t secret[HOST_SECRET_LEN], const uint8_t mac[6],
		      int64_t expiry, uint8_t out[TOKEN_MAC_BYTES])
{
	uint8_t msg[14], full[EVP_MAX_MD_SIZE];
	unsigned int flen = 0;

	memcpy(msg, mac, 6);
	for (int i = 0; i < 8; i++)
		msg[6 + i] = (uint8_t)((uint64_t)expiry >> (56 - 8 * i));
	if (HMAC(EVP_sha256(), secret, HOST_SECRET_LEN, msg, sizeof(msg), full, &flen) == NULL ||
	    flen < TOKEN_MAC_BYTES)
		return false;
	memcpy(out, full, TOKEN_MAC_BYTES);
	return true;
}

size_t host_token_make(const uint8_t secret[HOST_SECRET_LEN], const uint8_t mac[6],
		       int64_t expiry, char out[HOST_TOKEN_MAX])
{
	uint8_t m[TOKEN_MAC_BYTES];
	int n;

	if (expiry < 0 || !token_mac(secret, mac, expiry, m)) {
		out[0] = '\0';
		return 0;
	}
	n = snprintf(out, HOST_TOKEN_MAX, "%lld-", (long long)expiry);
	for (int i = 0; i < TOKEN_MAC_BYTES; i++)
		n += snprintf(out + n, (size_t)(HOST_TOKEN_MAX - n), "%02x", m[i]);
	return (size_t)n;
}

bool host_token_check(const uint8_t secret[HOST_SECRET_LEN], const uint8_t mac[6],
		      const char *tok, size_t len, int64_t now)
{
	uint8_t want[TOKEN_MAC_BYTES], got[TOKEN_MAC_BYTES];
	int64_t expiry = 0;
	size_t i = 0;

	/* at most 12 digits: no overflow, and far beyond any real expiry */
	while (i < len && i < 12 && tok[i] >= '0' && tok[i] <= '9')
		expiry = expiry * 10 + (tok[i++] - '0');
	if (i == 0 || i >= len || tok[i] != '-' || len - i - 1 != 2 * TOKEN_MAC_BYTES)
		return false;
	for (int k = 0; k < TOKEN_MAC_BYTES; k++) {
		int hi = hex_lower(tok[i + 1 + 2 * k]), lo = hex_lower(tok[i + 2 + 2 * k]);

		if (hi < 0 || lo < 0)
			return false;
		got[k] = (uint8_t)(hi << 4 | lo);
	}
	if (expiry < now || !token_mac(secret, mac, expiry, want))
		return false;
	return CRYPTO_memcmp(want, got, TOKEN_MAC_BYTES) == 0;
}
