#!/usr/bin/env python3
"""Multicast TFTP clients for the pxecast integration tests.

`get` behaves as iPXE's tftm:// (src/net/udp/tftp.c), and with --deaf as
the iPXE we could run does (it never receives the group's packets): an RRQ with
blksize, tsize=0 and an empty "multicast" option; the unicast OACK says
multicast=addr,port,mc; the client joins the group; only with mc=1 (the
master) does it ACK, and it ACKs the first gap of its block bitmap after
every packet; a later unicast OACK with mc=1 promotes it. Packets from any
source other than the first responder are dropped. Its retry timer starts
at 0.25 s and doubles; it gives up when the doubled timeout passes 10 s.

`pxe` behaves as a PXE 2.1 MTFTP client: it listens on the group for
--listen seconds; if it hears nothing it opens with a plain RRQ to the
MTFTP server port; a unicast DATA packet makes it master (it ACKs); when
the transfer goes quiet before it has every block, it opens again.

`bad` sends what clients never send (ACKs from strangers, truncated
packets, ACKs past the end, unknown files) and checks the server's
counters for each.

    mtftp_wire.py --server 10.200.1.1 get --name f --out /tmp/f --sha HEX
"""
import argparse
import hashlib
import os
import random
import select
import socket
import struct
import sys
import time

RRQ, DATA, ACK, ERROR, OACK = 1, 3, 4, 5, 6
MIN_TIMEOUT, MAX_TIMEOUT = 0.25, 10.0


def log(msg):
    print(msg, flush=True)


