/* The HTTP server in-process, over the real io_uring transport on
 * 127.0.0.1: request bytes split every way, pipelining, spliced bodies,
 * the header timeout and the connection cap. The loop is pumped by the
 * test itself, so each case is bounded and needs no threads. Skipped (77)
 * where io_uring is unavailable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dataplane/http/http.h"
#include "dataplane/http/http_server.h"
#include "dataplane/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG_SIZE (3u << 20)

struct fixture {
	char root[64];
	struct transport *t;
	struct http_server *srv;
	uint16_t port;     /* network order */
	uint8_t *big;
};

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* A free loopback port: bind to 0 and let it go (the server binds it next). */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return sa.sin_port;
}

/* A handler like the host API: "echo" answers the POST body reversed in
 * case (so the test sees the server passed exactly the body), "big" a long
 * compressible text; everything else falls through to the files. */
static void dynamic(void *user, const struct http_dynamic_request *rq,
		    struct http_dynamic_reply *out)
{
	(void)user;
	if (rq->path_len == 4 && memcmp(rq->path, "echo", 4) == 0) {
		out->status = rq->method == HTTP_METHOD_POST ? 200 : 405;
		out->content_type = "text/plain";
		out->body = malloc(rq->body_len + 1);
		assert_non_null(out->body);
		for (size_t i = 0; i < rq->body_len; i++)
			out->body[i] = (char)(rq->body[i] ^ 0x20);
		out->len = rq->body_len;
	} else if (rq->path_len == 3 && memcmp(rq->path, "big", 3) == 0) {
		out->status = 200;
		out->content_type = "text/plain";
		out->len = 100000;
		out->body = malloc(out->len);
		assert_non_null(out->body);
		for (size_t i = 0; i < out->len; i++)
			out->body[i] = "kernel vmlinuz initrd=initrd.img\n"[i % 33];
		out->gzip_ok = true;
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_server_config cfg = {
		.listen_ip = htonl(INADDR_LOOPBACK),
		.max_connections = 3,
		.idle_timeout_us = 2000000,
		.header_timeout_us = 300000,
		.dynamic = dynamic,
	};

	snprintf(f->root, sizeof(f->root), "/tmp/pxc-http-unit.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	write_file(f->root, "a.txt", "hello\n", 6);
	f->big = malloc(BIG_SIZE);
	for (size_t i = 0; i < BIG_SIZE; i++)
		f->big[i] = (uint8_t)(i * 2654435761u >> 13);
	write_file(f->root, "big.bin", f->big, BIG_SIZE);
	f->t = transport_uring_create(256);
	if (!f->t) {
		*state = f;
		return 0;
	}
	f->port = free_port();
	cfg.listen_port = f->port;
	cfg.root = f->root;
	f->srv = http_server_new(f->t, &cfg);
	assert_non_null(f->srv);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	http_server_free(f->srv);
	if (f->t)
		f->t->ops->destroy(f->t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f->big);
	free(f);
	return 0;
}

static void pump(struct fixture *f, uint64_t us)
{
	uint64_t next = http_server_tick(f->srv, transport_now_us());
	uint64_t until = transport_now_us() + us;

	f->t->ops->run_once(f->t, next < until ? next : until);
	http_server_tick(f->srv, transport_now_us());
}

static int client(struct fixture *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = f->port };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_true(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS);
	pump(f, 1000);
	return fd;
}

/* Read until the server closes (or 3 s); returns the bytes received. */
static size_t read_all(struct fixture *f, int fd, char *out, size_t cap)
{
	uint64_t until = transport_now_us() + 3000000;
	size_t n = 0;

	while (transport_now_us() < until) {
		ssize_t r = recv(fd, out + n, cap - n, 0);

		if (r == 0)
			break;
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		assert_true(errno == EAGAIN || errno == ECONNRESET);
		if (errno == ECONNRESET)
			break;
		pump(f, 2000);
	}
	return n;
}

static void send_all(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads the response on fd to the end and checks its body is want. */
static void expect_body(struct fixture *f, int fd, const void *want, size_t len)
{
	char *out = malloc(len + 4096), *body;
	size_t n = read_all(f, fd, out, len + 4095);

	out[n] = '\0';
	body = strstr(out, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(n - (size_t)(body - out), len);
	assert_memory_equal(body, want, len);
	free(out);
}

#define SKIP_WITHOUT_URING(f) \
	do { if (!(f)->t) skip(); } while (0)

static void test_byte_at_a_time(void **state)
{
	struct fixture *f = *state;
	static const char req[] = "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char out[4096];
	size_t n;
	int fd;

	SKIP_WITHOUT_URING(f);
	fd = client(f);
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		send_all(fd, req + i, 1);
		pump(f, 500);
	}
	n = read_all(f, fd, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(out, "Content-Length: 6\r\n"));
	assert_non_null(strstr(out, "Connection: close\r\n"));
	assert_true(n > 6 && memcmp(out + n - 6, "hello\n", 6) == 0);
	close(fd);
}

static void test_pipelined_in_order(void **state)
{
	struct fixture *f = *state;
	static const char req[] = "GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1-3\r\n\r\n"
				  "HEAD /a.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n"
				  "GET /../a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
				  "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char out[8192], *p206, *p304, *p400, *p404;
	size_t n;
	int fd;

	SKIP_WITHOUT_URING(f);
	fd = client(f);
	send_all(fd, req, sizeof(req) - 1);
	n = read_all(f, fd, out, sizeof(out) - 1);
	out[n] = '\0';
	p206 = strstr(out, "HTTP/1.1 206 ");
	p304 = strstr(out, "HTTP/1.1 304 ");
	p400 = strstr(out, "HTTP/1.1 400 ");
	p404 = strstr(out, "HTTP/1.1 404 ");
	assert_true(p206 == out && p304 > p206 && p400 > p304 && p404 > p400);
	assert_non_null(strstr(p206, "Content-Range: bytes 1-3/6\r\n"));
	assert_true(strncmp(strstr(p206, "\r\n\r\n") + 4, "ell", 3) == 0);
	close(fd);
}

static void test_big_file_spliced(void **state)
{
	struct fixture *f = *state;
	static const char req[] = "GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	int fd;

	SKIP_WITHOUT_URING(f);
	fd = client(f);
	send_all(fd, req, sizeof(req) - 1);
	expect_body(f, fd, f->big, BIG_SIZE);
	close(fd);
}

/* A reader that stops leaves its body waiting for room in its socket, in
 * the loop and without blocking it: another client is answered meanwhile,
 * and the stalled one still gets every byte once it reads again. The file
 * is larger than the most a send buffer grows to (tcp_wmem's 4 MiB), so
 * the server does have to wait. */
#define HUGE_SIZE (16u << 20)
static void test_stalled_reader_holds_no_one_up(void **state)
{
	struct fixture *f = *state;
	static const char big_req[] = "GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static const char small_req[] = "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	uint8_t *huge = malloc(HUGE_SIZE);
	char small[4096];
	int stalled, other;
	size_t n;

	SKIP_WITHOUT_URING(f);
	for (size_t i = 0; i < HUGE_SIZE; i++)
		huge[i] = (uint8_t)(i * 40503u >> 7);
	write_file(f->root, "huge.bin", huge, HUGE_SIZE);
	stalled = client(f);
	send_all(stalled, big_req, sizeof(big_req) - 1);
	for (int i = 0; i < 20; i++)
		pump(f, 2000);

	other = client(f);
	send_all(other, small_req, sizeof(small_req) - 1);
	n = read_all(f, other, small, sizeof(small) - 1);
	small[n] = '\0';
	assert_true(strncmp(small, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_true(n > 6 && memcmp(small + n - 6, "hello\n", 6) == 0);
	close(other);

	expect_body(f, stalled, huge, HUGE_SIZE);
	close(stalled);
	free(huge);
}

static void test_header_timeout(void **state)
{
	struct fixture *f = *state;
	struct http_counters c;
	char out[512];
	int fd;

	SKIP_WITHOUT_URING(f);
	fd = client(f);
	send_all(fd, "GET /a.txt HTTP/1.1\r\nHo", 23);
	/* 300 ms from the first byte: closed without an answer. */
	assert_int_equal(read_all(f, fd, out, sizeof(out)), 0);
	http_server_counters(f->srv, &c);
	assert_int_equal(c.timeouts, 1);
	close(fd);
}

static void test_connection_cap(void **state)
{
	struct fixture *f = *state;
	int held[3], fd;
	char out[512];
	size_t n;

	SKIP_WITHOUT_URING(f);
	for (int i = 0; i < 3; i++)
		held[i] = client(f);
	for (int i = 0; i < 20; i++)
		pump(f, 1000);
	fd = client(f);
	send_all(fd, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 32);
	n = read_all(f, fd, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_true(strncmp(out, "HTTP/1.1 503 ", 13) == 0);
	close(fd);
	for (int i = 0; i < 3; i++)
		close(held[i]);
}

static void test_post_body_split(void **state)
{
	struct fixture *f = *state;
	static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n";
	char out[4096], *second;
	size_t n;
	int fd;

	SKIP_WITHOUT_URING(f);
	fd = client(f);
	send_all(fd, head, sizeof(head) - 1);
	pump(f, 2000);
	send_all(fd, "inst", 4);
	pump(f, 2000);
	/* the body's end, then a pipelined request for a file */
	send_all(fd, "alledGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 56);
	n = read_all(f, fd, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(out, "Cache-Control: no-store\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nINSTALLED"));
	second = strstr(out + 1, "HTTP/1.1 200 OK\r\n");
	assert_non_null(second);
	assert_true(memcmp(out + n - 6, "hello\n", 6) == 0);
	close(fd);
}

static void test_post_to_a_file(void **state)
{
	struct fixture *f = *state;
	char out[1024];
	size_t n;
	int fd;

	SKIP_WITHOUT_URING(f);
	fd = client(f);
	send_all(fd, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
		     "Connection: close\r\n\r\nx", 72);
	n = read_all(f, fd, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_true(strncmp(out, "HTTP/1.1 405 ", 13) == 0);
	assert_non_null(strstr(out, "Allow: GET, HEAD\r\n"));
	close(fd);
}

static void test_dynamic_gzip(void **state)
{
	struct fixture *f = *state;
	static char out[200000];
	const char *cl;
	size_t n, body;
	int fd;

	SKIP_WITHOUT_URING(f);
	fd = client(f);
	send_all(fd, "GET /big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
		     "Connection: close\r\n\r\n", 72);
	n = read_all(f, fd, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(out, "Content-Encoding: gzip\r\n"));
	cl = strstr(out, "Content-Length: ");
	assert_non_null(cl);
	body = (size_t)(out + n - (strstr(out, "\r\n\r\n") + 4));
	assert_int_equal(strtoul(cl + 16, NULL, 10), body);
	/* gzip magic, and much smaller than the 100000 bytes rendered */
	assert_true(body < 10000);
	assert_true((unsigned char)out[n - body] == 0x1f && (unsigned char)out[n - body + 1] == 0x8b);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_byte_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_file_spliced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_reader_holds_no_one_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_body_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_to_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dynamic_gzip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
