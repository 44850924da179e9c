#!/usr/bin/env python3
"""Wire-level TFTP checks for the pxecast integration tests.

A small TFTP client (RFC 1350, 2347-2349, 7440) over plain UDP sockets,
and scenarios that send what real clients never send: malformed requests,
invalid options, packets from a foreign port, clients that vanish. Each
scenario prints one "ok"/"FAIL" line per check and exits 1 when any check
failed. Where a scenario is given --metrics it also checks the counter
deltas it caused in pxecast's Prometheus file.

    tftp_wire.py --server 10.200.1.1 SCENARIO [options]

Run inside the client network namespace (the shell tests do that).
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import time

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
OPNAMES = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}

SLOW = 1.0
FAILS = 0
CHECKS = 0


def ok(msg):
    global CHECKS
    CHECKS += 1
    print("  ok    " + msg, flush=True)


def fail(msg):
    global CHECKS, FAILS
    CHECKS += 1
    FAILS += 1
    print("  FAIL  " + msg, flush=True)


def check(cond, msg, detail=""):
    if cond:
        ok(msg)
    else:
        fail(msg + (": " + detail if detail else ""))
    return cond


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def show(name):
    """A file name for our own output: control bytes escaped."""
    return name.encode("unicode_escape").decode() if isinstance(name, str) else repr(name)


# ---- packets ----

def request(op, name, mode="octet", opts=()):
    """RRQ/WRQ; name and mode may be bytes or str; opts a list of pairs."""
    def b(x):
        return x if isinstance(x, bytes) else str(x).encode()
    pkt = struct.pack("!H", op) + b(name) + b"\0" + b(mode) + b"\0"
    for k, v in opts:
        pkt += b(k) + b"\0" + b(v) + b"\0"
    return pkt


def ack(block):
    return struct.pack("!HH", ACK, block & 0xFFFF)


def data(block, payload):
    return struct.pack("!HH", DATA, block & 0xFFFF) + payload


def error(code, msg=""):
    return struct.pack("!HH", ERROR, code) + msg.encode() + b"\0"


def parse(pkt):
    """A dict describing a server packet (op, block, code, msg, opts)."""
    if len(pkt) < 2:
        return {"op": None, "raw": pkt}
    op = struct.unpack("!H", pkt[:2])[0]
    p = {"op": op, "raw": pkt}
    if op in (DATA, ACK) and len(pkt) >= 4:
        p["block"] = struct.unpack("!H", pkt[2:4])[0]
        p["payload"] = pkt[4:]
    elif op == ERROR and len(pkt) >= 4:
        p["code"] = struct.unpack("!H", pkt[2:4])[0]
        p["msg"] = pkt[4:].split(b"\0")[0].decode("latin-1")
        p["nul"] = pkt.endswith(b"\0")
    elif op == OACK:
        parts = pkt[2:].split(b"\0")
        if parts and parts[-1] == b"":
            parts = parts[:-1]
        p["opts"] = {parts[i].decode().lower(): parts[i + 1].decode()
                     for i in range(0, len(parts) - 1, 2)}
        p["odd"] = len(parts) % 2 == 1
    return p


def describe(p):
    if p is None:
        return "no answer"
    op = p.get("op")
    if op == ERROR:
        return "ERROR %d '%s'" % (p.get("code", -1), p.get("msg", ""))
    if op == OACK:
        return "OACK %s" % p.get("opts")
    if op in (DATA, ACK):
        return "%s %d" % (OPNAMES[op], p.get("block", -1))
    return "opcode %s" % op


# ---- a socket ----

class Peer:
    """One client UDP port."""

    def __init__(self, server, port=69):
        self.server = (server, port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("0.0.0.0", 0))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    @property
    def port(self):
        return self.s.getsockname()[1]

    def send(self, pkt, to=None):
        self.s.sendto(pkt, to or self.server)

    def recv(self, timeout=2.0, scale=True):
        """(parsed packet, source address) or (None, None) on timeout."""
        self.s.settimeout(timeout * SLOW if scale else timeout)
        try:
            raw, addr = self.s.recvfrom(70000)
        except socket.timeout:
            return None, None
        return parse(raw), addr

    def close(self):
        self.s.close()


def ask(server, pkt, timeout=2.0):
    """Send one datagram from a fresh port; the first answer and its source."""
    p = Peer(server)
    p.send(pkt)
    r, addr = p.recv(timeout)
    p.close()
    return r, addr


# ---- downloads (RFC 7440 receiver) ----

class Download:
    """An RRQ driven step by step: start(), then step(n) / run()."""

    def __init__(self, server, name, opts=(), mode="octet", peer=None):
        self.peer = peer or Peer(server)
        self.name = name
        self.req = request(RRQ, name, mode, opts)
        self.blksize = 512
        self.window = 1
        self.oack = None
        self.error = None
        self.tid = None
        self.data = bytearray()
        self.expected = 1        # 64-bit index of the next block
        self.since_ack = 0
        self.reacked = None      # `expected` when we last re-ACKed
        self.done = False
        self.first = None        # the first packet the server sent
        self.wire_after_65535 = None
        self.burst = []          # block numbers seen before our first ACK

    def start(self, ack_oack=True):
        self.peer.send(self.req)
        for _ in range(4):
            r, addr = self.peer.recv(2.0)
            if r is not None:
                break
            self.peer.send(self.req)
        if r is None:
            self.error = (-1, "no answer to RRQ")
            return False
        self.first = r
        self.tid = addr
        if r["op"] == ERROR:
            self.error = (r["code"], r["msg"])
            return False
        if r["op"] == OACK:
            self.oack = r["opts"]
            if "blksize" in self.oack:
                self.blksize = int(self.oack["blksize"])
            if "windowsize" in self.oack:
                self.window = int(self.oack["windowsize"])
            if ack_oack:
                self.peer.send(ack(0), self.tid)
            return True
        if r["op"] == DATA:
            self._data(r)
            return True
        self.error = (-2, "unexpected " + describe(r))
        return False

    def _data(self, r):
        blk = r["block"]
        if blk == self.expected & 0xFFFF:
            if self.expected == 65536:
                self.wire_after_65535 = blk
            self.data += r["payload"]
            self.expected += 1
            self.since_ack += 1
            if len(r["payload"]) < self.blksize:
                self.peer.send(ack(blk), self.tid)
                self.done = True
            elif self.since_ack >= self.window:
                self.peer.send(ack(blk), self.tid)
                self.since_ack = 0
        else:
            # duplicate or gap: say where we are (once per position), the
            # sender restarts there (RFC 7440)
            if self.reacked != self.expected:
                self.reacked = self.expected
                self.peer.send(ack(self.expected - 1), self.tid)
                self.since_ack = 0

    def step(self, blocks=None, timeout=2.0, retries=5):
        """Receive until done, an error, or `blocks` more accepted blocks."""
        goal = None if blocks is None else self.expected + blocks
        misses = 0
        while not self.done and self.error is None:
            if goal is not None and self.expected >= goal:
                return True
            r, addr = self.peer.recv(timeout)
            if r is None:
                misses += 1
                if misses > retries:
                    self.error = (-1, "server went silent at block %d" % self.expected)
                    return False
                self.peer.send(ack(self.expected - 1), self.tid)
                continue
            if addr != self.tid:
                continue
            misses = 0
            if r["op"] == ERROR:
                self.error = (r["code"], r["msg"])
                return False
            if r["op"] == DATA:
                self._data(r)
        return self.done

    def run(self, **kw):
        if self.tid is None and not self.start():
            return False
        return self.step(**kw)

    def close(self):
        self.peer.close()


def get(server, name, opts=(), mode="octet"):
    d = Download(server, name, opts, mode)
    d.run()
    d.close()
    return d


# ---- uploads ----

class Upload:
    """A WRQ sent lock-step (or in windows when the OACK says so)."""

    def __init__(self, server, name, content, opts=(), peer=None):
        self.peer = peer or Peer(server)
        self.req = request(WRQ, name, "octet", opts)
        self.content = content
        self.blksize = 512
        self.window = 1
        self.tid = None
        self.error = None
        self.oack = None
        self.acked = 0
        self.done = False
        self.nblocks = len(content) // 512 + 1

    def start(self):
        self.peer.send(self.req)
        r, addr = self.peer.recv(2.0)
        if r is None:
            self.error = (-1, "no answer to WRQ")
            return False
        self.tid = addr
        if r["op"] == ERROR:
            self.error = (r["code"], r["msg"])
            return False
        if r["op"] == OACK:
            self.oack = r["opts"]
            self.blksize = int(self.oack.get("blksize", 512))
            self.window = int(self.oack.get("windowsize", 1))
        elif not (r["op"] == ACK and r["block"] == 0):
            self.error = (-2, "unexpected " + describe(r))
            return False
        self.nblocks = len(self.content) // self.blksize + 1
        return True

    def _send_window(self):
        first = self.acked + 1
        for b in range(first, min(self.acked + self.window, self.nblocks) + 1):
            off = (b - 1) * self.blksize
            self.peer.send(data(b, self.content[off:off + self.blksize]), self.tid)

    def step(self, blocks=None, retries=5):
        goal = None if blocks is None else self.acked + blocks
        misses = 0
        self._send_window()
        while not self.done and self.error is None:
            r, addr = self.peer.recv(2.0)
            if r is None:
                misses += 1
                if misses > retries:
                    self.error = (-1, "server went silent at block %d" % self.acked)
                    return False
                self._send_window()
                continue
            if addr != self.tid:
                continue
            if r["op"] == ERROR:
                self.error = (r["code"], r["msg"])
                return False
            if r["op"] != ACK:
                continue
            a = self.acked + ((r["block"] - self.acked) & 0xFFFF)
            if a <= self.acked or a > self.nblocks:
                continue
            self.acked = a
            misses = 0
            if a == self.nblocks:
                self.done = True
                return True
            if goal is not None and self.acked >= goal:
                return True
            self._send_window()
        return self.done

    def run(self):
        if self.tid is None and not self.start():
            return False
        return self.step()

    def close(self):
        self.peer.close()


# ---- metrics ----

class Metrics:
    """Counter deltas against pxecast's metrics file (rewritten every second)."""

    def __init__(self, path):
        self.path = path
        self.base = self.fresh() if path else {}
        self.want = {}

    def fresh(self):
        """The counters once the file was rewritten after this call (so
        that nothing done before is missing from them)."""
        def ident():
            try:
                st = os.stat(self.path)
                return (st.st_ino, st.st_mtime_ns)
            except OSError:
                return None
        first = ident()
        deadline = time.time() + 3.0 * SLOW
        while ident() == first and time.time() < deadline:
            time.sleep(0.05)
        return self.read()

    def read(self):
        vals = {}
        try:
            with open(self.path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[0].startswith("pxecast_tftp_"):
                        name = parts[0][len("pxecast_tftp_"):]
                        if name.endswith("_total"):
                            name = name[:-len("_total")]
                        vals[name] = int(parts[1])
        except OSError:
            pass
        return vals

    def expect(self, name, lo, hi=None):
        """Another lo..hi increments of counter `name` are expected."""
        a, b = self.want.get(name, (0, 0))
        self.want[name] = (a + lo, b + (lo if hi is None else hi))

    def verify(self, timeout=6.0, active=0):
        if not self.path:
            return
        deadline = time.time() + timeout * SLOW
        while True:
            now = self.read()
            bad = []
            for name, (lo, hi) in sorted(self.want.items()):
                d = now.get(name, 0) - self.base.get(name, 0)
                if not lo <= d <= hi:
                    bad.append("%s +%d (expected %s)" % (name, d, lo if lo == hi else "%d..%d" % (lo, hi)))
            if active is not None and now.get("sessions_active") != active:
                bad.append("sessions_active %s (expected %d)" % (now.get("sessions_active"), active))
            if not bad or time.time() > deadline:
                break
            time.sleep(0.1)
        shown = ", ".join("%s +%d" % (n, now.get(n, 0) - self.base.get(n, 0)) for n in sorted(self.want))
        check(not bad, "counters: " + shown + ("" if active is None else ", sessions_active %s" % now.get("sessions_active")),
              "; ".join(bad))
        self.base = now
        self.want = {}


# ---- scenarios ----

def expect_error(server, what, pkt, code, m=None, counter=None, port=69):
    """Send pkt from a fresh port; expect ERROR `code` from the listening port."""
    r, addr = ask(server, pkt)
    good = (r is not None and r["op"] == ERROR and r.get("code") == code
            and addr == (server, port) and r.get("nul", False))
    check(good, "%s -> ERROR %d" % (what, code),
          "got %s%s" % (describe(r), "" if addr in (None, (server, port)) else " from %s:%d" % addr))
    if m and counter:
        m.expect(counter, 1)
    return r


def expect_silence(server, what, pkt, m=None, counter=None, wait=1.0):
    r, addr = ask(server, pkt, timeout=wait)
    check(r is None, "%s -> no answer" % what, "got %s" % describe(r))
    if m and counter:
        m.expect(counter, 1)


def still_serving(server, name, want):
    d = get(server, name)
    return check(d.done and sha256(d.data) == want,
                 "server still answers (%s sha256 ok)" % name, "error %s" % (d.error,))


def scenario_malformed(a):
    """Datagrams that are not a valid request on the listening port."""
    srv, m = a.server, Metrics(a.metrics)
    ref = open(os.path.join(a.root, a.name), "rb").read()
    expect_silence(srv, "0-byte datagram", b"", m, "dropped_short")
    expect_silence(srv, "1-byte datagram", b"\x00", m, "dropped_short")
    expect_error(srv, "2 bytes (RRQ opcode only)", b"\x00\x01", 4, m, "bad_requests")
    expect_error(srv, "3 bytes (RRQ opcode + 1)", b"\x00\x01a", 4, m, "bad_requests")
    expect_error(srv, "3 bytes (DATA opcode + 1)", b"\x00\x03\x00", 4, m, "bad_requests")
    expect_error(srv, "opcode 0", request(0, a.name), 4, m, "bad_requests")
    expect_error(srv, "opcode 7", request(7, a.name), 4, m, "bad_requests")
    expect_error(srv, "opcode 0xffff", request(0xFFFF, a.name), 4, m, "bad_requests")
    expect_error(srv, "OACK to the listening port", b"\x00\x06blksize\x00512\x00", 4, m, "bad_requests")
    expect_error(srv, "DATA to the listening port", data(1, b"x" * 100), 4, m, "bad_requests")
    expect_error(srv, "ACK to the listening port", ack(1), 4, m, "bad_requests")
    # An ERROR is never answered with an ERROR (RFC 1350); counting it as a
    # bad request or not is the server's choice.
    expect_silence(srv, "ERROR to the listening port", error(0, "hello"))
    m.expect("bad_requests", 0, 1)
    expect_error(srv, "RRQ without NUL after the name", b"\x00\x01" + a.name.encode(), 4, m, "bad_requests")
    expect_error(srv, "RRQ without NUL after the mode", b"\x00\x01" + a.name.encode() + b"\x00octet", 4, m, "bad_requests")
    expect_error(srv, "RRQ without a mode", b"\x00\x01" + a.name.encode() + b"\x00", 4, m, "bad_requests")
    expect_error(srv, "RRQ with an empty name", request(RRQ, b""), 4, m, "bad_requests")
    expect_error(srv, "WRQ with an empty name", request(WRQ, b""), 4, m, "bad_requests")
    expect_error(srv, "unknown mode 'mail'", request(RRQ, a.name, "mail"), 4, m, "bad_requests")
    expect_error(srv, "unknown mode 'binary'", request(RRQ, a.name, "binary"), 4, m, "bad_requests")
    expect_error(srv, "empty mode", request(RRQ, a.name, ""), 4, m, "bad_requests")
    expect_error(srv, "512-byte name", request(RRQ, "n" * 512), 4, m, "bad_requests")
    expect_error(srv, "4000-byte name", request(RRQ, "n" * 4000), 4, m, "bad_requests")
    name511 = "/".join(["d" * 127] * 4)
    assert len(name511) == 511
    expect_error(srv, "511-byte name (legal length, no such file)", request(RRQ, name511), 1, m, "not_found")
    m.expect("requests", 1)
    r, addr = ask(srv, request(RRQ, "n" * 300))
    check(r is not None and r["op"] == ERROR and r["code"] in (1, 2),
          "300-byte path component (over NAME_MAX) -> ERROR 1 or 2", describe(r))
    m.expect("requests", 1)
    m.expect("not_found", 0, 1)
    m.expect("denied", 0, 1)
    expect_error(srv, "option without value",
                 b"\x00\x01" + a.name.encode() + b"\x00octet\x00blksize\x00", 4, m, "bad_requests")
    expect_error(srv, "option value without NUL",
                 b"\x00\x01" + a.name.encode() + b"\x00octet\x00blksize\x00512", 4, m, "bad_requests")
    opts17 = [("x%d" % i, "1") for i in range(17)]
    expect_error(srv, "17 options", request(RRQ, a.name, "octet", opts17), 4, m, "bad_requests")
    # the limits themselves are legal
    d = get(srv, a.name, opts=[("x%d" % i, "1") for i in range(16)])
    check(d.done and bytes(d.data) == ref, "16 (unknown) options are accepted and the file served",
          "error %s" % (d.error,))
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)
    d = get(srv, a.name, mode="OcTeT")
    check(d.done and bytes(d.data) == ref, "mode names are case-insensitive ('OcTeT')", "error %s" % (d.error,))
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)
    m.verify(active=0)
    # a burst of garbage (never a valid RRQ/WRQ) must not wedge the port
    p = Peer(srv)
    for i in range(200):
        p.send(bytes([i % 256, (i * 7) % 256]) + os.urandom(i % 40))
    p.close()
    time.sleep(0.3 * SLOW)
    still_serving(srv, a.name, sha256(ref))
    Metrics(a.metrics).verify(active=0)


