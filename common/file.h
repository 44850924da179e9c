/* Reading a small file whole: configs, templates, journals. */
#ifndef PXECAST_COMMON_FILE_H
#define PXECAST_COMMON_FILE_H

#include <stddef.h>

/* Open name (relative to dirfd, or AT_FDCWD) with O_RDONLY | O_CLOEXEC |
 * oflags and read it whole into a malloc'd, NUL-terminated buffer.
 * NULL with *err set to the open's or read's errno, EINVAL when it is not
 * a regular file, EFBIG when it is over max bytes, ENOMEM. A file that
 * shrinks while read gives what was there. */
char *file_read_whole(int dirfd, const char *name, int oflags, size_t max, size_t *len,
		      int *err);

#endif
