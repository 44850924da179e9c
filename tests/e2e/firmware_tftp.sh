#!/usr/bin/env bash
# Real firmware against pxecast's TFTP server, under QEMU (TCG):
#   bios: SeaBIOS with Debian's iPXE NIC ROM
#   uefi: OVMF with no NIC option ROM, so EDK2's own PXE client (arch 7)
#         probes tsize, aborts with error 8, downloads snponly.efi with its
#         blksize/windowsize, and the chained iPXE fetches a script and a
#         20 MiB file.
# DHCP comes from dnsmasq (address only, --port=0) until pxecast's own DHCP
# takes over in the e2e suite of the HTTP issue. Everything lives in one
# network namespace with a tap device, removed at exit.
#   usage: firmware_tftp.sh PXECAST bios|uefi
set -u
pxecast=$1 mode=$2
slow=${PXC_SLOW:-1}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for tool in qemu-system-x86_64 dnsmasq ip; do
	command -v $tool >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done
for f in /usr/lib/ipxe/snponly.efi /usr/share/OVMF/OVMF_CODE_4M.fd /usr/lib/ipxe/qemu/efi-e1000.rom; do
	[ -f $f ] || { echo "SKIP: $f missing (ipxe, ovmf, ipxe-qemu)"; exit 77; }
done

ns=pxce2e$$ work=$(mktemp -d) qp= pp= dp=
cleanup() {
	for p in $qp $pp $dp; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del $ns 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- serial"; tr -d '\r' < $work/serial.log | tail -30;
	echo "--- pxecast"; cat $work/pxecast.log; echo "--- dnsmasq"; tail -20 $work/dnsmasq.log; exit 1; }

ip netns add $ns
ip -n $ns link set lo up
ip -n $ns tuntap add dev tap0 mode tap
ip -n $ns addr add 10.220.0.1/24 dev tap0
ip -n $ns link set tap0 up

mkdir -p $work/root
cp /usr/lib/ipxe/snponly.efi $work/root/
head -c 20M /dev/urandom > $work/root/big.bin
printf '#!ipxe\necho PXECAST-SCRIPT-OK ${net0/mac}\nimgfetch tftp://10.220.0.1/big.bin && echo PXECAST-FETCH-OK\n' \
	> $work/root/hello.ipxe
ip netns exec $ns "$pxecast" serve --tftp-root $work/root --listen 10.220.0.1:69 2> $work/pxecast.log &
pp=$!
ip netns exec $ns dnsmasq --keep-in-foreground --port=0 --conf-file=/dev/null --pid-file= \
	--interface=tap0 --bind-interfaces --dhcp-range=10.220.0.50,10.220.0.99,1h \
	--dhcp-userclass=set:ipxe,iPXE --dhcp-boot=tag:ipxe,hello.ipxe,,10.220.0.1 \
	--dhcp-boot=tag:!ipxe,snponly.efi,,10.220.0.1 --log-facility=$work/dnsmasq.log 2>>$work/dnsmasq.log &
dp=$!
for _ in $(seq 50); do grep -q daemon.ready $work/pxecast.log 2>/dev/null && break; sleep 0.1; done
grep -q daemon.ready $work/pxecast.log || fail "pxecast did not start"

limit=$((150 * slow))
common=(-accel tcg -m 512 -serial "file:$work/serial.log" -monitor none -display none -no-reboot
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no)
if [ "$mode" = bios ]; then
	qemu=(-machine pc,graphics=off -device e1000,netdev=n0,mac=52:54:00:e2:e0:01 -boot n)
else
	cp /usr/share/OVMF/OVMF_VARS_4M.fd $work/vars.fd
	qemu=(-machine q35,graphics=off
	      -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
	      -drive if=pflash,format=raw,file=$work/vars.fd
	      -device virtio-net-pci,netdev=n0,mac=52:54:00:e2:e0:02,romfile= -boot n)
fi
echo "booting $mode firmware under TCG (up to ${limit}s)"
timeout $limit ip netns exec $ns qemu-system-x86_64 "${common[@]}" "${qemu[@]}" &
qp=$!
deadline=$((SECONDS + limit))
while [ $SECONDS -lt $deadline ]; do
	grep -aq PXECAST-FETCH-OK $work/serial.log 2>/dev/null && break
	kill -0 $qp 2>/dev/null || break
	sleep 0.5
done
grep -aq PXECAST-SCRIPT-OK $work/serial.log || fail "the firmware never ran the script fetched over TFTP"
grep -aq PXECAST-FETCH-OK $work/serial.log || fail "iPXE did not fetch big.bin over TFTP"
echo "ok  firmware ran hello.ipxe and fetched 20 MiB over TFTP"
grep -q 'file=big.bin dir=download bytes=20971520 .* result=ok' $work/pxecast.log ||
	fail "pxecast did not log a complete big.bin transfer"
echo "ok  pxecast logged the complete transfer"
if [ "$mode" = uefi ]; then
	# EDK2 PxeBcDxe: a tsize probe ended by the client, then the real download.
	grep -q 'file=snponly.efi .*result=size-probe' $work/pxecast.log ||
		fail "no tsize probe from EDK2 seen"
	grep -q 'file=snponly.efi dir=download bytes=[1-9][0-9]* .*result=ok' $work/pxecast.log ||
		fail "EDK2 did not download snponly.efi"
	echo "ok  EDK2 probed tsize, aborted, then downloaded snponly.efi: $(grep -o 'file=snponly.efi.*result=ok' $work/pxecast.log | grep -o 'blksize=[0-9]* windowsize=[0-9]*')"
fi
grep -q 'windowsize=' $work/pxecast.log && grep 'event=tftp.done' $work/pxecast.log | sed 's/^/    /'
echo "PASS: $mode firmware booted over pxecast TFTP"
