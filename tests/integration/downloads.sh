#!/usr/bin/env bash
# Real clients download 1 KiB, 10 MiB and 100 MiB and the sha256 of every
# copy is compared: curl (tftp://, --tftp-blksize 1468), tftp-hpa (blksize
# 512, lock-step) and atftp (blksize 1468, windowsize 16). Then the largest
# blksize (65464: IP-fragmented datagrams) with curl and atftp, and a
# netascii round trip with tftp-hpa.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl tftp atftp

setup_net 2
R=$WORK/root
O=$WORK/out
mkdir -p "$O"
mkfile "$R/f1k" 1K
mkfile "$R/boot/f10m" 10M
mkfile "$R/images/f100m" 100M
files=(f1k boot/f10m images/f100m)

base_config "$WORK/pxecast.conf"
start_server "$WORK/pxecast.conf"

# get CLIENT REMOTE LOCAL: one download with that client (bounded).
get() {
	local c=$1 remote=$2 local=$3
	case $c in
	curl) in_cli 120 curl -sS --tftp-blksize 1468 -o "$local" "tftp://$SRV_IP/$remote" ;;
	tftp-hpa) in_cli 120 tftp "$SRV_IP" 69 -m binary -c get "$remote" "$local" ;;
	atftp) in_cli 120 atftp --option "blksize 1468" --option "windowsize 16" \
		-g -r "$remote" -l "$local" "$SRV_IP" 69 ;;
	esac
}

n=0
for c in curl tftp-hpa atftp; do
	section "$c"
	for f in "${files[@]}"; do
		out=$O/$c-$(basename "$f")
		t0=$(date +%s%N)
		get "$c" "$f" "$out" >"$WORK/client.log" 2>&1
		rc=$?
		t1=$(date +%s%N)
		n=$((n + 1))
		[ $rc = 0 ] || { say "$c exit status $rc:"; sed 's/^/    /' "$WORK/client.log" | tail -5; }
		check "$c $f: exit 0, sha256 identical ($(( (t1 - t0) / 1000000 )) ms)" \
			test $rc = 0 -a "$(sha "$R/$f")" = "$(sha "$out" 2>/dev/null)"
		rm -f "$out"
	done
done

section "sizes at block boundaries (0, 511, 512, 513, 1468, 2936, 65536 bytes)"
for size in 0 511 512 513 1468 2936 65536; do
	head -c $size /dev/urandom >"$R/edge$size"
	for c in curl tftp-hpa atftp; do
		# curl 7.88 refuses an OACK with tsize 0 ("invalid tsize") and
		# leaves without a word: not a server matter.
		[ $size = 0 ] && [ $c = curl ] && continue
		rm -f "$O/edge"
		get "$c" "edge$size" "$O/edge" >"$WORK/client.log" 2>&1
		check "$c, $size bytes: identical" cmp -s "$R/edge$size" "$O/edge"
		n=$((n + 1))
	done
done

section "blksize 65464 (each datagram IP-fragmented on a 1500-byte MTU)"
in_cli 120 curl -sS --tftp-blksize 65464 -o "$O/big-curl" "tftp://$SRV_IP/boot/f10m"
check "curl --tftp-blksize 65464, 10 MiB: sha256 identical" same_file "$R/boot/f10m" "$O/big-curl"
in_cli 120 atftp --option "blksize 65464" -g -r boot/f10m -l "$O/big-atftp" "$SRV_IP" 69 >"$WORK/client.log" 2>&1
check "atftp blksize 65464, 10 MiB: sha256 identical" same_file "$R/boot/f10m" "$O/big-atftp"
check "log: both ran at blksize 65464" wait_log 'event=tftp.done .*file=boot/f10m .*blksize=65464 .*result=ok' 2 5
n=$((n + 2))

section "netascii (tftp-hpa -m netascii converts back: the copy is identical)"
{
	printf 'DEFAULT menu\nLABEL local\r\n  LOCALBOOT 0\rbare CR, then LF\n\n'
	for i in $(seq 3000); do printf 'LABEL item%d\n  KERNEL vmlinuz-%d\n  APPEND initrd=i%d\r\n' "$i" "$i" "$i"; done
} >"$R/menu.txt"
in_cli 60 tftp "$SRV_IP" 69 -m netascii -c get menu.txt "$O/menu.txt" >"$WORK/client.log" 2>&1
check "netascii round trip of a $(stat -c %s "$R/menu.txt")-byte text with LF, CRLF and bare CR" \
	cmp "$R/menu.txt" "$O/menu.txt"
n=$((n + 1))

section "server side"
check "transfers_ok_total is $n" wait_metric transfers_ok -eq "$n"
check "transfers_failed_total is 0" wait_metric transfers_failed -eq 0
check "sessions_active back to 0" wait_metric sessions_active -eq 0
for f in "${files[@]}"; do
	size=$(stat -c %s "$R/$f")
	times=3
	[ "$f" = boot/f10m ] && times=5
	expect_eq "log: $f sent in full $times times" $times \
		"$(grep -c "event=tftp.done .*file=$f dir=download bytes=$size .*result=ok" "$SERVER_LOG")"
done
expect_eq "log: the three big atftp transfers ran with windowsize 16" 3 \
	"$(grep -cE 'event=tftp.done .*file=(f1k|boot/f10m|images/f100m) .*blksize=1468 windowsize=16 result=ok' "$SERVER_LOG")"
finish
