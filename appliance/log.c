#include "appliance/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = { "err", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
	current_level = level;
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	char line[2048];
	int n;
	va_list ap;

	if (level > current_level)
		return;
	n = snprintf(line, sizeof(line), "level=%s event=%s ", level_names[level], event);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line keeps lines whole when several processes log. */
	fprintf(stderr, "%s\n", line);
}

char *log_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstsize == 0)
		return dst;
	for (size_t i = 0; i < srclen && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];
		int plain = c > 0x20 && c < 0x7f && c != '"' && c != '\'' &&
			    c != '=' && c != '\\';

		if (plain) {
			if (o + 1 >= dstsize)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstsize)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
