#!/bin/bash
# `fragnet stats --prometheus`: every counter of a running topology in
# Prometheus' text exposition format, checked by the real `promtool check
# metrics` (Debian's prometheus package) and against `stats --json`; and
# `fragnet top --batch`, which reads the same exposition.
#
#   root namespace (kernel stack)        fragnet topology fnt-prom-PID
#
#   [fnt-m<pid>] 10.236.N.1/24 ══ tap ═══ nic ── driver/0 ══link0══ stack/0
#   icmp_ping 10.236.N.2 (5 echoes)                     10.236.N.2/24
#
#   1. after 5 echoes, the exposition passes `promtool check metrics`
#      (format and lint: HELP, TYPE, counters named *_total)
#   2. every component has fragnet_component_up 1 and its restarts
#   3. counters agree with stats --json: the stack's icmp_echo_rx (5 or
#      more: the same snapshot moment is not guaranteed, so >= the json
#      value read before), the nic's gauges are typed gauge
#   4. `--prometheus` and `--json` together: the last one wins; a bad flag
#      is a usage error (exit 2)
#   5. fragnet top --batch 3 under a ping flood: stack/0 and driver/0 show
#      packets per second and CPU; top refuses a terminal view without a
#      terminal, and bad --batch and --delay values (exit 2)
#   6. [topology] metrics = 127.0.0.1:PORT (issue 18), the same topology:
#      curl of /metrics has the exposition's content type, passes promtool
#      and has the samples (names and labels) of stats --prometheus; 404,
#      405, a garbage request, an oversized one and a silent client are
#      answered or dropped, and the next scrape works; the server
#      (`fragnet metrics-serve`) runs as fragnet-stack with no capability,
#      NoNewPrivs and a seccomp filter, in namespaces of its own; killed,
#      it is restarted and serves again; after down nothing listens on
#      PORT and the server is gone
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || fn_skip "no promtool (Debian package prometheus; scripts/setup installs it)"
command -v curl >/dev/null || fn_skip "no curl"
: "${FN_STACK:?}"
nic_init prom "fnt-m$$"
fn_net 10.236
fn_bin STACK "$FN_STACK"
PORT=$(free_port) || fn_skip "no free TCP port"
URL="http://127.0.0.1:$PORT/metrics"
tap_topology metrics="127.0.0.1:$PORT"
fn_up
wait_tap_up
icmp_ping "$STACK_IP" 5 --every 0.05 || fail_stats "pings not all answered"

stats_json "$T/before.json"
fn stats --prometheus "$NAME" > "$T/m.prom" || fn_fail "stats --prometheus failed"
[[ -s $T/m.prom ]] || fn_fail "empty exposition"

# 1. promtool: the format and its lint
out=$(promtool check metrics < "$T/m.prom" 2>&1) || {
	fn_log "$out"
	fn_fail "promtool check metrics refused the exposition"
}
fn_log "promtool check metrics: ok ($(grep -vc '^#' "$T/m.prom") samples)"

# value FAMILY COMPONENT: the sample of FAMILY for component="COMPONENT"
value() {
	awk -v f="$1" -v c="component=\"$2\"" \
		'index($0, f "{") == 1 && index($0, c) { print $NF; found = 1 }
		 END { if (!found) print -1 }' "$T/m.prom"
}

# 2. every component is up
for c in nic driver/0 stack/0 app/0; do
	grep -q "component=\"$c\"" "$T/m.prom" || continue
	[[ $(value fragnet_component_up "$c") == 1 ]] || fn_fail "$c not up in the exposition"
	[[ $(value fragnet_component_restarts_total "$c") == 0 ]] || fn_fail "$c restarted"
done

# 3. the same counters as the JSON
want=$(counter_of "$T/before.json" stack/0 stack.icmp_echo_rx)
got=$(value fragnet_stack_icmp_echo_rx_total stack/0)
((want >= 5 && got >= want)) || fn_fail "icmp_echo_rx: json $want, prometheus $got"
grep -q '^# TYPE fragnet_nic_mbufs_in_use gauge$' "$T/m.prom" ||
	fn_fail "fragnet_nic_mbufs_in_use is not a gauge"
grep -q "^fragnet_driver_rx_pkts_total{topology=\"$NAME\",component=\"driver/0\",pipeline=\"0\"} [1-9]" "$T/m.prom" ||
	fn_fail "driver/0 rx_pkts missing or zero, or labels changed"
grep -q '^fragnet_component_cpu_seconds_total{.*component="stack/0".*} [0-9]*\.[0-9][0-9][0-9]$' "$T/m.prom" ||
	fn_fail "no cpu seconds for stack/0"

# 4. usage
rc=0
fn stats --bogus "$NAME" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fn_fail "stats --bogus: exit $rc, want 2"
fn stats --json --prometheus "$NAME" | promtool check metrics >/dev/null 2>&1 ||
	fn_fail "--json --prometheus: the last format does not win"

