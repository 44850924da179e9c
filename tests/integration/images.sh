#!/bin/bash
# [image NAME]: ISO images built here with xorriso (Rock Ridge + Joliet,
# El Torito BIOS and EFI, a deep tree, 200-byte names, a sparse file over
# 4 GiB in several extents) are served in place under /images/NAME/.
# Every file fetched over HTTP (curl) and TFTP (curl tftp://) matches the
# original tree by sha256; ranges, ETags (the sha256 of the file), 404 for
# directories, no way out of the image, the image itself as NAME.iso, and
# an image added by SIGHUP.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl xorriso python3 cp
setup_net 36

section "content"
T=$WORK/tree
mkdir -p "$T/images/pxeboot" "$T/repodata" "$T/boot" "$T/EFI/BOOT" "$WORK/root"
mkfile "$T/images/pxeboot/vmlinuz" 3M
mkfile "$T/images/pxeboot/initrd.img" 5000K
printf '[general]\nfamily = AlmaLinux\nversion = 9.4\n' >"$T/.treeinfo"
mkfile "$T/repodata/repomd.xml" 2047
mkfile "$T/repodata/primary.xml.gz" 2049
mkfile "$T/boot/isolinux.bin" 24K
mkfile "$T/EFI/BOOT/efiboot.img" 300K
mkfile "$T/small.cfg" 10K
: >"$T/empty"
deep=$T/$(printf 'd%d/' $(seq 1 20))
mkfile "$deep/deep.bin" 4097
long=$(printf 'L%.0s' $(seq 1 200))
mkfile "$T/$long" 3000
mkfile "$T/with space.txt" 100
ln -s pxeboot/vmlinuz "$T/images/vmlinuz-link"
echo "not in any image" >"$WORK/root/secret"
# Rock Ridge names win over Joliet; both are written. No -boot-info-table:
# it patches the boot image, which would then differ from the tree.
xorriso -as mkisofs -quiet -R -J -joliet-long -V ALMA9 \
	-b boot/isolinux.bin -no-emul-boot -boot-load-size 4 \
	-eltorito-alt-boot -e EFI/BOOT/efiboot.img -no-emul-boot \
	-o "$WORK/alma9.iso" "$T" 2>"$WORK/xorriso.log" || { bad "xorriso"; cat "$WORK/xorriso.log"; finish; }

# A file over 4 GiB is stored in several extents (ISO level 3). Sparse
# source and sparse image: a few MiB on disk.
BIG=
avail=$(df --output=avail -k "$WORK" | tail -1)
if [ "${avail:-0}" -gt $((2 * 1024 * 1024)) ]; then
	B=$WORK/bigtree
	mkdir -p "$B"
	truncate -s $((4 * 1024 * 1024 * 1024 + 12345)) "$B/huge.img"
	printf 'head' | dd of="$B/huge.img" conv=notrunc status=none
	printf 'tail' | dd of="$B/huge.img" bs=1 seek=$((4 * 1024 * 1024 * 1024 + 12340)) conv=notrunc status=none
	printf 'cross' | dd of="$B/huge.img" bs=1 seek=$((4 * 1024 * 1024 * 1024 - 2048 - 2)) conv=notrunc status=none
	xorriso -as mkisofs -quiet -iso-level 3 -R -o - "$B" 2>>"$WORK/xorriso.log" |
		cp --sparse=always /dev/stdin "$WORK/big.iso" && BIG=1
	say "big.iso: $(du -h "$WORK/big.iso" | cut -f1) on disk, $(stat -c %s "$WORK/big.iso") bytes"
else
	say "less than 2 GiB free: no multi-extent image"
fi

# Parts that are not adjacent in the image (xorriso writes them back to
# back; other writers, or a hostile image, need not): HTTP bodies are then
# split by extent. A spliced body (over 16 KiB) and one sent with its head.
S=$WORK/split
mkfile "$S/a.bin" 40000
mkfile "$S/b.bin" 50000
mkfile "$S/c.bin" 3000
mkfile "$S/d.bin" 2000
xorriso -as mkisofs -quiet -R -o "$WORK/split.iso" "$S" 2>>"$WORK/xorriso.log" &&
	python3 "$HERE/iso_split.py" "$WORK/split.iso" A.BIN B.BIN 30000 &&
	python3 "$HERE/iso_split.py" "$WORK/split.iso" C.BIN D.BIN 500 || bad "crafting split.iso"
{ cat "$S/a.bin"; head -c 30000 "$S/b.bin"; } >"$WORK/a.want"
{ cat "$S/c.bin"; head -c 500 "$S/d.bin"; } >"$WORK/c.want"

# The same files under Joliet names only, and under plain ISO 9660 names
# (looked up without ";1", case-insensitively).
J=$WORK/jtree
mkdir -p "$J"
cp -r "$T/images" "$T/repodata" "$J/"
rm -f "$J/images/vmlinuz-link"
xorriso -as mkisofs -quiet --norock -J -o "$WORK/joliet.iso" "$J" 2>>"$WORK/xorriso.log" || bad "xorriso joliet"
xorriso -as mkisofs -quiet --norock -o "$WORK/plain.iso" "$J" 2>>"$WORK/xorriso.log" || bad "xorriso plain"

