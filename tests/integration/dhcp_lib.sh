# DHCP helpers on top of lib.sh; sourced by the dhcp_*.sh tests.
#
#   . "$(dirname "$0")/lib.sh" "$@"
#   . "$(dirname "$0")/dhcp_lib.sh"
#
# dhcp_net NET: lib.sh's namespaces and veth pair, with the client side
# left without an address (DHCP gives it one). CLI_IF names it.

DWIRE=$HERE/dhcp_wire.py

dhcp_net() {
	setup_net "$1"
	CLI_IF=pxc$$c
	SRV_IF=pxc$$s
	ip -n "$CLI_NS" addr flush dev "$CLI_IF"
	NET=10.200.$1
}

# dhcp_config FILE [lines...]: [daemon] and a [dhcp] server on NET.0/24 with
# a pool .100-.199, then the extra lines.
dhcp_config() {
	local f=$1 l
	shift
	{
		echo "[daemon]"
		echo "log-level = info"
		echo "metrics-file = $WORK/metrics.prom"
		echo "[dhcp]"
		echo "lease-file = $WORK/leases"
		echo "[subnet test]"
		echo "network = $NET.0/24"
		echo "pool = $NET.100 - $NET.199"
		echo "router = $NET.1"
		echo "dns = $NET.1"
		echo "domain = test.example"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# dwire SECONDS SCENARIO ARGS...: the python DHCP client in the client ns.
dwire() {
	local t=$1
	shift
	in_cli "$t" "$PY" "$DWIRE" --iface "$CLI_IF" --server "$SRV_IP" --slow "$SLOW" "$@"
}

# dmetric NAME: pxecast_dhcp_NAME from the metrics file.
dmetric() { metric "pxecast_dhcp_$1"; }
dwait_metric() { wait_metric "pxecast_dhcp_$1" "${@:2}"; }

# journal_has MAC IP: the last row for MAC in the journal binds IP.
journal_has() {
	awk -v m="$1" '$3 == m { s = $2; ip = $4 } END { exit !(s == "bound" && ip == "'"$2"'") }' \
		"$WORK/leases"
}
