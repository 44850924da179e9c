#!/usr/bin/env bash
# Several interfaces, one config: pxecast serves two links from two
# [subnet] sections (one matched by the address the request came to, one
# by `interface =`), and ignores a third link left out of `interfaces`.
# Broadcast replies must leave by the interface the request came in on.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/dhcp_lib.sh"
need_cmd dhclient busybox
[ -n "$PY" ] || skip "python3 is not installed"

dhcp_net 44
# Two more client namespaces, each on its own link to the server namespace.
CLI2_NS=pxc-$$-cl2
CLI3_NS=pxc-$$-cl3
dhcp_cleanup() {
	local ns p
	for ns in $CLI2_NS $CLI3_NS; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	cleanup
}
trap dhcp_cleanup EXIT
for i in 2 3; do
	ns=pxc-$$-cl$i
	ip netns add "$ns"
	ip link add "pxc$$s$i" netns "$SRV_NS" type veth peer name "pxc$$c$i" netns "$ns"
	ip -n "$SRV_NS" addr add "10.200.4$((4 + i)).1/24" dev "pxc$$s$i"
	ip -n "$SRV_NS" link set "pxc$$s$i" up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "pxc$$c$i" up
done

dhcp_config "$WORK/pxecast.conf" \
	"[subnet second]" "network = 10.200.46.0/24" "pool = 10.200.46.100 - 10.200.46.199" \
	"interface = pxc$$s2" \
	"[dhcp]" "interfaces = $SRV_IF, pxc$$s2"
start_server "$WORK/pxecast.conf"

cat >"$WORK/record-script" <<EOS
#!/bin/sh
echo "\${reason:-\$1} \${new_ip_address:-\$ip}" >>"$WORK/record.\${interface}"
exit 0
EOS
chmod +x "$WORK/record-script"
got() { awk '$1 == "BOUND" || $1 == "bound" { a = $2 } END { print a }' "$WORK/record.$1" 2>/dev/null; }

section "first link: dhclient"
in_cli 30 dhclient -1 -sf "$WORK/record-script" -pf "$WORK/d1.pid" -lf "$WORK/d1.leases" \
	"$CLI_IF" >"$WORK/d1.log" 2>&1
ip=$(got "$CLI_IF")
case $ip in 10.200.44.1[0-9][0-9]) ok "dhclient on link 1: $ip from [subnet test]" ;; *) bad "dhclient on link 1: '$ip'" ;; esac
in_cli 10 dhclient -x -pf "$WORK/d1.pid" >/dev/null 2>&1

section "second link: udhcpc and broadcast replies"
timeout -k 5 $((30 * SLOW)) ip netns exec "$CLI2_NS" busybox udhcpc -q -f -n -i "pxc$$c2" \
	-s "$WORK/record-script" -t 5 -T 1 >"$WORK/u2.log" 2>&1
ip=$(got "pxc$$c2")
case $ip in 10.200.46.1[0-9][0-9]) ok "udhcpc on link 2: $ip from [subnet second]" ;; *) bad "udhcpc on link 2: '$ip'" ;; esac
check "wire client on link 2: 8 MACs with the broadcast flag" \
	timeout -k 5 $((60 * SLOW)) ip netns exec "$CLI2_NS" "$PY" "$DWIRE" --iface "pxc$$c2" \
	--slow "$SLOW" many --count 8

section "third link: not in interfaces"
timeout -k 5 $((30 * SLOW)) ip netns exec "$CLI3_NS" busybox udhcpc -q -f -n -i "pxc$$c3" \
	-s "$WORK/record-script" -t 2 -T 1 >"$WORK/u3.log" 2>&1
expect_eq "udhcpc on link 3 gets no lease" "" "$(got "pxc$$c3")"
check "requests from link 3 counted as wrong_interface" dwait_metric wrong_interface -ge 2
check "no send errors" dwait_metric send_errors -eq 0
finish
