#!/usr/bin/env python3
"""Wire-level DHCP client for the pxecast integration tests.

Plays firmware and many machines from one interface: frames are built and
read on an AF_PACKET socket, so each simulated client has its own MAC
(chaddr and Ethernet source), sends from 0.0.0.0 like a ROM, and sees the
server's reply whether it was broadcast or sent to yiaddr at its MAC.

    dhcp_wire.py --iface IF SCENARIO [options]

Scenarios print one "ok"/"FAIL" line per check and exit 1 on any failure.
Run inside the client network namespace (the shell tests do that).
"""
import argparse
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
MAGIC = b"\x63\x82\x53\x63"
ETH_P_IP = 0x0800
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


def check(cond, msg):
    (ok if cond else fail)(msg)
    return cond


def mac_text(mac):
    return ":".join("%02x" % b for b in mac)


def ip_text(b):
    return socket.inet_ntoa(b)


def fresh_mac(i, tag):
    """A locally administered MAC unique to this run and index."""
    return bytes([0x02, tag & 0xff, (os.getpid() >> 8) & 0xff, os.getpid() & 0xff,
                  (i >> 8) & 0xff, i & 0xff])


def build(msgtype, mac, xid, opts=(), broadcast=True, ciaddr=b"\0" * 4):
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0,
                      0x8000 if broadcast else 0, ciaddr, b"\0" * 4, b"\0" * 4,
                      b"\0" * 4, mac + b"\0" * 10, b"", b"")
    body = bytes([53, 1, msgtype])
    for code, val in opts:
        body += bytes([code, len(val)]) + val
    return hdr + MAGIC + body + b"\xff"


