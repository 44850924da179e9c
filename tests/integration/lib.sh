# Shared helpers for the integration tests; sourced by every *.sh here.
#
#   . "$(dirname "$0")/lib.sh" "$@"     ($1: the pxecast binary, or $PXECAST)
#
# Each test gets two network namespaces of its own (pxc-<pid>-srv and
# pxc-<pid>-cli) joined by a veth pair with 10.200.<net>.1 (server) and
# 10.200.<net>.2 (clients). Addresses exist only inside those namespaces and
# nothing is routed anywhere else. Everything is removed by the EXIT trap.
#
# Results: `check "what" command...` runs a command and records ok/FAIL;
# `finish` stops the server (expecting exit 0 and a clean sanitizer log)
# and prints PASS or FAIL. Exit codes: 0 pass, 1 fail, 77 skip.

set -u
set -o pipefail
export PYTHONDONTWRITEBYTECODE=1

TEST_NAME=$(basename "$0" .sh)
HERE=$(cd "$(dirname "$0")" && pwd)
PXECAST=${1:-${PXECAST:-}}
# Deadlines scale with this (raise it for slow sanitizer builds).
SLOW=${PXC_SLOW:-1}

CHECKS=0
FAILS=0
FAILED_NAMES=()
SRV_NS=
CLI_NS=
WORK=
SERVER_PID=
SERVER_LOG=
BG_PIDS=()
CLEANUP_DIRS=() # outside $WORK (a benchmark's outputs in /dev/shm), removed too

say() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
section() { printf '\n[%s] == %s\n' "$TEST_NAME" "$*"; }
skip() {
	printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*"
	exit 77
}
ok() {
	CHECKS=$((CHECKS + 1))
	printf '  ok    %s\n' "$*"
}
bad() {
	CHECKS=$((CHECKS + 1))
	FAILS=$((FAILS + 1))
	FAILED_NAMES+=("$*")
	printf '  FAIL  %s\n' "$*"
}
# check DESCRIPTION COMMAND...: records ok when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
	done
}

# ---- preconditions ----

[ "$(id -u)" = 0 ] || skip "needs root (creates network namespaces)"
need_cmd ip timeout sha256sum awk
ip netns list >/dev/null 2>&1 || skip "'ip netns' is unavailable"
[ -n "$PXECAST" ] && [ -x "$PXECAST" ] || {
	echo "[$TEST_NAME] usage: $0 PATH/TO/pxecast (or set PXECAST)" >&2
	exit 1
}
PXECAST=$(cd "$(dirname "$PXECAST")" && pwd)/$(basename "$PXECAST")
PY=$(command -v python3 || true)
WIRE=$HERE/tftp_wire.py

# ---- cleanup ----