def mc_socket(group, port, local_ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((group, port))
    mreq = socket.inet_aton(group) + socket.inet_aton(local_ip)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    return s


def local_ip_towards(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((server, 9))
    ip = s.getsockname()[0]
    s.close()
    return ip


def parse_oack(pkt):
    opts, parts = {}, pkt[2:].split(b"\0")
    for i in range(0, len(parts) - 1, 2):
        opts[parts[i].decode(errors="replace").lower()] = parts[i + 1].decode(errors="replace")
    return opts


class Receiver:
    """The block bitmap and retry timer both clients share."""

    def __init__(self, args):
        self.args = args
        self.blksize = 512
        self.size = None          # known from tsize, or from the short block
        self.blocks = {}
        self.peer = None
        self.send_ack = False
        self.timeout = MIN_TIMEOUT
        self.deadline = time.monotonic()
        self.promotions = 0
        self.rng = random.Random(args.seed or os.getpid())
        self.progress_at = 0

    def nblocks(self):
        return None if self.size is None else self.size // self.blksize + 1

    def first_gap(self):
        b = 0
        while (b + 1) in self.blocks:
            b += 1
        return b

    def complete(self):
        n = self.nblocks()
        return n is not None and len(self.blocks) >= n and self.first_gap() >= n

    def dropped(self):
        return self.args.drop and self.rng.random() < self.args.drop

    def restart_timer(self):
        self.timeout = MIN_TIMEOUT
        self.deadline = time.monotonic() + self.timeout

    def expire(self):
        """iPXE's retry timer: back off; True when it gives up."""
        self.timeout *= 2
        fail = self.timeout > MAX_TIMEOUT
        self.timeout = min(self.timeout, MAX_TIMEOUT)
        self.deadline = time.monotonic() + self.timeout
        return fail

    def on_data(self, pkt):
        wire = struct.unpack("!H", pkt[2:4])[0]
        payload = pkt[4:]
        if wire == 0 or len(payload) > self.blksize:
            return
        era = (self.first_gap() + 1) & ~0xFFFF
        block = era + wire
        self.blocks.setdefault(block, payload)
        if len(payload) < self.blksize:
            self.size = (block - 1) * self.blksize + len(payload)
        if self.args.progress and len(self.blocks) - self.progress_at >= 100:
            self.progress_at = len(self.blocks)
            with open(self.args.progress + ".tmp", "w") as f:
                f.write("%d\n" % len(self.blocks))
            os.replace(self.args.progress + ".tmp", self.args.progress)

    def finish(self, started):
        data = b"".join(self.blocks[b] for b in range(1, self.nblocks() + 1))
        if self.args.out:
            with open(self.args.out, "wb") as f:
                f.write(data)
        digest = hashlib.sha256(data).hexdigest()
        secs = time.monotonic() - started
        log("done bytes=%d seconds=%.2f promotions=%d sha256=%s" % (len(data), secs,
                                                                   self.promotions, digest))
        if self.args.sha and digest != self.args.sha:
            log("FAIL sha256 mismatch (expected %s)" % self.args.sha)
            return 1
        return 0


def wait_barrier(d):
    """Say ready, then wait for the test's go: clients started together ask
    together, however slowly each Python starts on a loaded machine."""
    open(os.path.join(d, "ready.%d" % os.getpid()), "w").close()
    limit = time.monotonic() + 120
    while not os.path.exists(os.path.join(d, "go")):
        if time.monotonic() > limit:
            log("FAIL no go in %s" % d)
            return False
        time.sleep(0.005)
    return True


def rfc2090_get(args):
    """iPXE tftm://"""
    r = Receiver(args)
    uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uc.bind(("0.0.0.0", 0))
    local = local_ip_towards(args.server)
    mc, group = None, None
    rrq = (struct.pack("!H", RRQ) + args.name.encode() + b"\0octet\0blksize\0%d\0tsize\0000\0"
           % args.blksize + b"multicast\0\0")
    server = (args.server, args.port)

    def send_packet():
        r.restart_timer()
        if r.peer is None:
            uc.sendto(rrq, server)
        elif r.send_ack:
            uc.sendto(struct.pack("!HH", ACK, r.first_gap() & 0xFFFF), r.peer)

    if args.barrier and not wait_barrier(args.barrier):
        return 1
    started = time.monotonic()
    send_packet()
    while True:
        socks = [uc] + ([mc] if mc else [])
        ready, _, _ = select.select(socks, [], [], max(0.0, r.deadline - time.monotonic()))
        if not ready:
            if r.expire():
                log("FAIL timed out (%d blocks of %s)" % (len(r.blocks), r.nblocks()))
                return 1
            if r.peer is None:
                uc.sendto(rrq, server)
            elif r.send_ack:
                uc.sendto(struct.pack("!HH", ACK, r.first_gap() & 0xFFFF), r.peer)
            continue
        for s in ready:
            if s.fileno() < 0:
                continue  # the multicast socket was reopened meanwhile
            pkt, src = s.recvfrom(65536)
            if r.dropped() or len(pkt) < 4 or (args.deaf and s is not uc):
                continue
            if s is uc:
                r.send_ack = True  # a unicast packet: ACKs on (iPXE)
            if r.peer is None:
                r.peer = src
            elif src != r.peer:
                continue
            op = struct.unpack("!H", pkt[:2])[0]
            if op == ERROR:
                log("FAIL server error %d: %s" % (struct.unpack("!H", pkt[2:4])[0],
                                                 pkt[4:].split(b"\0")[0].decode(errors="replace")))
                return 2
            if op == OACK:
                opts = parse_oack(pkt)
                r.blksize = int(opts.get("blksize", r.blksize))
                if "tsize" in opts:
                    r.size = int(opts["tsize"])
                if "multicast" not in opts:
                    log("FAIL OACK without multicast")
                    return 1
                addr, port, master = opts["multicast"].split(",")
                if master.strip() == "0":
                    r.send_ack = False
                elif r.blocks or r.promotions or group:
                    r.promotions += 1
                if addr and port:
                    if mc:
                        mc.close()  # iPXE reopens its multicast socket
                    group = (addr, int(port))
                    mc = mc_socket(addr, int(port), local)
                send_packet()
            elif op == DATA:
                r.on_data(pkt)
                if args.stop_after and len(r.blocks) >= args.stop_after:
                    log("stopping abruptly after %d blocks" % len(r.blocks))
                    os._exit(3)
                send_packet()
                if r.complete():
                    return r.finish(started)


def pxe_get(args):
    """A PXE 2.1 MTFTP client: listen, open, listen again."""
    r = Receiver(args)
    uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uc.bind(("0.0.0.0", 0))
    mc = mc_socket(args.group, args.cport, local_ip_towards(args.server))
    rrq = struct.pack("!H", RRQ) + args.name.encode() + b"\0octet\0"
    server = (args.server, args.sport)
    started = time.monotonic()
    heard = time.monotonic()     # listening counts as silence from the start
    opened = False
    opens = 0
    while time.monotonic() - started < args.limit:
        quiet = time.monotonic() - heard
        wait = args.listen if not opened else (0.5 if r.send_ack else args.delay)
        if quiet >= wait:
            # Silence: open (again); the peer is whoever answers.
            uc.sendto(rrq, server)
            opens += 1
            opened = True
            r.peer = None
            r.send_ack = False
            heard = time.monotonic()
            continue
        ready, _, _ = select.select([uc, mc], [], [], wait - quiet)
        for s in ready:
            pkt, src = s.recvfrom(65536)
            if r.dropped() or len(pkt) < 4:
                continue
            if r.peer is None:
                r.peer = src
            elif src != r.peer:
                continue
            op = struct.unpack("!H", pkt[:2])[0]
            if op == ERROR:
                log("FAIL server error %d" % struct.unpack("!H", pkt[2:4])[0])
                return 2
            if op != DATA:
                continue
            if s is uc:
                r.send_ack = True  # unicast data: we are the master
            heard = time.monotonic()
            r.on_data(pkt)
            if r.send_ack:
                uc.sendto(struct.pack("!HH", ACK, r.first_gap() & 0xFFFF), r.peer)
            if r.complete():
                log("opens=%d" % opens)
                return r.finish(started)
    log("FAIL not complete after %ds (%d blocks)" % (args.limit, len(r.blocks)))
    return 1


# ---- bad input ----

def metrics(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(" ")
            if k.startswith("pxecast_mtftp_"):
                out[k[len("pxecast_mtftp_"):].replace("_total", "")] = int(v)
    return out


def metric_delta(path, before, name, want, limit=5.0):
    deadline = time.monotonic() + limit
    got = None
    while time.monotonic() < deadline:
        got = metrics(path).get(name, 0) - before.get(name, 0)
        if got >= want:
            break
        time.sleep(0.1)
    return got


CHECKS = [0, 0]


def check(cond, msg):
    CHECKS[0] += 1
    if not cond:
        CHECKS[1] += 1
    log(("  ok    " if cond else "  FAIL  ") + msg)


def bad_input(args):
    before = metrics(args.metrics)
    uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uc.settimeout(3)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server = (args.server, args.port)

    # An unknown file: a TFTP error, counted by MTFTP as unknown.
    uc.sendto(struct.pack("!H", RRQ) + b"no-such-file\0octet\0multicast\0\0", server)
    pkt, _ = uc.recvfrom(1500)
    check(struct.unpack("!H", pkt[:2])[0] == ERROR and struct.unpack("!H", pkt[2:4])[0] == 1,
          "unknown file: ERROR 1 (file not found)")
    check(metric_delta(args.metrics, before, "unknown_files", 1) == 1,
          "unknown file counted (unknown_files +1)")

    # Become master of a transfer of a real file, learn its port.
    uc.sendto(struct.pack("!H", RRQ) + args.name.encode() + b"\0octet\0tsize\0000\0multicast\0\0",
              server)
    pkt, peer = uc.recvfrom(1500)
    opts = parse_oack(pkt)
    check(struct.unpack("!H", pkt[:2])[0] == OACK and opts.get("multicast", "").endswith(",1"),
          "OACK with multicast=...,1 (master): %s" % opts.get("multicast"))
    nblocks = int(opts.get("tsize", "0")) // 512 + 1

    stranger.sendto(struct.pack("!HH", ACK, 0), peer)
    check(metric_delta(args.metrics, before, "dropped_not_member", 1) == 1,
          "ACK from a non-member dropped and counted")
    uc.sendto(b"\0\4\0", peer)
    uc.sendto(b"\0", peer)
    check(metric_delta(args.metrics, before, "dropped_malformed", 2) == 2,
          "truncated packets dropped and counted (2)")
    uc.sendto(struct.pack("!HH", ACK, nblocks + 1), peer)
    check(metric_delta(args.metrics, before, "dropped_past_end", 1) == 1,
          "ACK past the end dropped and counted")
    # None of it disturbed the transfer: ACK 0 brings block 1 on the group.
    uc.sendto(struct.pack("!HH", ACK, 0), peer)
    check(metric_delta(args.metrics, before, "blocks_sent", 1) >= 1,
          "the transfer goes on (blocks sent after ACK 0)")
    uc.sendto(struct.pack("!HH", ERROR, 0) + b"bye\0", peer)

    if args.sport:
        # A fresh socket: the transfer above may still repeat its OACK.
        uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        uc.settimeout(3)
        pxe = (args.server, args.sport)
        uc.sendto(struct.pack("!H", RRQ) + b"not-an-mtftp-file\0octet\0", pxe)
        pkt, _ = uc.recvfrom(1500)
        check(struct.unpack("!H", pkt[:2])[0] == ERROR, "PXE open of an unlisted file: ERROR")
        check(metric_delta(args.metrics, before, "unknown_files", 2) == 2,
              "PXE unknown file counted (unknown_files +1)")
        uc.sendto(b"\0\1garbage-without-nul", pxe)
        pkt, _ = uc.recvfrom(1500)
        check(struct.unpack("!H", pkt[:2])[0] == ERROR, "malformed PXE open: ERROR")
        check(metric_delta(args.metrics, before, "bad_requests", 1) == 1,
              "malformed PXE open counted (bad_requests +1)")
    return 1 if CHECKS[1] else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=69)
    ap.add_argument("--slow", type=float, default=1.0)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    p = sub.add_parser("pxe")
    b = sub.add_parser("bad")
    for x in (g, p):
        x.add_argument("--name", required=True)
        x.add_argument("--out")
        x.add_argument("--sha")
        x.add_argument("--drop", type=float, default=0.0, help="client-side loss")
        x.add_argument("--seed", type=int, default=0)
        x.add_argument("--progress", help="file that gets the block count")
    g.add_argument("--blksize", type=int, default=1432)
    g.add_argument("--stop-after", type=int, default=0, help="exit abruptly after N blocks")
    g.add_argument("--barrier", help="directory: say ready in it, ask once it holds 'go'")
    g.add_argument("--deaf", action="store_true",
                   help="never match the group, as Debian 12's iPXE does (its multicast "
                        "socket address is not cleared)")
    p.add_argument("--group", required=True)
    p.add_argument("--cport", type=int, default=3001)
    p.add_argument("--sport", type=int, default=1759)
    p.add_argument("--listen", type=float, default=1.0, help="MTFTP-TMOUT")
    p.add_argument("--delay", type=float, default=1.0, help="MTFTP-DELAY")
    p.add_argument("--limit", type=float, default=120.0)
    b.add_argument("--name", required=True)
    b.add_argument("--metrics", required=True)
    b.add_argument("--sport", type=int, default=0)
    args = ap.parse_args()
    if args.cmd == "get":
        return rfc2090_get(args)
    if args.cmd == "pxe":
        args.stop_after = 0
        return pxe_get(args)
    return bad_input(args)


if __name__ == "__main__":
    sys.exit(main())
