#!/usr/bin/env bash
# Real iPXE against pxecast's multicast TFTP (RFC 2090), under QEMU (TCG).
# OVMF's own PXE client loads Debian's snponly.efi over TFTP; iPXE (user
# class) gets a script that fetches tftm://SERVER/mc.ipxe: an iPXE script
# of a few thousand blocks whose last line prints a token, executed once
# fetched, so a misplaced or missing block shows. imgstat prints its size.
# DHCP, TFTP and MTFTP all come from pxecast, in one namespace with a tap.
#   usage: mtftp_ipxe.sh PXECAST
set -u
pxecast=$1
slow=${PXC_SLOW:-1}
. "$(dirname "$0")/vmlib.sh"

vm_need qemu-system-x86_64 ip /usr/lib/ipxe/snponly.efi /usr/share/OVMF/OVMF_CODE_4M.fd

ns=pxcmc$$ work=$(mktemp -d) qp=
trap 'vm_cleanup $ns "$work" $qp $vm_pxecast_pid' EXIT
fail() { echo "FAIL: $*"; echo "--- serial"; tr -d '\r' < $work/serial.log | tail -30;
	echo "--- pxecast"; cat $work/pxecast.log; exit 1; }

vm_net $ns 10.221.0.1/24 1

mkdir -p $work/root
cp /usr/lib/ipxe/snponly.efi $work/root/
token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
{
	echo '#!ipxe'
	# ~1.5 MiB of comment lines, numbered so every block differs.
	seq 1 60000 | sed 's/^/# filler line /'
	echo "echo PXECAST-MTFTP-TOKEN-$token"
} > $work/root/mc.ipxe
size=$(stat -c %s $work/root/mc.ipxe)
printf '#!ipxe\necho PXECAST-SCRIPT-OK\nimgfetch --name mc tftm://10.221.0.1/mc.ipxe && echo PXECAST-TFTM-OK\nimgstat\nchain mc\n' \
	> $work/root/hello.ipxe
cat > $work/pxecast.conf <<CONF
[tftp]
root = $work/root
listen = 10.221.0.1:69

[mtftp]
groups = 239.255.9.0/29

[dhcp]
lease-file = $work/leases

[subnet e2e]
network = 10.221.0.0/24
pool = 10.221.0.50 - 10.221.0.99
interface = br0

[boot]
efi64 = snponly.efi
ipxe = tftp://10.221.0.1/hello.ipxe
CONF
vm_pxecast $ns "$pxecast" $work/pxecast.conf $work/pxecast.log 50 || fail "pxecast did not start"

limit=$((200 * slow))
echo "booting UEFI firmware under TCG (up to ${limit}s)"
mapfile -t qemu < <(vm_args uefi-pxe 52:54:00:e2:e0:09 tap0 $work/serial.log $work)
timeout $limit ip netns exec $ns qemu-system-x86_64 "${qemu[@]}" &
qp=$!
deadline=$((SECONDS + limit))
while [ $SECONDS -lt $deadline ]; do
	grep -aq "PXECAST-MTFTP-TOKEN-$token" $work/serial.log 2>/dev/null && break
	kill -0 $qp 2>/dev/null || break
	sleep 0.5
done
grep -aq PXECAST-SCRIPT-OK $work/serial.log || fail "iPXE never ran the script fetched over TFTP"
grep -aq PXECAST-TFTM-OK $work/serial.log || fail "iPXE did not fetch mc.ipxe over tftm://"
echo "ok  iPXE fetched mc.ipxe over tftm:// (RFC 2090 multicast)"
tr -d '\r' < $work/serial.log | grep -aq "mc : $size bytes" ||
	fail "imgstat does not show mc at $size bytes"
echo "ok  imgstat: mc is $size bytes"
grep -aq "PXECAST-MTFTP-TOKEN-$token" $work/serial.log || fail "the fetched script did not run to its last line"
echo "ok  the fetched script ran to its last line (token $token)"
# The transfer ends when iPXE's last ACK arrives, or (that ACK lost) when
# its turn runs out: wait for it, bounded.
for _ in $(seq 120); do
	grep -q 'event=mtftp.done file=mc.ipxe mode=rfc2090' $work/pxecast.log && break
	sleep 0.5
done
grep -q 'event=mtftp.done file=mc.ipxe mode=rfc2090' $work/pxecast.log ||
	fail "pxecast did not log the end of the multicast transfer"
grep 'event=mtftp.done' $work/pxecast.log | sed 's/^/    /'
echo "PASS: iPXE fetched a file from pxecast by RFC 2090 multicast TFTP"
