#!/bin/bash
# HTTP and HTTPS downloads with curl: whole files, HEAD, ranges, validators,
# content types, keep-alive, concurrent clients, metrics and the log line.
. "$(dirname "$0")/lib.sh" "$@"
need_cmd curl
setup_net 31

section "content"
mkdir -p "$WORK/root/boot" "$WORK/root/EFI/BOOT"
mkfile "$WORK/root/boot/big.bin" 48M
mkfile "$WORK/root/boot/vmlinuz" 3M
echo "hello" >"$WORK/root/boot/hello.txt"
mkfile "$WORK/root/EFI/BOOT/BOOTX64.EFI" 700K
: >"$WORK/root/empty"
mkfile "$WORK/root/boot/small.cfg" 10K
mkfile "$WORK/root/boot/edge.bin" 16385
ln -s /etc "$WORK/root/escape"
test_cert
# No [http] root: it defaults to the [tftp] one.
base_config "$WORK/pxecast.conf"
{
	echo "[http]"
	echo "listen = $SRV_IP:80"
	echo "header-timeout = 3"
	if [ -n "$TLS" ]; then
		echo "https-listen = $SRV_IP:443"
		echo "certificate = $WORK/cert.pem"
		echo "key = $WORK/key.pem"
	fi
} >>"$WORK/pxecast.conf"
start_server "$WORK/pxecast.conf"
U=http://$SRV_IP

# fetch NAME: GET into $WORK/got/NAME, compare with the root's copy.
fetch_same() {
	mkdir -p "$(dirname "$WORK/got/$1")"
	in_cli 60 curl -sf ${3:-} -o "$WORK/got/$1" "${2:-$U}/$1" && same_file "$WORK/root/$1" "$WORK/got/$1"
}

section "GET and HEAD"
check "GET 48 MiB file, same bytes" fetch_same boot/big.bin
check "GET 3 MiB file, same bytes" fetch_same boot/vmlinuz
check "GET empty file" fetch_same empty
check "GET 10 KiB file (sent with its head), same bytes" fetch_same boot/small.cfg
check "GET 16 KiB + 1 file (spliced), same bytes" fetch_same boot/edge.bin
hdr=$(in_cli 10 curl -sfI "$U/boot/vmlinuz" | tr -d '\r')
expect_eq "HEAD Content-Length" "Content-Length: 3145728" "$(grep -i '^content-length' <<<"$hdr")"
expect_eq "HEAD Accept-Ranges" "Accept-Ranges: bytes" "$(grep -i '^accept-ranges' <<<"$hdr")"
expect_eq "HEAD sends no body" 0 "$(in_cli 10 curl -s -o /dev/null -w '%{size_download}' -I "$U/boot/vmlinuz")"
expect_eq "Content-Type of .efi" "application/efi" \
	"$(in_cli 10 curl -s -o /dev/null -w '%{content_type}' "$U/EFI/BOOT/BOOTX64.EFI")"
expect_eq "Content-Type of .txt" "text/plain; charset=utf-8" \
	"$(in_cli 10 curl -s -o /dev/null -w '%{content_type}' "$U/boot/hello.txt")"

section "Range"
range_same() { # RANGE SKIP COUNT
	in_cli 10 curl -sf -r "$1" "$U/boot/vmlinuz" -o "$WORK/part" &&
		cmp -s "$WORK/part" <(tail -c +"$(($2 + 1))" "$WORK/root/boot/vmlinuz" | head -c "$3")
}
check "Range 0-99" range_same 0-99 0 100
check "Range 1000- (to the end)" range_same 1000- 1000 $((3145728 - 1000))
check "Range -500 (suffix)" range_same -500 $((3145728 - 500)) 500
check "Range past the end is clamped" range_same 3145000-9999999 3145000 728
expect_eq "Range 206 status" 206 "$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -r 5-9 "$U/boot/vmlinuz")"
expect_eq "Range from past EOF: 416" 416 "$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -r 9999999- "$U/boot/vmlinuz")"
check "curl -C - resumes a cut download" bash -c "head -c 1000000 '$WORK/root/boot/vmlinuz' >'$WORK/resume' &&
	ip netns exec $CLI_NS curl -sf -C - -o '$WORK/resume' '$U/boot/vmlinuz' && cmp -s '$WORK/resume' '$WORK/root/boot/vmlinuz'"

