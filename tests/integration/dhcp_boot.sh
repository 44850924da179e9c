#!/usr/bin/env bash
# PXE policy on the wire: a BIOS ROM (arch 0), a UEFI ROM (arch 7), UEFI
# HTTP boot (arch 16, HTTPClient) and iPXE (user class) each get their boot
# file; 24 fresh MACs at once get distinct addresses; a client without the
# broadcast flag gets its replies at yiaddr and its own MAC.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/dhcp_lib.sh"
[ -n "$PY" ] || skip "python3 is not installed"

dhcp_net 40
dhcp_config "$WORK/pxecast.conf" \
	"[boot]" \
	"bios = undionly.kpxe" \
	"efi64 = ipxe.efi" \
	'httpboot = http://${server}/efi/ipxe.efi' \
	'ipxe = http://${server}/boot/${mac}.ipxe'
start_server "$WORK/pxecast.conf"

section "boot files by client type"
check "wire client: boot scenario" dwire 60 boot --bios undionly.kpxe --efi64 ipxe.efi \
	--httpboot "http://$SRV_IP/efi/ipxe.efi" \
	--ipxe "http://$SRV_IP/boot/\${mac}.ipxe"

section "fresh machines at once"
check "wire client: 24 MACs at once" dwire 60 many --count 24

section "reply to yiaddr at chaddr"
check "wire client: link delivery" dwire 30 link

section "server side"
check "ACKs counted" dwait_metric acks -ge 30
check "no send errors" dwait_metric send_errors -eq 0
expect_eq "journal rows are all bound rows" 0 "$(grep -v '^#' "$WORK/leases" | grep -vc '^L1 bound ')"
finish