def parse(payload):
    """A BOOTREPLY as a dict, or None."""
    if len(payload) < 240 or payload[0] != 2 or payload[236:240] != MAGIC:
        return None
    m = {"xid": struct.unpack("!I", payload[4:8])[0], "ciaddr": payload[12:16],
         "yiaddr": payload[16:20], "siaddr": payload[20:24],
         "chaddr": payload[28:34], "file": payload[108:236].split(b"\0")[0],
         "opts": {}}
    i = 240
    while i < len(payload):
        code = payload[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(payload):
            return None
        n = payload[i + 1]
        m["opts"][code] = m["opts"].get(code, b"") + payload[i + 2:i + 2 + n]
        i += 2 + n
    m["type"] = m["opts"].get(53, b"\0")[0]
    return m


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


class Link:
    """Raw frames on one interface: send from any MAC, read every reply."""

    def __init__(self, iface):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        self.s.bind((iface, 0))
        self.s.setblocking(False)

    def send(self, mac, payload):
        udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         b"\0" * 4, b"\xff" * 4)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        self.s.send(b"\xff" * 6 + mac + struct.pack("!H", ETH_P_IP) + ip + udp)

    def recv(self, deadline):
        """(eth dst, ip dst, reply) for the next DHCP reply, or None."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return None
            frame = self.s.recv(4096)
            if len(frame) < 14 + 20 + 8:
                continue
            ip = frame[14:]
            ihl = (ip[0] & 15) * 4
            if ip[9] != 17 or len(ip) < ihl + 8:
                continue
            sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
            if dport != 68 or sport not in (67, 4011):
                continue
            m = parse(ip[ihl + 8:])
            if m:
                m["eth_dst"] = frame[0:6]
                m["ip_dst"] = ip[16:20]
                m["ip_src"] = ip[12:16]
                return m


def exchange(link, mac, msg, want, xid, timeout=2.0, tries=3, collect=False):
    """Send msg until a reply of type want (a set) for xid arrives; with
    collect, gather every matching reply within the timeout."""
    got = []
    for _ in range(tries):
        link.send(mac, msg)
        deadline = time.monotonic() + timeout * SLOW
        while True:
            m = link.recv(deadline)
            if m is None:
                break
            if m["xid"] == xid and m["chaddr"] == mac and m["type"] in want:
                if not collect:
                    return m
                got.append(m)
        if got:
            return got
    return got if collect else None


def pxe_opts(arch=None, vendor=None, user_class=None):
    o = []
    if vendor:
        o.append((60, vendor.encode()))
    if arch is not None:
        o.append((93, struct.pack("!H", arch)))
        o.append((94, b"\x01\x03\x10"))
        o.append((97, b"\0" + os.urandom(16)))
    if user_class:
        o.append((77, user_class.encode()))
    o.append((55, bytes([1, 3, 6, 43, 60, 66, 67])))
    return o


def bootfile(m):
    f = m["opts"].get(67)
    return (f.rstrip(b"\0") if f else m["file"]).decode(errors="replace")


def dora(link, mac, opts=(), broadcast=True):
    """DISCOVER, OFFER, REQUEST, ACK; returns (offer, ack) (None on loss)."""
    xid = random.getrandbits(32)
    offer = exchange(link, mac, build(DISCOVER, mac, xid, opts, broadcast), {OFFER}, xid)
    if not offer:
        return None, None
    ropts = list(opts) + [(50, offer["yiaddr"]), (54, offer["opts"].get(54, b""))]
    ack = exchange(link, mac, build(REQUEST, mac, xid, ropts, broadcast), {ACK, NAK}, xid)
    return offer, ack


# ---- scenarios ----

def sc_boot(a, link):
    cases = [
        ("BIOS ROM (arch 0)", 0, "PXEClient:Arch:00000:UNDI:002001", None, a.bios),
        ("UEFI ROM (arch 7)", 7, "PXEClient:Arch:00007:UNDI:003016", None, a.efi64),
        ("UEFI HTTP boot (arch 16)", 16, "HTTPClient:Arch:00016:UNDI:003001", None, a.httpboot),
        ("iPXE (user class iPXE)", 7, "PXEClient:Arch:00007:UNDI:003016", "iPXE", a.ipxe),
    ]
    for i, (what, arch, vendor, uc, want) in enumerate(cases):
        mac = fresh_mac(i, 0xb0)
        want = want.replace("${mac}", mac_text(mac))
        offer, ack = dora(link, mac, pxe_opts(arch, vendor, uc))
        if not check(offer is not None and ack is not None and ack["type"] == ACK,
                     "%s: OFFER and ACK" % what):
            continue
        check(bootfile(offer) == want, "%s: offered boot file %s (got %s)" % (what, want, bootfile(offer)))
        check(bootfile(ack) == want, "%s: ACKed boot file %s" % (what, want))
        echo = offer["opts"].get(60, b"").decode(errors="replace")
        check(echo == vendor.split(":")[0], "%s: option 60 echoes %s" % (what, echo))
    mac = fresh_mac(9, 0xb0)
    offer, ack = dora(link, mac, [(55, bytes([1, 3, 6, 67]))])
    check(offer is not None and bootfile(offer) == "" and 43 not in offer["opts"],
          "a plain DHCP client gets an address and no boot file")


def sc_many(a, link):
    """N fresh machines switched on together: every one gets its own address."""
    macs = [fresh_mac(i, 0xc0) for i in range(a.count)]
    xids = {mac: random.getrandbits(32) for mac in macs}
    offers, acks = {}, {}
    for phase, want, store in ((DISCOVER, OFFER, offers), (REQUEST, ACK, acks)):
        for attempt in range(4):
            todo = [m for m in macs if m not in store and (phase == DISCOVER or m in offers)]
            if not todo:
                break
            for mac in todo:
                o = pxe_opts(7, "PXEClient:Arch:00007:UNDI:003016")
                if phase == REQUEST:
                    o += [(50, offers[mac]["yiaddr"]), (54, offers[mac]["opts"][54])]
                link.send(mac, build(phase, mac, xids[mac], o))
            deadline = time.monotonic() + 2.0 * SLOW
            while len(store) < len(macs):
                m = link.recv(deadline)
                if m is None:
                    break
                if m["chaddr"] in xids and m["xid"] == xids[m["chaddr"]] and m["type"] == want:
                    store[m["chaddr"]] = m
    check(len(offers) == len(macs), "%d fresh MACs at once: %d offers" % (len(macs), len(offers)))
    check(len(acks) == len(macs), "%d fresh MACs at once: %d ACKs" % (len(macs), len(acks)))
    ips = [m["yiaddr"] for m in offers.values()]
    check(len(set(ips)) == len(ips), "offers hold distinct addresses (%d distinct)" % len(set(ips)))
    ips = [m["yiaddr"] for m in acks.values()]
    check(len(set(ips)) == len(ips), "ACKs hold distinct addresses (%d distinct)" % len(set(ips)))
    check(all(acks[m]["yiaddr"] == offers[m]["yiaddr"] for m in acks), "each ACK is the address offered")


def sc_link(a, link):
    """Without the broadcast flag the reply goes to yiaddr at chaddr."""
    mac = fresh_mac(1, 0xd0)
    offer, ack = dora(link, mac, [(55, bytes([1, 3]))], broadcast=False)
    if not check(offer is not None and ack is not None, "DORA without the broadcast flag"):
        return
    check(offer["eth_dst"] == mac, "OFFER sent to the client's MAC (%s)" % mac_text(offer["eth_dst"]))
    check(offer["ip_dst"] == offer["yiaddr"], "OFFER sent to yiaddr %s" % ip_text(offer["ip_dst"]))
    check(ack["eth_dst"] == mac and ack["ip_dst"] == ack["yiaddr"], "ACK sent to yiaddr at the MAC")


def sc_proxy(a, link):
    """dnsmasq owns addresses; pxecast answers boot info on 67 and 4011."""
    mac = bytes.fromhex(a.mac.replace(":", ""))
    vendor = "PXEClient:Arch:00007:UNDI:003016"
    xid = random.getrandbits(32)
    replies = exchange(link, mac, build(DISCOVER, mac, xid, pxe_opts(7, vendor)), {OFFER}, xid,
                       timeout=5.0, collect=True)  # dnsmasq pings for ~3 s first
    owner = [m for m in replies if m["yiaddr"] != b"\0" * 4]
    proxy = [m for m in replies if m["yiaddr"] == b"\0" * 4]
    check(len(owner) >= 1, "an address OFFER from the address owner")
    if not check(len(proxy) == 1, "one proxyDHCP OFFER (no address) from pxecast"):
        return
    p = proxy[0]
    check(ip_text(p["opts"].get(54, b"\0" * 4)) == a.server, "proxy OFFER names %s as server" % a.server)
    check(bootfile(p) == a.efi64, "proxy OFFER boot file %s (got %s)" % (a.efi64, bootfile(p)))
    check(p["opts"].get(60, b"").startswith(b"PXEClient"), "proxy OFFER echoes PXEClient")
    if not owner:
        return
    o = owner[0]
    ack = exchange(link, mac, build(REQUEST, mac, xid, pxe_opts(7, vendor) +
                                    [(50, o["yiaddr"]), (54, o["opts"][54])]), {ACK}, xid)
    if not check(ack is not None, "address ACK from the owner"):
        return
    myip = ip_text(ack["yiaddr"])
    subprocess.run(["ip", "addr", "replace", myip + "/24", "dev", a.iface], check=True)
    # The boot-server request (PXE 2.1): REQUEST to 4011 from the new address.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((myip, 0))
    s.settimeout(2.0 * SLOW)
    xid2 = random.getrandbits(32)
    req = build(REQUEST, mac, xid2, pxe_opts(7, vendor), broadcast=False,
                ciaddr=ack["yiaddr"])
    m = None
    for _ in range(3):
        s.sendto(req, (a.server, 4011))
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            continue
        m = parse(data)
        if m and m["xid"] == xid2:
            break
    if check(m is not None and m["type"] == ACK, "ACK from %s:4011" % a.server):
        check(bootfile(m) == a.efi64, "4011 ACK boot file %s (got %s)" % (a.efi64, bootfile(m)))
        check(src[1] == 4011, "4011 ACK comes from port 4011")


def sc_load(a, link):
    """--macs machines doing DORA over and over as fast as the server
    answers, pipelined; every ACK is appended to --record (mac ip) and
    flushed at once."""
    rec = open(a.record, "a")
    end = time.monotonic() + a.seconds
    window, nxt = {}, 0  # xid -> [mac, phase, sent_at, offer]
    base = random.getrandbits(16)
    acked = 0
    opts = [(55, bytes([1, 3]))]
    while time.monotonic() < end:
        while len(window) < a.window:
            mac = fresh_mac(nxt % a.macs, base)
            nxt += 1
            xid = random.getrandbits(32)
            link.send(mac, build(DISCOVER, mac, xid, opts))
            window[xid] = [mac, DISCOVER, time.monotonic(), None]
        m = link.recv(time.monotonic() + 0.05)
        now = time.monotonic()
        if m and m["xid"] in window:
            w = window[m["xid"]]
            if w[1] == DISCOVER and m["type"] == OFFER:
                w[1], w[2], w[3] = REQUEST, now, m
                link.send(w[0], build(REQUEST, w[0], m["xid"], opts + [(50, m["yiaddr"]), (54, m["opts"][54])]))
            elif w[1] == REQUEST and m["type"] == ACK:
                rec.write("%s %s\n" % (mac_text(w[0]), ip_text(m["yiaddr"])))
                rec.flush()
                acked += 1
                del window[m["xid"]]
        for xid in [x for x, w in window.items() if now - w[2] > 1.0]:
            del window[xid]  # server gone or slow: a new machine takes the slot
    rec.close()
    print("  load: %d ACKs recorded" % acked, flush=True)


def sc_verify(a, link):
    """Every recorded lease is served again: INIT-REBOOT REQUEST for it,
    a window of them at a time, each retried a few times."""
    last = {}
    for line in open(a.record):
        if line.strip():
            mac, ip = line.split()
            last[mac] = ip
    todo = [(bytes.fromhex(m.replace(":", "")), ip, 0) for m, ip in last.items()]
    window, bad = {}, []  # xid -> (mac, ip, tries, sent_at)
    while todo or window:
        while todo and len(window) < a.window:
            mac, ip, tries = todo.pop()
            xid = random.getrandbits(32)
            link.send(mac, build(REQUEST, mac, xid, [(50, socket.inet_aton(ip))]))
            window[xid] = (mac, ip, tries + 1, time.monotonic())
        m = link.recv(time.monotonic() + 0.05)
        if m and m["xid"] in window:
            mac, ip, _, _ = window.pop(m["xid"])
            if m["type"] != ACK or ip_text(m["yiaddr"]) != ip:
                bad.append("%s %s -> %s" % (mac_text(mac), ip,
                                            "NAK" if m["type"] == NAK else ip_text(m["yiaddr"])))
        now = time.monotonic()
        for xid in [x for x, w in window.items() if now - w[3] > 1.0 * SLOW]:
            mac, ip, tries, _ = window.pop(xid)
            if tries < 4:
                todo.append((mac, ip, tries))
            else:
                bad.append("%s %s -> no answer" % (mac_text(mac), ip))
    check(not bad, "%d recorded leases ACKed again with the same address%s" %
          (len(last), "" if not bad else ": " + ", ".join(bad[:5])))


def main():
    global SLOW
    p = argparse.ArgumentParser()
    p.add_argument("scenario")
    p.add_argument("--iface", required=True)
    p.add_argument("--server", default="")
    p.add_argument("--slow", type=float, default=1.0)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--bios", default="")
    p.add_argument("--efi64", default="")
    p.add_argument("--httpboot", default="")
    p.add_argument("--ipxe", default="")
    p.add_argument("--mac", default="")
    p.add_argument("--record", default="")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--macs", type=int, default=4000)
    a = p.parse_args()
    SLOW = a.slow
    scenarios = {"boot": sc_boot, "many": sc_many, "link": sc_link, "proxy": sc_proxy,
                 "load": sc_load, "verify": sc_verify}
    scenarios[a.scenario](a, Link(a.iface))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
