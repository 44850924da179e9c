# Shared by the e2e tests and the demo: a network namespace with a bridge
# and tap devices for VMs, and the QEMU arguments of each firmware path.
# Sourced; defines functions, and vm_pxecast_pid (empty until vm_pxecast).

vm_pxecast_pid=

# vm_net NS ADDR/PREFIX NTAPS: namespace NS with bridge br0 holding ADDR and
# taps tap0..tap(NTAPS-1) on it. The caller deletes NS.
vm_net() {
	local ns=$1 addr=$2 n=$3 i
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" addr add "$addr" dev br0
	ip -n "$ns" link set br0 up
	for ((i = 0; i < n; i++)); do
		ip -n "$ns" tuntap add dev "tap$i" mode tap
		ip -n "$ns" link set "tap$i" master br0
		ip -n "$ns" link set "tap$i" up
	done
}

# vm_args KIND MAC TAP SERIAL WORKDIR ACCEL: prints (one per line) the QEMU
# arguments of a diskless machine that boots from the network.
#   bios       SeaBIOS with Debian's iPXE NIC ROM (e1000)
#   uefi-pxe   OVMF, no NIC option ROM: EDK2's own PXE client (arch 7)
#   uefi-http  OVMF with PXE off (fw_cfg), so its HTTPv4 boot entry runs
vm_args() {
	local kind=$1 mac=$2 tap=$3 serial=$4 work=$5 accel=${6:-tcg}
	printf '%s\n' -accel "$accel" -m 512 -serial "file:$serial" -monitor none -display none \
		-no-reboot -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -boot n
	case $kind in
	bios)
		printf '%s\n' -machine pc,graphics=off -device "e1000,netdev=n0,mac=$mac" ;;
	uefi-pxe | uefi-http)
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars-$tap.fd"
		printf '%s\n' -machine q35,graphics=off \
			-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
			-drive "if=pflash,format=raw,file=$work/vars-$tap.fd" \
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=" \
			-fw_cfg name=opt/org.tianocore/IPv6Support,string=no
		[ "$kind" = uefi-http ] &&
			printf '%s\n' -fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=no
		;;
	*) echo "vm_args: unknown kind $kind" >&2; return 1 ;;
	esac
	return 0
}

# vm_need NAME...: exit 77 (skipped) unless run as root and every command,
# or file for a NAME starting with '/', exists.
vm_need() {
	local x
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
	for x; do
		case $x in
		/*) [ -f "$x" ] || { echo "SKIP: $x missing (ipxe, ovmf, ipxe-qemu)"; exit 77; } ;;
		*) command -v "$x" >/dev/null || { echo "SKIP: $x missing"; exit 77; } ;;
		esac
	done
}

# vm_pxecast NS PXECAST CONF LOG [TENTHS]: start pxecast in NS (its pid in
# vm_pxecast_pid) and wait up to TENTHS tenths of a second (default 100)
# for it to be ready; returns 1 if it is not.
vm_pxecast() {
	local i
	ip netns exec "$1" "$2" serve --config "$3" 2>"$4" &
	vm_pxecast_pid=$!
	for ((i = 0; i < ${5:-100}; i++)); do
		grep -q daemon.ready "$4" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# vm_cleanup NS WORK PID...: stop the processes, delete the namespace and
# the work directory. Never fails (callers may run under set -e).
vm_cleanup() {
	local ns=$1 work=$2 p
	shift 2
	for p; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
