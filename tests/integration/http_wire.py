#!/usr/bin/env python3
"""Raw-socket HTTP client for the integration tests: sends exactly the bytes
a hostile or broken client would (curl normalises paths and refuses bad
syntax, so it cannot) and prints one line per case:

    ok NAME (detail)      or      FAIL NAME: why

Usage: http_wire.py --server IP --port N [--slow K] CASESET
CASESET: bad        every malformed/hostile request, one connection each
         slowloris  a head trickled one byte a second is cut off
         idle       a silent connection is closed after the idle timeout
         maxconn N  connection N+1 gets 503 while N are open
         stall      a reader that stops is cut off after the idle timeout
"""
import argparse
import socket
import sys
import time

ARGS = None
FAILS = 0


def report(ok, name, detail):
    global FAILS
    if ok:
        print(f"ok {name} ({detail})")
    else:
        FAILS += 1
        print(f"FAIL {name}: {detail}")
    sys.stdout.flush()


def connect():
    s = socket.create_connection((ARGS.server, ARGS.port), timeout=5 * ARGS.slow)
    return s


def exchange(raw, read_all=True):
    """Send raw bytes, return everything received until close (or timeout)."""
    s = connect()
    try:
        s.sendall(raw)
        data = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            data += b
            if not read_all and b"\r\n\r\n" in data:
                break
        return data
    except (ConnectionResetError, BrokenPipeError) as e:
        return ("reset: %s" % e).encode()
    finally:
        s.close()


def status_of(data):
    if not data.startswith(b"HTTP/1.1 "):
        return 0
    try:
        return int(data[9:12])
    except ValueError:
        return 0


def case(name, raw, want, forbid=b"root:x:"):
    data = exchange(raw)
    st = status_of(data)
    ok = (st in want if isinstance(want, tuple) else st == want) and forbid not in data
    report(ok, name, f"status {st}" if ok else f"wanted {want}, got {data[:80]!r}")


def get(target, extra=b""):
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n"