test_cert

base_config "$WORK/pxecast.conf"
{
	echo "[http]"
	echo "listen = $SRV_IP:80"
	if [ -n "$TLS" ]; then
		echo "https-listen = $SRV_IP:443"
		echo "certificate = $WORK/cert.pem"
		echo "key = $WORK/key.pem"
	fi
	echo "[image alma9]"
	echo "path = $WORK/alma9.iso"
	echo "[image split]"
	echo "path = $WORK/split.iso"
	echo "[image joliet]"
	echo "path = $WORK/joliet.iso"
	echo "[image plain]"
	echo "path = $WORK/plain.iso"
	if [ -n "$BIG" ]; then
		echo "[image big]"
		echo "path = $WORK/big.iso"
		echo "digests = $WORK/big.sha256"
	fi
} >>"$WORK/pxecast.conf"
start_server "$WORK/pxecast.conf"
U=http://$SRV_IP/images/alma9

urlpath() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }

section "every file over HTTP and TFTP"
n=0 http_bad=0 tftp_bad=0
while IFS= read -r -d '' f; do
	rel=${f#"$T"/}
	q=$(urlpath "$rel")
	want=$(sha "$f")
	got=$(in_cli 60 curl -sf "$U/$q" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || { http_bad=$((http_bad + 1)); echo "    http: $rel"; }
	got=$(in_cli 60 curl -sf --tftp-blksize 1468 "tftp://$SRV_IP/images/alma9/$q" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || { tftp_bad=$((tftp_bad + 1)); echo "    tftp: $rel"; }
	n=$((n + 1))
done < <(find "$T" -type f -print0)
check "$n files found in the tree" test "$n" -ge 12
expect_eq "files differing over HTTP" 0 "$http_bad"
expect_eq "files differing over TFTP" 0 "$tftp_bad"
check "symlink in the image resolves (HTTP)" \
	bash -c "ip netns exec $CLI_NS curl -sf '$U/images/vmlinuz-link' | cmp -s - '$T/images/pxeboot/vmlinuz'"
check "TFTP default blksize 512 (windowed by nothing), same bytes" \
	bash -c "ip netns exec $CLI_NS curl -sf 'tftp://$SRV_IP/images/alma9/repodata/repomd.xml' | cmp -s - '$T/repodata/repomd.xml'"
check "the image itself as alma9.iso" \
	bash -c "ip netns exec $CLI_NS curl -sf 'http://$SRV_IP/images/alma9.iso' | cmp -s - '$WORK/alma9.iso'"

section "ranges and validators"
range_same() { # RANGE SKIP COUNT
	in_cli 10 curl -sf -r "$1" "$U/images/pxeboot/vmlinuz" -o "$WORK/part" &&
		cmp -s "$WORK/part" <(tail -c +"$(($2 + 1))" "$T/images/pxeboot/vmlinuz" | head -c "$3")
}
check "Range 0-99" range_same 0-99 0 100
check "Range 2047-4096 (across sectors)" range_same 2047-4096 2047 2050
check "Range 1000000- (to the end)" range_same 1000000- 1000000 $((3145728 - 1000000))
check "Range -500 (suffix)" range_same -500 $((3145728 - 500)) 500
expect_eq "Range 206" 206 "$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -r 5-9 "$U/images/pxeboot/vmlinuz")"
expect_eq "Range past the end: 416" 416 \
	"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -r 9999999- "$U/images/pxeboot/vmlinuz")"
check "the digests are computed in the background" wait_log 'event=image.digest image=alma9 .*result=ok' 1 60
check "the sidecar is next to the image" test -s "$WORK/alma9.iso.sha256"
etag=$(in_cli 10 curl -sfI "$U/images/pxeboot/initrd.img" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
expect_eq "ETag is the file's sha256" "\"$(sha "$T/images/pxeboot/initrd.img")\"" "$etag"
expect_eq "If-None-Match with it: 304" 304 \
	"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$U/images/pxeboot/initrd.img")"
expect_eq "If-Range with it: 206" 206 \
	"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -r 0-9 -H "If-Range: $etag" "$U/images/pxeboot/initrd.img")"
expect_eq "alma9.iso ETag is the image's sha256" "\"$(sha "$WORK/alma9.iso")\"" \
	"$(in_cli 10 curl -sfI "http://$SRV_IP/images/alma9.iso" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')"

section "directories and escapes"
code() { in_cli 10 curl -s --path-as-is -o /dev/null -w '%{http_code}' "$1"; }
expect_eq "directory with /: 404" 404 "$(code "$U/repodata/")"
expect_eq "directory without /: 404" 404 "$(code "$U/repodata")"
expect_eq "image root: 404" 404 "$(code "$U/")"
expect_eq "missing file: 404" 404 "$(code "$U/nope")"
expect_eq "a file as a directory: 404" 404 "$(code "$U/.treeinfo/x")"
check "../ out of the image does not reach the root" \
	test "$(code "$U/../../secret")" != 200 -a "$(code "$U/%2e%2e/%2e%2e/secret")" != 200
check "the root still serves outside images/" test "$(code "http://$SRV_IP/secret")" = 200
check "TFTP: directory refused" bash -c "! ip netns exec $CLI_NS curl -sf -o /dev/null 'tftp://$SRV_IP/images/alma9/repodata'"
check "TFTP: ../ stays in the image" bash -c "! ip netns exec $CLI_NS curl -sf --path-as-is -o /dev/null 'tftp://$SRV_IP/images/alma9/../../secret'"

if [ -n "$BIG" ]; then
	section "a file over 4 GiB in several extents"
	H=http://$SRV_IP/images/big/huge.img
	size=$(stat -c %s "$B/huge.img")
	expect_eq "Content-Length" "$size" \
		"$(in_cli 10 curl -sfI "$H" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" { print $2 }')"
	expect_eq "Range across the first extent's end" "cross" \
		"$(in_cli 10 curl -sf -r $((4 * 1024 * 1024 * 1024 - 2048 - 2))-$((4 * 1024 * 1024 * 1024 - 2048 + 2)) "$H")"
	expect_eq "Range at the end" "tail" "$(in_cli 10 curl -sf -r -5 "$H" | head -c 4)"
	expect_eq "whole file, sha256" "$(sha "$B/huge.img")" \
		"$(in_cli 300 curl -sf "$H" | sha256sum | cut -d' ' -f1)"
fi

section "Joliet and plain ISO 9660 names"
for img in joliet plain; do
	n=0 nbad=0
	while IFS= read -r -d '' f; do
		rel=${f#"$J"/}
		# ISO 9660 level 1 has one dot per name: xorriso renames the others.
		[ $img = plain ] && [ "$(tr -cd . <<<"${rel##*/}" | wc -c)" -gt 1 ] && continue
		got=$(in_cli 30 curl -sf "http://$SRV_IP/images/$img/$rel" | sha256sum | cut -d' ' -f1)
		[ "$got" = "$(sha "$f")" ] || { nbad=$((nbad + 1)); echo "    $img: $rel"; }
		n=$((n + 1))
	done < <(find "$J" -type f -print0)
	expect_eq "$img: files differing of $n over HTTP" 0 "$nbad"
	check "$img: some files compared" test "$n" -ge 3
done
check "plain: the upper-case name is the same file" bash -c \
	"ip netns exec $CLI_NS curl -sf 'http://$SRV_IP/images/plain/IMAGES/PXEBOOT/INITRD.IMG' | cmp -s - '$J/images/pxeboot/initrd.img'"

section "a file in extents that are not adjacent"
SU=http://$SRV_IP/images/split
check "HTTP, spliced body split by extent" \
	bash -c "ip netns exec $CLI_NS curl -sf '$SU/a.bin' | cmp -s - '$WORK/a.want'"
check "HTTP, small body read extent by extent" \
	bash -c "ip netns exec $CLI_NS curl -sf '$SU/c.bin' | cmp -s - '$WORK/c.want'"
check "HTTP Range across the extents" \
	bash -c "ip netns exec $CLI_NS curl -sf -r 39000-41999 '$SU/a.bin' | cmp -s - <(tail -c +39001 '$WORK/a.want' | head -c 3000)"
check "TFTP, same bytes" \
	bash -c "ip netns exec $CLI_NS curl -sf 'tftp://$SRV_IP/images/split/a.bin' | cmp -s - '$WORK/a.want'"
if [ -n "$TLS" ]; then
	check "HTTPS (read through the ring, by extent), same bytes" \
		bash -c "ip netns exec $CLI_NS curl -sfk 'https://$SRV_IP/images/split/a.bin' | cmp -s - '$WORK/a.want'"
	check "HTTPS, a kernel from the Rock Ridge image" \
		bash -c "ip netns exec $CLI_NS curl -sfk 'https://$SRV_IP/images/alma9/images/pxeboot/vmlinuz' | cmp -s - '$T/images/pxeboot/vmlinuz'"
fi

section "SIGHUP adds an image"
cp "$WORK/alma9.iso" "$WORK/second.iso"
printf '[image second]\npath = %s\n' "$WORK/second.iso" >>"$WORK/pxecast.conf"
kill -HUP "$SERVER_PID"
check "reload logged" wait_log 'event=config.reload result=ok' 1 10
check "second image served after SIGHUP" wait_until 10 \
	bash -c "ip netns exec $CLI_NS curl -sf 'http://$SRV_IP/images/second/.treeinfo' | cmp -s - '$T/.treeinfo'"
check "first image still served" \
	bash -c "ip netns exec $CLI_NS curl -sf '$U/.treeinfo' | cmp -s - '$T/.treeinfo'"
finish