cleanup() {
	local p ns
	trap - EXIT INT TERM HUP
	trap '' PIPE # a closed stdout must not stop the cleanup half-way
	{
		for p in "${BG_PIDS[@]}" $SERVER_PID; do
			kill -KILL "$p"
		done
		# Anything still running inside our own namespaces was started by us.
		for ns in $SRV_NS $CLI_NS; do
			for p in $(ip netns pids "$ns"); do
				kill -KILL "$p"
			done
		done
		wait
	} 2>/dev/null
	for ns in $SRV_NS $CLI_NS; do
		ip netns del "$ns" 2>/dev/null
	done
	[ ${#CLEANUP_DIRS[@]} -eq 0 ] || rm -rf "${CLEANUP_DIRS[@]}"
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "$FAILS" -gt 0 ] && [ -n "${PXC_KEEP:-}" ]; then
			echo "[$TEST_NAME] kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pxc-$TEST_NAME.XXXXXX")
chmod 755 "$WORK"

# ---- network ----

# setup_net NET: namespaces and a veth pair with 10.200.NET.1 / .2.
setup_net() {
	local net=$1 a b
	SRV_NS=pxc-$$-srv
	CLI_NS=pxc-$$-cli
	a=pxc$$s
	b=pxc$$c
	SRV_IP=10.200.$net.1
	CLI_IP=10.200.$net.2
	ip netns add "$SRV_NS" || { bad "ip netns add $SRV_NS"; exit 1; }
	ip netns add "$CLI_NS" || { bad "ip netns add $CLI_NS"; exit 1; }
	ip link add "$a" netns "$SRV_NS" type veth peer name "$b" netns "$CLI_NS" ||
		{ bad "veth pair"; exit 1; }
	ip -n "$SRV_NS" addr add "$SRV_IP/24" dev "$a"
	ip -n "$CLI_NS" addr add "$CLI_IP/24" dev "$b"
	ip -n "$SRV_NS" link set lo up
	ip -n "$CLI_NS" link set lo up
	ip -n "$SRV_NS" link set "$a" up
	ip -n "$CLI_NS" link set "$b" up
	# Ready when the client can see the server address (no DAD on IPv4).
	local deadline=$((SECONDS + 10))
	until ip netns exec "$CLI_NS" ip route get "$SRV_IP" >/dev/null 2>&1 &&
		[ "$(ip -n "$CLI_NS" -o link show "$b" | grep -c 'state UP')" = 1 ]; do
		[ $SECONDS -lt $deadline ] || { bad "veth did not come up"; exit 1; }
		sleep 0.05
	done
	say "network: $SRV_NS ($SRV_IP) <-> $CLI_NS ($CLI_IP)"
}

# in_cli SECONDS COMMAND...: run a client command in the client namespace,
# bounded by a timeout (scaled by PXC_SLOW).
in_cli() {
	local t=$(($1 * SLOW))
	shift
	timeout -k 5 "$t" ip netns exec "$CLI_NS" "$@"
}

# wire SECONDS SCENARIO ARGS...: the python wire-level client, in the client ns.
wire() {
	local t=$1
	shift
	in_cli "$t" "$PY" "$WIRE" --server "$SRV_IP" --slow "$SLOW" "$@"
}

# ---- files ----

# mkfile PATH SIZE: random content (SIZE as accepted by head -c: 1K, 10M...).
mkfile() {
	mkdir -p "$(dirname "$1")"
	head -c "$2" /dev/urandom >"$1"
}
sha() { sha256sum <"$1" | cut -d' ' -f1; }
# same_file A B: true when both exist with the same sha256.
same_file() {
	[ -f "$1" ] && [ -f "$2" ] && [ "$(sha "$1")" = "$(sha "$2")" ]
}

# ---- the server ----

METRICS=
# start_server CONFIG [extra args]: starts pxecast in the server namespace
# and waits (bounded) until it logged daemon.ready and wrote its metrics.
start_server() {
	local conf=$1
	shift
	SERVER_LOG=$WORK/server.log
	METRICS=$(awk -F= '/^[ \t]*metrics-file[ \t]*=/ { gsub(/[ \t]/, "", $2); print $2 }' "$conf")
	[ -n "$METRICS" ] || { bad "test config has no metrics-file"; exit 1; }
	rm -f "$METRICS"
	: >>"$SERVER_LOG"
	local mark
	mark=$(grep -c 'event=daemon.ready' "$SERVER_LOG")
	ip netns exec "$SRV_NS" "$PXECAST" serve --config "$conf" "$@" 2>>"$SERVER_LOG" &
	SERVER_PID=$!
	local deadline=$((SECONDS + 20 * SLOW))
	until [ "$(grep -c 'event=daemon.ready' "$SERVER_LOG")" -gt "$mark" ] && [ -s "$METRICS" ]; do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			bad "pxecast exited during start-up"
			tail -20 "$SERVER_LOG"
			SERVER_PID=
			exit 1
		fi
		[ $SECONDS -lt $deadline ] || { bad "pxecast not ready within $((20 * SLOW))s"; tail -20 "$SERVER_LOG"; exit 1; }
		sleep 0.05
	done
	say "pxecast running (pid $SERVER_PID)"
}

# stop_server [SIGNAL]: signal the server, wait (bounded) for its exit and
# return its exit status (124 when it would not stop).
stop_server() {
	local sig=${1:-TERM} deadline st
	[ -n "$SERVER_PID" ] || return 0
	kill -"$sig" "$SERVER_PID" 2>/dev/null
	deadline=$((SECONDS + 20 * SLOW))
	while kill -0 "$SERVER_PID" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			kill -KILL "$SERVER_PID" 2>/dev/null
			wait "$SERVER_PID" 2>/dev/null
			SERVER_PID=
			return 124
		fi
		sleep 0.05
	done
	wait "$SERVER_PID"
	st=$?
	SERVER_PID=
	return $st
}

# sanitizer_clean: no ASan/UBSan/LSan report in the server log.
sanitizer_clean() {
	! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$SERVER_LOG"
}

# metric NAME: the current value of pxecast_NAME (tftp_ prefix optional).
metric() {
	local n=$1
	case $n in pxecast_*) ;; tftp_* | store_*) n=pxecast_$n ;; *) n=pxecast_tftp_$n ;; esac
	awk -v n="$n" '($1 == n || $1 == n "_total") && !f { print $2; f = 1 } END { if (!f) print "missing" }' \
		"$METRICS" 2>/dev/null
}

