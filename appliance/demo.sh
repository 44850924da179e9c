#!/usr/bin/env bash
# The demo: a blank machine network-boots from pxecast and starts the kernel
# pxecast configured for it by MAC.
#
# It installs the Debian packages it needs, builds pxecast, fetches a Debian
# kernel and makes a tiny busybox initramfs (tests/e2e/payload.sh), starts
# pxecast (DHCP + TFTP + HTTP + per-host templates) in a network namespace,
# and boots a UEFI virtual machine with no disk on a tap device there:
# EDK2's own PXE client gets snponly.efi over TFTP, iPXE gets its per-host
# script over HTTP, then the kernel and initramfs; the initramfs prints a
# marker and its kernel command line. Everything is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

. tests/e2e/vmlib.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates a network namespace)"; exit 1; }
say "installing dependencies (Debian packages: build tools, QEMU, OVMF, iPXE)"
appliance/install-deps.sh
say "building"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "built $(build/pxecast version)"

ns=pxcdemo$$ work=$(mktemp -d) qpid=
trap 'vm_cleanup "$ns" "$work" $qpid $vm_pxecast_pid' EXIT

say "payload: a Debian kernel and a busybox initramfs that prints a marker"
mkdir -p "$work/root"
tests/e2e/payload.sh "$work/root"
cp /usr/lib/ipxe/snponly.efi "$work/root/"
ls -l "$work/root" | tail -n +2

say "network: namespace $ns, bridge br0 10.230.0.1/24, tap0 for the VM"
vm_net "$ns" 10.230.0.1/24 1

mac=52:54:00:de:00:01
cat > "$work/pxecast.conf" <<CONF
[daemon]
metrics-file = $work/metrics.prom

[tftp]
root = $work/root
listen = 10.230.0.1:69

[http]
listen = 10.230.0.1:80
templates = $PWD/appliance/templates
host-state-file = $work/hosts.journal
token-secret-file = $work/token.key
require-token = yes

[dhcp]
lease-file = $work/leases

[subnet demo]
network = 10.230.0.0/24
pool = 10.230.0.100 - 10.230.0.199
interface = br0

[boot]
efi64 = snponly.efi
ipxe = http://\${server}/boot/\${mac}.ipxe

[profile demo]
kernel = vmlinuz
initrd = initrd.img
append = console=ttyS0 quiet panic=-1 no_timer_check inst.ks=\${ks_url}
install-template = alma9.ks

[host $mac]
hostname = demo-node1
profile = demo
CONF
say "pxecast.conf"
cat "$work/pxecast.conf"

say "starting pxecast in $ns"
vm_pxecast "$ns" build/pxecast "$work/pxecast.conf" "$work/pxecast.log" ||
	{ cat "$work/pxecast.log"; echo "demo: pxecast did not start"; exit 1; }
cat "$work/pxecast.log"

say "booting a blank UEFI VM ($mac) under QEMU; its serial console:"
: > "$work/serial.log"
mapfile -t qemu < <(vm_args uefi-pxe $mac tap0 "$work/serial.log" "$work")
timeout 240 ip netns exec "$ns" qemu-system-x86_64 "${qemu[@]}" &
qpid=$!
# Progress: the firmware's and iPXE's lines as they arrive.
seen=0 t0=$SECONDS
while kill -0 "$qpid" 2>/dev/null; do
	n=$(wc -l < "$work/serial.log")
	if [ "$n" -gt "$seen" ]; then
		sed -n "$((seen + 1)),${n}p" "$work/serial.log" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
			grep -aE 'PXE|Station IP|NBP|iPXE|http://|ok$|pxecast|PXECAST|Linux version' |
			sed "s/^/  [$((SECONDS - t0))s] /" || true
		seen=$n
	fi
	grep -aq PXECAST-CMDLINE "$work/serial.log" && break
	sleep 1
done

say "what pxecast did (its log)"
grep -E 'event=(dhcp.reply|tftp.done|http.request)' "$work/pxecast.log"
say "pxecast hosts"
build/pxecast hosts --config "$work/pxecast.conf"
if grep -aq PXECAST-MARKER-OK "$work/serial.log"; then
	say "demo finished: the VM booted its kernel in $((SECONDS - t0))s with the command line pxecast rendered for it"
	grep -a PXECAST-CMDLINE "$work/serial.log" | tr -d '\r'
else
	say "demo FAILED: no marker from the VM"
	exit 1
fi
