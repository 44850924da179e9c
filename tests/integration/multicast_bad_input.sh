#!/usr/bin/env bash
# Bulk multicast under hostile input: joins and NAKs for unknown sessions,
# control packets from non-members, truncated packets, garbage, NAKs past
# the end of the object, a NAK storm, bad DATA on the group. Each is
# dropped and counted (the sender's multicast.end line, the receivers'
# final line), and the real receivers still end with the right sha256.
. "$(dirname "$0")/lib.sh" "$@"
. "$HERE/mcast_net.sh"

need_cmd nft bridge
[ -n "$PY" ] || skip "python3 is not installed"
RECV=${PXECAST_RECV:-$(dirname "$PXECAST")/mtftp/recv/exe/pxecast-recv}
[ -x "$RECV" ] || skip "pxecast-recv not built at $RECV"
GROUP=239.77.0.2:9100

mcast_setup 3
mkfile "$WORK/root/img.raw" 4M
mkdir -p "$WORK/out"
want=$(sha "$WORK/root/img.raw")
cat >"$WORK/pxecast.conf" <<CONF
[tftp]
root = $WORK/root
[multicast bad]
object = img.raw
group = $GROUP
rate = 16M
min-receivers = 3
max-wait = 30
CONF

for i in 0 1; do
	( in_rx "$i" timeout -k 5 $((60 * SLOW)) "$RECV" --group "$GROUP" --out "$WORK/out/r$i" \
		--quiet 2>"$WORK/r$i.log"; echo $? >"$WORK/r$i.rc" ) &
	BG_PIDS+=($!)
done
( in_rx 2 timeout -k 5 $((60 * SLOW)) "$PY" "$HERE/bulk_wire.py" --group "$GROUP" \
	>"$WORK/wire.out" 2>"$WORK/wire.err"; echo $? >"$WORK/wire.rc" ) &
BG_PIDS+=($!)
in_tx timeout -k 5 $((90 * SLOW)) "$PXECAST" multicast start bad --config "$WORK/pxecast.conf" \
	--quiet 2>"$WORK/sender.log"
tx_status=$?

section "results"
wait_until 20 test -s "$WORK/wire.rc" || true
expect_eq "hostile peer ran" 0 "$(cat "$WORK/wire.rc" 2>/dev/null)"
say "$(cat "$WORK/wire.out" "$WORK/wire.err" 2>/dev/null)"
for i in 0 1; do
	wait_until 20 test -s "$WORK/r$i.rc" || true
	expect_eq "receiver $i exit status" 0 "$(cat "$WORK/r$i.rc" 2>/dev/null)"
	check "receiver $i has the right sha256" test "$(sha "$WORK/out/r$i")" = "$want"
	check "receiver $i counted the bad group packets" \
		grep -qE 'truncated=[1-9][0-9]* bad=' "$WORK/r$i.log"
done
expect_eq "sender exit status" 0 "$tx_status"
end=$(grep 'event=multicast.end' "$WORK/sender.log")
say "$end"
val() { grep -oE " $1=[0-9]+" <<<"$end" | cut -d= -f2; }
sent() { grep -oE " $1=[0-9]+" "$WORK/wire.out" | cut -d= -f2; }
check "every receiver ok (2 real + the peer's DONE)" grep -q 'receivers=3 ok=3 ' <<<"$end"
check "unknown sessions counted ($(val unknown_session))" test "$(val unknown_session)" -ge "$(sent unknown_session)"
check "non-member control counted ($(val nonmember))" test "$(val nonmember)" -ge "$(sent nonmember)"
check "truncated packets counted ($(val truncated))" test "$(val truncated)" -ge "$(sent truncated)"
check "garbage counted ($(val bad_packets))" test "$(val bad_packets)" -ge "$(sent bad_packets)"
check "NAK past the end counted" test "$(val nak_past_end)" -ge 1
# The storm is 2000 NAKs at once; at most nak-per-second of them are acted on.
check "NAK storm rate-limited ($(val nak_ratelimited))" test "$(val nak_ratelimited)" -ge 1700
no_sanitizer_report() {
	! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK"/*.log
}
check "no sanitizer report from the sender or the receivers" no_sanitizer_report
finish
