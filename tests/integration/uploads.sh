#!/usr/bin/env bash
# Uploads (WRQ): tftp-hpa put and atftp -p (windowsize) land intact; a
# second upload to an existing name is refused and changes nothing; two
# uploads racing for one new name: the second gets ERROR 6; a client that
# vanishes mid-upload leaves nothing under the final name and no temporary
# file; '..' is refused; max-upload-size is enforced (with and without tsize).
. "$(dirname "$0")/lib.sh" "$@"
need_cmd tftp atftp python3

setup_net 6
R=$WORK/root
U=$WORK/up
L=$WORK/local
mkdir -p "$R" "$U/sub" "$L"
mkfile "$L/a1k" 1K
mkfile "$L/a10m" 10M
mkfile "$L/b10m" 10M
mkfile "$L/c1k" 1K
mkfile "$L/big25m" 25M
: >"$L/empty"
mkfile "$L/b512" 512
base_config "$WORK/pxecast.conf" "upload-dir = $U" "max-upload-size = 20M" \
	"retransmit-ms = 300" "retransmit-max-ms = 600" "max-retries = 3"
start_server "$WORK/pxecast.conf"

hpa_put() { in_cli 120 tftp "$SRV_IP" 69 -m binary -c put "$1" "$2"; }
atftp_put() {
	in_cli 120 atftp --option "blksize 1468" --option "windowsize 16" -p -l "$1" -r "$2" "$SRV_IP" 69
}
no_temp_files() { [ -z "$(find "$U" -name '.pxecast-upload*')" ]; }

section "tftp-hpa put"
hpa_put "$L/a1k" up1k >"$WORK/c.log" 2>&1
check "tftp-hpa put 1 KiB: intact under its name" same_file "$L/a1k" "$U/up1k"
hpa_put "$L/a10m" up10m >"$WORK/c.log" 2>&1
check "tftp-hpa put 10 MiB: intact under its name" same_file "$L/a10m" "$U/up10m"
hpa_put "$L/c1k" sub/in-sub >"$WORK/c.log" 2>&1
check "tftp-hpa put into a subdirectory: intact" same_file "$L/c1k" "$U/sub/in-sub"

hpa_put "$L/empty" empty >"$WORK/c.log" 2>&1
check "tftp-hpa put of an empty file: an empty file" same_file "$L/empty" "$U/empty"
hpa_put "$L/b512" b512 >"$WORK/c.log" 2>&1
check "tftp-hpa put of exactly 512 bytes (then an empty block): intact" same_file "$L/b512" "$U/b512"

section "atftp -p (blksize 1468, windowsize 16)"
atftp_put "$L/b10m" at10m >"$WORK/c.log" 2>&1
rc=$?
[ $rc = 0 ] || tail -5 "$WORK/c.log"
check "atftp put 10 MiB: exit 0, intact under its name" test $rc = 0 -a "$(sha "$L/b10m")" = "$(sha "$U/at10m" 2>/dev/null)"
check "log: the atftp upload ran with windowsize 16" \
	wait_log 'event=tftp.done .*file=at10m dir=upload bytes=10485760 .*windowsize=16 result=ok' 1 5

section "a second upload to an existing name is refused"
hpa_put "$L/c1k" up1k >"$WORK/c.log" 2>&1
check "tftp-hpa reports the refusal" grep -qi "exists" "$WORK/c.log"
check "up1k still holds the first content" same_file "$L/a1k" "$U/up1k"
atftp_put "$L/b10m" up10m >"$WORK/c.log" 2>&1
rc=$?
check "atftp put onto up10m fails (exit $rc)" test $rc != 0
check "up10m still holds the first content" same_file "$L/a10m" "$U/up10m"
check "wire: WRQ onto an existing name -> ERROR 6" wire 30 put --name up1k --file "$L/c1k" --expect-error 6
check "up1k unchanged" same_file "$L/a1k" "$U/up1k"

section "two uploads racing for one new name"
check "wire scenario 'upload-race'" wire 60 upload-race --name raced --updir "$U"

section "names outside the upload directory"
for n in ../evil.bin sub/../../evil.bin ..\\evil.bin; do
	check "wire: WRQ '$n' -> ERROR 2" wire 30 put --name "$n" --file "$L/c1k" --expect-error 2
done
check "nothing was written outside the upload directory" test ! -e "$WORK/evil.bin"

section "a client vanishing mid-upload"
to_before=$(fresh_metric timeouts)
check "wire scenario 'partial-upload' (40 blocks, then gone)" \
	wire 30 partial-upload --name partial.bin --updir "$U" --blocks 40
check "sessions_active back to 0" wait_metric sessions_active -eq 0 20
check "the upload timed out (timeouts_total +1)" wait_metric timeouts -eq $((to_before + 1)) 5
check "nothing under the final name partial.bin" test ! -e "$U/partial.bin"
check "no temporary upload file left behind" no_temp_files

section "max-upload-size = 20M"
check "wire: WRQ with tsize 25 MiB -> ERROR 3" \
	wire 30 put --name big-tsize --file "$L/big25m" --opt tsize=26214400 --expect-error 3
check "nothing under big-tsize" test ! -e "$U/big-tsize"
check "wire: WRQ with tsize 1 KiB (under the cap) is accepted" \
	wire 30 put --name small-tsize --file "$L/c1k" --opt tsize=1024
check "small-tsize intact" same_file "$L/c1k" "$U/small-tsize"
# up1k up10m sub/in-sub empty b512 at10m raced small-tsize
expect_eq "uploads_total (successful uploads so far)" 8 "$(fresh_metric uploads)"
# Regression (fixed in 8100fb4): max-upload-size was only compared with the
# tsize option; an upload without tsize was written past the cap.
hpa_put "$L/big25m" big-notsize >"$WORK/c.log" 2>&1
check "tftp-hpa put of 25 MiB without tsize is refused (nothing under big-notsize)" \
	test ! -e "$U/big-notsize"
check "sessions_active back to 0" wait_metric sessions_active -eq 0 20
check "no temporary upload file left behind" no_temp_files
finish
