#!/bin/bash
# Hostile and broken HTTP clients (raw sockets, http_wire.py): every bad
# request is a 4xx/5xx and never a crash; slowloris and silent connections
# are cut off by the header and idle timeouts; beyond max-connections a
# client gets 503. The server must still serve afterwards.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl
[ -n "$PY" ] || skip "python3 is not installed"
HWIRE=$HERE/http_wire.py
setup_net 32

mkdir -p "$WORK/root/boot" "$WORK/www/boot"
echo "hello" >"$WORK/www/boot/hello.txt"
mkfile "$WORK/www/boot/big.bin" 20M
echo "tftp tree, not this one" >"$WORK/root/boot/hello.txt"
ln -s /etc "$WORK/www/escape"
base_config "$WORK/pxecast.conf"
cat >>"$WORK/pxecast.conf" <<CONF
[http]
root = $WORK/www
listen = $SRV_IP:8080
header-timeout = 3
idle-timeout = 4
max-connections = 8
CONF
start_server "$WORK/pxecast.conf"

# hwire SECONDS ARGS...: run the raw client; each "ok"/"FAIL" line it
# prints becomes a check here.
hwire() {
	local t=$1 line
	shift
	while IFS= read -r line; do
		case $line in
		ok\ *) ok "${line#ok }" ;;
		FAIL\ *) bad "${line#FAIL }" ;;
		*) echo "    $line" ;;
		esac
	done < <(in_cli "$t" "$PY" "$HWIRE" --server "$SRV_IP" --port 8080 --slow "$SLOW" "$@" 2>&1)
}

section "malformed and hostile requests"
hwire 120 bad
expect_eq "the [http] root is served, not the [tftp] one" hello \
	"$(in_cli 10 curl -sf "http://$SRV_IP:8080/boot/hello.txt")"

section "timeouts"
hwire 30 --limit 3 slowloris &
slow_pid=$!
hwire 30 --limit 4 idle
wait "$slow_pid"
hwire 40 --limit 4 stall
check "the stalled send was the one cut off" wait_log 'event=http.timeout client=[0-9.:]+ state=send' 1
check "timeouts counted" wait_metric pxecast_http_timeouts_total -ge 3

section "max-connections"
hwire 30 maxconn 8
check "busy answers counted" wait_metric pxecast_http_rejected_busy_total -ge 1

section "still serving"
expect_eq "GET after all of that" hello "$(in_cli 10 curl -sf "http://$SRV_IP:8080/boot/hello.txt")"
check "no 500 answered" bash -c "! grep -q 'status=500' '$SERVER_LOG'"
check "every connection closed" wait_metric pxecast_http_connections_active -eq 0

section "reload"
sed -i "s|^root = $WORK/www\$|root = $WORK/root|" "$WORK/pxecast.conf"
kill -HUP "$SERVER_PID"
check "reload accepted" wait_log 'event=config.reload result=ok' 1
expect_eq "the new root is served after SIGHUP" "tftp tree, not this one" \
	"$(in_cli 10 curl -sf "http://$SRV_IP:8080/boot/hello.txt")"
finish
