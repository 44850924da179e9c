#!/usr/bin/env bash
# Install the Debian 12 packages pxecast builds and tests with.
#   appliance/install-deps.sh          build + demo (QEMU, OVMF, iPXE: the demo boots a VM)
#   appliance/install-deps.sh --test   also the test clients, sanitizers, fuzzing
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build=(build-essential meson ninja-build pkg-config liburing-dev libssl-dev zlib1g-dev
       libcmocka-dev iproute2 curl atftp qemu-system-x86 ipxe-qemu ipxe ovmf)
test=(clang libclang-rt-14-dev tftp-hpa python3 xorriso genisoimage openssl
      dnsmasq-base isc-dhcp-client busybox nftables nginx-light)

want=("${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${test[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
# Packages installed for testing must not start system services (a stray
# TFTP daemon on port 69 would answer instead of the one under test).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "install-deps: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
