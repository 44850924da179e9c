#!/usr/bin/env bash
# Multicast through a bridge that does IGMP snooping (and is the querier),
# as a managed switch would: receivers 0 and 1 join, receiver 2 never does.
#   - the bridge lists each group on the ports whose receivers joined
#     (their IGMP reports), never on receiver 2's
#   - receiver 2's port gets none of the groups' packets, the members' do
#   - the bulk stream (pxecast-recv) and MTFTP (mtftp_wire.py, RFC 2090 and
#     a PXE listener) still complete with the right sha256
#   - a receiver that exits leaves: the bridge drops the group from its port
. "$(dirname "$0")/lib.sh" "$@"
. "$HERE/mcast_net.sh"

need_cmd nft bridge python3
RECV=${PXECAST_RECV:-$(dirname "$PXECAST")/mtftp/recv/exe/pxecast-recv}
[ -x "$RECV" ] || skip "pxecast-recv not built at $RECV"

BULK_IP=239.77.0.2
BULK=$BULK_IP:9000
MTFTP_IP=239.255.77.0      # the first (and only) group of [mtftp] groups
PXE_IP=239.255.78.1
MWIRE=$HERE/mtftp_wire.py

MC_SNOOPING=1 mcast_setup 3
for g in $BULK_IP $MTFTP_IP $PXE_IP; do mcast_count "$g"; done

R=$WORK/root
mkfile "$R/img.raw" 4M
mkfile "$R/boot.img" 2M
mkfile "$R/pxe.bin" 1M
mkdir -p "$WORK/out"
cat >"$WORK/pxecast.conf" <<CONF
[daemon]
log-level = info
metrics-file = $WORK/metrics.prom
[tftp]
root = $R
listen = $MC_TX_IP:69
[mtftp]
groups = $MTFTP_IP/32
pxe-listen = $MC_TX_IP:1759
pxe-file = pxe.bin $PXE_IP
[multicast lab]
object = img.raw
group = $BULK
rate = 16M
min-receivers = 2
max-wait = 30
receiver-timeout = $((3 * SLOW))
CONF
SRV_NS=$MC_TX start_server "$WORK/pxecast.conf"

members_of() { # GROUP: the ports the bridge lists it on
	bridge -n "$MC_BR" mdb show | awk -v g="$1" '
		{ p = ""; m = 0
		  for (i = 1; i < NF; i++) { if ($i == "port") p = $(i + 1); if ($i == "grp" && $(i + 1) == g) m = 1 }
		  if (m) print p }' | sort | tr '\n' ' '
}
joined_0_and_1() { mcast_member vr0 "$1" && mcast_member vr1 "$1"; }
left() { ! mcast_member vr0 "$1" && ! mcast_member vr1 "$1"; }
# counted_at_least PORT GROUP N
counted_at_least() { [ "$(mcast_counted "$1" "$2")" -ge "$3" ] 2>/dev/null; }
expect_none_to_2() { # GROUP
	expect_eq "$1: packets out of receiver 2's port (not a member)" 0 "$(mcast_counted vr2 "$1")"
}

section "bulk stream: receivers 0 and 1 join $BULK, receiver 2 does not"
for i in 0 1; do
	( in_rx "$i" timeout -k 5 $((90 * SLOW)) "$RECV" --group "$BULK" --out "$WORK/out/r$i" \
		--timeout $((4 * SLOW)) 2>"$WORK/r$i.log"
	  echo $? >"$WORK/r$i.rc" ) &
	BG_PIDS+=($!)
done
check "the bridge saw their joins: $BULK_IP on vr0 and vr1" wait_until 10 joined_0_and_1 $BULK_IP
say "bridge mdb: $BULK_IP on: $(members_of $BULK_IP)"
check "and not on vr2 nor on the sender's port" \
	test "$(members_of $BULK_IP)" = "vr0 vr1 "
in_tx timeout -k 5 $((60 * SLOW)) "$PXECAST" multicast start lab --config "$WORK/pxecast.conf" \
	2>"$WORK/sender.log"