def scenario_access(a):
    """Names that resolve outside the root, to non-files, or to nothing."""
    srv, m = a.server, Metrics(a.metrics)
    ref = open(os.path.join(a.root, a.name), "rb").read()
    secret = open(a.outside, "rb").read()
    outside = os.path.basename(a.outside)
    for name in ["../" + outside, "sub/../../" + outside, "/../" + outside, "..\\" + outside,
                 "sub\\..\\..\\" + outside, "escape-abs", "escape-rel", "sub/escape-dir/" + outside,
                 "sub", "sub/", ".", "/"]:
        r = expect_error(srv, "RRQ '%s'" % name, request(RRQ, name), 2, m, "denied")
        check(not (r and r["op"] == DATA and secret.startswith(r["payload"][:64])),
              "'%s' content not served" % name)
        m.expect("requests", 1)
    # Every kind of non-regular file is an access violation.
    # Regression (fixed in 8100fb4): open() of a unix socket fails with ENXIO,
    # which was answered ERROR 0 'i/o error'.
    for name, what in [("nulldev", "character device"), ("fifo", "fifo"),
                       ("sock", "unix socket")]:
        if os.path.lexists(os.path.join(a.root, name)):
            expect_error(srv, "RRQ '%s' (%s)" % (name, what), request(RRQ, name), 2, m, "denied")
            m.expect("requests", 1)
        else:
            print("  skip  no %s in the root" % what)
    still_serving(srv, a.name, sha256(ref))
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)
    for name in ["missing.bin", "sub/missing.bin", "no-such-dir/x.bin", "file1k/below-a-file"]:
        expect_error(srv, "RRQ '%s'" % name, request(RRQ, name), 1, m, "not_found")
        m.expect("requests", 1)
    # An absolute path is taken relative to the root: /etc/passwd is not served.
    r, addr = ask(srv, request(RRQ, "/etc/passwd"))
    check(r is not None and r["op"] == ERROR and r["code"] in (1, 2),
          "RRQ '/etc/passwd' -> ERROR 1 or 2 (never the host's file)", describe(r))
    m.expect("requests", 1)
    m.expect("not_found", 0, 1)
    m.expect("denied", 0, 1)
    expect_error(srv, "WRQ without upload-dir", request(WRQ, "new.bin"), 2, m, "denied")
    m.expect("requests", 1)
    for name, what in [("link-in", "symlink inside the root"), ("/" + a.name, "leading '/'"),
                       ("sub\\inner.bin", "'\\' read as '/'"), ("sub/../" + a.name, "'..' that stays inside")]:
        want = open(os.path.join(a.root, "sub/inner.bin" if "inner" in name else a.name), "rb").read()
        d = get(srv, name)
        check(d.done and bytes(d.data) == want, "RRQ '%s' (%s) is served" % (name, what),
              "error %s" % (d.error,))
        m.expect("requests", 1)
        m.expect("transfers_ok", 1)
    m.verify(active=0)


