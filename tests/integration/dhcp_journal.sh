#!/usr/bin/env bash
# A damaged lease journal never stops pxecast (Kea CVE-2019-6474 shape):
# garbage, a row with a bad checksum, a malformed row and a torn tail are
# skipped and counted, every good lease is served again, and the journal is
# rewritten clean at start. SIGHUP with DHCP sections keeps serving.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/dhcp_lib.sh"
[ -n "$PY" ] || skip "python3 is not installed"

dhcp_net 45
dhcp_config "$WORK/pxecast.conf" "[dhcp]" "rate-per-sec = 100"
REC=$WORK/acked
start_server "$WORK/pxecast.conf"
check "wire client: 50 machines get leases" dwire 30 load --seconds 1 --window 8 --macs 50 --record "$REC"
stop_server TERM
good=$(grep -c '^L1 ' "$WORK/leases")
say "journal: $good rows"

section "damage the journal"
last=$(grep '^L1 ' "$WORK/leases" | tail -1)
{
	echo "this is not a lease row"
	echo "L1 bound zz:zz:zz:zz:zz:zz 10.200.45.150 1999999999 - 00000000"
	# the last good row with another address: its checksum no longer matches
	echo "$last" | awk '{ $4 = "10.200.45.199"; print }'
	printf 'L1 bound 02:00:00:00:00:01 10.200.45.1'   # torn: no newline
} >>"$WORK/leases"
start_server "$WORK/pxecast.conf"
check "pxecast started on the damaged journal" kill -0 "$SERVER_PID"
expect_eq "bad rows counted" 4 "$(dmetric journal_rows_bad)"
check "good rows loaded" test "$(dmetric journal_rows_loaded)" -ge "$good"
check "every recorded lease is served again" dwire 60 verify --record "$REC"
expect_eq "journal rewritten without the damaged rows" 0 \
	"$(grep -cE 'not a lease|zz:zz|10\.200\.45\.199|10\.200\.45\.1$' "$WORK/leases")"

section "SIGHUP"
kill -HUP "$SERVER_PID"
check "reload logs that DHCP changes need a restart" wait_log 'DHCP changes need a restart' 1
check "still serving after SIGHUP" dwire 30 link
finish