expect_eq "sender exit status" 0 "$?"
for i in 0 1; do
	wait_until 30 test -s "$WORK/r$i.rc" || true
	rc=$(cat "$WORK/r$i.rc" 2>/dev/null)
	expect_eq "receiver $i: exit status" 0 "$rc"
	[ "$rc" = 0 ] || tail -3 "$WORK/r$i.log" | sed 's/^/      /'
	expect_eq "receiver $i: sha256" "$(sha "$R/img.raw")" "$(sha "$WORK/out/r$i" 2>/dev/null)"
done
for p in vr0 vr1; do
	check "$p got the stream ($(mcast_counted $p $BULK_IP bytes) bytes, >= 4 MiB)" \
		test "$(mcast_counted $p $BULK_IP bytes)" -ge $((4 * 1048576))
done
expect_none_to_2 $BULK_IP
check "the receivers left: the bridge dropped $BULK_IP from vr0 and vr1" wait_until 15 left $BULK_IP

section "MTFTP (RFC 2090): receivers 0 and 1 fetch boot.img"
PIDS=()
for i in 0 1; do
	in_rx "$i" timeout -k 5 $((120 * SLOW)) "$PY" "$MWIRE" --server "$MC_TX_IP" \
		get --name boot.img --seed $((i + 1)) >"$WORK/m$i.log" 2>&1 &
	PIDS+=($!)
	BG_PIDS+=($!)
done
for i in 0 1; do
	wait "${PIDS[$i]}"
	check "receiver $i: boot.img complete, sha256 right" \
		grep -q "^done .*sha256=$(sha "$R/boot.img")" "$WORK/m$i.log"
done
NB=$((2 * 1048576 / 1432))
for p in vr0 vr1; do
	check "$p got blocks from $MTFTP_IP ($(mcast_counted $p $MTFTP_IP), >= $((NB / 2)))" \
		counted_at_least $p $MTFTP_IP $((NB / 2))
done
expect_none_to_2 $MTFTP_IP
# (A master's first window may go out before the bridge has its report:
# Linux sends it up to 200 ms after the join. Its blocks then also go to it
# by unicast, counted in deaf_masters; the others still get the group.)
say "deaf masters (served by unicast copies too): $(metric pxecast_mtftp_deaf_masters)"

section "PXE MTFTP: receiver 0 listens on $PXE_IP, receiver 1 opens"
in_rx 0 timeout -k 5 $((120 * SLOW)) "$PY" "$MWIRE" --server "$MC_TX_IP" \
	pxe --name pxe.bin --group "$PXE_IP" --listen $((60 * SLOW)) >"$WORK/p0.log" 2>&1 &
P0=$!
BG_PIDS+=($P0)
check "the bridge saw the listener's join: $PXE_IP on vr0 only" \
	wait_until 10 mcast_member vr0 $PXE_IP
check "not on vr1 or vr2 yet" test "$(members_of $PXE_IP)" = "vr0 "
in_rx 1 timeout -k 5 $((120 * SLOW)) "$PY" "$MWIRE" --server "$MC_TX_IP" \
	pxe --name pxe.bin --group "$PXE_IP" --listen 0.5 >"$WORK/p1.log" 2>&1
expect_eq "the opener (receiver 1): exit status" 0 "$?"
wait "$P0"
expect_eq "the listener (receiver 0): exit status" 0 "$?"
for i in 0 1; do
	check "receiver $i: pxe.bin sha256 right" grep -q "^done .*sha256=$(sha "$R/pxe.bin")" "$WORK/p$i.log"
done
check "the listener never opened: all it got came by the group" grep -q "^opens=0" "$WORK/p0.log"
expect_none_to_2 $PXE_IP
check "the receivers left: the bridge dropped $PXE_IP" wait_until 15 left $PXE_IP
check "no sanitizer report from the sender or the receivers" \
	sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' $WORK/*.log"
finish