# metrics_fresh: wait (bounded) until the metrics file has been rewritten
# after this call, so that it reflects everything done before.
metrics_fresh() {
	local first deadline=$((SECONDS + 3 * SLOW))
	first=$(stat -c '%i %.9Y' "$METRICS" 2>/dev/null)
	sleep 0.05
	while [ "$(stat -c '%i %.9Y' "$METRICS" 2>/dev/null)" = "$first" ] && [ $SECONDS -lt $deadline ]; do
		sleep 0.05
	done
}
# fresh_metric NAME: metric NAME after metrics_fresh.
fresh_metric() {
	metrics_fresh
	metric "$1"
}

# wait_metric NAME OP VALUE [SECONDS]: poll the metrics file (rewritten
# every second) until NAME OP VALUE holds; OP is a test(1) operator
# (-eq -ge -le -gt -lt). Prints the last value on failure.
wait_metric() {
	local name=$1 op=$2 want=$3 limit=$((${4:-10} * SLOW)) v deadline
	deadline=$((SECONDS + limit))
	while :; do
		v=$(metric "$name")
		if [ "$v" != missing ] && [ -n "$v" ] && test "$v" "$op" "$want"; then
			return 0
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "    ($name is $v, wanted $op $want within ${limit}s)"
			return 1
		fi
		sleep 0.1
	done
}

# wait_log PATTERN COUNT [SECONDS]: until the server log has COUNT lines
# matching the extended regex PATTERN.
wait_log() {
	local pat=$1 n=$2 limit=$((${3:-10} * SLOW)) deadline
	deadline=$((SECONDS + limit))
	until [ "$(grep -cE -- "$pat" "$SERVER_LOG")" -ge "$n" ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "    (log has $(grep -cE -- "$pat" "$SERVER_LOG") lines matching '$pat', wanted $n)"
			return 1
		fi
		sleep 0.1
	done
}
log_count() { grep -cE -- "$1" "$SERVER_LOG"; }
# reload OUTCOME: SIGHUP and wait for the next config.reload line with OUTCOME.
reload() {
	local n
	n=$(log_count "event=config.reload result=$1")
	kill -HUP "$SERVER_PID"
	wait_log "event=config.reload result=$1" $((n + 1)) 10
}

# wait_until SECONDS COMMAND...: poll a command until it succeeds.
wait_until() {
	local limit=$(($1 * SLOW)) deadline
	shift
	deadline=$((SECONDS + limit))
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

# test_cert: a self-signed certificate in $WORK/cert.pem and key in
# $WORK/key.pem for HTTPS; TLS=1 when made, empty without openssl.
test_cert() {
	TLS=
	command -v openssl >/dev/null || return 0
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
		-days 2 -subj /CN=pxecast-test >/dev/null 2>&1 && TLS=1
	return 0
}

# base_config FILE [extra [tftp] lines...]: a config for this test.
base_config() {
	local f=$1
	shift
	{
		echo "[daemon]"
		echo "log-level = info"
		echo "metrics-file = $WORK/metrics.prom"
		echo "[tftp]"
		echo "root = $WORK/root"
		echo "listen = $SRV_IP:69"
		local l
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# ---- the end ----

finish() {
	local st
	if [ -n "$SERVER_PID" ]; then
		section "stopping pxecast"
		stop_server TERM
		st=$?
		expect_eq "pxecast exit status after SIGTERM" 0 "$st"
	fi
	if [ -n "$SERVER_LOG" ] && [ -f "$SERVER_LOG" ]; then
		check "no sanitizer report in the server log" sanitizer_clean
	fi
	echo
	if [ "$FAILS" -eq 0 ] && [ "$CHECKS" -gt 0 ]; then
		say "PASS ($CHECKS checks, ${SECONDS}s)"
		exit 0
	fi
	if [ -n "$SERVER_LOG" ] && [ -f "$SERVER_LOG" ]; then
		say "server log (last 40 lines):"
		tail -40 "$SERVER_LOG" | sed 's/^/    /'
	fi
	say "failed checks:"
	local f
	for f in "${FAILED_NAMES[@]}"; do echo "    - $f"; done
	say "FAIL ($FAILS of $CHECKS checks failed, ${SECONDS}s)"
	exit 1
}