def oack_case(srv, name, ref, opts, want_oack, m, ignored=0, want_blk=None, what=None):
    d = Download(srv, name, opts)
    d.run()
    d.close()
    what = what or " ".join("%s=%s" % kv for kv in opts)
    got = d.oack if d.oack is not None else "no OACK"
    check(d.error is None and d.oack == want_oack,
          "%s -> %s" % (what, want_oack or "no OACK"), "got %s, error %s" % (got, d.error))
    check(d.done and bytes(d.data) == ref and (want_blk is None or d.blksize == want_blk),
          "%s: file complete, blksize %d" % (what, d.blksize),
          "done=%s len=%d error=%s" % (d.done, len(d.data), d.error))
    if want_oack is None:
        check(d.first is not None and d.first["op"] == DATA and d.first["block"] == 1,
              "%s: no OACK, DATA 1 comes first" % what, describe(d.first))
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)
    if ignored:
        m.expect("options_ignored", ignored)
    return d


def scenario_options(a):
    """Option negotiation: invalid values, limits, duplicates (RFC 2347-2349, 7440)."""
    srv, m = a.server, Metrics(a.metrics)
    ref = open(os.path.join(a.root, a.name), "rb").read()
    size = str(len(ref))
    cap = str(a.max_blksize)
    T = ("tsize", "0")
    oack_case(srv, a.name, ref, [T], {"tsize": size}, m, what="tsize=0 (RRQ)")
    # invalid values are left out of the OACK and the defaults apply
    for opt in [("blksize", "0"), ("blksize", "7"), ("blksize", "abc"), ("blksize", "-1"),
                ("blksize", ""), ("blksize", "512x"), ("timeout", "0"), ("timeout", "256"),
                ("windowsize", "0"), ("windowsize", "many")]:
        oack_case(srv, a.name, ref, [T, opt], {"tsize": size}, m, ignored=1, want_blk=512)
    oack_case(srv, a.name, ref, [("blksize", "7")], None, m, ignored=1, want_blk=512,
              what="blksize=7 alone")
    oack_case(srv, a.name, ref, [("timeout", "0"), ("windowsize", "0")], None, m, ignored=2,
              want_blk=512, what="timeout=0 windowsize=0 alone")
    # the limits of the legal ranges
    oack_case(srv, a.name, ref, [("blksize", "8")], {"blksize": "8"}, m, want_blk=8)
    oack_case(srv, a.name, ref, [("blksize", "1000")], {"blksize": "1000"}, m, want_blk=1000)
    oack_case(srv, a.name, ref, [("timeout", "1")], {"timeout": "1"}, m)
    oack_case(srv, a.name, ref, [("timeout", "255")], {"timeout": "255"}, m)
    oack_case(srv, a.name, ref, [("windowsize", "1")], {"windowsize": "1"}, m)
    oack_case(srv, a.name, ref, [("BlkSize", "1024"), ("TSIZE", "0")], {"blksize": "1024", "tsize": size},
              m, want_blk=1024, what="option names in mixed case")
    # above the configured caps: clamped
    oack_case(srv, a.name, ref, [("blksize", "65464")], {"blksize": cap}, m, want_blk=a.max_blksize,
              what="blksize=65464 (max-blksize %s)" % cap)
    oack_case(srv, a.name, ref, [("blksize", "99999999999999999999999")], {"blksize": cap}, m,
              want_blk=a.max_blksize, what="blksize=10^23 (max-blksize %s)" % cap)
    # unknown options are not echoed (whether they count as ignored is the server's choice)
    oack_case(srv, a.name, ref, [("foo", "bar"), T], {"tsize": size}, m, what="unknown option foo=bar")
    m.expect("options_ignored", 0, 1)
    # windowsize above max-window: clamped, and the server really sends that many
    big = open(os.path.join(a.root, a.big), "rb").read()
    d = Download(srv, a.big, [("windowsize", "65535")])
    d.start(ack_oack=False)
    w = str(a.max_window)
    check(d.oack == {"windowsize": w}, "windowsize=65535 -> OACK windowsize %s (max-window)" % w,
          "got %s" % describe(d.first))
    d.peer.send(ack(0), d.tid)
    blocks = []
    while True:
        r, addr = d.peer.recv(0.5)
        if r is None:
            break
        if r["op"] == DATA and r["block"] not in blocks:
            blocks.append(r["block"])
        if len(blocks) > 2 * a.max_window:
            break
    check(blocks == list(range(1, a.max_window + 1)),
          "the first window is exactly blocks 1..%s" % w, "got %s" % blocks)
    d.peer.send(error(0, "enough"), d.tid)
    d.close()
    m.expect("requests", 1)
    m.expect("transfers_failed", 1)
    d = get(srv, a.big, [("windowsize", "65535"), ("blksize", "1024")])
    check(d.done and sha256(d.data) == sha256(big), "windowsize %s download of %s complete" % (w, a.big),
          "error %s" % (d.error,))
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)
    # an option given twice: ERROR 8
    expect_error(srv, "blksize given twice", request(RRQ, a.name, "octet", [("blksize", "512"), ("blksize", "1024")]),
                 8, m, "bad_requests")
    expect_error(srv, "tsize given twice (case differs)", request(RRQ, a.name, "octet", [("tsize", "0"), ("TSIZE", "0")]),
                 8, m, "bad_requests")
    expect_error(srv, "windowsize given twice (one invalid)",
                 request(RRQ, a.name, "octet", [("windowsize", "0"), ("windowsize", "4")]), 8, m, "bad_requests")
    m.expect("requests", 3)
    m.expect("options_ignored", 0, 1)
    m.verify(active=0)


