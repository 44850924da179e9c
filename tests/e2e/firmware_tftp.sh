#!/usr/bin/env bash
# Real firmware against pxecast's TFTP server, under QEMU (TCG):
#   bios: SeaBIOS with Debian's iPXE NIC ROM
#   uefi: OVMF with no NIC option ROM, so EDK2's own PXE client (arch 7)
#         probes tsize, aborts with error 8, downloads snponly.efi with its
#         blksize/windowsize, and the chained iPXE fetches a script and a
#         20 MiB file.
# DHCP and TFTP both come from pxecast: the firmware's DHCP picks the boot
# file by architecture (EDK2: arch 7 -> snponly.efi) and iPXE's user class
# gets the script URL. Everything lives in one network namespace with a tap
# device, removed at exit.
#   usage: firmware_tftp.sh PXECAST bios|uefi
set -u
pxecast=$1 mode=$2
slow=${PXC_SLOW:-1}
. "$(dirname "$0")/vmlib.sh"

vm_need qemu-system-x86_64 ip /usr/lib/ipxe/snponly.efi /usr/share/OVMF/OVMF_CODE_4M.fd \
	/usr/lib/ipxe/qemu/efi-e1000.rom

ns=pxce2e$$ work=$(mktemp -d) qp=
trap 'vm_cleanup $ns "$work" $qp $vm_pxecast_pid' EXIT
fail() { echo "FAIL: $*"; echo "--- serial"; tr -d '\r' < $work/serial.log | tail -30;
	echo "--- pxecast"; cat $work/pxecast.log; exit 1; }

vm_net $ns 10.220.0.1/24 1

mkdir -p $work/root
cp /usr/lib/ipxe/snponly.efi $work/root/
head -c 20M /dev/urandom > $work/root/big.bin
printf '#!ipxe\necho PXECAST-SCRIPT-OK ${net0/mac}\nimgfetch tftp://10.220.0.1/big.bin && echo PXECAST-FETCH-OK\n' \
	> $work/root/hello.ipxe
cat > $work/pxecast.conf <<CONF
[tftp]
root = $work/root
listen = 10.220.0.1:69

[dhcp]
lease-file = $work/leases

[subnet e2e]
network = 10.220.0.0/24
pool = 10.220.0.50 - 10.220.0.99
interface = br0

[boot]
efi64 = snponly.efi
ipxe = tftp://10.220.0.1/hello.ipxe
CONF
vm_pxecast $ns "$pxecast" $work/pxecast.conf $work/pxecast.log 50 || fail "pxecast did not start"

limit=$((150 * slow))
mapfile -t qemu < <(vm_args $([ "$mode" = bios ] && echo bios || echo uefi-pxe) \
	$([ "$mode" = bios ] && echo 52:54:00:e2:e0:01 || echo 52:54:00:e2:e0:02) tap0 $work/serial.log $work)
echo "booting $mode firmware under TCG (up to ${limit}s)"
timeout $limit ip netns exec $ns qemu-system-x86_64 "${qemu[@]}" &
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
mac=$([ "$mode" = bios ] && echo 52:54:00:e2:e0:01 || echo 52:54:00:e2:e0:02)
grep -q "bound $mac 10.220.0." $work/leases || fail "no lease for $mac in the journal"
echo "ok  pxecast's DHCP leased $(grep -o "bound $mac [0-9.]*" $work/leases | tail -1 | cut -d' ' -f3) to $mac (journal)"
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
