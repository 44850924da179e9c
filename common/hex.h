/* Hex digits, for the text we parse: journals, tokens, digests and
 * percent-escapes. Header-only: two lines are no module of their own. */
#ifndef PXECAST_COMMON_HEX_H
#define PXECAST_COMMON_HEX_H

/* 0-15 for [0-9a-f], -1 otherwise: for formats we write ourselves in
 * lowercase, where anything else is damage. */
static inline int hex_lower(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 0-15 for [0-9a-fA-F], -1 otherwise: for what others write. */
static inline int hex_any(char c)
{
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return hex_lower(c);
}

#endif