# 5. top
icmp_ping "$STACK_IP" 400 --every 0.005 >/dev/null 2>&1 &
LOAD_PIDS+=($!)
fn top --batch 3 --delay 0.5 "$NAME" > "$T/top.txt" || fn_fail "top --batch failed"
cat "$T/top.txt" >&2
# the last frame: COMPONENT PIPE UP CPU% PKT/s ...
for c in stack/0 driver/0; do
	row=$(awk -v c="$c" '$1 == c' "$T/top.txt" | tail -1)
	[[ -n $row ]] || fn_fail "top shows no $c"
	read -r _ _ up _ pkts _ <<< "$row"
	[[ $up == up && $pkts != 0 ]] || fn_fail "top: $c not up or no packets/s: $row"
done
[[ $(grep -c '^fragnet top: topology' "$T/top.txt") == 3 ]] || fn_fail "top --batch 3 printed no 3 frames"
rc=0; fn top "$NAME" < /dev/null > /dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fn_fail "top without a terminal: exit $rc, want 2"
rc=0; fn top --batch 0 "$NAME" > /dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fn_fail "top --batch 0: exit $rc, want 2"
rc=0; fn top --delay 0.01 --batch 1 "$NAME" > /dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fn_fail "top --delay 0.01: exit $rc, want 2"

# 6. the metrics endpoint
# samples FILE: each sample's name and labels, sorted
samples() { awk '!/^#/ { sub(/ [^ ]*$/, ""); print }' "$1" | sort; }
# code [CURL-ARGS...]: the HTTP status curl gets
code() { curl -s --max-time 20 -o /dev/null -w '%{http_code}' "$@" || true; }
# raw HEX: send those bytes, print the reply's status line (or why none)
raw() {
	timeout 30 python3 - "$PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
try:
    s.sendall(bytes.fromhex(sys.argv[2]))
    print(s.makefile("rb").readline().decode("latin-1").strip() or "closed")
except (ConnectionResetError, BrokenPipeError):
    print("reset")
PY
}
scrape() {
	curl -sf --max-time 20 -D "$T/h.txt" -o "$T/c.prom" "$URL" ||
		fn_fail "curl $URL failed"
	out=$(promtool check metrics < "$T/c.prom" 2>&1) || {
		fn_log "$out"
		fn_fail "promtool check metrics refused the scrape of $URL"
	}
}
scrape
grep -qi '^content-type: text/plain; version=0.0.4' "$T/h.txt" ||
	fn_fail "scrape: content type: $(cat "$T/h.txt")"
fn stats --prometheus "$NAME" > "$T/m2.prom"
diff <(samples "$T/c.prom") <(samples "$T/m2.prom") > "$T/samples.diff" ||
	fn_fail "scrape and stats --prometheus differ: $(cat "$T/samples.diff")"
fn_log "scrape: $(grep -vc '^#' "$T/c.prom") samples, as stats --prometheus"
head -4 "$T/c.prom" >&2

[[ $(code "http://127.0.0.1:$PORT/") == 404 ]] || fn_fail "GET / is not 404"
[[ $(code "http://127.0.0.1:$PORT/metrics/x") == 404 ]] || fn_fail "GET /metrics/x is not 404"
[[ $(code -X POST "$URL") == 405 ]] || fn_fail "POST /metrics is not 405"
got=$(raw 16030100a5010000a10303000102030405060708090a0d0a0d0a)
[[ $got == "HTTP/1.1 400 Bad Request" ]] || fn_fail "garbage: '$got', want a 400"
# 8 KiB of header: 431, or a reset when the server closes before reading it all
got=$(raw "$(printf 'GET /metrics HTTP/1.1\r\nX: %08192d\r\n\r\n' 0 | od -An -v -tx1 | tr -d ' \n')")
[[ $got == "HTTP/1.1 431 Request Header Fields Too Large" || $got == reset ]] ||
	fn_fail "an oversized request: '$got'"
# a client that says nothing holds the one connection for a while at most
timeout 30 python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(8)' "$PORT" &
LOAD_PIDS+=($!)
sleep 0.5
scrape
fn_log "404, 405, garbage, oversized and a silent client: the next scrape still works"

stats_json "$T/j.json"
mpid() {
	stats_py "$T/j.json" <<'PY'
m = stats(sys.argv[1])["supervisor"]["metrics"]
print(m["pid"] if m["state"] == "running" else 0)
PY
}
pid=$(mpid)
[[ $pid =~ ^[1-9][0-9]*$ ]] || fn_fail "no running metrics server in stats --json"
want="$(id -u fragnet-stack) 0000000000000000 0000000000000000 1 2"
got=$(proc_confinement "$pid")
[[ $got == "$want own:"*" own:"* ]] ||
	fn_fail "metrics server pid $pid: '$got', want '$want' in namespaces of its own"
fn_log "metrics server pid $pid: $got"
kill -KILL "$pid"
restarted_metrics() {
	stats_json "$T/j.json" && local p && p=$(mpid) && [[ $p != 0 && $p != "$pid" ]]
}
wait_for 20 restarted_metrics || fn_fail "the metrics server was not restarted"
scrape
fn_log "killed, restarted as pid $(mpid), serves again"
pid=$(mpid)

topology_down
[[ -z $(ss -Htln "sport = :$PORT") ]] || fn_fail "something still listens on $PORT after down"
! kill -0 "$pid" 2>/dev/null || fn_fail "metrics server pid $pid left after down"
