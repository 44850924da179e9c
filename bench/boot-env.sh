# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for pxecast-bench runs (sourced by bench/compare-boot and
# bench/test-boot): a server namespace holding bridge br0 with 10.77.0.1/16,
# the boot files, and each server stack in its configuration:
#   pxecast          DHCP + TFTP + HTTP in one process
#   dnsmasq + nginx  DHCP + TFTP (dnsmasq) and HTTP (nginx: sendfile,
#                    tcp_nopush, keep-alive, a worker per core)
# Callers set W (a work directory) and BNS (the namespace name) and trap
# boot_env_down. Nothing leaves the namespaces.

SRV_IP=10.77.0.1
BOOT_SRV_PIDS=()

boot_env_up() {
	ip netns add "$BNS"
	ip -n "$BNS" link set lo up
	ip -n "$BNS" link add br0 type bridge forward_delay 0
	ip -n "$BNS" addr add "$SRV_IP/16" brd + dev br0
	ip -n "$BNS" link set br0 up
}

boot_env_down() {
	boot_stop_servers
	ip netns pids "$BNS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
	ip netns del "$BNS" 2>/dev/null || true
}

# boot_files BOOT_BYTES KERNEL_BYTES INITRD_BYTES: random contents (every
# byte counts; nothing compresses), a static iPXE script naming the kernel
# and initrd by URL.
boot_files() {
	mkdir -p "$W/root" "$W/run" "$W/nginx-tmp"
	chmod 755 "$W" "$W/root"
	head -c "$1" /dev/urandom >"$W/root/ipxe.efi"
	head -c "$1" /dev/urandom >"$W/root/undionly.kpxe"
	head -c "$2" /dev/urandom >"$W/root/vmlinuz"
	head -c "$3" /dev/urandom >"$W/root/initrd.img"
	printf '#!ipxe\nkernel http://%s/vmlinuz initrd=initrd.img console=ttyS0\ninitrd http://%s/initrd.img\nboot\n' \
		"$SRV_IP" "$SRV_IP" >"$W/root/boot.ipxe"
	chmod 644 "$W/root/"*
	cat "$W/root/"* >/dev/null   # page cache, the same for every stack
}

boot_conf_pxecast() {
	cat >"$W/pxecast.conf" <<CONF
[daemon]
log-level = warn
[dhcp]
lease-file = $W/run/pxecast.leases
interfaces = br0
max-leases = 65536
[subnet bench]
network = 10.77.0.0/16
pool = 10.77.1.0 - 10.77.200.255
lease-time = 3600
[boot]
efi64 = ipxe.efi
bios = undionly.kpxe
ipxe = http://\${server}/boot.ipxe
[tftp]
root = $W/root
listen = $SRV_IP:69
max-sessions = 8192
[http]
root = $W/root
listen = $SRV_IP:80
max-connections = 8192
CONF
}

# dnsmasq: a fresh lease file, no DNS, replies by client arch and user
# class, and no ping before an offer: the check waits 3 s for an echo per
# new address, and a storm queues behind it (500 machines: minutes). With a
# pool far larger than the clients, dnsmasq's MAC-hashed address choice
# does not collide in practice (NAKs are counted). tftp-max: dnsmasq
# ignores requests beyond 50 transfers by default (pxecast: 8192 here, as
# max-sessions). BOOT_DNSMASQ_PING=1
# keeps the check; DNSMASQ_OPTS adds options.
boot_conf_dnsmasq() {
	cat >"$W/dnsmasq.conf" <<CONF
port=0
interface=br0
bind-interfaces
no-resolv
no-hosts
dhcp-authoritative
dhcp-range=10.77.1.0,10.77.200.255,255.255.0.0,1h
dhcp-leasefile=$W/run/dnsmasq.leases
dhcp-lease-max=65536
dhcp-match=set:efi64,option:client-arch,7
dhcp-match=set:bios,option:client-arch,0
dhcp-userclass=set:ipxe,iPXE
dhcp-boot=tag:ipxe,http://$SRV_IP/boot.ipxe
dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,$SRV_IP
dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe,,$SRV_IP
enable-tftp
tftp-root=$W/root
tftp-max=8192
$([ "${BOOT_DNSMASQ_PING:-0}" = 1 ] || echo no-ping)
quiet-dhcp
log-facility=$W/dnsmasq.log
CONF
	cat >"$W/nginx.conf" <<CONF
worker_processes auto;
pid $W/run/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 8192; }
http {
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 65;
	keepalive_requests 100000;
	access_log off;
	default_type application/octet-stream;
	client_body_temp_path $W/nginx-tmp;
	server {
		listen $SRV_IP:80 reuseport backlog=4096;
		root $W/root;
	}
}
CONF
}

# boot_wait_udp PORT / boot_wait_tcp PORT: bounded wait for a listener
boot_wait_listen() {
	local i
	for i in $(seq 100); do
		ip netns exec "$BNS" ss "-$1lnH" "sport = :$2" | grep -q . && return 0
		sleep 0.05
	done
	echo "boot-env: nothing listens on $1 port $2" >&2
	return 1
}

boot_start_pxecast() { # PXECAST_BINARY
	rm -rf "$W/run"; mkdir -p "$W/run"
	boot_conf_pxecast
	setsid ip netns exec "$BNS" "$1" serve --config "$W/pxecast.conf" \
		>>"$W/pxecast.log" 2>&1 &
	BOOT_SRV_PIDS=($!)
	boot_wait_listen u 67 && boot_wait_listen u 69 && boot_wait_listen t 80
}

boot_start_peer() {
	rm -rf "$W/run"; mkdir -p "$W/run"
	boot_conf_dnsmasq
	setsid ip netns exec "$BNS" dnsmasq --keep-in-foreground --conf-file="$W/dnsmasq.conf" \
		--pid-file= ${DNSMASQ_OPTS:-} >>"$W/dnsmasq.out" 2>&1 &
	BOOT_SRV_PIDS=($!)
	setsid ip netns exec "$BNS" nginx -c "$W/nginx.conf" -g 'daemon off;' \
		>>"$W/nginx.out" 2>&1 &
	BOOT_SRV_PIDS+=($!)
	boot_wait_listen u 67 && boot_wait_listen u 69 && boot_wait_listen t 80
}

# The PIDs whose CPU and memory count: the servers and nginx's workers.
boot_server_pids() {
	local p out=
	for p in "${BOOT_SRV_PIDS[@]}"; do
		out+=${out:+,}$p
		for c in $(pgrep -P "$p" 2>/dev/null); do out+=,$c; done
	done
	echo "$out"
}

boot_stop_servers() {
	local p
	for p in "${BOOT_SRV_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BOOT_SRV_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BOOT_SRV_PIDS=()
}
