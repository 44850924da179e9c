#!/usr/bin/env bash
# Real iPXE against pxecast's multicast TFTP, under QEMU (TCG), in both
# dialects. OVMF's own PXE client loads Debian's snponly.efi over TFTP;
# iPXE (user class) gets a script that fetches mtftp://SERVER/pxe.ipxe (PXE
# MTFTP: iPXE listens on 239.255.1.1:3001 and opens on port 1759) and
# tftm://SERVER/mc.ipxe (RFC 2090): iPXE scripts of a few thousand blocks
# whose last line prints a token, executed once fetched, so a misplaced or
# missing block shows. imgstat prints their sizes.
# The PXE MTFTP transfer must reach iPXE by multicast: pxecast's log shows
# no deaf master and every block sent about once (to the group). iPXE's
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
token2=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
{
	echo '#!ipxe'
	seq 1 50000 | sed 's/^/# pxe filler line /'
	echo "echo PXECAST-PXE-TOKEN-$token2"
	echo "chain mc"
} > $work/root/pxe.ipxe
size2=$(stat -c %s $work/root/pxe.ipxe)
blocks2=$((size2 / 512 + 1))
cat > $work/root/hello.ipxe <<'SCRIPT'
#!ipxe
echo PXECAST-SCRIPT-OK
imgfetch --name pxe mtftp://10.221.0.1/pxe.ipxe && echo PXECAST-MTFTP-OK
imgfetch --name mc tftm://10.221.0.1/mc.ipxe && echo PXECAST-TFTM-OK
imgstat
chain pxe
SCRIPT
cat > $work/pxecast.conf <<CONF
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
grep -aq PXECAST-MTFTP-OK $work/serial.log || fail "iPXE did not fetch pxe.ipxe over mtftp://"
echo "ok  iPXE fetched pxe.ipxe over mtftp:// (PXE MTFTP)"
grep -aq PXECAST-TFTM-OK $work/serial.log || fail "iPXE did not fetch mc.ipxe over tftm://"
echo "ok  iPXE fetched mc.ipxe over tftm:// (RFC 2090 multicast)"
imgstat=$(tr -d '\r' < $work/serial.log)
grep -aq "pxe : $size2 bytes" <<<"$imgstat" || fail "imgstat does not show pxe at $size2 bytes"
grep -aq "mc : $size bytes" <<<"$imgstat" || fail "imgstat does not show mc at $size bytes"
echo "ok  imgstat: pxe is $size2 bytes, mc is $size bytes"
grep -aq "PXECAST-PXE-TOKEN-$token2" $work/serial.log ||
	fail "the script fetched by mtftp:// did not run to its last line"
grep -aq "PXECAST-MTFTP-TOKEN-$token" $work/serial.log ||
	fail "the script fetched by tftm:// did not run to its last line"
echo "ok  both fetched scripts ran to their last line (tokens $token2, $token)"
# A transfer ends when iPXE's last ACK arrives, or (that ACK lost) when
# its turn runs out: wait for both, bounded.
for _ in $(seq 120); do
	[ "$(grep -c 'event=mtftp.done' $work/pxecast.log)" -ge 2 ] && break
	sleep 0.5
done
grep 'event=mtftp.done' $work/pxecast.log | sed 's/^/    /'
pxe_done=$(grep 'event=mtftp.done file=pxe.ipxe mode=pxe' $work/pxecast.log | head -1)
[ -n "$pxe_done" ] || fail "pxecast did not log the end of the PXE MTFTP transfer"
grep -q 'event=mtftp.done file=mc.ipxe mode=rfc2090' $work/pxecast.log ||
	fail "pxecast did not log the end of the RFC 2090 transfer"
# By multicast: iPXE never looked deaf, and the blocks went out about once
# each (a deaf master gets every block twice: group and unicast).
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$pxe_done"; }
[ "$(field deaf_masters)" = 0 ] || fail "iPXE's mtftp:// was served as a deaf master"
sent=$(field blocks_sent)
[ "$sent" -ge "$blocks2" ] && [ "$sent" -le $((blocks2 + blocks2 / 20)) ] ||
	fail "PXE MTFTP sent $sent blocks for $blocks2: not by multicast"
echo "ok  mtftp:// reached iPXE by multicast: $sent blocks sent for $blocks2, no deaf master"
echo "PASS: iPXE fetched files from pxecast by PXE MTFTP (multicast) and RFC 2090 (unicast copies)"
