#!/usr/bin/env python3
"""Hostile bulk-stream peer for tests/integration/multicast_bad_input.sh.

Joins the group, learns the session from an ANNOUNCE, then sends the
sender every kind of bad control packet (unknown session, non-member,
truncated, garbage, NAKs past the end, a NAK storm) and the group bad
DATA; finally joins properly and reports DONE so the session can end.
Prints one line `sent key=value...` with how many of each it sent.
"""
import argparse
import select
import socket
import struct
import sys
import time

HELLO, WELCOME, NAK, STATUS, DONE, DATA = 3, 4, 5, 6, 7, 1
VERSION, ANNOUNCE_LEN = 3, 76


def hdr(t, session):
    return b"PB" + bytes([VERSION, t]) + struct.pack(">I", session)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--group", required=True)
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    gip, gport = a.group.rsplit(":", 1)
    gport = int(gport)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", gport))
    mreq = struct.pack("4s4s", socket.inet_aton(gip), socket.inet_aton("0.0.0.0"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    deadline = time.time() + a.timeout
    sender = None
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], 0.5)
        if not r:
            continue
        pkt, src = s.recvfrom(65536)
        if len(pkt) == ANNOUNCE_LEN and pkt[:3] == b"PB" + bytes([VERSION]) and pkt[3] == 2:
            session = struct.unpack(">I", pkt[4:8])[0]
            tag, size = struct.unpack(">IQ", pkt[8:20])
            nslices = struct.unpack(">I", pkt[56:60])[0]
            sender = src
            break
    if sender is None:
        print("no ANNOUNCE heard", file=sys.stderr)
        return 1
    sent = {}

    def send(kind, p, n=1, to=sender):
        for _ in range(n):
            s.sendto(p, to)
        sent[kind] = sent.get(kind, 0) + n

    me, stranger = 0x5151, 0x7777
    bad = session ^ 0xFFFF
    send("unknown_session", hdr(HELLO, bad) + struct.pack(">II", me, tag), 5)
    send("unknown_session", hdr(NAK, bad) + struct.pack(">IHHIIH", me, 0, 0, 0, 0, 1) + b"\x01", 5)
    send("nonmember", hdr(NAK, session) + struct.pack(">IHHIIH", stranger, 0, 0, 0, 0, 1) + b"\x01", 5)
    send("nonmember", hdr(STATUS, session) + struct.pack(">IIQHHI", stranger, 0, 0, 0, 0, 0), 5)
    send("nonmember", hdr(DONE, session) + struct.pack(">IB", stranger, 0), 5)
    nak = hdr(NAK, session) + struct.pack(">IHHIIH", me, 0, 0, 0, 0, 1) + b"\x01"
    for cut in range(8, len(nak)):
        send("truncated", nak[:cut])
    status = hdr(STATUS, session) + struct.pack(">IIQHHI", me, 0, 0, 0, 0, 0)
    for cut in range(8, len(status)):
        send("truncated", status[:cut])
    send("bad_packets", b"GARBAGE-" * 4, 5)
    send("bad_packets", hdr(99, session) + b"\0" * 8, 5)
    # Bad DATA to the group: truncated, and for another session.
    send("group_truncated", hdr(DATA, session) + b"\0" * 10, 5, (gip, gport))
    send("group_other", hdr(DATA, bad) + struct.pack(">IIHBBI", tag, 0, 0, 0, 0, 0) + b"\0" * 1448,
         5, (gip, gport))
    # Join properly, wait for WELCOME (resending: it must survive loss).
    welcomed = False
    while time.time() < deadline and not welcomed:
        send("hello", hdr(HELLO, session) + struct.pack(">II", me, tag))
        r, _, _ = select.select([s], [], [], 0.2)
        while r:
            pkt, src = s.recvfrom(65536)
            if src == sender and pkt[3:4] == bytes([WELCOME]) and pkt[8:12] == struct.pack(">I", me):
                welcomed = True
            r, _, _ = select.select([s], [], [], 0)
    if not welcomed:
        print("no WELCOME", file=sys.stderr)
        return 1
    send("nak_past_end", hdr(NAK, session) + struct.pack(">IHHIIH", me, 0, 0, 0, nslices + 10, 4) + b"\x01" * 4)
    send("storm", nak, 2000)
    send("done", hdr(DONE, session) + struct.pack(">IB", me, 0), 3)
    print("sent " + " ".join(f"{k}={v}" for k, v in sorted(sent.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