def run_bad():
    four = tuple(range(400, 500))
    for t in [b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/.%2E/.%2e/etc/passwd",
              b"/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", b"/..%2fetc/passwd", b"/..\\..\\etc\\passwd",
              b"/%5c..%5c..%5cetc%5cpasswd", b"/boot/%00/x", b"/boot/hello.txt%00.efi",
              b"/%252e%252e/%252e%252e/etc/passwd", b"/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
              b"//etc/passwd", b"/escape/passwd", b"/boot/../../etc/passwd",
              b"http://x/../../etc/passwd", b"/%zz", b"/a#frag", b"*", b"etc/passwd",
              b"/boot", b"/boot/", b"/"]:
        case("traversal " + t.decode("latin-1"), get(t), four)
    case("request line over 4 KiB", get(b"/" + b"a" * 5000), 414)
    case("head over 8 KiB", get(b"/boot/hello.txt", b"X-Pad: " + b"p" * 9000 + b"\r\n"), 431)
    case("100 header fields", get(b"/boot/hello.txt", b"".join(b"X-%d: y\r\n" % i for i in range(100))), 431)
    case("bare LF", b"GET /boot/hello.txt HTTP/1.1\nHost: x\n\n", 400)
    case("bare CR", b"GET /boot/hello.txt HTTP/1.1\rHost: x\r\n\r\n", 400)
    case("no Host in HTTP/1.1", b"GET /boot/hello.txt HTTP/1.1\r\n\r\n", 400)
    case("two Host fields", get(b"/boot/hello.txt", b"Host: y\r\n"), 400)
    case("Content-Length with chunked",
         get(b"/boot/hello.txt", b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + b"hello", 400)
    case("two Content-Lengths", get(b"/boot/hello.txt", b"Content-Length: 1\r\nContent-Length: 2\r\n"), 400)
    case("negative Content-Length", get(b"/boot/hello.txt", b"Content-Length: -1\r\n"), 400)
    case("huge body", get(b"/boot/hello.txt", b"Content-Length: 99999999\r\n"), 413)
    case("obs-fold", get(b"/boot/hello.txt", b"X-A: b\r\n c\r\n"), 400)
    case("space before colon", get(b"/boot/hello.txt", b"X-A : b\r\n"), 400)
    case("NUL in a field", get(b"/boot/hello.txt", b"X-A: b\x00c\r\n"), 400)
    case("unknown method", b"BREW /boot/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501)
    case("POST", b"POST /boot/hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405)
    case("DELETE", b"DELETE /boot/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 405)
    case("lowercase method", b"get /boot/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", (400, 501))
    case("HTTP/2.0", b"GET /boot/hello.txt HTTP/2.0\r\nHost: x\r\n\r\n", 505)
    case("HTTP/1.x garbage", b"GET /boot/hello.txt HTTP/1.x\r\nHost: x\r\n\r\n", 400)
    case("two spaces", b"GET  /boot/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400)
    case("control byte in target", get(b"/boot/\x01hello.txt"), 400)
    case("binary garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n", four + (501,))
    # Range forms: unparseable ones are ignored (200), impossible ones are 416.
    for r, want in [(b"bytes=abc", 200), (b"bytes=5-1", 416), (b"bytes=999999999-", 416),
                    (b"bytes=-0", 416), (b"bytes=0-0,5-6", 200), (b"items=0-5", 200),
                    (b"bytes=18446744073709551616-", 416), (b"bytes=0-99999999999999999999", 206),
                    (b"bytes=--1", 200), (b"bytes=", 200), (b"bytes=0-1, 3-4, 6-7", 200)]:
        case("Range " + r.decode(), get(b"/boot/hello.txt", b"Range: " + r + b"\r\n"), want)
    case("two Range fields", get(b"/boot/hello.txt", b"Range: bytes=0-1\r\nRange: bytes=2-3\r\n"), 400)
    # Pipelined: three requests in one write, three answers in order.
    data = exchange(b"GET /boot/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"HEAD /boot/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    n200, n404 = data.count(b"HTTP/1.1 200 "), data.count(b"HTTP/1.1 404 ")
    report(n200 == 2 and n404 == 1 and data.index(b" 404 ") > data.rindex(b" 200 "),
           "pipelined GET, HEAD, GET", f"{n200} x 200 then {n404} x 404")
    # A body on a GET is read and skipped; the next request still parses.
    data = exchange(b"GET /boot/hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nXXXXX"
                    b"GET /boot/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    report(data.count(b"HTTP/1.1 200 ") == 2, "GET with a body, then another", f"{data.count(b'200 OK')} x 200")


def run_slowloris():
    """A byte a second: the head deadline runs from the first byte."""
    s = connect()
    head = b"GET /boot/hello.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60
    start = time.monotonic()
    closed_after = None
    try:
        for b in head:
            s.send(bytes([b]))
            time.sleep(1.0)
            s.settimeout(0.01)
            try:
                if s.recv(4096) == b"":
                    closed_after = time.monotonic() - start
                    break
            except socket.timeout:
                pass
            s.settimeout(5)
    except (ConnectionResetError, BrokenPipeError):
        closed_after = time.monotonic() - start
    s.close()
    limit = ARGS.limit * ARGS.slow + 3
    report(closed_after is not None and closed_after <= limit, "slowloris head cut off",
           f"closed after {closed_after:.1f}s (limit {limit}s)" if closed_after else "never closed")


def run_idle():
    s = connect()
    start = time.monotonic()
    s.settimeout(ARGS.limit * ARGS.slow + 5)
    try:
        data = s.recv(4096)
    except socket.timeout:
        data = None
    except ConnectionResetError:
        data = b""
    took = time.monotonic() - start
    report(data == b"" and took >= ARGS.limit - 0.5, "silent connection closed",
           f"after {took:.1f}s" if data == b"" else "still open")


def run_stall():
    """A client that asks for a large file and never reads is cut off
    once the send has made no progress for the idle timeout."""
    s = connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(get(b"/boot/big.bin"))
    time.sleep(ARGS.limit * ARGS.slow + 3)
    s.settimeout(5)
    got, closed = 0, False
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                closed = True
                break
            got += len(b)
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    s.close()
    report(closed and got < 20 << 20, "stalled reader cut off", f"{got} bytes, then closed" if closed else "still open")


def run_maxconn(n):
    held = [connect() for _ in range(n)]
    time.sleep(0.3 * ARGS.slow)
    data = exchange(get(b"/boot/hello.txt"))
    report(status_of(data) == 503, f"connection {n + 1} of max {n}", f"status {status_of(data)}")
    for s in held:
        s.close()
    time.sleep(0.3 * ARGS.slow)
    data = exchange(get(b"/boot/hello.txt"))
    report(status_of(data) == 200, "served again once they closed", f"status {status_of(data)}")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--slow", type=float, default=1)
    ap.add_argument("--limit", type=float, default=3, help="timeout under test, seconds")
    ap.add_argument("caseset")
    ap.add_argument("n", nargs="?", type=int, default=4)
    ARGS = ap.parse_args()
    {"bad": run_bad, "slowloris": run_slowloris, "idle": run_idle,
     "maxconn": lambda: run_maxconn(ARGS.n), "stall": run_stall}[ARGS.caseset]()
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