section "validators"
etag=$(in_cli 10 curl -sfI "$U/boot/vmlinuz" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
lm=$(in_cli 10 curl -sfI "$U/boot/vmlinuz" | tr -d '\r' | awk -F': ' 'tolower($1) == "last-modified" { print $2 }')
check "ETag present" test -n "$etag"
expect_eq "If-None-Match with the ETag: 304" 304 \
	"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$U/boot/vmlinuz")"
expect_eq "If-None-Match with another ETag: 200" 200 \
	"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "x-1"' "$U/boot/vmlinuz")"
expect_eq "If-Modified-Since Last-Modified: 304" 304 \
	"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$U/boot/vmlinuz")"
expect_eq "If-Range with a stale ETag: whole file" 200 \
	"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -r 0-9 -H 'If-Range: "old-1"' "$U/boot/vmlinuz")"

section "refusals"
expect_eq "missing file: 404" 404 "$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' "$U/nope")"
expect_eq "directory: 404, no listing" 404 "$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' "$U/boot/")"
expect_eq "symlink out of the root: 403" 403 "$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' "$U/escape/passwd")"
expect_eq "encoded ..: 400" 400 "$(in_cli 10 curl -s --path-as-is -o /dev/null -w '%{http_code}' "$U/boot/%2e%2e/%2e%2e/etc/passwd")"
expect_eq "POST: 405" 405 "$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' -d x "$U/boot/hello.txt")"

section "keep-alive"
out=$(in_cli 20 curl -sv -o /dev/null -o /dev/null -o /dev/null "$U/boot/hello.txt" "$U/boot/vmlinuz" "$U/nope" 2>&1)
expect_eq "three requests, one connection" 2 "$(grep -c 'Re-using existing connection' <<<"$out")"

section "20 concurrent clients"
pids=()
for i in $(seq 1 20); do
	in_cli 120 curl -sf -o "$WORK/c$i" "$U/boot/big.bin" &
	pids+=($!)
done
okc=0
for i in $(seq 1 20); do
	wait "${pids[$((i - 1))]}" && same_file "$WORK/c$i" "$WORK/root/boot/big.bin" && okc=$((okc + 1))
	rm -f "$WORK/c$i"
done
expect_eq "concurrent downloads intact" 20 "$okc"

if [ -n "$TLS" ]; then
	section "HTTPS"
	S=https://$SRV_IP
	check "HTTPS GET 48 MiB, same bytes" fetch_same boot/big.bin "$S" -k
	check "HTTPS GET verified against the certificate" \
		in_cli 20 curl -sf --cacert "$WORK/cert.pem" --resolve "pxecast-test:443:$SRV_IP" \
		-o /dev/null https://pxecast-test/boot/hello.txt
	expect_eq "HTTPS Range" 206 "$(in_cli 10 curl -sk -o /dev/null -w '%{http_code}' -r 0-9 "$S/boot/vmlinuz")"
	expect_eq "HTTPS 404" 404 "$(in_cli 10 curl -sk -o /dev/null -w '%{http_code}' "$S/nope")"
	out=$(in_cli 20 curl -skv -o /dev/null -o /dev/null "$S/boot/hello.txt" "$S/boot/vmlinuz" 2>&1)
	expect_eq "HTTPS keep-alive" 1 "$(grep -c 'Re-using existing connection' <<<"$out")"
	if [ -n "$PY" ]; then
		line=$(in_cli 20 "$PY" "$HERE/http_wire.py" --server "$SRV_IP" --port 443 --slow "$SLOW" --limit 3 idle)
		check "a silent TLS client is cut off at the header timeout: $line" test "${line%% *}" = ok
	fi
	expect_eq "plain HTTP on the TLS port is refused" 000 \
		"$(in_cli 10 curl -s -o /dev/null -w '%{http_code}' "http://$SRV_IP:443/boot/hello.txt")"
else
	say "openssl missing: HTTPS part skipped"
fi

section "log and metrics"
check "one log line per request" wait_log 'event=http.request client=10\.200\.31\.2:[0-9]+ method=GET path=/boot/vmlinuz status=200 bytes=[0-9]+ seconds=' 1
check "requests counted" wait_metric pxecast_http_requests_total -ge 40
check "no connection left open" wait_metric pxecast_http_connections_active -eq 0
finish
