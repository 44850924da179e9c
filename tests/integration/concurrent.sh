#!/usr/bin/env bash
# 50 clients at once (17 curl, 17 tftp-hpa, 16 atftp with windowsize) on
# 5 files of 2 MiB: every copy intact, 50 transfers ok, the sessions were
# really concurrent (peak sessions_active), all freed at the end.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl tftp atftp

setup_net 4
R=$WORK/root
O=$WORK/out
mkdir -p "$O"
for i in 1 2 3 4 5; do mkfile "$R/img$i" 2M; done
# atftp gives up on a second OACK: when 50 transfers share two loaded CPUs
# (a sanitizer build) an ACK can take longer than the first 1 s timeout,
# so the retransmission timer scales with the deadlines.
base_config "$WORK/pxecast.conf" "retransmit-ms = $((1000 * SLOW))"
start_server "$WORK/pxecast.conf"

client() { # N: client number N, writes its exit status to $O/N.rc
	local n=$1 f=img$(($1 % 5 + 1)) rc
	case $(($1 % 3)) in
	0) in_cli 180 curl -sS --tftp-blksize 1468 -o "$O/$n" "tftp://$SRV_IP/$f" ;;
	1) in_cli 180 tftp "$SRV_IP" 69 -m binary -c get "$f" "$O/$n" ;;
	2) in_cli 180 atftp --option "blksize 1468" --option "windowsize 8" -g -r "$f" -l "$O/$n" "$SRV_IP" 69 ;;
	esac >"$O/$n.log" 2>&1
	rc=$?
	echo "$rc $f" >"$O/$n.rc"
}

section "starting 50 clients"
pids=()
for n in $(seq 0 49); do
	client "$n" &
	pids+=($!)
	BG_PIDS+=("$!")
done
peak=0
deadline=$((SECONDS + 180 * SLOW))
while :; do
	running=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
	v=$(metric sessions_active)
	[ "$v" != missing ] && [ "$v" -gt "$peak" ] && peak=$v
	[ $running = 0 ] && break
	[ $SECONDS -lt $deadline ] || { bad "clients still running after $((180 * SLOW))s"; break; }
	sleep 0.1
done
wait "${pids[@]}" 2>/dev/null
say "all clients finished after ${SECONDS}s; peak sessions_active seen: $peak"

section "results"
good=0
for n in $(seq 0 49); do
	read -r rc f <"$O/$n.rc" 2>/dev/null || { rc=missing; f=img$((n % 5 + 1)); }
	if [ "$rc" = 0 ] && [ "$(sha "$O/$n" 2>/dev/null)" = "$(sha "$R/$f")" ]; then
		good=$((good + 1))
	else
		say "client $n ($f) exit $rc:"
		tail -3 "$O/$n.log" | sed 's/^/    /'
	fi
done
expect_eq "clients that got an intact copy" 50 "$good"
check "the transfers overlapped (peak sessions_active $peak >= 2)" test "$peak" -ge 2
check "transfers_ok_total reaches 50" wait_metric transfers_ok -eq 50
expect_eq "transfers_failed_total" 0 "$(metric transfers_failed)"
expect_eq "busy_total" 0 "$(metric busy)"
check "sessions_active back to 0" wait_metric sessions_active -eq 0
expect_eq "log: 50 tftp.done result=ok lines" 50 "$(grep -c 'event=tftp.done .*bytes=2097152 .*result=ok' "$SERVER_LOG")"
finish
