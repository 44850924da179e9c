#!/usr/bin/env bash
# Durability: a lease a client saw ACKed survives SIGKILL. A wire client
# runs DORA for fresh MACs as fast as pxecast answers and records every
# ACK; pxecast is killed with SIGKILL at a random moment, restarted, and
# every recorded lease must be in the journal and ACKed again (INIT-REBOOT
# REQUEST) with the same address. Repeated ROUNDS times.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/dhcp_lib.sh"
[ -n "$PY" ] || skip "python3 is not installed"
ROUNDS=${PXC_DHCP_KILL_ROUNDS:-8}

dhcp_net 42
# A 49152-address pool; each round's 4000 machines (fresh MACs) DORA again
# and again, so rounds of load do not exhaust it.
dhcp_config "$WORK/pxecast.conf" "[dhcp]" "rate-per-sec = 100"
sed -i "s|^network = .*|network = 10.200.0.0/16|; s|^pool = .*|pool = 10.200.64.0 - 10.200.255.250|" \
	"$WORK/pxecast.conf"
REC=$WORK/acked
: >"$REC"

for r in $(seq 1 "$ROUNDS"); do
	section "round $r"
	start_server "$WORK/pxecast.conf"
	dwire 30 load --seconds 4 --window 32 --macs 4000 --record "$REC" >"$WORK/load.log" 2>&1 &
	LOAD=$!
	BG_PIDS+=($LOAD)
	# 0.5 .. 3.4 s into the load (the client needs ~0.3 s to start)
	sleep "$((RANDOM % 3)).$((5 + RANDOM % 5))"
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
	wait "$LOAD"
	sed 's/^/    /' "$WORK/load.log"
	n=$(wc -l <"$REC")
	# One pass: the journal's last row per MAC against the last ACK seen.
	missing=$(awk 'FNR == NR { if ($1 == "L1") { st[$3] = $2; ip[$3] = $4 } next }
		{ last[$1] = $2 }
		END { for (m in last) if (st[m] != "bound" || ip[m] != last[m]) { n++; if (n <= 5) print "not in the journal:", m, last[m] > "/dev/stderr" }
		      print n + 0 }' "$WORK/leases" "$REC")
	expect_eq "round $r: every ACKed lease ($n so far) is in the journal" 0 "$missing"
	start_server "$WORK/pxecast.conf"
	# SIGKILL cannot tear a write(2), but a torn tail row is what a
	# crash leaves: it may be skipped, never more.
	check "round $r: journal loaded, at most a torn tail skipped" \
		test "$(dmetric journal_rows_bad)" -le 1
	check "round $r: every ACKed lease is served again" dwire 120 verify --record "$REC"
	stop_server TERM
done
check "leases were recorded under load" test "$(wc -l <"$REC")" -gt "$ROUNDS"
finish
