#!/usr/bin/env bash
# The demo: build pxecast, serve a directory over TFTP inside a network
# namespace, download from it with curl and atftp, and show what happened.
# Everything runs in two namespaces made here and removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)"; exit 1; }
say "installing build dependencies (Debian packages)"
appliance/install-deps.sh
say "building"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "built $(build/pxecast version)"

tag=pxcdemo$$
srv=$tag-srv cli=$tag-cli work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$srv" 2>/dev/null || true
	ip netns del "$cli" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

say "network: namespaces $srv (10.210.0.1) and $cli (10.210.0.2) on a veth pair"
ip netns add "$srv"
ip netns add "$cli"
ip link add "${tag}a" netns "$srv" type veth peer name "${tag}b" netns "$cli"
ip -n "$srv" addr add 10.210.0.1/24 dev "${tag}a"
ip -n "$cli" addr add 10.210.0.2/24 dev "${tag}b"
for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
ip -n "$srv" link set "${tag}a" up
ip -n "$cli" link set "${tag}b" up

say "content: a boot menu, a 10 MiB 'kernel' and a 40 MiB 'initrd'"
mkdir -p "$work/root/pxelinux.cfg" "$work/out"
printf 'DEFAULT install\nLABEL install\n  KERNEL vmlinuz\n  APPEND initrd=initrd.img\n' \
	> "$work/root/pxelinux.cfg/default"
head -c 10M /dev/urandom > "$work/root/vmlinuz"
head -c 40M /dev/urandom > "$work/root/initrd.img"
cat > "$work/pxecast.conf" <<CONF
[daemon]
metrics-file = $work/metrics.prom

[tftp]
root = $work/root
listen = 10.210.0.1:69
max-window = 64
CONF
cat "$work/pxecast.conf"

say "starting pxecast in $srv"
ip netns exec "$srv" build/pxecast serve --config "$work/pxecast.conf" 2> "$work/pxecast.log" &
pid=$!
for _ in $(seq 50); do
	[ -s "$work/metrics.prom" ] && break
	sleep 0.1
done
[ -s "$work/metrics.prom" ] || { cat "$work/pxecast.log"; echo "demo: pxecast did not start"; exit 1; }
cat "$work/pxecast.log"

fetch() { # label, command...
	local label=$1; shift
	local t0 t1
	t0=$(date +%s.%N)
	timeout 60 ip netns exec "$cli" "$@"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v l="$label" 'BEGIN { printf "%-48s %6.2fs\n", l, b - a }'
}

say "downloads from $cli"
cd "$work/out"
fetch "curl  pxelinux.cfg/default (blksize 512)" curl -s -o default tftp://10.210.0.1/pxelinux.cfg/default
fetch "curl  vmlinuz (blksize 1468)" curl -s --tftp-blksize 1468 -o vmlinuz tftp://10.210.0.1/vmlinuz
fetch "atftp initrd.img (blksize 1468, windowsize 16)" sh -c \
	'atftp --option "blksize 1468" --option "windowsize 16" -g -r initrd.img -l initrd.img 10.210.0.1 69 >/dev/null 2>&1'
ip netns exec "$cli" curl -s --path-as-is -o /dev/null tftp://10.210.0.1/../../etc/passwd &&
	{ echo "demo: ../../etc/passwd was served"; exit 1; }
echo "curl  ../../etc/passwd                           refused (curl exit $?: TFTP access violation)"
cd - >/dev/null

say "integrity (sha256)"
ok=1
for f in pxelinux.cfg/default vmlinuz initrd.img; do
	a=$(sha256sum < "$work/root/$f" | cut -c1-16)
	b=$(sha256sum < "$work/out/$(basename "$f")" | cut -c1-16)
	[ "$a" = "$b" ] && r=same || { r=DIFFERENT; ok=0; }
	printf '%-24s served %s  received %s  %s\n' "$f" "$a" "$b" "$r"
done

say "pxecast log (one line per transfer)"
sleep 1.1 # the metrics file is rewritten every second
grep 'event=tftp.done' "$work/pxecast.log"
say "pxecast metrics"
grep -E 'tftp_(transfers|bytes|denied|sessions)' "$work/metrics.prom"
[ $ok = 1 ] && say "demo finished: every file arrived intact" || { say "demo FAILED"; exit 1; }
