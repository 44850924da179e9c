/* What to answer a request with: the status, the head, and which bytes of
 * which file form the body. Files are opened the way TFTP opens them
 * (store_resolve: openat2 RESOLVE_BENEATH beneath the root) after
 * http_path_from_target() has refused every escape it knows. */
#include "dataplane/http/http_server_int.h"

#include "appliance/log.h"
#include "imager/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void count_status(struct http_conn *c, int status)
{
	struct http_counters *k = &c->srv->c;

	c->status = status;
	if (status < 300)
		k->responses_2xx++;
	else if (status < 400)
		k->responses_3xx++;
	else if (status < 500)
		k->responses_4xx++;
	else
		k->responses_5xx++;
}

static void start_response(struct http_conn *c)
{
	c->head_sent = 0;
	c->bytes_sent = 0;
	c->to_pipe = 0;
	c->small_body = 0;
	c->in_pipe = 0;
	c->tls_head_queued = false;
	c->tx_failed = false;
}

void http_answer_error(struct http_conn *c, const struct http_request *req, int status)
{
	struct http_response r = {
		.status = status,
		.date = time(NULL),
		.content_type = "text/plain",
		.has_content_length = true,
		.allow = status == 405,
		.keep_alive = req && req->error == HTTP_OK && req->keep_alive,
	};
	char body[64];
	int blen = snprintf(body, sizeof(body), "%d %s\n", status, http_status_reason(status));
	bool head_only = req && req->error == HTTP_OK && req->method == HTTP_METHOD_HEAD;

	start_response(c);
	if (!req || req->error != HTTP_OK) {
		snprintf(c->method, sizeof(c->method), "-");
		snprintf(c->path, sizeof(c->path), "-");
	}
	count_status(c, status);
	c->keep_alive = r.keep_alive;
	r.content_length = (uint64_t)blen;
	c->head_len = http_response_format(&r, c->head, HTTP_HEAD_CAP - sizeof(body));
	if (!head_only) {
		memcpy(c->head + c->head_len, body, (size_t)blen);
		c->head_len += (size_t)blen;
	}
}

static int status_of_errno(int err)
{
	switch (store_status_from_errno(err)) {
	case STORE_NOT_FOUND:
		return 404;
	case STORE_DENIED:
		return 403;
	case STORE_BAD_NAME:
		return 400;
	default:
		return err == ENAMETOOLONG ? 414 : 500;
	}
}

/* A response the dynamic handler made in memory: head and body in one
 * heap buffer, sent like the head of a file response. */
static void answer_dynamic(struct http_conn *c, const struct http_request *req,
			   struct http_dynamic_reply *d)
{
	struct http_response r = { .status = d->status, .date = time(NULL),
				   .content_type = d->content_type, .has_content_length = true,
				   .no_store = true, .keep_alive = req->keep_alive,
				   .vary_accept_encoding = d->gzip_ok };
	char *body = d->body, *gz = NULL;
	size_t len = d->len, gzlen;

	/* Only worth it past a packet or so; iPXE does not ask for it. */
	if (d->gzip_ok && req->accept_gzip && len > 256 &&
	    http_gzip(body, len, &gz, &gzlen) == 0) {
		body = gz;
		len = gzlen;
		r.content_encoding = "gzip";
	}
	r.content_length = len;
	start_response(c);
	c->dyn_out = malloc(HTTP_HEAD_CAP + len);
	if (c->dyn_out)
		c->head_len = http_response_format(&r, c->dyn_out, HTTP_HEAD_CAP);
	if (c->dyn_out == NULL || c->head_len == 0) {
		free(gz);
		free(d->body);
		free(c->dyn_out);
		c->dyn_out = NULL;
		http_answer_error(c, req, 500);
		return;
	}
	if (req->method != HTTP_METHOD_HEAD) {
		memcpy(c->dyn_out + c->head_len, body, len);
		c->head_len += len;
	}
	c->out = c->dyn_out;
	free(gz);
	free(d->body);
	count_status(c, r.status);
	c->keep_alive = r.keep_alive;
}

