#!/usr/bin/env bash
# Stopping and starting: SIGTERM and SIGINT stop pxecast with exit 0 (idle,
# with a stalled session, in the middle of a 100 MiB download), the last
# counters are written at exit, running sessions are logged as ended.
# Start-up errors (bad config, missing root, foreign listen address, the
# address already served by another pxecast) exit non-zero with a message.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd atftp python3

setup_net 9
R=$WORK/root
mkfile "$R/f1k" 1K
mkfile "$R/f100m" 100M
C=$WORK/pxecast.conf
base_config "$C"

# stopped SIGNAL WHAT: stop the server with SIGNAL, expect exit 0 within the deadline.
stopped() {
	local t0=$SECONDS st
	stop_server "$1"
	st=$?
	expect_eq "$2: exit status after SIG$1 ($((SECONDS - t0))s)" 0 "$st"
	check "$2: daemon.stop status=0 logged" grep -q 'event=daemon.stop status=0' "$SERVER_LOG"
}

section "SIGTERM right after a transfer"
start_server "$C"
check "a download" wire 30 get --name f1k --sha "$(sha "$R/f1k")"
stopped TERM "idle"
expect_eq "the metrics file written at exit counts the transfer" 1 "$(metric transfers_ok)"

section "SIGINT with a stalled session"
: >"$SERVER_LOG"
start_server "$C"
in_cli 60 "$PY" "$WIRE" --server "$SRV_IP" --slow "$SLOW" hold --name f100m --seconds 30 \
	>"$WORK/hold.log" 2>&1 &
BG_PIDS+=("$!")
check "a session is open" wait_metric sessions_active -eq 1 10
stopped INT "stalled session"
check "the open session was logged as ended by the shutdown" \
	grep -qE 'event=tftp.done .*file=f100m .*result=shutdown' "$SERVER_LOG"

section "SIGTERM in the middle of a 100 MiB atftp download"
: >"$SERVER_LOG"
start_server "$C"
ip netns exec "$CLI_NS" atftp --option "blksize 512" --option "windowsize 4" -g -r f100m \
	-l "$WORK/atftp.out" "$SRV_IP" 69 >"$WORK/atftp.log" 2>&1 &
apid=$!
BG_PIDS+=("$apid")
if wait_until 30 sh -c "[ \$(stat -c %s '$WORK/atftp.out' 2>/dev/null || echo 0) -ge 1048576 ]"; then
	stopped TERM "busy"
	check "the transfer was logged as ended by the shutdown" \
		grep -qE 'event=tftp.done .*file=f100m .*result=shutdown' "$SERVER_LOG"
else
	bad "atftp did not receive 1 MiB within $((30 * SLOW))s"
fi
kill -KILL "$apid" 2>/dev/null
wait "$apid" 2>/dev/null
check "no sanitizer report so far" sanitizer_clean

section "start-up errors"
startup_fails() { # WHAT CONFIG PATTERN: pxecast must exit non-zero, stderr matching PATTERN
	local st
	timeout -k 5 $((20 * SLOW)) ip netns exec "$SRV_NS" "$PXECAST" serve --config "$2" >"$WORK/start.log" 2>&1
	st=$?
	check "$1: exits non-zero ($st)" test "$st" != 0 -a "$st" != 124
	check "$1: says why ('$3')" grep -qE -- "$3" "$WORK/start.log"
	sed 's/^/    | /' "$WORK/start.log" | head -3
}
{ cat "$C"; echo "max-window = 65"; } >"$WORK/bad1.conf"
startup_fails "max-window = 65" "$WORK/bad1.conf" 'bad1.conf:[0-9]+.*max-window'
{ cat "$C"; echo "frobnicate = yes"; } >"$WORK/bad2.conf"
startup_fails "unknown key" "$WORK/bad2.conf" 'bad2.conf:[0-9]+.*frobnicate'
sed "s|^root = .*|root = $WORK/missing|" "$C" >"$WORK/bad3.conf"
startup_fails "missing root" "$WORK/bad3.conf" 'missing'
sed "s|^listen = .*|listen = 10.200.9.99:69|" "$C" >"$WORK/bad4.conf"
startup_fails "listen address not on this host" "$WORK/bad4.conf" 'listen|address'
check "no pxecast left running in the server namespace" test -z "$(ip netns pids "$SRV_NS")"

# Regression (fixed in 8100fb4): with SO_REUSEADDR on the listening UDP
# socket a second daemon could bind the same address and port, start
# "successfully" and steal every request.
section "a second pxecast on the same address"
: >"$SERVER_LOG"
start_server "$C"
first=$SERVER_PID
timeout -k 5 $((3 * SLOW)) ip netns exec "$SRV_NS" "$PXECAST" serve --tftp-root "$R" --listen "$SRV_IP:69" \
	>"$WORK/second.log" 2>&1
st=$?
check "the second instance refuses to start (exit $st; 124 means it kept running)" test "$st" != 0 -a "$st" != 124
sed 's/^/    | /' "$WORK/second.log" | head -3
check "the first instance still serves" wire 30 get --name f1k --sha "$(sha "$R/f1k")"
SERVER_PID=$first
finish