def scenario_sessions(a):
    """Foreign TIDs, duplicate requests, busy, client errors, the UEFI tsize probe."""
    srv, m = a.server, Metrics(a.metrics)
    ref = open(os.path.join(a.root, a.name), "rb").read()
    big = open(os.path.join(a.root, a.big), "rb").read()

    # a packet from another port to a transfer port: ERROR 5 there, transfer goes on
    d = Download(srv, a.big)
    d.start()
    d.step(blocks=3)
    intruder = Peer(srv)
    intruder.send(ack(1), d.tid)
    r, addr = intruder.recv(2.0)
    check(r is not None and r["op"] == ERROR and r["code"] == 5 and addr == d.tid,
          "ACK from a foreign port to the transfer port -> ERROR 5 from that port", describe(r))
    intruder.send(error(0, "go away"), d.tid)
    r, addr = intruder.recv(2.0)
    check(r is not None and r["op"] == ERROR and r["code"] == 5,
          "ERROR from a foreign port -> ERROR 5 (and it does not end the transfer)", describe(r))
    intruder.close()
    d.step()
    d.close()
    check(d.done and bytes(d.data) == big, "the transfer with the intruder finished intact",
          "error %s" % (d.error,))
    m.expect("wrong_tid", 2)
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)

    # the same request twice from the same port: one session
    p = Peer(srv)
    p.send(request(RRQ, a.name))
    p.send(request(RRQ, a.name))
    d = Download(srv, a.name, peer=p)
    d.tid = None
    d.start()  # sends the request a third time
    d.step()
    tids = set()
    while True:
        r, addr = p.recv(0.5)
        if r is None:
            break
        tids.add(addr)
    d.close()
    check(d.done and bytes(d.data) == ref, "a request repeated 3 times is served once, intact",
          "error %s" % (d.error,))
    check(not (tids - {d.tid}), "no second transfer port answered", "extra %s" % sorted(tids - {d.tid}))
    m.expect("duplicate_requests", 2)
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)

    # a duplicated ACK never makes the server send a block twice (Sorcerer's
    # Apprentice, RFC 1123); an unacknowledged OACK is sent again
    d = Download(srv, a.big, [("tsize", "0")])
    d.start(ack_oack=False)
    r, addr = d.peer.recv(3.0)
    check(r is not None and r["op"] == OACK, "an unacknowledged OACK is sent again", describe(r))
    d.peer.send(ack(0), d.tid)
    r, addr = d.peer.recv(2.0)
    d.peer.send(ack(1), d.tid)
    d.peer.send(ack(1), d.tid)
    d.peer.send(ack(1), d.tid)
    seen = []
    while True:
        r, addr = d.peer.recv(0.4, scale=False)  # well before the 1 s retransmission
        if r is None:
            break
        seen.append(r.get("block"))
    check(seen == [2], "ACK 1 sent three times -> DATA 2 exactly once (no Sorcerer's Apprentice)",
          "got blocks %s" % seen)
    d.peer.send(error(0, "enough"), d.tid)
    d.close()
    m.expect("requests", 1)
    m.expect("transfers_failed", 1)

    # windowed: an ACK in the middle of the window (a lost block) restarts there
    d = Download(srv, a.big, [("windowsize", "8")])
    d.start()
    first = []
    while len(first) < 8:
        r, addr = d.peer.recv(2.0)
        if r is None:
            break
        if r["op"] == DATA:
            first.append(r["block"])
    d.peer.send(ack(4), d.tid)
    again = []
    while len(again) < 8:
        r, addr = d.peer.recv(2.0)
        if r is None:
            break
        if r["op"] == DATA:
            again.append(r["block"])
    check(first == list(range(1, 9)) and again == list(range(5, 13)),
          "windowsize 8: ACK 4 after blocks 1..8 -> the server goes on with 5..12",
          "first %s, then %s" % (first, again))
    d.peer.send(error(0, "enough"), d.tid)
    d.close()
    m.expect("requests", 1)
    m.expect("transfers_failed", 1)

    # a client ERROR mid-transfer ends the session
    d = Download(srv, a.big)
    d.start()
    d.step(blocks=2)
    d.peer.send(error(0, "user abort"), d.tid)
    r, addr = d.peer.recv(0.5)
    check(r is None or r["op"] == DATA, "after the client's ERROR nothing but stray DATA arrives", describe(r))
    d.close()
    m.expect("requests", 1)
    m.expect("transfers_failed", 1)
    m.verify(active=0)

    # max-sessions: the next request is refused with ERROR 0 "busy"
    held = []
    for i in range(a.max_sessions):
        h = Download(srv, a.big)
        h.start()
        held.append(h)
    check(all(h.error is None for h in held), "%d sessions open (max-sessions)" % a.max_sessions,
          str([h.error for h in held]))
    r, addr = ask(srv, request(RRQ, a.name))
    check(r is not None and r["op"] == ERROR and r["code"] == 0 and "busy" in r["msg"].lower(),
          "request number %d -> ERROR 0 'server busy'" % (a.max_sessions + 1), describe(r))
    m.expect("busy", 1)
    m.expect("requests", a.max_sessions + 1)
    for h in held:
        h.peer.send(error(0, "done"), h.tid)
        h.close()
    m.expect("transfers_failed", a.max_sessions)
    time.sleep(0.1 * SLOW)
    d = get(srv, a.name)
    check(d.done and bytes(d.data) == ref, "after the sessions ended a request is served again",
          "error %s" % (d.error,))
    m.expect("requests", 1)
    m.expect("transfers_ok", 1)
    m.verify(active=0)

    # UEFI: tsize probe, the client answers the OACK with ERROR 8, then asks again
    for same_port in (True, False):
        p = Peer(srv)
        d = Download(srv, a.name, [("tsize", "0"), ("blksize", "1468")], peer=p)
        d.start(ack_oack=False)
        check(d.oack is not None and d.oack.get("tsize") == str(len(ref)),
              "tsize probe -> OACK tsize=%d" % len(ref), describe(d.first))
        p.send(error(8, "tsize only"), d.tid)
        if not same_port:
            p.close()
            p = Peer(srv)
        d2 = Download(srv, a.name, [("blksize", "1468")], peer=p)
        d2.run()
        d2.close()
        check(d2.done and bytes(d2.data) == ref,
              "the real request right after ERROR 8 (%s port) is served" % ("same" if same_port else "new"),
              "error %s" % (d2.error,))
        m.expect("requests", 2)
        m.expect("transfers_ok", 1)
        m.expect("transfers_failed", 0, 1)  # the probe: a failure or not, server's choice
    m.verify(active=0)


