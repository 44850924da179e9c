#!/bin/bash
# pxecast import on ISOs built here, laid out like each supported
# distribution: the right [image] and [profile] (kernel, initrd, kernel
# arguments, install template), a sidecar whose digests are the files'
# sha256, a clear error naming what it looked for on an unknown ISO. Then
# the daemon serves the imported config: a host's boot script names the
# kernel inside the ISO, and that URL gives the kernel's bytes.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl xorriso
setup_net 37

TEMPLATES=$HERE/../../appliance/templates
section "distribution trees and their ISOs"
mk_iso() { # NAME VOLID: the tree $WORK/t/NAME -> $WORK/NAME.iso
	xorriso -as mkisofs -quiet -R -J -V "$2" -o "$WORK/$1.iso" "$WORK/t/$1" 2>>"$WORK/xorriso.log"
}
t=$WORK/t
mkfile "$t/alma/images/pxeboot/vmlinuz" 2M
mkfile "$t/alma/images/pxeboot/initrd.img" 3M
mkfile "$t/alma/images/install.img" 100K
mkfile "$t/alma/repodata/repomd.xml" 3K
cat >"$t/alma/.treeinfo" <<'EOF'
[release]
name = AlmaLinux
version = 9.4
[general]
family = AlmaLinux
version = 9.4
[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img
EOF
mkfile "$t/debian/install.amd/vmlinuz" 1M
mkfile "$t/debian/install.amd/initrd.gz" 1M
mkdir -p "$t/debian/.disk"
echo 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 NETINST with firmware 20240210-11:28' >"$t/debian/.disk/info"
mkfile "$t/ubuntu/casper/vmlinuz" 1M
mkfile "$t/ubuntu/casper/initrd" 2M
mkdir -p "$t/ubuntu/.disk"
echo 'Ubuntu-Server 24.04 LTS "Noble Numbat" - Release amd64 (20240423)' >"$t/ubuntu/.disk/info"
mkfile "$t/fcos/images/pxeboot/vmlinuz" 1M
mkfile "$t/fcos/images/pxeboot/initrd.img" 1M
mkfile "$t/fcos/images/pxeboot/rootfs.img" 4M
mkfile "$t/fcos/coreos/igninfo.json" 100
mkfile "$t/alt/boot/vmlinuz" 1M
mkfile "$t/alt/boot/full.cz" 1M
mkfile "$t/alt/altinst" 1M
mkfile "$t/none/README" 100
check "xorriso builds the six ISOs" bash -c "$(declare -f mk_iso); WORK='$WORK';
	mk_iso alma ALMA-9-4 && mk_iso debian 'Debian 12.5.0 amd64 n' && mk_iso ubuntu 'Ubuntu-Server 24.04 LTS amd64' &&
	mk_iso fcos fedora-coreos-40.20240519.3.0 && mk_iso alt 'ALT Workstation 10.1 x86_64' && mk_iso none SOMETHING"

section "import"
# import NAME [args]: pxecast import $WORK/NAME.iso --profile-out $WORK/NAME.conf
import() {
	local n=$1
	shift
	"$PXECAST" import "$WORK/$n.iso" --profile-out "$WORK/$n.conf" "$@" >"$WORK/$n.out" 2>"$WORK/$n.err"
}
conf_line() { grep -E "^$2 = " "$WORK/$1.conf" | sed "s/^$2 = //"; }
digest_of() { awk -v p="$2" '$1 == "file" && $5 == p { print $2 }' "$WORK/$1.iso.sha256"; }

check "import alma" import alma
expect_eq "alma: image section" "[image alma9]" "$(grep '^\[image' "$WORK/alma.conf")"
expect_eq "alma: image path" "$WORK/alma.iso" "$(conf_line alma path)"
expect_eq "alma: kernel" "images/alma9/images/pxeboot/vmlinuz" "$(conf_line alma kernel)"
expect_eq "alma: initrd" "images/alma9/images/pxeboot/initrd.img" "$(conf_line alma initrd)"
expect_eq "alma: append" 'inst.repo=http://${server}/images/alma9/ inst.ks=http://${server}/ks/${mac}?token=${token}' \
	"$(conf_line alma append)"
expect_eq "alma: install template" "alma9.ks" "$(conf_line alma install-template)"
expect_eq "alma: sidecar digest of the kernel is its sha256" "$(sha "$t/alma/images/pxeboot/vmlinuz")" \
	"$(digest_of alma images/pxeboot/vmlinuz)"
expect_eq "alma: sidecar digest of the image" "$(sha "$WORK/alma.iso")" \
	"$(awk '$1 == "image-sha256" { print $2 }' "$WORK/alma.iso.sha256")"
check "alma: progress as plain lines off a terminal" grep -q '^hashing: 100%' "$WORK/alma.err"
check "alma: summary names kernel and initrd" \
	bash -c "grep -q 'kernel   images/pxeboot/vmlinuz' '$WORK/alma.err' && grep -q 'initrd   images/pxeboot/initrd.img' '$WORK/alma.err'"

check "import debian" import debian
expect_eq "debian: name" "[profile debian12]" "$(grep '^\[profile' "$WORK/debian.conf")"
expect_eq "debian: kernel" "images/debian12/install.amd/vmlinuz" "$(conf_line debian kernel)"
expect_eq "debian: initrd" "images/debian12/install.amd/initrd.gz" "$(conf_line debian initrd)"
expect_eq "debian: append" 'auto=true priority=critical url=http://${server}/ks/${mac}?token=${token}' \
	"$(conf_line debian append)"
expect_eq "debian: install template" "debian12.preseed" "$(conf_line debian install-template)"

check "import ubuntu --name noble" import ubuntu --name noble
expect_eq "ubuntu: --name wins" "[image noble]" "$(grep '^\[image' "$WORK/ubuntu.conf")"
expect_eq "ubuntu: kernel" "images/noble/casper/vmlinuz" "$(conf_line ubuntu kernel)"
expect_eq "ubuntu: initrd" "images/noble/casper/initrd" "$(conf_line ubuntu initrd)"
expect_eq "ubuntu: append" \
	'ip=dhcp url=http://${server}/images/noble.iso autoinstall cloud-config-url=/dev/null ds=nocloud-net;s=http://${server}/ks/${mac}/${token}/' \
	"$(conf_line ubuntu append)"
expect_eq "ubuntu: install template" "ubuntu2404.yaml" "$(conf_line ubuntu install-template)"

check "import fcos" import fcos
expect_eq "fcos: kernel" "images/fcos/images/pxeboot/vmlinuz" "$(conf_line fcos kernel)"
expect_eq "fcos: append" \
	'coreos.live.rootfs_url=http://${server}/images/fcos/images/pxeboot/rootfs.img ignition.config.url=http://${server}/ks/${mac}?token=${token} ignition.firstboot ignition.platform.id=metal' \
	"$(conf_line fcos append)"
check "fcos: version from the volume id" grep -q 'version 40.20240519.3.0' "$WORK/fcos.err"

check "import alt (digests elsewhere)" import alt --digests "$WORK/alt-digests"
expect_eq "alt: kernel" "images/alt10/boot/vmlinuz" "$(conf_line alt kernel)"
expect_eq "alt: initrd" "images/alt10/boot/full.cz" "$(conf_line alt initrd)"
expect_eq "alt: digests path in the section" "$WORK/alt-digests" "$(conf_line alt digests)"
check "alt: sidecar written there" test -s "$WORK/alt-digests"

check "unknown ISO: import fails" bash -c "! '$PXECAST' import '$WORK/none.iso' 2>'$WORK/none.err'"
check "unknown ISO: the error names what was looked for" \
	bash -c "grep -q 'not an installation image' '$WORK/none.err' && grep -q 'casper/vmlinuz' '$WORK/none.err' && grep -q '.treeinfo' '$WORK/none.err'"
check "not an ISO: a clear error" bash -c "! '$PXECAST' import '$t/alma/.treeinfo' 2>&1 | grep -q 'not an ISO 9660 image'; test \${PIPESTATUS[0]} -ne 0"
check "bad --name refused" bash -c "! '$PXECAST' import '$WORK/alma.iso' --name ../x 2>/dev/null"

section "serving the imported config"
mkdir -p "$WORK/root"
base_config "$WORK/pxecast.conf"
{
	echo "[http]"
	echo "listen = $SRV_IP:80"
	echo "templates = $TEMPLATES"
	for n in alma debian ubuntu fcos alt; do cat "$WORK/$n.conf"; echo; done
	echo "[host 52:54:00:00:00:01]"
	echo "profile = alma9"
	echo "[host 52:54:00:00:00:02]"
	echo "profile = noble"
} >>"$WORK/pxecast.conf"
check "check-config accepts every imported section" "$PXECAST" check-config "$WORK/pxecast.conf"
start_server "$WORK/pxecast.conf"
script=$(in_cli 10 curl -sf "http://$SRV_IP/boot/52:54:00:00:00:01.ipxe")
kernel_url=$(awk '$1 == "kernel" { print $2 }' <<<"$script")
initrd_url=$(awk '$1 == "initrd" { print $NF }' <<<"$script")
expect_eq "boot script's kernel is inside the ISO" "http://$SRV_IP/images/alma9/images/pxeboot/vmlinuz" "$kernel_url"
check "boot script passes inst.repo at the image" grep -q "inst.repo=http://$SRV_IP/images/alma9/ " <<<"$script"
expect_eq "that kernel URL gives the kernel" "$(sha "$t/alma/images/pxeboot/vmlinuz")" \
	"$(in_cli 20 curl -sf "$kernel_url" | sha256sum | cut -d' ' -f1)"
expect_eq "and the initrd URL the initrd" "$(sha "$t/alma/images/pxeboot/initrd.img")" \
	"$(in_cli 20 curl -sf "$initrd_url" | sha256sum | cut -d' ' -f1)"
check "the digests from import give the ETag at once" bash -c \
	"ip netns exec $CLI_NS curl -sfI '$kernel_url' | tr -d '\r' | grep -qi '^etag: \"$(sha "$t/alma/images/pxeboot/vmlinuz")\"'"
script=$(in_cli 10 curl -sf "http://$SRV_IP/boot/52:54:00:00:00:02.ipxe")
check "Ubuntu boot script fetches the ISO by URL" grep -q "url=http://$SRV_IP/images/noble.iso " <<<"$script"
expect_eq "and that URL gives the ISO" "$(sha "$WORK/ubuntu.iso")" \
	"$(in_cli 20 curl -sf "http://$SRV_IP/images/noble.iso" | sha256sum | cut -d' ' -f1)"
finish
