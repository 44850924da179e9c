#!/usr/bin/env bash
# Bulk multicast to 32 receivers in network namespaces on a bridge, with
# independent random loss per receiver (1% for half, 5% for the other half,
# by nftables on the bridge). Every receiver must end with the object's
# sha256; one receiver killed half-way must not stall the others; a late
# joiner catches up from the carousel; a receiver cut off mid-way falls
# back to HTTP Range requests against pxecast's own HTTP server; a receiver
# stopped (as by a stalled disk) until the sender dropped it comes back
# and finishes by multicast.
. "$(dirname "$0")/lib.sh" "$@"
. "$HERE/mcast_net.sh"

need_cmd nft bridge
RECV=${PXECAST_RECV:-$(dirname "$PXECAST")/mtftp/recv/exe/pxecast-recv}
[ -x "$RECV" ] || skip "pxecast-recv not built at $RECV"

N=${PXC_MCAST_N:-32}
KILLED=$((N - 2))  # killed half-way
LATE=$((N - 1))    # joins when half the object was sent
CUT=$((N - 3))     # cut off from the bridge half-way: finishes over HTTP
STALL=$((N - 4))   # stopped until dropped, then continued
GROUP=239.77.0.1:9000
URL=http://$MC_TX_IP:8080/img.raw

mcast_setup "$N"
for ((i = 0; i < N; i++)); do
	if ((i < N / 2)); then mcast_loss "$i" 10; else mcast_loss "$i" 50; fi
done

mkfile "$WORK/root/img.raw" 6M
mkdir -p "$WORK/out"
want=$(sha "$WORK/root/img.raw")
cat >"$WORK/pxecast.conf" <<CONF
[daemon]
log-level = info
metrics-file = $WORK/metrics.prom
[tftp]
root = $WORK/root
listen = $MC_TX_IP:69
[http]
listen = $MC_TX_IP:8080
[multicast lab]
object = img.raw
group = $GROUP
rate = 16M
min-receivers = $((N - 1))
max-wait = 30
receiver-timeout = $((3 * SLOW))
fetch-url = $URL
CONF
# The daemon serves the same root over HTTP for the fallback.
SRV_NS=$MC_TX start_server "$WORK/pxecast.conf"


start_rx() { # I [extra args]
	local i=$1
	shift
	( in_rx "$i" timeout -k 5 $((90 * SLOW)) "$RECV" --group "$GROUP" --out "$WORK/out/r$i" \
		--timeout $((4 * SLOW)) "$@" 2>"$WORK/r$i.log"
	  echo $? >"$WORK/r$i.rc" ) &
	BG_PIDS+=($!)
}

section "$((N - 1)) receivers join, the session starts"
for ((i = 0; i < N; i++)); do
	[ "$i" = "$LATE" ] && continue
	if [ "$i" = "$CUT" ]; then start_rx "$i" --http-fallback "$URL"; else start_rx "$i"; fi
done
in_tx timeout -k 5 $((120 * SLOW)) "$PXECAST" multicast start lab --config "$WORK/pxecast.conf" \
	2>"$WORK/sender.log" &
TX_PID=$!
BG_PIDS+=($TX_PID)

sent_mib() { # MiB the sender reported so far
	grep -oE 'sent [0-9.]+ MiB' "$WORK/sender.log" | tail -1 | awk '{ print int($2) }'
}
sent_at_least() { [ "$(sent_mib)" -ge "$1" ] 2>/dev/null; }
dropped_at_least() { # receivers the sender's last progress line counts as dropped
	[ "$(grep -oE '[0-9]+ dropped' "$WORK/sender.log" | tail -1 | cut -d' ' -f1)" -ge "$1" ] 2>/dev/null
}

check "the sender started sending" wait_until 40 sent_at_least 1
section "receiver $KILLED is killed, receiver $CUT is cut off, receiver $STALL is stopped"
for p in $(ip netns pids "$(mc_rx_ns "$KILLED")"); do kill -KILL "$p"; done
mcast_block "$CUT"
STALL_PIDS=$(ip netns pids "$(mc_rx_ns "$STALL")")
kill -STOP $STALL_PIDS
check "half of the object was sent" wait_until 40 sent_at_least 3
section "receiver $LATE joins late"
start_rx "$LATE"
section "receiver $STALL is continued once the sender dropped it"
check "the sender dropped the killed and the stopped receiver" wait_until 40 dropped_at_least 2
kill -CONT $STALL_PIDS

wait "$TX_PID"
tx_status=$?
section "results"
ok_count=0
for ((i = 0; i < N; i++)); do
	[ "$i" = "$KILLED" ] && continue
	wait_until 30 test -s "$WORK/r$i.rc" || true
	rc=$(cat "$WORK/r$i.rc" 2>/dev/null)
	if [ "$rc" = 0 ] && [ "$(sha "$WORK/out/r$i")" = "$want" ]; then
		ok_count=$((ok_count + 1))
	else
		bad "receiver $i: exit '$rc', sha256 $(sha "$WORK/out/r$i" 2>/dev/null)"
		tail -3 "$WORK/r$i.log" | sed 's/^/      /'
	fi
done
expect_eq "receivers with the right sha256" $((N - 1)) "$ok_count"
check "the late joiner got it by multicast" grep -q 'http_bytes=0 ' "$WORK/r$LATE.log"
check "the cut-off receiver fetched by HTTP" grep -qE 'http_bytes=[1-9]' "$WORK/r$CUT.log"
check "the others needed no HTTP" \
	test "$(cat "$WORK"/r*.log | grep -cE 'http_bytes=[1-9]')" = 1
end=$(grep 'event=multicast.end' "$WORK/sender.log")
say "$end"
# The killed receiver is the only one not ok: exit status 1, counted.
expect_eq "sender exit status (one receiver lost)" 1 "$tx_status"
check "sender counted $N receivers, $((N - 1)) ok" grep -q "receivers=$N ok=$((N - 1)) " <<<"$end"
check "sender timed the killed and the stopped receiver out" grep -q "timeouts=2 " <<<"$end"
check "the stopped receiver came back" grep -q "revived=1 " <<<"$end"
check "the stopped receiver finished by multicast" grep -q 'http_bytes=0 ' "$WORK/r$STALL.log"
check "the carousel served the late joiner" grep -qE "carousel=[1-9]" <<<"$end"
naks=$(grep -oE ' naks=[0-9]+' <<<"$end" | cut -d= -f2)
data=$(grep -oE ' data=[0-9]+' <<<"$end" | cut -d= -f2)
# Suppression and aggregation: far fewer NAKs than data packets.
check "NAKs ($naks) well under data packets ($data) / 4" test "${naks:-0}" -lt $((${data:-0} / 4))
check "HTTP served the fallback range" grep -q 'event=http' "$SERVER_LOG"
no_sanitizer_report() {
	! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK"/*.log
}
check "no sanitizer report from the sender or the receivers" no_sanitizer_report
finish
