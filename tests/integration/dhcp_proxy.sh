#!/usr/bin/env bash
# proxyDHCP beside a foreign address owner: dnsmasq (DHCP only, no DNS)
# gives addresses, pxecast in mode=proxy in the same namespace answers the
# PXE client's DISCOVER on 67 with boot information and no address, and its
# boot-server REQUEST on 4011 with the boot file.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/dhcp_lib.sh"
need_cmd dnsmasq
[ -n "$PY" ] || skip "python3 is not installed"

dhcp_net 43
cat >"$WORK/pxecast.conf" <<EOC
[daemon]
log-level = info
metrics-file = $WORK/metrics.prom
[dhcp]
mode = proxy
interfaces = $SRV_IF
[boot]
bios = undionly.kpxe
efi64 = ipxe.efi
EOC
start_server "$WORK/pxecast.conf"

# dnsmasq: DHCP only (port=0 turns DNS off), its own lease file, foreground.
ip netns exec "$SRV_NS" dnsmasq --keep-in-foreground --port=0 --no-resolv --no-hosts \
	--conf-file=/dev/null --interface="$SRV_IF" --bind-interfaces --dhcp-range="$NET.50,$NET.90,1h" \
	--dhcp-leasefile="$WORK/dnsmasq.leases" --pid-file="$WORK/dnsmasq.pid" \
	--log-dhcp --log-facility=- >"$WORK/dnsmasq.log" 2>&1 &
BG_PIDS+=($!)
DNSMASQ=$!
sleep 0.5
kill -0 "$DNSMASQ" 2>/dev/null || { sed 's/^/    /' "$WORK/dnsmasq.log"; bad "dnsmasq started"; finish; }
MAC=$(ip netns exec "$CLI_NS" cat "/sys/class/net/$CLI_IF/address")

section "PXE client: address from dnsmasq, boot file from pxecast"
check "wire client: proxy scenario" dwire 60 proxy --mac "$MAC" --efi64 ipxe.efi

section "server side"
check "one proxy offer" dwait_metric proxy_offers -eq 1
check "one boot-server ACK on 4011" dwait_metric boot_acks -eq 1
check "no lease written" test ! -s "$WORK/leases"
check "dnsmasq leased $MAC" grep -q "$MAC" "$WORK/dnsmasq.leases"
sed "s/^/    dnsmasq: /" "$WORK/dnsmasq.log" | grep -E "DHCP(OFFER|DISCOVER|ACK|REQUEST)"
finish
