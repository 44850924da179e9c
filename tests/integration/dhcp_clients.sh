#!/usr/bin/env bash
# Real DHCP clients against pxecast in server mode: isc-dhcp-client
# (dhclient) and busybox udhcpc each obtain a lease, renew it (a 20 s lease:
# renewal after 10 s for dhclient, SIGUSR1 for udhcpc) and release it; the
# journal shows each step.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/dhcp_lib.sh"
need_cmd dhclient busybox
busybox --list | grep -qx udhcpc || skip "busybox has no udhcpc"

dhcp_net 41
dhcp_config "$WORK/pxecast.conf" "lease-time = 20"
start_server "$WORK/pxecast.conf"
MAC=$(ip netns exec "$CLI_NS" cat "/sys/class/net/$CLI_IF/address")
REC=$WORK/record

# Both clients call this script; it records the event and configures the
# address so that renewals can be unicast from it.
cat >"$WORK/client-script" <<EOS
#!/bin/sh
r=\${reason:-\$1}
a=\${new_ip_address:-\$ip}
echo "\$r \$a" >>"$REC"
case \$r in
BOUND|RENEW|REBIND|REBOOT|bound|renew) ip addr replace "\$a/24" dev "\$interface" ;;
EXPIRE|RELEASE|STOP|deconfig) ip addr flush dev "\$interface" ;;
esac
exit 0
EOS
chmod +x "$WORK/client-script"

recorded() { grep -c "^$1 " "$REC" 2>/dev/null; }
has_event() { [ "$(recorded "$1")" -ge "$2" ]; }
wait_event() { wait_until "$2" has_event "$1" "${3:-1}"; }
addr_of() { awk -v r="$1" '$1 == r { a = $2 } END { print a }' "$REC"; }
journal_free() {
	awk -v m="$MAC" '$3 == m { s = $2 } END { exit !(s == "free") }' "$WORK/leases"
}

section "dhclient"
: >"$REC"
ip netns exec "$CLI_NS" dhclient -d -v -sf "$WORK/client-script" -pf "$WORK/dhclient.pid" \
	-lf "$WORK/dhclient.leases" "$CLI_IF" >"$WORK/dhclient.log" 2>&1 &
BG_PIDS+=($!)
DHC=$!
check "dhclient: BOUND" wait_event BOUND 15
IP=$(addr_of BOUND)
case $IP in "$NET".1[0-9][0-9]) ok "dhclient: address $IP from the pool" ;; *) bad "dhclient: address '$IP'" ;; esac
check "journal: $MAC bound to $IP" journal_has "$MAC" "$IP"
check "dhclient: RENEW after T1 (10 s)" wait_event RENEW 25
expect_eq "dhclient: renewed the same address" "$IP" "$(addr_of RENEW)"
check "server: renewal answered by unicast" wait_log "type=ack mac=$MAC ip=$IP dest=unicast" 1
kill "$DHC" 2>/dev/null
wait "$DHC" 2>/dev/null
in_cli 20 dhclient -r -v -sf "$WORK/client-script" -pf "$WORK/dhclient.pid" \
	-lf "$WORK/dhclient.leases" "$CLI_IF" >>"$WORK/dhclient.log" 2>&1
check "dhclient -r: RELEASE counted" dwait_metric releases -ge 1
check "journal: $MAC free after the release" journal_free

section "busybox udhcpc"
: >"$REC"
ip netns exec "$CLI_NS" busybox udhcpc -f -R -i "$CLI_IF" -s "$WORK/client-script" -t 5 -T 1 \
	>"$WORK/udhcpc.log" 2>&1 &
BG_PIDS+=($!)
UDH=$!
check "udhcpc: bound" wait_event bound 15
IP=$(addr_of bound)
case $IP in "$NET".1[0-9][0-9]) ok "udhcpc: address $IP from the pool" ;; *) bad "udhcpc: address '$IP'" ;; esac
check "journal: $MAC bound to $IP" journal_has "$MAC" "$IP"
acks=$(dmetric acks)
kill -USR1 "$UDH"
check "udhcpc: renew on SIGUSR1" wait_event renew 10
expect_eq "udhcpc: renewed the same address" "$IP" "$(addr_of renew)"
check "server: one more ACK" dwait_metric acks -gt "$acks"
kill -USR2 "$UDH"
check "udhcpc: released on SIGUSR2" dwait_metric releases -ge 2
check "journal: $MAC free after the release" journal_free
kill "$UDH" 2>/dev/null
wait "$UDH" 2>/dev/null

section "server side"
check "no NAKs" dwait_metric naks -eq 0
check "no send errors" dwait_metric send_errors -eq 0
finish
