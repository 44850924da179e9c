#!/bin/sh
# Regenerate the seed corpus of fuzz/fuzz_iso9660.c: tiny images (no
# padding, one-sector files) covering each structure the reader parses.
# Needs xorriso and genisoimage (Debian packages of the same names).
#   tests/unit/iso/make-corpus.sh [outdir [builddir]]
# outdir defaults to fuzz/corpus/iso9660. With a meson builddir, the
# malformed-image test also writes its hand-made multi-extent image there.
set -eu
here=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$here/fuzz/corpus/iso9660}
build=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

t=$tmp/tree
mkdir -p "$t/boot" "$t/deep/a/b/c/d/e/f/g/h/i/j"
printf 'set timeout=1\n' > "$t/boot/grub.cfg"
head -c 2048 /dev/zero | tr '\0' 'B' > "$t/boot/bios.bin"
head -c 2048 /dev/zero | tr '\0' 'E' > "$t/boot/efi.img"
printf 'deep' > "$t/deep/a/b/c/d/e/f/g/h/i/j/deep.txt"
printf 'x' > "$t/boot/$(printf '%0200d' 0 | tr 0 n)"
ln -s grub.cfg "$t/boot/link"
ln -s /boot "$t/boot/abs"
ln -s loop "$t/boot/loop"

mk() { xorriso -as mkisofs -quiet -no-pad "$@" 2>/dev/null; }
mk -R -J -V RRJOLIET -c boot.cat -b bios.bin -no-emul-boot -boot-load-size 4 \
   -eltorito-alt-boot -e efi.img -no-emul-boot \
   -o "$out/rr-joliet-eltorito.iso" "$t/boot"
mk -R -o "$out/rr.iso" "$t/boot"
mk --norock -J -joliet-long -o "$out/joliet.iso" "$t/boot"
mk --norock -o "$out/plain.iso" "$t/boot"
# genisoimage relocates directories deeper than 8 levels (CL/PL/RE).
genisoimage -quiet -no-pad -R -o "$out/genisoimage-relocated.iso" "$t/deep"
if [ -n "$build" ]; then
	ISOTEST_CORPUS_DIR=$out "$build/tests/test-iso9660-malformed" >/dev/null
fi
ls -l "$out"
