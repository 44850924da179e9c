#!/usr/bin/env bash
# Real iPXE against pxecast's multicast TFTP, under QEMU (TCG), in both
# dialects, two VMs at once. OVMF's own PXE client loads Debian's
# snponly.efi over TFTP; iPXE (user class) gets a script that waits until
# both VMs run it (it polls tftp://SERVER/go, which the test creates then),
# then fetches mtftp://SERVER/pxe.ipxe (PXE
# MTFTP: iPXE listens on 239.255.1.1:3001 and opens on port 1759) and
# tftm://SERVER/mc.ipxe (RFC 2090): iPXE scripts of a few thousand blocks
# whose last line prints a token, executed once fetched, so a misplaced or
# missing block shows. imgstat prints their sizes.
# The PXE MTFTP transfers must reach iPXE by multicast: pxecast's log shows
# no deaf master, and both VMs served with far fewer blocks than two
# copies of the file (one group, shared). iPXE's
# tftm:// never hears its group (mtftp/mtftp_session.c says why, in
# iPXE's source): that transfer is served with unicast copies, and the
# test checks it completes.
# DHCP, TFTP and MTFTP all come from pxecast, in one namespace with a tap.
#   usage: mtftp_ipxe.sh PXECAST
set -u
pxecast=$1
slow=${PXC_SLOW:-1}
. "$(dirname "$0")/vmlib.sh"

vm_need qemu-system-x86_64 ip /usr/lib/ipxe/snponly.efi /usr/share/OVMF/OVMF_CODE_4M.fd

ns=pxcmc$$ work=$(mktemp -d) qp=()
trap 'vm_cleanup $ns "$work" ${qp[@]} $vm_pxecast_pid' EXIT
fail() { echo "FAIL: $*"; for v in 0 1; do echo "--- serial $v"; tr -d '\r' < $work/serial$v.log | tail -20; done
	echo "--- pxecast"; cat $work/pxecast.log; exit 1; }

vm_net $ns 10.221.0.1/24 2

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
token2=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
{
	echo '#!ipxe'
	seq 1 150000 | sed 's/^/# pxe filler line /'
	echo "echo PXECAST-PXE-TOKEN-$token2"
	echo "chain mc"
} > $work/root/pxe.ipxe
size2=$(stat -c %s $work/root/pxe.ipxe)
blocks2=$((size2 / 512 + 1))
cat > $work/root/hello.ipxe <<'SCRIPT'
#!ipxe
echo PXECAST-SCRIPT-OK
:wait
imgfetch --name go tftp://10.221.0.1/go || goto wait
imgfree go
imgfetch --name pxe mtftp://10.221.0.1/pxe.ipxe && echo PXECAST-MTFTP-OK
imgfetch --name mc tftm://10.221.0.1/mc.ipxe && echo PXECAST-TFTM-OK
imgstat
chain pxe
SCRIPT
cat > $work/pxecast.conf <<CONF
[daemon]
metrics-file = $work/metrics.prom

[tftp]
root = $work/root
listen = 10.221.0.1:69

[mtftp]
groups = 239.255.9.0/29
# iPXE's mtftp:// listens on 239.255.1.1:3001 (its built-in default) and
# opens on port 1759, pxecast's defaults for pxe-client-port and pxe-listen.
pxe-file = pxe.ipxe 239.255.1.1

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

limit=$((300 * slow))
echo "booting two UEFI VMs under TCG (up to ${limit}s)"
for v in 0 1; do
	mapfile -t qemu < <(vm_args uefi-pxe 52:54:00:e2:e0:1$v tap$v $work/serial$v.log $work)
	timeout $limit ip netns exec $ns qemu-system-x86_64 "${qemu[@]}" &
	qp+=($!)
done
both() { grep -aq "$1" $work/serial0.log 2>/dev/null && grep -aq "$1" $work/serial1.log 2>/dev/null; }
alive() { kill -0 ${qp[0]} 2>/dev/null && kill -0 ${qp[1]} 2>/dev/null; }
deadline=$((SECONDS + limit))
while [ $SECONDS -lt $deadline ] && alive && ! both PXECAST-SCRIPT-OK; do sleep 0.5; done
both PXECAST-SCRIPT-OK || fail "iPXE never ran the script fetched over TFTP in both VMs"
echo "ok  both VMs run the script: go"
: > $work/root/go
while [ $SECONDS -lt $deadline ] && alive && ! both "PXECAST-MTFTP-TOKEN-$token"; do sleep 0.5; done
for v in 0 1; do
	serial=$(tr -d '\r' < $work/serial$v.log)
	grep -aq PXECAST-MTFTP-OK <<<"$serial" || fail "VM $v did not fetch pxe.ipxe over mtftp://"
	grep -aq PXECAST-TFTM-OK <<<"$serial" || fail "VM $v did not fetch mc.ipxe over tftm://"
	grep -aq "pxe : $size2 bytes" <<<"$serial" || fail "VM $v: imgstat does not show pxe at $size2 bytes"
	grep -aq "mc : $size bytes" <<<"$serial" || fail "VM $v: imgstat does not show mc at $size bytes"
	grep -aq "PXECAST-PXE-TOKEN-$token2" <<<"$serial" ||
		fail "VM $v: the script fetched by mtftp:// did not run to its last line"
	grep -aq "PXECAST-MTFTP-TOKEN-$token" <<<"$serial" ||
		fail "VM $v: the script fetched by tftm:// did not run to its last line"
	echo "ok  VM $v fetched pxe.ipxe ($size2 bytes) over mtftp:// and mc.ipxe ($size bytes) over tftm://; both ran to their last line"
done
# A transfer ends when iPXE's last ACK arrives, or (that ACK lost) when
# its turn runs out: wait until none is left (metrics: every second), bounded.
pxe_done() { grep 'event=mtftp.done file=pxe.ipxe mode=pxe' $work/pxecast.log; }
rfc_done() { grep 'event=mtftp.done file=mc.ipxe mode=rfc2090' $work/pxecast.log; }
total() { grep -o " $1=[0-9]*" | awk -F= '{ n += $2 } END { print n + 0 }'; }
for _ in $(seq 120); do
	[ -n "$(rfc_done)" ] && [ -n "$(pxe_done)" ] &&
		grep -q '^pxecast_mtftp_transfers_active 0$' $work/metrics.prom 2>/dev/null && break
	sleep 0.5
done
grep 'event=mtftp.done' $work/pxecast.log | sed 's/^/    /'
[ -n "$(pxe_done)" ] || fail "pxecast did not log the end of the PXE MTFTP transfers"
[ -n "$(rfc_done)" ] || fail "pxecast did not log the end of the RFC 2090 transfers"
# By multicast: iPXE never looked deaf over mtftp://, and the two VMs got
# the file for far less than two copies of it (a deaf master gets every
# block twice, group and unicast; two VMs served apart, two copies).
[ "$(pxe_done | total deaf_masters)" = 0 ] || fail "iPXE's mtftp:// was served as a deaf master"
sent=$(pxe_done | total blocks_sent)
[ "$sent" -ge "$blocks2" ] && [ "$sent" -le $((blocks2 * 3 / 2)) ] ||
	fail "PXE MTFTP sent $sent blocks for $blocks2 to two VMs: not shared by multicast"
echo "ok  mtftp:// served both VMs by multicast: $sent blocks sent for $blocks2, no deaf master"
echo "PASS: two iPXE VMs fetched files from pxecast by PXE MTFTP (one shared group) and RFC 2090 (unicast copies)"
