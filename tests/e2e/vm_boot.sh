#!/usr/bin/env bash
# Blank machines boot from pxecast into a kernel configured for them by MAC.
# Four fresh VMs at once on one bridge, under QEMU (KVM if it really works,
# TCG otherwise), each through a different firmware path:
#   bios      SeaBIOS + Debian's iPXE NIC ROM: DHCP -> script over HTTP
#   uefi-pxe  OVMF, no NIC ROM: EDK2's PXE client (arch 7) -> snponly.efi over
#             TFTP -> iPXE -> script over HTTP
#   uefi-http OVMF with PXE switched off: UEFI HTTP boot (arch 16,
#             HTTPClient) -> ipxe.efi over HTTP -> iPXE -> script over HTTP
#   bios      a second BIOS machine
# The script (/boot/MAC.ipxe, rendered from the shipped boot.ipxe by the
# default profile) loads a Debian kernel and a busybox initramfs over HTTP;
# init prints a marker and /proc/cmdline on the serial console and powers
# off. The test asserts the marker, and a command line with the kickstart
# URL of that MAC whose token pxecast accepts (require-token = yes).
#   usage: vm_boot.sh PXECAST
set -u
pxecast=$1
slow=${PXC_SLOW:-1}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vmlib.sh"

vm_need qemu-system-x86_64 ip curl apt-get dpkg-deb /usr/lib/ipxe/snponly.efi \
	/usr/lib/ipxe/ipxe.efi /usr/share/OVMF/OVMF_CODE_4M.fd /usr/lib/ipxe/qemu/efi-e1000.rom

ns=pxcvm$$ work=$(mktemp -d) qpids=()
trap 'vm_cleanup $ns "$work" "${qpids[@]}" $vm_pxecast_pid' EXIT
fails=0
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*"; fails=$((fails + 1)); }

echo "== payload: Debian kernel + busybox initramfs"
mkdir -p $work/root
"$here/payload.sh" $work/root || { echo "FAIL: cannot build the payload"; exit 1; }
cp /usr/lib/ipxe/snponly.efi /usr/lib/ipxe/ipxe.efi $work/root/
echo "   kernel $(cat ${PXC_E2E_CACHE:-/var/cache/pxecast-e2e}/vmlinuz.pkg 2>/dev/null), $(stat -c %s $work/root/vmlinuz) bytes; initrd $(stat -c %s $work/root/initrd.img) bytes"

# KVM only if it boots the payload: on these machines /dev/kvm exists but a
# nested KVM hangs the kernel (E2E-NOTES.md).
accel=tcg
if [ -w /dev/kvm ]; then
	if timeout $((20 * slow)) qemu-system-x86_64 -accel kvm -m 256 -machine pc,graphics=off \
		-kernel $work/root/vmlinuz -initrd $work/root/initrd.img -append "console=ttyS0 panic=-1" \
		-serial file:$work/kvm-probe.log -monitor none -display none -no-reboot 2>/dev/null &&
		grep -aq PXECAST-MARKER-OK $work/kvm-probe.log; then
		accel=kvm
	fi
fi
echo "   accelerator: $accel"

vm_net $ns 10.220.1.1/24 4

cat > $work/pxecast.conf <<CONF
[daemon]
metrics-file = $work/metrics.prom
[tftp]
root = $work/root
listen = 10.220.1.1:69
[http]
listen = 10.220.1.1:80
templates = $here/../../appliance/templates
host-state-file = $work/hosts.journal
token-secret-file = $work/token.key
require-token = yes
default-profile = e2e
[dhcp]
lease-file = $work/leases
[subnet e2e]
network = 10.220.1.0/24
pool = 10.220.1.50 - 10.220.1.99
interface = br0
[boot]
efi64 = snponly.efi
httpboot = http://10.220.1.1/ipxe.efi
ipxe = http://10.220.1.1/boot/\${mac}.ipxe
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
# check can fail ("IO-APIC + timer doesn't work!"); VMs boot with it off.
[profile e2e]
kernel = vmlinuz
initrd = initrd.img
append = console=ttyS0 panic=-1 quiet no_timer_check inst.ks=\${ks_url}
install-template = alma9.ks
CONF
vm_pxecast $ns "$pxecast" $work/pxecast.conf $work/pxecast.log ||
	{ cat $work/pxecast.log; echo "FAIL: pxecast did not start"; exit 1; }

