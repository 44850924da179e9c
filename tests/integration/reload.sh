#!/usr/bin/env bash
# SIGHUP reloads the config file: max-window, max-blksize, root, upload-dir
# and log-level changes are observed on the wire; a transfer running across
# the reload finishes with the old root's file; a broken config is rejected
# and the server keeps serving with the previous one.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl python3

setup_net 8
R1=$WORK/root1
R2=$WORK/root2
U=$WORK/up
mkdir -p "$U"
mkfile "$R1/which" 10K
mkfile "$R2/which" 10K
mkfile "$R1/only-in-1" 1K
mkfile "$R2/only-in-2" 1K
mkfile "$R1/big" 40M
mkfile "$R2/big" 40M
mkfile "$WORK/payload" 3K
C=$WORK/pxecast.conf

config() { # ROOT MAX-WINDOW MAX-BLKSIZE LOG-LEVEL [extra lines]
	local root=$1 win=$2 blk=$3 lvl=$4
	shift 4
	{
		echo "[daemon]"
		echo "log-level = $lvl"
		echo "metrics-file = $WORK/metrics.prom"
		echo "[tftp]"
		echo "root = $root"
		echo "listen = $SRV_IP:69"
		echo "max-window = $win"
		echo "max-blksize = $blk"
		local l
		for l in "$@"; do echo "$l"; done
	} >"$C.new"
	mv "$C.new" "$C"
}
offer() { # WINDOW BLKSIZE: what the server answers to windowsize 64, blksize 65464
	wire 30 get --name which --opt windowsize=64 --opt blksize=65464 \
		--expect-oack "windowsize=$1" "blksize=$2"
}
offer_quiet() { offer "$@" >/dev/null; }

config "$R1" 4 1468 info
start_server "$C"

section "before: root1, max-window 4, max-blksize 1468, no upload-dir"
check "OACK offers windowsize 4, blksize 1468" offer 4 1468
check "'which' is root1's" wire 30 get --name which --sha "$(sha "$R1/which")"
check "WRQ refused (no upload-dir)" wire 30 put --name up1 --file "$WORK/payload" --expect-error 2

section "a curl transfer of root1's big file runs across the reload"
ip netns exec "$CLI_NS" curl -sS --tftp-blksize 512 -o "$WORK/curl.out" "tftp://$SRV_IP/big" \
	>"$WORK/curl.log" 2>&1 &
curl_pid=$!
BG_PIDS+=("$curl_pid")
wait_until 30 sh -c "[ \$(stat -c %s '$WORK/curl.out' 2>/dev/null || echo 0) -ge 1048576 ]" ||
	bad "curl did not start receiving"

section "SIGHUP: root2, max-window 8, max-blksize 1024, upload-dir"
config "$R2" 8 1024 info "upload-dir = $U"
check "config.reload result=ok logged" reload ok
check "curl was still running during the reload" kill -0 "$curl_pid"
check "OACK offers windowsize 8, blksize 1024" offer 8 1024
check "'which' is root2's" wire 30 get --name which --sha "$(sha "$R2/which")"
check "only-in-1 is gone (ERROR 1)" wire 30 get --name only-in-1 --expect-error 1
check "only-in-2 is served" wire 30 get --name only-in-2 --sha "$(sha "$R2/only-in-2")"
check "WRQ accepted now" wire 30 put --name up1 --file "$WORK/payload"
check "the upload landed in the new upload-dir" wait_until 5 same_file "$WORK/payload" "$U/up1"
wait_until 120 sh -c "! kill -0 $curl_pid 2>/dev/null"
wait "$curl_pid"
rc=$?
check "the curl transfer started before the reload finished with root1's file (exit $rc)" \
	test $rc = 0 -a "$(sha "$WORK/curl.out" 2>/dev/null)" = "$(sha "$R1/big")"

section "broken configs are rejected, the previous one stays"
cp "$C" "$WORK/good.conf"
config "$R1" 0 1468 info
check "max-window = 0: config.reload result=rejected" reload rejected
check "still windowsize 8, blksize 1024" offer 8 1024
{ cat "$WORK/good.conf"; echo "no-such-key = 1"; } >"$C"
check "unknown key: config.reload result=rejected" reload rejected
config "$WORK/no-such-root" 2 512 info
check "missing root: config.reload result=rejected" reload rejected
check "still root2" wire 30 get --name which --sha "$(sha "$R2/which")"
check "still windowsize 8, blksize 1024" offer 8 1024
check "the rejected reloads name the problem" \
	grep -qE 'event=config.reload .*(max-window|no-such-key|no-such-root)' "$SERVER_LOG"

section "SIGHUP: log-level warn, max-window 6, no upload-dir"
config "$R2" 6 1024 warn
kill -HUP "$SERVER_PID"
# At warn the reload's own info line is not logged: wait for the new window.
check "the reload took effect (OACK windowsize 6)" wait_until 10 offer_quiet 6 1024
n=$(log_count 'event=tftp.done .*result=ok')
check "a download still works" wire 30 get --name which --sha "$(sha "$R2/which")"
check "WRQ refused again (upload-dir removed)" wire 30 put --name up2 --file "$WORK/payload" --expect-error 2
metrics_fresh
expect_eq "no info-level tftp.done lines at log-level warn" "$n" "$(log_count 'event=tftp.done .*result=ok')"
config "$R2" 6 1024 info
check "config.reload back to info" reload ok
check "a download" wire 30 get --name which --sha "$(sha "$R2/which")"
check "its tftp.done line is logged again" wait_log 'event=tftp.done .*result=ok' $((n + 1)) 5

section "server side"
check "the metrics file is still rewritten" metrics_fresh
check "sessions_active 0" wait_metric sessions_active -eq 0
finish
