#!/bin/bash
# Two more unmodified servers as apps (issue 17): Debian's nginx and
# memcached, their sockets carried by libfragnet-preload.so to their own
# fragnet-stack behind a driver and the tap NIC, driven by their stock
# client tools from the kernel's side of the tap.
#
#   root namespace (kernel stack)        fragnet topology fnt-srv-CASE-PID
#
#   curl, wrk                            nic (net_tap) - driver/0 ══ stack/0 ══sockchan══ app/0
#   memccp, memccat, memcaslap           10.232.N.2/24       nginx :8080 (scripts/nginx-server)
#   [fnsPID] 10.232.N.1/24 ═══ tap ═════                     or memcached :11211 (4 threads)
#                                                            (fragnet-app, LD_PRELOAD)
#
# One case per run (test_servers.sh CASE):
#   nginx      three files (13 B, 100 KiB, 1 MiB) fetched with curl, each
#              checked byte for byte (sha256), twice over one keep-alive
#              connection; a 404; the app runs as the app user with the
#              preload and no kernel socket on its port; then wrk for 3 s
#              with 20 connections: requests done, no socket error, no
#              non-2xx answer
#   memcached  memccp of a small and a 512 KiB value, memccat of both back
#              byte for byte, memcrm, memcexist; then memcaslap (Debian's
#              name for memaslap) for 3 s with 16 connections: operations
#              done, gets verified, no error or miss reported
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CASE=${1:?usage: test_servers.sh CASE}

srv_init() {	# srv_init CASE PROGRAM...
	local p
	nic_init "srv-$1" "fns$$"
	shift
	: "${FN_STACK:?}" "${FN_PRELOAD:?}"
	[[ -f $FN_PRELOAD ]] || fn_skip "libfragnet-preload.so is not built ($FN_PRELOAD)"
	for p; do
		command -v "$p" >/dev/null || fn_skip "no $p (sudo scripts/setup)"
	done
	fn_bin STACK "$FN_STACK" fragnet-stack
	APP_USER=fragnet-app
	getent passwd "$APP_USER" >/dev/null || fn_skip "no user $APP_USER (sudo scripts/setup)"
	fn_net 10.232
}

# srv_up EXEC ARGS: the tap topology, one pipeline, EXEC as its app.
srv_up() {
	tap_topology stack.profile=full app.exec="$1" app.args="$2" \
		app.user="$APP_USER" app.preload=yes
	fn_up
	wait_tap_up
	wait_running
}

case_nginx() {
	local www work url f g urls=()
	srv_init nginx nginx curl wrk
	www=$T/www work=$T/nginx
	install -d -m 0755 "$www"
	install -d -o "$APP_USER" -m 0700 "$work"
	printf 'hello fragnet' > "$www/small.txt"
	head -c $((100 << 10)) /dev/urandom > "$www/mid.bin"
	head -c $((1 << 20)) /dev/urandom > "$www/big.bin"
	chmod 644 "$www"/*
	fn_bin NGINX_SERVER "$FN_ROOT/scripts/nginx-server"
	srv_up "$NGINX_SERVER" "--listen {address}:8080 --root $www --dir $work"
	url=http://$STACK_IP:8080
	wait_for 20 curl -sf -o /dev/null --max-time 2 "$url/small.txt" ||
		fail_stats "nginx does not answer"
	app_is_preloaded 0 8080
	for f in small.txt mid.bin big.bin small.txt mid.bin big.bin; do
		urls+=("$url/$f" -o "$T/got.$f.${#urls[@]}")
	done
	# one curl, one connection: six answers over keep-alive
	timeout 60 curl -sf --max-time 50 "${urls[@]}" ||
		fail_stats "curl of the three files"
	for f in small.txt mid.bin big.bin; do
		for g in "$T"/got."$f".*; do
			cmp -s "$www/$f" "$g" || fail_stats "$f: got $(stat -c %s "$g") bytes, not the file"
		done
	done
	[[ $(timeout 10 curl -s -o /dev/null -w '%{http_code}' "$url/none") == 404 ]] ||
		fail_stats "no 404 for a missing file"
	timeout 30 wrk -t 2 -c 20 -d 3s "$url/mid.bin" > "$T/wrk.txt" 2>&1 ||
		fail_stats "wrk: $(cat "$T/wrk.txt")"
	fn_log "$(grep -E 'requests in|Requests/sec' "$T/wrk.txt" | tr -s ' ')"
	grep -qE '^ +[1-9][0-9]* requests in' "$T/wrk.txt" || fail_stats "wrk did nothing: $(cat "$T/wrk.txt")"
	! grep -qE 'Socket errors|Non-2xx' "$T/wrk.txt" || fail_stats "wrk: $(cat "$T/wrk.txt")"
	topology_down
	echo "ok: nginx served 3 files byte for byte over keep-alive, a 404, and wrk without errors"
}

case_memcached() {
	local mc f
	srv_init memcached memcached memccp memccat memcrm memcexist memcaslap
	mc=(--servers="$STACK_IP:11211")
	fn_bin MEMCACHED "$(readlink -f "$(command -v memcached)")" memcached
	srv_up "$MEMCACHED" "-l {address} -p 11211 -m 64 -c 1024"
	wait_for 20 timeout 5 memcping "${mc[@]}" || fail_stats "memcached does not answer"
	app_is_preloaded 0 11211
	mkdir "$T/put" "$T/get"
	printf 'hello fragnet' > "$T/put/small"
	head -c $((512 << 10)) /dev/urandom > "$T/put/big"
	for f in small big; do
		(cd "$T/put" && timeout 10 memccp "${mc[@]}" "$f") || fail_stats "memccp $f"
		timeout 10 memccat "${mc[@]}" "$f" > "$T/get/$f" || fail_stats "memccat $f"
		# memccat ends each value with a newline of its own
		[[ $(stat -c %s "$T/get/$f") == $(($(stat -c %s "$T/put/$f") + 1)) ]] &&
			cmp -s "$T/put/$f" <(head -c -1 "$T/get/$f") ||
			fail_stats "$f: got $(stat -c %s "$T/get/$f") bytes back, not the value"
	done
	timeout 10 memcrm "${mc[@]}" small || fail_stats "memcrm"
	! timeout 10 memcexist "${mc[@]}" small || fail_stats "small still exists after memcrm"
	timeout 10 memcexist "${mc[@]}" big || fail_stats "big is gone"
	timeout 60 memcaslap -s "$STACK_IP:11211" -t 3s -T 2 -c 16 --verify=0.1 \
		> "$T/slap.txt" 2>&1 || fail_stats "memcaslap: $(cat "$T/slap.txt")"
	FN_SHOW_ON_FAIL+=("$T/slap.txt")
	fn_log "$(grep -E '^Run time' "$T/slap.txt")"
	grep -qE '^Run time: .* Ops: [1-9][0-9]* ' "$T/slap.txt" || fail_stats "memcaslap did nothing"
	! grep -qiE 'error|abort|timeout' "$T/slap.txt" || fail_stats "memcaslap reported errors"
	awk '$1 ~ /^(get_misses|verify_misses|verify_failed):$/ && $2 != 0 { bad = 1 }
	     END { exit bad }' "$T/slap.txt" || fail_stats "memcaslap: misses or failed verifies"
	topology_down
	echo "ok: memcached set/get round trip byte for byte, delete, memcaslap without errors"
}

case "$CASE" in
nginx) case_nginx ;;
memcached) case_memcached ;;
*) echo "unknown case $CASE (nginx, memcached)" >&2; exit 2 ;;
esac
