#!/usr/bin/env bash
# Every kind of bad input over the wire (python3 socket client, tftp_wire.py):
# short and malformed datagrams, names that escape the root or are not
# regular files, invalid and duplicate options, clamped limits, foreign
# TIDs, duplicate requests, max-sessions, the UEFI tsize probe. Each group
# also checks the counters it moved in the metrics file.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd python3

setup_net 1
R=$WORK/root
mkfile "$R/file1k" 1K
mkfile "$R/file64k" 64K
mkfile "$R/sub/inner.bin" 3000
echo "secret outside the root" >"$WORK/outside.txt"
ln -s /etc/passwd "$R/escape-abs"
ln -s ../outside.txt "$R/escape-rel"
ln -s ../.. "$R/sub/escape-dir"
ln -s file1k "$R/link-in"
mkfifo "$R/fifo"
mknod "$R/nulldev" c 1 3 2>/dev/null || say "note: mknod failed, no device node case"
mkfile "$R/$(printf 'inj\nlevel=err event=forged x="')" 100
"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$R/sock" ||
	say "note: no unix socket case"

base_config "$WORK/pxecast.conf" "max-blksize = 1468" "max-window = 8" "max-sessions = 4"
start_server "$WORK/pxecast.conf"

W=(--root "$R" --metrics "$METRICS" --max-blksize 1468 --max-window 8 --max-sessions 4)
for group in malformed access options sessions; do
	section "$group"
	check "wire scenario '$group'" wire 240 "$group" "${W[@]}" --outside "$WORK/outside.txt"
done

section "UEFI: tsize probe answered with ERROR 8, 20 times"
check "wire scenario 'tsize-probe'" wire 60 tsize-probe --root "$R" --name file64k --count 20
metrics_fresh
expect_eq "sessions_active at the next metrics rewrite (retries would last ~40s)" 0 "$(metric sessions_active)"
expect_eq "timeouts_total" 0 "$(metric timeouts)"

section "log lines"
check "a file name with a newline is served" \
	wire 30 get --name "$(printf 'inj\nlevel=err event=forged x="')" --sha "$(sha "$R/$(printf 'inj\nlevel=err event=forged x="')")"
check "its log line is one line (no forged event)" wait_log 'event=tftp.done .*file=inj' 1 5
check "no forged line in the log" sh -c "! grep -q '^level=err event=forged' '$SERVER_LOG'"
check "every finished transfer logged a tftp.done line" wait_log 'event=tftp.done' \
	"$(($(metric transfers_ok) + $(metric transfers_failed)))"
check "client strings in the log are one line each (no raw control bytes)" \
	sh -c "! grep -qP '[\x00-\x08\x0b-\x1f\x7f]' '$SERVER_LOG'"
finish
