#!/usr/bin/env bash
# Block-number rollover: more than 65535 blocks. 100 MiB at blksize 512
# (204801 blocks: the 16-bit number wraps three times) with curl (lock-step)
# and atftp (windowsize 16), and the wire-level client checks that the
# block after 65535 goes out as 0 (blksize 8, a 600 KiB file).
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl atftp python3

setup_net 3
R=$WORK/root
mkfile "$R/f100m" 100M
mkfile "$R/f600k" 600K
base_config "$WORK/pxecast.conf" "cache-size = 8M"
start_server "$WORK/pxecast.conf"
want=$(sha "$R/f100m")

section "curl, blksize 512, lock-step"
in_cli 180 curl -sS --tftp-blksize 512 -o "$WORK/curl.out" "tftp://$SRV_IP/f100m"
rc=$?
check "curl exit 0 and sha256 identical" test $rc = 0 -a "$want" = "$(sha "$WORK/curl.out" 2>/dev/null)"
rm -f "$WORK/curl.out"

section "atftp, blksize 512, windowsize 16"
in_cli 180 atftp --option "blksize 512" --option "windowsize 16" -g -r f100m -l "$WORK/atftp.out" \
	"$SRV_IP" 69 >"$WORK/atftp.log" 2>&1
rc=$?
[ $rc = 0 ] || tail -5 "$WORK/atftp.log"
check "atftp exit 0 and sha256 identical" test $rc = 0 -a "$want" = "$(sha "$WORK/atftp.out" 2>/dev/null)"
rm -f "$WORK/atftp.out"

section "wire: block numbers after 65535"
check "wire scenario 'rollover' (blksize 8, windowsize 64)" \
	wire 120 rollover --root "$R" --name f600k --blksize 8 --window 64

section "server side"
check "3 transfers ok, none failed" wait_metric transfers_ok -eq 3
expect_eq "transfers_failed_total" 0 "$(metric transfers_failed)"
cached=$(metric store_cached_bytes)
check "the content cache stayed within cache-size 8M ($cached bytes cached)" test "$cached" -le 8388608
say "store_chunk_loads_total $(metric store_chunk_loads_total), store_chunk_hits_total $(metric store_chunk_hits_total)"
expect_eq "log: f100m sent in full twice at blksize 512" 2 \
	"$(grep -c 'event=tftp.done .*file=f100m dir=download bytes=104857600 .*blksize=512 .*result=ok' "$SERVER_LOG")"
finish
