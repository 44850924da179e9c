#!/usr/bin/env bash
# Clients that stop talking: their sessions time out after the retries and
# are freed (sessions_active back to 0, timeouts_total counts them). A
# wire-level client vanishing after some blocks and right after the OACK,
# curl and atftp killed with SIGKILL mid-transfer. Then a client that ACKs
# every block but slowly is cut off by max-transfer-seconds.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl atftp python3

setup_net 5
R=$WORK/root
mkfile "$R/f1m" 1M
mkfile "$R/f100m" 100M
# A dead client costs 300 + 600 + 600 + 600 ms of retries.
base_config "$WORK/pxecast.conf" "retransmit-ms = 300" "retransmit-max-ms = 600" "max-retries = 3"
start_server "$WORK/pxecast.conf"

# vanished WHAT N: after a client vanished: the session is seen, then freed,
# and this is the Nth timeout.
vanished() {
	check "$1: sessions_active back to 0" wait_metric sessions_active -eq 0 20
	check "$1: timeouts_total is $2" wait_metric timeouts -eq "$2" 5
	check "$1: log says result=timeout" wait_log 'event=tftp.done .*result=timeout' "$2" 5
}

section "wire client vanishes after 20 blocks"
check "wire scenario 'vanish'" wire 30 vanish --name f1m --blocks 20
vanished "vanished after 20 blocks" 1

section "wire client vanishes right after the OACK"
check "wire scenario 'vanish' (OACK not acknowledged)" wire 30 vanish --name f1m --blocks 0
vanished "vanished after the OACK" 2

# kill_mid CLIENT CMD...: start a client on f100m, SIGKILL it once 1 MiB arrived.
kill_mid() {
	local what=$1 pid out=$WORK/$1.out
	shift
	ip netns exec "$CLI_NS" "$@" >"$WORK/$what.log" 2>&1 &
	pid=$!
	BG_PIDS+=("$pid")
	if wait_until 30 sh -c "[ \$(stat -c %s '$out' 2>/dev/null || echo 0) -ge 1048576 ]"; then
		check "$what is mid-transfer (session counted active)" wait_metric sessions_active -eq 1 5
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		say "$what killed after $(stat -c %s "$out") bytes"
		check "$what had not finished" test "$(stat -c %s "$out")" -lt 104857600
	else
		bad "$what did not receive 1 MiB within $((30 * SLOW))s"
		kill -KILL "$pid"
	fi
}

section "curl killed mid-transfer (SIGKILL)"
kill_mid curl curl -sS -o "$WORK/curl.out" "tftp://$SRV_IP/f100m"
vanished "curl killed" 3

section "atftp (windowsize 4) killed mid-transfer (SIGKILL)"
kill_mid atftp atftp --option "blksize 512" --option "windowsize 4" -g -r f100m -l "$WORK/atftp.out" "$SRV_IP" 69
vanished "atftp killed" 4

section "the server is unaffected"
check "wire download of f1m after all that" wire 30 get --name f1m --sha "$(sha "$R/f1m")"
check "sessions_active 0" wait_metric sessions_active -eq 0
expect_eq "transfers_failed_total (the 4 vanished)" 4 "$(fresh_metric transfers_failed)"
expect_eq "transfers_ok_total" 1 "$(metric transfers_ok)"

# Regression (fixed in 8100fb4): max-transfer-seconds was only checked when
# a retransmission timer expired, so a client that kept ACKing (slowly,
# each ACK within retransmit-ms) was never cut off.
section "max-transfer-seconds cuts off a slow but live client"
stop_server TERM
expect_eq "pxecast exit status after SIGTERM" 0 $?
base_config "$WORK/pxecast.conf" "retransmit-ms = 300" "retransmit-max-ms = 600" "max-retries = 3" \
	"max-transfer-seconds = 2"
start_server "$WORK/pxecast.conf"
check "wire scenario 'trickle' (ACK every 0.2s, limit 2s)" \
	wire 30 trickle --name f1m --delay 0.2 --limit 2 --seconds 6
check "sessions_active back to 0" wait_metric sessions_active -eq 0 10
check "log says result=time-limit" wait_log 'event=tftp.done .*result=time-limit' 1 5
finish