kinds=(bios uefi-pxe uefi-http bios)
macs=(52:54:00:e2:e1:01 52:54:00:e2:e1:02 52:54:00:e2:e1:03 52:54:00:e2:e1:04)
limit=$((360 * slow))
start=$SECONDS
for i in 0 1 2 3; do
	mapfile -t args < <(vm_args ${kinds[$i]} ${macs[$i]} tap$i $work/serial$i.log $work $accel)
	timeout $limit ip netns exec $ns qemu-system-x86_64 "${args[@]}" &
	qpids+=($!)
done
echo "== four VMs booting at once (${kinds[*]}), up to ${limit}s"
declare -A took
deadline=$((SECONDS + limit))
while [ $SECONDS -lt $deadline ]; do
	done_n=0
	for i in 0 1 2 3; do
		if grep -aq PXECAST-CMDLINE $work/serial$i.log 2>/dev/null; then
			[ -n "${took[$i]:-}" ] || took[$i]=$((SECONDS - start))
			done_n=$((done_n + 1))
		elif ! kill -0 ${qpids[$i]} 2>/dev/null; then
			done_n=$((done_n + 1))
		fi
	done
	[ $done_n = 4 ] && break
	sleep 1
done

for i in 0 1 2 3; do
	mac=${macs[$i]} kind=${kinds[$i]} log=$work/serial$i.log
	if ! grep -aq PXECAST-MARKER-OK $log 2>/dev/null; then
		bad "$kind $mac: no marker on the serial console"
		echo "--- serial $i"; tr -d '\r' < $log 2>/dev/null | grep -av '^\s*$' | tail -15
		continue
	fi
	cmdline=$(grep -a PXECAST-CMDLINE $log | tr -d '\r' | head -1 | cut -d' ' -f2-)
	ok "$kind $mac: kernel and initramfs booted in ${took[$i]:-?}s"
	echo "      /proc/cmdline: $cmdline"
	ks=$(grep -oE "inst.ks=[^ ]+" <<<"$cmdline" | cut -d= -f2-)
	if [[ $ks =~ ^http://10\.220\.1\.1/ks/$mac\?token=[0-9]+-[0-9a-f]{32}$ ]]; then
		ok "$kind $mac: kickstart URL of this MAC with a token"
	else
		bad "$kind $mac: kickstart URL '$ks'"
	fi
	code=$(ip netns exec $ns curl -s -o /dev/null -w '%{http_code}' "$ks")
	[ "$code" = 200 ] && ok "$kind $mac: pxecast accepts that token (200)" ||
		bad "$kind $mac: kickstart URL answered $code"
	grep -qE "^$mac booting [0-9]+$" $work/hosts.journal && ok "$kind $mac: state 'booting' in the journal" ||
		bad "$kind $mac: no 'booting' row in the host journal"
	grep -q "bound $mac 10.220.1." $work/leases && ok "$kind $mac: leased $(grep -o "bound $mac [0-9.]*" $work/leases | tail -1 | cut -d' ' -f3)" ||
		bad "$kind $mac: no lease in the journal"
done
# Each firmware path left its own trace in pxecast's log.
grep -q 'file=snponly.efi dir=download .*result=ok' $work/pxecast.log &&
	ok "uefi-pxe: EDK2 downloaded snponly.efi over TFTP" || bad "no TFTP download of snponly.efi"
grep -q 'method=GET path=/ipxe.efi status=200' $work/pxecast.log &&
	ok "uefi-http: the firmware fetched ipxe.efi over HTTP" || bad "no HTTP boot fetch of ipxe.efi"
# iPXE percent-encodes the ':' of \${mac}: both spellings are the same path
n=$(grep -cE 'method=GET path=/boot/52(:|%3A)54(:|%3A)00(:|%3A)e2(:|%3A)e1(:|%3A)0[1-4].ipxe status=200' $work/pxecast.log)
[ "$n" -ge 4 ] && ok "four per-host scripts served" || bad "$n per-host scripts served, wanted 4"
if [ $fails -ne 0 ]; then
	echo "--- pxecast log (tail)"; tail -40 $work/pxecast.log
	echo "FAIL: $fails checks failed"
	exit 1
fi
echo "PASS: four fresh machines (BIOS, UEFI PXE, UEFI HTTP boot) booted their per-host kernel"
