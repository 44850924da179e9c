#!/bin/bash
# Per-host provisioning over HTTP with curl as the installer: the iPXE
# script carries a token into the kickstart URL, require-token refuses the
# rest, every shipped template renders for its distribution, state reports
# are durable across a restart and `pxecast hosts` lists them.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl
need_cmd python3
setup_net 33

# A copy of the shipped templates: the test edits one and reloads.
cp -r "$HERE/../../appliance/templates" "$WORK/templates"
TEMPLATES=$WORK/templates
mkdir -p "$WORK/root"
M1=52:54:00:aa:00:01 # alma9
M2=52:54:00:aa:00:02 # debian12
M3=52:54:00:aa:00:03 # ubuntu2404
M4=52:54:00:aa:00:04 # fcos
M9=52:54:00:aa:00:09 # not configured
test_cert
base_config "$WORK/pxecast.conf"
cat >>"$WORK/pxecast.conf" <<CONF
[http]
listen = $SRV_IP:80
$([ -n "$TLS" ] && printf 'https-listen = %s:443\ncertificate = %s\nkey = %s\n' "$SRV_IP" "$WORK/cert.pem" "$WORK/key.pem")
templates = $TEMPLATES
host-state-file = $WORK/hosts.journal
token-secret-file = $WORK/token.key
require-token = yes
token-lifetime = 3600
[profile alma9]
kernel = images/alma9/images/pxeboot/vmlinuz
initrd = images/alma9/images/pxeboot/initrd.img
append = inst.repo=http://\${server}/images/alma9/ inst.ks=\${ks_url}
install-template = alma9.ks
var.disk = vda
[profile debian12]
kernel = images/debian12/install.amd/vmlinuz
initrd = images/debian12/install.amd/initrd.gz
append = auto=true priority=critical url=\${ks_url}
install-template = debian12.preseed
[profile ubuntu2404]
kernel = images/ubuntu/casper/vmlinuz
initrd = images/ubuntu/casper/initrd
append = ip=dhcp autoinstall ds=nocloud-net;s=\${seed_url}
install-template = ubuntu2404.yaml
[profile fcos]
kernel = images/fcos/images/pxeboot/vmlinuz
initrd = images/fcos/images/pxeboot/initramfs.img
append = ignition.firstboot ignition.platform.id=metal ignition.config.url=\${ks_url}
install-template = fcos.ign
var.ssh_key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@factory
[host $M1]
hostname = web1
profile = alma9
var.disk = nvme0n1
[host $M2]
hostname = db1
profile = debian12
[host $M3]
hostname = build1
profile = ubuntu2404
[host $M4]
hostname = edge1
profile = fcos
CONF
check "check-config compiles every template" "$PXECAST" check-config "$WORK/pxecast.conf"
start_server "$WORK/pxecast.conf"
U=http://$SRV_IP

get() { in_cli 10 curl -s -o "$WORK/out" -w '%{http_code}' "$@"; }

section "iPXE script per MAC"
expect_eq "boot script of $M1" 200 "$(get "$U/boot/$M1.ipxe")"
cp "$WORK/out" "$WORK/m1.ipxe"
check "script starts with #!ipxe" grep -qx '#!ipxe' "$WORK/m1.ipxe"
check "kernel line: the image, the repo and a kickstart URL with a token" \
	grep -qE "^kernel http://$SRV_IP/images/alma9/images/pxeboot/vmlinuz initrd=initrd inst.repo=http://$SRV_IP/images/alma9/ inst.ks=http://$SRV_IP/ks/$M1\?token=[0-9]+-[0-9a-f]{32}\$" "$WORK/m1.ipxe"
check "initrd line" grep -qx "initrd --name initrd http://$SRV_IP/images/alma9/images/pxeboot/initrd.img" "$WORK/m1.ipxe"
KS=$(grep -oE "inst.ks=[^ ]+" "$WORK/m1.ipxe" | cut -d= -f2-)
expect_eq "unknown MAC: 404 (no default profile)" 404 "$(get "$U/boot/$M9.ipxe")"
check "fetching the script recorded 'booting'" grep -qE "^$M1 booting [0-9]+\$" "$WORK/hosts.journal"

