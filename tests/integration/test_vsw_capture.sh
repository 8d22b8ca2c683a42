#!/bin/bash
# `fragnet capture vswitch/NET`: the switch's ports, both ways, and the
# frames it drops with their cause, read back with tcpdump and with
# pcapng_read.py (which prints each packet's interface and comment).
#
#   host: tap fnhPID 10.236.N.254 ── port 3 (host port)
#   stack/0 vn 10.236.N.1, TCP echo ─ port 0 ┐
#   stack/1 vn 10.236.N.2, client ── port 1 ├ vswitch/vn ── capture region
#   stack/2 fn-test-hostile-port ─── port 2 ┘       (memfd)      │
#          spoof: frames from another MAC,           fragnet capture
#          another address, ARP from another         vswitch/vn ◄┘
#
#   1. a capture of every point while the host pings stack/1 and stack/1
#      opens TCP connections to stack/0's echo server: tcpdump -r shows the
#      echoes and the TCP exchange; each frame is on the interface of its
#      port (vswitch/vn:port1:stack/1 ...), rx as it came in, tx as it went
#      out; the hostile port's spoofed frames are drops with their cause
#      (src_mac, src_ip, arp_spoof) on port 2
#   2. -p drop -w - -c 3 streams into `tcpdump -r -` and stops after 3
#      packets; --network vn is the same target
#   3. a second capture of the switch is refused while one runs; the
#      supervisor switches off one killed with -9; no capture for a
#      network that does not exist or a name that is none, no
#      filter-drop point on a switch
#   4. the region outlives a restart of the switch: killed with -9, the
#      new switch is captured again
#   5. fragnet down: nothing is left
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vsw_init vsw-capture
command -v tcpdump >/dev/null || fn_skip "no tcpdump (scripts/setup installs it)"
READ=$FN_HERE/pcapng_read.py
# stack/1's client waits for $T/go, so that the capture sees its exchange
printf '#!/bin/sh\nwhile [ ! -e %s ]; do sleep 0.1; done\npython3 %s --dst %s --port %s --retry-refused --conns 2 --bytes 3000 --rst 0 > %s 2> %s\nexec sleep 3600\n' \
	"$T/go" "$FN_HERE/sock_tcp_load.py" "$(vsw_ip 0)" "$VSW_PORT" \
	"$T/load.json" "$T/load.json.err" > "$T/load.sh"
FN_SHOW_ON_FAIL+=("$T/load.json.err")
mapfile -t host < <(vsw_host)
vsw_topology pipelines=3 "${host[@]}" \
	"pipeline 1.app_exec=/bin/sh" "pipeline 1.app_args=$T/load.sh" \
	"pipeline 2.stack_exec=$HOSTILE" "pipeline 2.stack_args=spoof --ms 120000" \
	"pipeline 2.app_exec=none"
fn_up
wait_running
wait_for 10 vsw_host_ok || fail_stats "the host port $HOST_IF is not up"
S0=$(vsw_ip 0) S1=$(vsw_ip 1)

# 1. every point, streamed (-w -) into a file
capture_bg all "$VSW_LABEL" -w - --timeout 60 > "$T/all.pcapng"
vsw_ping "$S1" 3 || fail_stats "stack/1 does not answer across the switch"
touch "$T/go"
wait_for 60 vsw_load_done "$T/load.json" || fail_stats "the TCP client did not finish"
vsw_load_check "$T/load.json" 3000 || fail_stats "the TCP exchange failed"
capture_end
cat "$T/all.err" >&2
tcpdump -n -r - < "$T/all.pcapng" > "$T/all.txt" 2> "$T/tcpdump.err" ||
	{ cat "$T/tcpdump.err" >&2; fn_fail "tcpdump cannot read the capture"; }
python3 "$READ" "$T/all.pcapng" > "$T/all.pkts" || fn_fail "pcapng_read refused the file"
(( $(wc -l < "$T/all.pkts") == $(wc -l < "$T/all.txt") )) ||
	fn_fail "pcapng_read and tcpdump count different packets"
# one line a packet: interface, caplen, origlen, comment | tcpdump's line
paste -d '|' "$T/all.pkts" "$T/all.txt" > "$T/all.both"
grep "\.$VSW_PORT\b" "$T/all.both" | sed -n 1,30p > "$T/tcp.both"
seen() {	# seen PORT COMMENT PATTERN: a packet of port PORT with COMMENT
	grep -q "^$VSW_LABEL:port$1:[^ ]* [0-9]* [0-9]* $2|.*$3" "$T/all.both" ||
		{ cat "$T/tcp.both" >&2; fn_fail "no '$2' on port $1 matching '$3'"; }
}

