#!/usr/bin/env bash
# SIGHUP reconfigures [mtftp] (groups, port, TTL, PXE files, enable) with
# real clients (mtftp_wire.py, RFC 2090 as iPXE's tftm:// speaks it, and a
# PXE MTFTP client):
#   - a transfer running across the reload finishes on its old group and
#     port; the next request for the same file gets the new ones
#   - the PXE file list, group and client port change
#   - enable = no: requests with the multicast option get plain TFTP; the
#     PXE port closes; enable again: multicast again
#   - a broken [mtftp] (bad value, or a PXE address it cannot bind) is
#     rejected and the running settings keep serving
. "$(dirname "$0")/lib.sh" "$@"
need_cmd python3

setup_net 38
MWIRE=$HERE/mtftp_wire.py
R=$WORK/root
mkfile "$R/big.img" 16M
mkfile "$R/boot.img" 1M
mkfile "$R/pxe.bin" 500K
mkfile "$R/pxe2.bin" 300K
C=$WORK/pxecast.conf

config() { # [mtftp] lines...
	base_config "$C.new" "[mtftp]" "$@"
	mv "$C.new" "$C"
}
mwire() { # SECONDS LOG ARGS...: mtftp_wire.py in the client namespace
	local t=$1 out=$2
	shift 2
	in_cli "$t" "$PY" "$MWIRE" --server "$SRV_IP" --slow "$SLOW" "$@" >"$out" 2>&1
}
done_ok() { grep -q "^done .*sha256=$(sha "$R/$2")" "$1"; }
# done_on FILE GROUP:PORT: a transfer of FILE ended, having sent to GROUP:PORT.
done_on() { grep -q "event=mtftp.done file=$1 .*group=$2 " "$SERVER_LOG"; }
progress_at_least() { [ "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2" ] 2>/dev/null; }

config "groups = 239.255.60.0/30" "port = 1758" "ttl = 1" \
	"pxe-listen = $SRV_IP:1759" "pxe-file = pxe.bin 239.255.61.1" "pxe-client-port = 3001"
start_server "$C"

section "before: groups 239.255.60.0/30, port 1758"
check "boot.img by RFC 2090" mwire 60 "$WORK/a.log" get --name boot.img
check "  complete, sha256 right" done_ok "$WORK/a.log" boot.img
check "  sent to 239.255.60.0:1758" wait_until 10 done_on boot.img 239.255.60.0:1758

section "a transfer running across the reload"
# Client-side loss keeps it going long enough to be caught mid-way.
mwire 240 "$WORK/big.log" get --name big.img --drop 0.02 --progress "$WORK/big.progress" &
BIG=$!
BG_PIDS+=($BIG)
check "big.img under way" wait_until 30 progress_at_least "$WORK/big.progress" 200
config "groups = 239.255.70.0/30" "port = 1768" "ttl = 4" \
	"pxe-listen = $SRV_IP:1759" "pxe-file = pxe2.bin 239.255.71.1" "pxe-client-port = 3101"
check "reload accepted" reload ok
check "  the running transfer was kept, retired" \
	grep -qE "event=mtftp.reload enabled=yes transfers=1 retired=1 pxe_files=1" "$SERVER_LOG"
say "big.img at $(cat "$WORK/big.progress") blocks when reloaded"
check "boot.img now on the new group and port" mwire 60 "$WORK/b.log" get --name boot.img
check "  complete, sha256 right" done_ok "$WORK/b.log" boot.img
check "  sent to 239.255.70.0:1768" wait_until 10 done_on boot.img 239.255.70.0:1768
wait "$BIG"
expect_eq "big.img client exit status" 0 "$?"
check "big.img complete across the reload, sha256 right" done_ok "$WORK/big.log" big.img
check "  it stayed on its old group and port" wait_until 20 done_on big.img 239.255.60.0:1758

section "PXE MTFTP: new file list, group and client port"
check "pxe2.bin on 239.255.71.1:3101" mwire 60 "$WORK/p2.log" \
	pxe --name pxe2.bin --group 239.255.71.1 --cport 3101 --listen 0.3
check "  sha256 right" done_ok "$WORK/p2.log" pxe2.bin
mwire 20 "$WORK/p1.log" pxe --name pxe.bin --group 239.255.61.1 --listen 0.3 --limit 5
check "pxe.bin is no PXE MTFTP file any more (error 1)" grep -q "FAIL server error 1" "$WORK/p1.log"

section "enable = no"
config "enable = no" "groups = 239.255.70.0/30" "pxe-file = pxe2.bin 239.255.71.1" \
	"pxe-listen = $SRV_IP:1759"
check "reload accepted" reload ok
metrics_fresh
req=$(fresh_metric pxecast_mtftp_requests)
mwire 30 "$WORK/c.log" get --name boot.img
check "an RRQ with the multicast option gets a plain OACK (unicast TFTP)" \
	grep -q "FAIL OACK without multicast" "$WORK/c.log"
metrics_fresh
expect_eq "MTFTP requests (none taken)" "$req" "$(fresh_metric pxecast_mtftp_requests)"
mwire 20 "$WORK/p3.log" pxe --name pxe2.bin --group 239.255.71.1 --cport 3101 --listen 0.3 --limit 4
check "the PXE port is closed: the PXE client gets nothing" grep -q "^FAIL not complete" "$WORK/p3.log"

section "a broken [mtftp] is rejected, the running one keeps serving"
config "groups = 10.0.0.0/24"
check "a unicast range: reload rejected" reload rejected
config "groups = 239.255.80.0/30" "pxe-listen = 10.250.250.250:1759" "pxe-file = pxe.bin 239.255.81.1"
check "a PXE address not on this host: reload rejected" reload rejected
check "  (the error names [mtftp])" grep -q 'result=rejected error="\[mtftp\]' "$SERVER_LOG"
mwire 30 "$WORK/d.log" get --name boot.img
check "still enable = no: plain TFTP" grep -q "FAIL OACK without multicast" "$WORK/d.log"

section "enable again"
config "groups = 239.255.90.0/30" "port = 1790"
check "reload accepted" reload ok
check "boot.img by multicast again" mwire 60 "$WORK/e.log" get --name boot.img
check "  complete, sha256 right" done_ok "$WORK/e.log" boot.img
check "  sent to 239.255.90.0:1790" wait_until 10 done_on boot.img 239.255.90.0:1790
finish