section "tokens"
expect_eq "kickstart without a token: 403" 403 "$(get "$U/ks/$M1")"
expect_eq "kickstart with a forged token: 403" 403 "$(get "$U/ks/$M1?token=4102444800-0123456789abcdef0123456789abcdef")"
expect_eq "kickstart of another host with this token: 403" 403 "$(get "$U/ks/$M2?${KS#*\?}")"
expect_eq "kickstart with the script's token" 200 "$(get "$KS")"
cp "$WORK/out" "$WORK/m1.ks"

section "kickstart (AlmaLinux 9)"
check "hostname in network line" grep -qx "network --bootproto=dhcp --hostname=web1 --activate" "$WORK/m1.ks"
check "host var wins over profile var" grep -qx "ignoredisk --only-use=nvme0n1" "$WORK/m1.ks"
check "%post reports installed with a token" \
	grep -qE "^curl -s -X POST -d state=installed 'http://$SRV_IP/api/hosts/$M1/state\?token=[0-9]+-[0-9a-f]{32}' \|\| true\$" "$WORK/m1.ks"
check "%onerror reports failed" grep -q "state=failed" "$WORK/m1.ks"

# token_for MAC: the kickstart URL of MAC's boot script.
ks_of() { get "$U/boot/$1.ipxe" >/dev/null && grep -oE "http://[^ ]+/ks/$1[^ ]*token=[0-9a-f-]+" "$WORK/out" | head -1; }

section "preseed (Debian 12)"
KS2=$(ks_of $M2)
check "debian kernel line carries url=" grep -qE "^kernel .*install.amd/vmlinuz initrd=initrd auto=true priority=critical url=http://$SRV_IP/ks/$M2\?token=" "$WORK/out"
expect_eq "preseed with token" 200 "$(get "$KS2")"
check "preseed hostname" grep -qx "d-i netcfg/get_hostname string db1" "$WORK/out"
check "preseed late_command reports installed" grep -qE "^d-i preseed/late_command string wget .*state=installed 'http://$SRV_IP/api/hosts/$M2/state\?token=" "$WORK/out"

section "autoinstall (Ubuntu 24.04, cloud-init nocloud-net)"
get "$U/boot/$M3.ipxe" >/dev/null
check "ubuntu kernel line: ds=nocloud-net;s=.../ks/MAC/TOKEN/" grep -qE "ds=nocloud-net;s=http://$SRV_IP/ks/$M3/[0-9]+-[0-9a-f]{32}/\$" "$WORK/out"
SEED=$(grep -oE "s=http://[^ ]+/\$" "$WORK/out" | cut -c3-)
expect_eq "user-data without the seed's token: 403" 403 "$(get "$U/ks/$M3/user-data")"
expect_eq "user-data under the seed URL" 200 "$(get "${SEED}user-data")"
check "user-data is cloud-config" grep -qx "#cloud-config" "$WORK/out"
check "user-data hostname" grep -qx "    hostname: build1" "$WORK/out"
check "user-data is valid YAML" python3 -c "
import sys
try:
    import yaml
except ImportError:
    sys.exit(0)
d = yaml.safe_load(open('$WORK/out'))
assert d['autoinstall']['identity']['hostname'] == 'build1'
"
expect_eq "meta-data" 200 "$(get "${SEED}meta-data")"
check "meta-data instance-id" grep -qx "instance-id: $M3" "$WORK/out"

section "ignition (Fedora CoreOS)"
expect_eq "ignition with token" 200 "$(get "$(ks_of $M4)")"
check "ignition is JSON with the host's name and key" python3 -c "
import json
d = json.load(open('$WORK/out'))
assert d['ignition']['version'] == '3.4.0'
assert d['storage']['files'][0]['contents']['source'] == 'data:,edge1'
assert d['passwd']['users'][0]['sshAuthorizedKeys'][0].startswith('ssh-ed25519 ')
assert 'state=installed http://$SRV_IP/api/hosts/$M4/state?token=' in d['systemd']['units'][0]['contents']
"
expect_eq "ignition Content-Type" "application/json" \
	"$(in_cli 10 curl -s -o /dev/null -w '%{content_type}' "$(ks_of $M4)")"

section "GRUB and PXELINUX"
expect_eq "grub.cfg" 200 "$(get "$U/grub/$M1.cfg")"
check "grub linux line names (http,server)/path" grep -qE "^	linux \(http,$SRV_IP\)/images/alma9/images/pxeboot/vmlinuz inst.repo=" "$WORK/out"
expect_eq "pxelinux.cfg/01-MAC" 200 "$(get "$U/pxelinux.cfg/01-${M1//:/-}")"
check "pxelinux KERNEL line" grep -qx "  KERNEL http://$SRV_IP/images/alma9/images/pxeboot/vmlinuz" "$WORK/out"

section "HTTPS"
if [ -n "$TLS" ]; then
	expect_eq "boot script over HTTPS" 200 "$(get -k "https://$SRV_IP/boot/$M1.ipxe")"
	check "URLs in it are https" grep -qE "inst.ks=https://$SRV_IP/ks/$M1\?token=" "$WORK/out"
	expect_eq "kickstart over HTTPS with its token" 200 "$(get -k "$(grep -oE "https://[^ ]+/ks/$M1[^ ]*" "$WORK/out")")"
else
	say "openssl missing: HTTPS not checked"
fi

section "over TFTP (PXELINUX and GRUB look beside themselves)"
expect_eq "pxelinux.cfg/01-MAC over TFTP" 0 "$(in_cli 10 curl -s -o "$WORK/tftp.cfg" "tftp://$SRV_IP/bios/pxelinux.cfg/01-${M1//:/-}"; echo $?)"
check "it is the rendered PXELINUX config" grep -qx "  KERNEL http://$SRV_IP/images/alma9/images/pxeboot/vmlinuz" "$WORK/tftp.cfg"
expect_eq "grub.cfg-01-MAC over TFTP" 0 "$(in_cli 10 curl -s -o "$WORK/tftp.grub" "tftp://$SRV_IP/grub/grub.cfg-01-${M1//:/-}"; echo $?)"
check "it is the rendered GRUB menu" grep -q "menuentry 'pxecast: install alma9 on web1'" "$WORK/tftp.grub"
expect_eq "unknown MAC over TFTP: file not found (curl 68)" 68 "$(in_cli 10 curl -s -o /dev/null "tftp://$SRV_IP/pxelinux.cfg/01-${M9//:/-}"; echo $?)"
expect_eq "the kickstart needs a token, so not over TFTP" 68 "$(in_cli 10 curl -s -o /dev/null "tftp://$SRV_IP/ks/$M1"; echo $?)"

section "SIGHUP re-reads templates"
echo "# edited by the operator" >>"$TEMPLATES/pxelinux.cfg"
kill -HUP "$SERVER_PID"
check "reload logged" wait_log 'event=config.reload result=ok' 1
get "$U/pxelinux.cfg/01-${M1//:/-}" >/dev/null
check "the edited template is served" grep -qx "# edited by the operator" "$WORK/out"
echo "{{#broken}}" >>"$TEMPLATES/pxelinux.cfg"
kill -HUP "$SERVER_PID"
check "a broken template is refused with file:line" wait_log "event=config.reload result=rejected error=.*pxelinux.cfg:[0-9]+: unclosed_section" 1
expect_eq "the running templates still serve" 200 "$(get "$U/pxelinux.cfg/01-${M1//:/-}")"
sed -i '$d' "$TEMPLATES/pxelinux.cfg"

section "gzip"
hdr=$(in_cli 10 curl -s --compressed -D - -o "$WORK/gz.ks" "$KS" | tr -d '\r')
expect_eq "kickstart sent gzip'ed when asked" "Content-Encoding: gzip" "$(grep -i '^content-encoding' <<<"$hdr")"
# tokens inside are minted per request (expiry = now + lifetime): compare without them
check "decompressed kickstart is the same text" cmp -s <(sed -E 's/token=[0-9a-f-]+//' "$WORK/gz.ks") <(sed -E 's/token=[0-9a-f-]+//' "$WORK/m1.ks")
expect_eq "no-store on per-host answers" "Cache-Control: no-store" "$(grep -i '^cache-control' <<<"$hdr")"

section "install state"
SU=$(grep -oE "http://[^']+/state\?token=[^']+" "$WORK/m1.ks" | head -1)
expect_eq "POST state without token: 403" 403 "$(get -X POST -d state=installed "$U/api/hosts/$M1/state")"
expect_eq "POST unknown state: 400" 400 "$(get -X POST -d state=flying "$SU")"
expect_eq "POST installing" 200 "$(get -X POST -d state=installing "$SU")"
expect_eq "POST installed (JSON body)" 200 "$(get -X POST -H 'Content-Type: application/json' -d '{"state":"installed"}' "$SU")"
check "reply says installed" grep -q '"state":"installed"' "$WORK/out"
expect_eq "POST to a file path: 405" 405 "$(get -X POST -d x "$U/boot/$M1.ipxe.txt")"
check "journal has the rows" grep -qE "^$M1 installed [0-9]+\$" "$WORK/hosts.journal"
check "pxecast hosts: web1 installed" bash -c "'$PXECAST' hosts --config '$WORK/pxecast.conf' | grep -E '^$M1 +web1 +alma9 +installed '"
check "pxecast hosts: db1 booting" bash -c "'$PXECAST' hosts --config '$WORK/pxecast.conf' | grep -E '^$M2 +db1 +debian12 +booting '"
# booting x4 (+1 over HTTPS), installing, installed; counted across the SIGHUPs above
expect_eq "metrics: state changes" 1 "$(wait_metric pxecast_provision_state_changes -ge 7 && echo 1)"

section "restart keeps states and tokens"
stop_server TERM
start_server "$WORK/pxecast.conf"
expect_eq "API after restart" 200 "$(get "$U/api/hosts")"
check "web1 still installed" python3 -c "
import json
hosts = {h['mac']: h for h in json.load(open('$WORK/out'))}
assert hosts['$M1']['state'] == 'installed', hosts['$M1']
assert hosts['$M1']['booting'] > 0 and hosts['$M1']['installed'] >= hosts['$M1']['booting']
assert hosts['$M4']['state'] == 'booting'
"
expect_eq "a token issued before the restart still opens the kickstart" 200 "$(get "$KS")"

finish