/* Ask the dynamic handler; true when it answered. */
static bool try_dynamic(struct http_conn *c, const struct http_request *req, const char *path,
			size_t plen)
{
	const struct http_server_config *cfg = &c->srv->cfg;
	const char *q = memchr(req->target.ptr, '?', req->target.len);
	struct http_dynamic_request rq = {
		.method = req->method, .path = path, .path_len = plen,
		.query = q ? q + 1 : "",
		.query_len = q ? req->target.len - (size_t)(q + 1 - req->target.ptr) : 0,
		.host = req->host.len ? req->host.ptr : "", .host_len = req->host.len,
		.body = c->in + req->head_len, .body_len = (size_t)req->body_len,
		.peer_ip = c->peer_ip, .local_ip = c->local_ip, .tls = c->ssl != NULL,
	};
	struct http_dynamic_reply d = { 0 };

	if (cfg->dynamic == NULL)
		return false;
	if (req->method != HTTP_METHOD_POST)
		rq.body_len = 0;
	cfg->dynamic(cfg->dynamic_user, &rq, &d);
	if (d.status == 0) {
		free(d.body);
		return false;
	}
	answer_dynamic(c, req, &d);
	return true;
}

void http_answer(struct http_conn *c, const struct http_request *req)
{
	char path[STORE_NAME_MAX], etag[72];
	struct image_file *img;
	size_t plen = 0, elen;
	bool dir = false;
	enum http_error err;
	struct stat sb;
	struct http_response r = { .date = time(NULL), .accept_ranges = true,
				   .keep_alive = req->keep_alive };
	int fd;

	snprintf(c->method, sizeof(c->method), "%s",
		 req->method == HTTP_METHOD_HEAD ? "HEAD"
		 : req->method == HTTP_METHOD_POST ? "POST" : "GET");
	log_sanitize(c->path, sizeof(c->path), req->target.ptr, req->target.len);
	err = http_path_from_target(req->target.ptr, req->target.len, path, sizeof(path), &plen,
				    &dir);
	if (err != HTTP_OK) {
		http_answer_error(c, req, http_error_status(err));
		return;
	}
	if (try_dynamic(c, req, path, plen))
		return;
	if (req->method == HTTP_METHOD_POST) {
		http_answer_error(c, req, 405);
		return;
	}
	/* No listings: asking for a directory is asking for nothing. */
	if (plen == 0 || dir) {
		http_answer_error(c, req, 404);
		return;
	}
	/* O_NONBLOCK: opening a FIFO someone left in the tree must not hang
	 * the loop (it is refused below anyway). */
	fd = http_image_open(c->srv, path, plen, &sb, &img);
	if (fd == HTTP_NOT_IMAGE)
		fd = store_resolve(c->srv->rootfd, path, plen, 0, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		http_answer_error(c, req, status_of_errno(-fd));
		return;
	}
	if ((!img && fstat(fd, &sb) < 0) || !S_ISREG(sb.st_mode)) {
		close(fd);
		http_answer_error(c, req, S_ISDIR(sb.st_mode) ? 404 : 403);
		return;
	}
	elen = http_image_etag(img, etag, sizeof(etag));
	if (elen == 0)
		elen = http_etag_format(etag, sizeof(etag), sb.st_mtim.tv_sec, (uint64_t)sb.st_size);
	r.etag = etag;
	r.has_last_modified = true;
	r.last_modified = sb.st_mtim.tv_sec;
	r.total_length = (uint64_t)sb.st_size;
	r.range.length = (uint64_t)sb.st_size;
	if (http_not_modified(req, etag, elen, sb.st_mtim.tv_sec)) {
		r.status = 304;
	} else {
		r.status = 200;
		r.content_type = http_mime_type(path, plen);
		if (req->range.len && http_if_range_ok(req, etag, elen, sb.st_mtim.tv_sec)) {
			switch (http_range_eval(req->range.ptr, req->range.len,
						(uint64_t)sb.st_size, &r.range)) {
			case HTTP_RANGE_PARTIAL:
				r.status = 206;
				r.content_range = true;
				break;
			case HTTP_RANGE_UNSATISFIABLE:
				r.status = 416;
				r.range_unsatisfied = true;
				r.content_type = NULL;
				r.range.length = 0;
				break;
			default:
				r.range = (struct http_range){ 0, (uint64_t)sb.st_size };
				break;
			}
		}
		r.has_content_length = true;
		r.content_length = r.range.length;
	}
	start_response(c);
	c->head_len = http_response_format(&r, c->head, HTTP_HEAD_CAP);
	if (c->head_len == 0) {
		close(fd);
		free(img);
		http_answer_error(c, req, 500);
		return;
	}
	count_status(c, r.status);
	c->keep_alive = r.keep_alive;
	if (req->method == HTTP_METHOD_GET && (r.status == 200 || r.status == 206) &&
	    r.range.length > 0) {
		c->file_fd = fd;
		c->img = img;
		c->file_off = (int64_t)r.range.start;
		if (r.range.length <= HTTP_SMALL_BODY)
			c->small_body = (uint32_t)r.range.length;
		else
			c->to_pipe = r.range.length;
	} else {
		close(fd);
		free(img);
	}
}