def scenario_tsize_probe(a):
    """The UEFI pattern alone, then sessions_active must read 0 right after."""
    srv = a.server
    ref_len = os.path.getsize(os.path.join(a.root, a.name))
    for i in range(a.count):
        d = Download(srv, a.name, [("tsize", "0"), ("blksize", "1468")])
        d.start(ack_oack=False)
        if not check(d.oack is not None and d.oack.get("tsize") == str(ref_len),
                     "probe %d: OACK tsize=%d" % (i + 1, ref_len), describe(d.first)):
            break
        d.peer.send(error(8, "tsize query"), d.tid)
        d.close()


def scenario_vanish(a):
    """Download a few blocks, then disappear without a word (--blocks 0:
    right after the OACK, without acknowledging it)."""
    d = Download(a.server, a.name, [("blksize", "512"), ("tsize", "0")])
    d.start(ack_oack=a.blocks > 0)
    if a.blocks:
        d.step(blocks=a.blocks)
    check(d.error is None and d.expected > a.blocks and d.oack is not None,
          "received the OACK and %d blocks, now vanishing" % (d.expected - 1), "error %s" % (d.error,))
    d.close()


def scenario_trickle(a):
    """A client that ACKs every block but slowly (each ACK before the server's
    retransmission timer fires): max-transfer-seconds must still end it."""
    d = Download(a.server, a.name, [("blksize", "512")])
    t0 = time.time()
    d.start()
    ended = None
    while time.time() - t0 < a.seconds * SLOW:
        r, addr = d.peer.recv(0.1)
        if r is None or addr != d.tid:
            continue
        if r["op"] == ERROR:
            ended = (time.time() - t0, r["code"], r["msg"])
            break
        if r["op"] == DATA and r["block"] == d.expected & 0xFFFF:
            time.sleep(a.delay)
            d._data(r)
            if d.done:
                break
    d.close()
    if ended:
        how = "ERROR %d '%s' after %.1fs" % (ended[1], ended[2], ended[0])
    else:
        how = "%s after %.1fs" % ("completed" if d.done else "still running", time.time() - t0)
    check(ended is not None and ended[0] <= a.limit + 3 * SLOW,
          "a trickling client (one ACK every %.1fs) is cut off by max-transfer-seconds=%d" % (a.delay, a.limit),
          "%s, %d blocks received" % (how, d.expected - 1))


