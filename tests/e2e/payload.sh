#!/usr/bin/env bash
# The e2e boot payload: a Debian kernel (linux-image-amd64, unpacked from
# its .deb, not installed) and a tiny initramfs whose init (busybox-static)
# prints a marker and /proc/cmdline on the serial console, then powers off.
#   usage: payload.sh DIR    -> DIR/vmlinuz, DIR/initrd.img
# The kernel is cached in $PXC_E2E_CACHE (default /var/cache/pxecast-e2e)
# so repeated runs do not download it again.
set -eu
out=$1
cache=${PXC_E2E_CACHE:-/var/cache/pxecast-e2e}
mkdir -p "$out" "$cache"

if [ ! -s "$cache/vmlinuz" ]; then
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || { echo "payload: no linux-image-*-amd64 behind linux-image-amd64" >&2; exit 1; }
	tmp=$(mktemp -d)
	chmod 1777 "$tmp" # apt fetches as _apt, unsandboxed otherwise
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null)
	dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
	cp "$tmp"/boot/vmlinuz-* "$cache/vmlinuz.tmp"
	mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
	echo "$pkg" >"$cache/vmlinuz.pkg"
	rm -rf "$tmp"
fi
cp "$cache/vmlinuz" "$out/vmlinuz"

# busybox-static, unpacked from its .deb too: installing it would replace
# the dynamic busybox other tests use.
if [ ! -s "$cache/busybox" ]; then
	tmp=$(mktemp -d)
	chmod 1777 "$tmp"
	(cd "$tmp" && apt-get download -q busybox-static >/dev/null)
	dpkg-deb --fsys-tarfile "$tmp"/busybox-static_*.deb | tar -x -C "$tmp" ./bin/busybox
	cp "$tmp/bin/busybox" "$cache/busybox.tmp"
	mv "$cache/busybox.tmp" "$cache/busybox"
	rm -rf "$tmp"
fi
bb=$cache/busybox
root=$(mktemp -d)
mkdir -p "$root/bin" "$root/proc" "$root/dev"
cp "$bb" "$root/bin/busybox"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
echo "PXECAST-MARKER-OK"
echo "PXECAST-CMDLINE: $(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -9 >"$out/initrd.img.tmp")
mv "$out/initrd.img.tmp" "$out/initrd.img"
rm -rf "$root"