grep -q "^$VSW_LABEL:port1:stack/1 " "$T/all.both" || fn_fail "port 1 is not named stack/1"
grep -q "^$VSW_LABEL:port3:host:$HOST_IF " "$T/all.both" || fn_fail "port 3 is not named host:$HOST_IF"
seen 3 rx "$HOST_IP > $S1: ICMP echo request"
seen 1 tx "$HOST_IP > $S1: ICMP echo request"
seen 1 rx "$S1 > $HOST_IP: ICMP echo reply"
seen 3 tx "$S1 > $HOST_IP: ICMP echo reply"
seen 1 rx "$S1\.[0-9]* > $S0.$VSW_PORT: Flags \[S\]"
seen 0 tx "$S1\.[0-9]* > $S0.$VSW_PORT: Flags \[S\]"
seen 0 rx "$S0.$VSW_PORT > $S1\.[0-9]*: Flags \[S\.\]"
seen 1 tx "$S0.$VSW_PORT > $S1\.[0-9]*: Flags [^,]*, seq 1:"
seen 0 tx "$S1\.[0-9]* > $S0.$VSW_PORT: Flags \[F"
seen 2 "drop src_mac port 2" "UDP"
seen 2 "drop src_ip port 2" "UDP"
seen 2 "drop arp_spoof port 2" "ARP"
grep -q "^$VSW_LABEL:port2:[^ ]* [0-9]* [0-9]* drop [a-z_]* port [^2]" "$T/all.both" &&
	fn_fail "a drop of port 2 names another port"
# every drop the capture saw is one the switch counted on that port
stats_json "$T/s1.json"
grep -o 'drop [a-z_]* port [0-9]*' "$T/all.both" | sort | uniq -c > "$T/drops"
cat "$T/drops" >&2
stats_py "$T/s1.json" "$VSW_LABEL" "$T/drops" <<'PY' || fail_stats "captured drops the switch did not count"
c = counters(sys.argv[1])[sys.argv[2]]
for line in open(sys.argv[3]):
    n, _, cause, _, port = line.split()
    if int(n) > c["port%s.drop_%s" % (port, cause)]:
        sys.exit("%s captured, port%s.drop_%s is %d" %
                 (n, port, cause, c["port%s.drop_%s" % (port, cause)]))
PY
fn_log "1. ping, TCP and spoofs captured: $(wc -l < "$T/all.txt") packets; drops: $(tr -s ' \n' ' ' < "$T/drops")"

# 2. a pipe into tcpdump, -c 3, only drops, by --network
timeout 30 "$FRAGNET" capture -T "$NAME" --network "$VSW_NET" -p drop -w - -c 3 \
	2> "$T/pipe.err" | timeout 30 tcpdump -n -r - > "$T/pipe.txt" 2>/dev/null ||
	{ cat "$T/pipe.err" >&2; fn_fail "capture | tcpdump -r - failed"; }
cat "$T/pipe.txt" >&2
(( $(wc -l < "$T/pipe.txt") == 3 )) || fn_fail "-c 3 gave not 3 packets"
grep -q "listening on $VSW_LABEL (drop)" "$T/pipe.err" || fn_fail "not listening on drop only"
fn_log "2. --network $VSW_NET -p drop -w - | tcpdump -r -: 3 packets"

# 3. one capture per switch; refusals
capture_exclusive "$VSW_LABEL" "$VSW_LABEL"
rc=0
timeout 10 "$FRAGNET" capture -T "$NAME" vswitch/nonet -w /dev/null 2> "$T/nonet.err" || rc=$?
[[ $rc == 1 ]] && grep -q "no network nonet" "$T/nonet.err" ||
	{ cat "$T/nonet.err" >&2; fn_fail "a capture of no network was not refused (exit $rc)"; }
rc=0	# a name the request grammar refuses (ctl.h): the supervisor says so
timeout 10 "$FRAGNET" capture -T "$NAME" 'vswitch/a.b' -w /dev/null 2> "$T/bad.err" || rc=$?
[[ $rc == 1 ]] && grep -q "bad request" "$T/bad.err" ||
	{ cat "$T/bad.err" >&2; fn_fail "a malformed network name was not refused (exit $rc)"; }
rc=0
timeout 10 "$FRAGNET" capture -T "$NAME" "$VSW_LABEL" -p filter-drop -w /dev/null 2> "$T/fd.err" || rc=$?
[[ $rc == 2 ]] || { cat "$T/fd.err" >&2; fn_fail "-p filter-drop on a switch: exit $rc, not 2"; }
fn_log "3. a second capture refused, a killed one switched off; no network, no filter-drop refused"

# 4. the switch restarts under a capture
capture_bg restart "$VSW_LABEL" -w "$T/restart.pcapng" -p rx --timeout 60
pid=$(vswitch_field "$VSW_NET" 3)
kill -KILL "$pid"
wait_for 20 restarted vswitch - "$pid" || fail_stats "the switch did not come back"
wait_for 20 vsw_ping "$S1" 1 >/dev/null 2>&1 || fail_stats "no ping across the restarted switch"
capture_end
tcpdump -n -r "$T/restart.pcapng" 2>/dev/null > "$T/restart.txt" || true
grep -q "$HOST_IP > $S1: ICMP echo request" "$T/restart.txt" ||
	fn_fail "the restarted switch's frames are not in the capture"
fn_log "4. switch $pid killed: the new one is captured"

topology_down
echo "ok: vswitch ports captured both ways, drops with their cause"
