/* Files of ISO images (imager/image.h) as HTTP bodies: the body comes
 * from a dup of the image's descriptor, through the file's extents, so it
 * is spliced from the image like any file; the SHA-256 digest, when
 * known, is the strong ETag. */
#include "dataplane/http/http_server_int.h"

#include "imager/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

void http_server_set_images(struct http_server *srv, struct image_set *images)
{
	srv->images = images;
}

int http_image_open(struct http_server *srv, const char *path, size_t len, struct stat *sb,
		    struct image_file **img)
{
	struct image_file f;
	int rc, fd;

	*img = NULL;
	if (!srv->images)
		return HTTP_NOT_IMAGE;
	rc = image_set_lookup(srv->images, path, len, &f);
	if (rc == IMAGE_NOT_MINE)
		return HTTP_NOT_IMAGE;
	/* A directory is 404 as everywhere else on this server: no listings. */
	if (rc == -EISDIR || rc == -EINVAL || rc == -ENOTDIR)
		return -ENOENT;
	if (rc == -EOPNOTSUPP)
		return -EACCES;
	if (rc < 0)
		return rc;
	*img = malloc(sizeof(**img));
	if (!*img)
		return -ENOMEM;
	fd = fcntl(f.fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		free(*img);
		*img = NULL;
		return rc;
	}
	**img = f;
	(*img)->fd = fd;
	memset(sb, 0, sizeof(*sb));
	sb->st_mode = S_IFREG | 0444;
	sb->st_size = (off_t)f.size;
	sb->st_mtim.tv_sec = (time_t)f.mtime;
	return fd;
}

size_t http_image_etag(const struct image_file *img, char *out, size_t size)
{
	if (!img || !img->has_digest || size < IMAGE_DIGEST_HEX + 3)
		return 0;
	out[0] = '"';
	image_digest_hex(img->digest, out + 1);
	out[IMAGE_DIGEST_HEX + 1] = '"';
	out[IMAGE_DIGEST_HEX + 2] = '\0';
	return IMAGE_DIGEST_HEX + 2;
}

int64_t http_image_offset(const struct image_file *img, int64_t file_off, uint32_t *len)
{
	uint64_t at, run;

	if (!img)
		return file_off;
	run = image_file_run(img, (uint64_t)file_off, &at);
	if (run < *len)
		*len = (uint32_t)run; /* 0 only past the end: the step then fails */
	return (int64_t)at;
}