def scenario_hold(a):
    """Open a download, ACK nothing after the OACK, keep the port for --seconds."""
    d = Download(a.server, a.name, [("blksize", "512")])
    d.start()
    check(d.error is None, "download of %s started" % a.name, "error %s" % (d.error,))
    print("READY", flush=True)
    time.sleep(a.seconds)
    d.close()


def scenario_get(a):
    """One download with options; checks the OACK, error code or sha256."""
    opts = [tuple(o.split("=", 1)) for o in a.opt]
    d = get(a.server, a.name, opts)
    if a.expect_error is not None:
        check(d.error is not None and d.error[0] == a.expect_error,
              "RRQ %s -> ERROR %d" % (show(a.name), a.expect_error), "got %s" % (d.error or "the file",))
        return
    if a.expect_oack is not None:
        want = dict(o.split("=", 1) for o in a.expect_oack)
        check(d.oack == want or (not want and d.oack is None), "RRQ %s %s -> OACK %s" % (show(a.name), a.opt, want),
              "got %s" % (d.oack,))
    check(d.done, "RRQ %s complete (%d bytes)" % (show(a.name), len(d.data)), "error %s" % (d.error,))
    if a.sha:
        check(sha256(d.data) == a.sha, "%s sha256 %s" % (show(a.name), a.sha[:16]), "got %s" % sha256(d.data)[:16])


