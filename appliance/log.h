/* One key=value line per event, on stderr (journald adds the time).
 *
 *   log_event(LOG_INFO, "tftp.done", "client=%s file=%s bytes=%llu", ...);
 *
 * Strings that came from a client pass through log_sanitize() first, so a
 * hostile file name cannot forge a line or an escape sequence.
 */
#ifndef PXECAST_APPLIANCE_LOG_H
#define PXECAST_APPLIANCE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
void log_event(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copy at most srclen bytes of src into dst (size dstsize, always NUL
 * terminated), replacing bytes outside printable ASCII, spaces, quotes,
 * '=' and '\\' by \xHH so the result is one safe token. Returns dst. */
char *log_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen);

#endif
