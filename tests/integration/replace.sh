#!/usr/bin/env bash
# A file replaced while it is being served. Renamed over mid-transfer: the
# running transfer finishes with the OLD content's sha256 and a new request
# gets the NEW content (wire-level client, deterministic; then curl with a
# tftp-hpa request during the curl transfer). Rewritten in place after it
# was served (and cached): the next request gets the new content.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl tftp python3

setup_net 7
R=$WORK/root
mkfile "$R/kernel" 4M
mkfile "$WORK/kernel.new" 4M
mkfile "$R/initrd" 40M
mkfile "$WORK/initrd.new" 40M
mkfile "$R/menu" 100K
mkfile "$WORK/menu.new" 100K
new_kernel=$(sha "$WORK/kernel.new")
old_initrd=$(sha "$R/initrd")
new_initrd=$(sha "$WORK/initrd.new")
base_config "$WORK/pxecast.conf"
start_server "$WORK/pxecast.conf"

section "wire client: rename over the file after 100 of 4097 blocks"
check "wire scenario 'replace'" wire 60 replace --root "$R" --name kernel --new "$WORK/kernel.new" --blocks 100
check "the root now holds the new kernel" test "$(sha "$R/kernel")" = "$new_kernel"
check "a later request gets the new kernel" wire 30 get --name kernel --sha "$new_kernel"

section "curl (blksize 512) mid-transfer, renamed over, tftp-hpa asks again"
ip netns exec "$CLI_NS" curl -sS --tftp-blksize 512 -o "$WORK/curl.out" "tftp://$SRV_IP/initrd" \
	>"$WORK/curl.log" 2>&1 &
curl_pid=$!
BG_PIDS+=("$curl_pid")
if wait_until 30 sh -c "[ \$(stat -c %s '$WORK/curl.out' 2>/dev/null || echo 0) -ge 1048576 ]"; then
	mv "$WORK/initrd.new" "$R/initrd"
	got=$(stat -c %s "$WORK/curl.out")
	check "curl was mid-transfer at the rename ($got of 41943040 bytes)" \
		sh -c "kill -0 $curl_pid 2>/dev/null && [ $got -lt 41943040 ]"
	in_cli 120 tftp "$SRV_IP" 69 -m binary -c get initrd "$WORK/hpa.out" >"$WORK/hpa.log" 2>&1
	check "tftp-hpa, asking during the curl transfer, got the NEW initrd" \
		test "$(sha "$WORK/hpa.out" 2>/dev/null)" = "$new_initrd"
else
	bad "curl did not receive 1 MiB within $((30 * SLOW))s"
fi
wait_until 120 sh -c "! kill -0 $curl_pid 2>/dev/null"
wait "$curl_pid"
rc=$?
check "curl finished (exit $rc) with the OLD initrd" \
	test $rc = 0 -a "$(sha "$WORK/curl.out" 2>/dev/null)" = "$old_initrd"

section "rewritten in place after being served (and cached)"
check "menu served once" wire 30 get --name menu --sha "$(sha "$R/menu")"
cat "$WORK/menu.new" >"$R/menu"
check "after the rewrite in place, the new menu is served" wire 30 get --name menu --sha "$(sha "$WORK/menu.new")"

section "server side"
check "sessions_active back to 0" wait_metric sessions_active -eq 0
expect_eq "transfers_failed_total" 0 "$(metric transfers_failed)"
finish