def scenario_replace(a):
    """A file renamed over while it is being sent: the running transfer keeps
    the old content, a new request gets the new one."""
    path = os.path.join(a.root, a.name)
    old = open(path, "rb").read()
    new = open(a.new, "rb").read()
    d1 = Download(a.server, a.name, [("blksize", "1024"), ("windowsize", "4")])
    d1.start()
    d1.step(blocks=a.blocks)
    check(d1.error is None and not d1.done, "first transfer is at block %d of %d" %
          (d1.expected - 1, len(old) // 1024 + 1), "error %s" % (d1.error,))
    os.rename(a.new, path)
    print("  ....  renamed the new content over %s" % a.name)
    d2 = get(a.server, a.name, [("blksize", "1024"), ("windowsize", "4")])
    check(d2.done and sha256(d2.data) == sha256(new), "a request after the rename gets the NEW content",
          "error %s, sha %s" % (d2.error, sha256(d2.data)[:16]))
    d1.step()
    d1.close()
    check(d1.done and sha256(d1.data) == sha256(old), "the running transfer finishes with the OLD content",
          "error %s, %d bytes, sha %s (old %s, new %s)" % (d1.error, len(d1.data), sha256(d1.data)[:16],
                                                             sha256(old)[:16], sha256(new)[:16]))


def scenario_rollover(a):
    """More than 65536 blocks (blksize 8): the block number after 65535 is 0."""
    ref = open(os.path.join(a.root, a.name), "rb").read()
    d = Download(a.server, a.name, [("blksize", str(a.blksize)), ("windowsize", str(a.window))])
    d.run(timeout=3.0)
    d.close()
    nblocks = len(ref) // a.blksize + 1
    check(nblocks > 65536, "%s needs %d blocks of %d bytes" % (a.name, nblocks, a.blksize))
    check(d.wire_after_65535 == 0, "block 65536 went on the wire as 0", "saw %s" % d.wire_after_65535)
    check(d.done and sha256(d.data) == sha256(ref), "download over the rollover intact (sha256)",
          "error %s, %d of %d bytes" % (d.error, len(d.data), len(ref)))


def scenario_put(a):
    content = open(a.file, "rb").read()
    opts = [tuple(o.split("=", 1)) for o in a.opt]
    u = Upload(a.server, a.name, content, opts)
    u.run()
    u.close()
    if a.expect_error is not None:
        check(u.error is not None and u.error[0] == a.expect_error,
              "WRQ %s %s -> ERROR %d" % (show(a.name), a.opt, a.expect_error),
              "got %s" % (u.error or "a completed upload",))
    else:
        check(u.done, "WRQ %s %s: %d bytes sent and acknowledged" % (show(a.name), a.opt, len(content)),
              "error %s" % (u.error,))


def scenario_partial_upload(a):
    """Send part of an upload, look at the directory, then vanish."""
    final = os.path.join(a.updir, a.name)
    content = os.urandom(512 * (a.blocks + 20))
    u = Upload(a.server, a.name, content)
    u.start()
    u.step(blocks=a.blocks)
    check(u.error is None and u.acked >= a.blocks, "upload %s: %d blocks acknowledged" % (a.name, u.acked),
          "error %s" % (u.error,))
    check(not os.path.lexists(final), "nothing under the final name %s while in progress" % a.name)
    temps = [f for f in os.listdir(os.path.dirname(final)) if f not in (a.name,) and f.startswith(".")]
    print("  ....  in progress, directory holds %s" % (temps or "no hidden file"))
    u.close()
    print("  ....  client vanished", flush=True)


def scenario_upload_race(a):
    """Two uploads of the same new name at once: the first to finish wins,
    the second is refused with ERROR 6 and does not overwrite."""
    final = os.path.join(a.updir, a.name)
    one = os.urandom(3000)
    two = os.urandom(5000)
    u1 = Upload(a.server, a.name, one)
    u2 = Upload(a.server, a.name, two)
    u1.start()
    u2.start()
    check(u1.error is None and u2.error is None, "both WRQs for the new name %s accepted" % a.name,
          "%s / %s" % (u1.error, u2.error))
    u2.step(blocks=2)
    u1.run()
    check(u1.done, "the first upload completes", "error %s" % (u1.error,))
    u2.step()
    check(u2.error is not None and u2.error[0] == 6, "the second upload is refused with ERROR 6 at the end",
          "got %s" % (u2.error or "completed",))
    u1.close()
    u2.close()
    got = open(final, "rb").read() if os.path.exists(final) else b""
    check(got == one, "%s holds the first upload's content" % a.name, "%d bytes" % len(got))
    left = [f for f in os.listdir(a.updir) if f.startswith(".pxecast-upload")]
    check(not left, "no temporary files left", str(left))


SCENARIOS = {
    "malformed": scenario_malformed,
    "access": scenario_access,
    "options": scenario_options,
    "sessions": scenario_sessions,
    "tsize-probe": scenario_tsize_probe,
    "vanish": scenario_vanish,
    "trickle": scenario_trickle,
    "hold": scenario_hold,
    "get": scenario_get,
    "replace": scenario_replace,
    "rollover": scenario_rollover,
    "put": scenario_put,
    "partial-upload": scenario_partial_upload,
    "upload-race": scenario_upload_race,
}


def main():
    global SLOW
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--server", required=True)
    ap.add_argument("--slow", type=float, default=1.0, help="scale every timeout")
    ap.add_argument("--metrics", help="pxecast metrics file: check counter deltas")
    ap.add_argument("--root", default=".")
    ap.add_argument("--name", default="file1k")
    ap.add_argument("--big", default="file64k")
    ap.add_argument("--outside")
    ap.add_argument("--new")
    ap.add_argument("--file")
    ap.add_argument("--updir")
    ap.add_argument("--opt", action="append", default=[])
    ap.add_argument("--expect-oack", nargs="*")
    ap.add_argument("--expect-error", type=int)
    ap.add_argument("--sha")
    ap.add_argument("--max-blksize", type=int, default=65464)
    ap.add_argument("--max-window", type=int, default=64)
    ap.add_argument("--max-sessions", type=int, default=4)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--blksize", type=int, default=8)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--limit", type=int, default=2)
    a = ap.parse_args()
    SLOW = a.slow
    SCENARIOS[a.scenario](a)
    if FAILS:
        print("  %s: %d of %d checks failed" % (a.scenario, FAILS, CHECKS), flush=True)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
