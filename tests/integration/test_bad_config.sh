#!/bin/bash
# Test 5: startup errors are reported clearly, with the right exit code,
# and leave nothing behind (no run dir, no log, no process).
#
#   bad value at a known line         -> exit 2, "FILE:3: [topology] ..."
#   [topology] metrics not loopback   -> exit 2, "FILE:N: [topology] metrics: ..."
#   its address in use                -> exit 1, "cannot listen on ..."
#   missing file, unknown user,
#   a cpu outside our affinity        -> exit 2
#   an exec that cannot be executed   -> exit 1, "cannot exec PATH: ..."
#                                        (driver/0 started first is stopped)
#   usage errors -> 2, --help -> 0, not root -> 1
set -euo pipefail
. "$(dirname "$0")/lib.sh"

fn_init badconf

# expect RC PATTERN CMD...: CMD exits RC and its stderr contains PATTERN.
expect() {
	local want=$1 pat=$2 rc
	shift 2
	set +e
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
	set -e
	[[ $rc == "$want" ]] ||
		fn_fail "$*: exit $rc, want $want; stderr: $(cat "$T/err")"
	grep -qF -- "$pat" "$T/err" ||
		fn_fail "$*: stderr lacks '$pat': $(cat "$T/err")"
	fn_log "$* -> $rc: $(head -1 "$T/err")"
}

# A bad value on line 3.
conf_write pipelines=banana
expect 2 "$CONF:3: [topology] pipelines: " fn up "$CONF" -d
nothing_left "bad value"
expect 2 "$CONF:3: [topology] pipelines: " fn up "$CONF"
nothing_left "bad value, foreground"

expect 2 "$T/missing.conf" fn up "$T/missing.conf"
nothing_left "missing file"

# good [KEY=VALUE...]: a good topology (echo_topology without pipelines
# and apps), KEY=VALUEs added.
good() { echo_topology pipelines= app.exec= app.preload= "$@"; }

good app.exec="$ECHO" app.preload=no app.user=fnt-no-such-user
expect 2 "no such user 'fnt-no-such-user'" fn up "$CONF" -d
nothing_left "unknown user"

good "pipeline 0.stack_cpu=1000"
expect 2 "stack/0: cpu 1000 is not available" fn up "$CONF" -d
nothing_left "cpu"

# [topology] metrics: loopback only (FILE:LINE and the key), and an
# address in use fails the up with nothing left.
good metrics=0.0.0.0:9464
line=$(grep -n '^metrics' "$CONF" | cut -d: -f1)
expect 2 "$CONF:$line: [topology] metrics: '0.0.0.0:9464' is not a loopback address" \
	fn up "$CONF" -d
nothing_left "metrics not on loopback"
port=$(free_port) || fn_skip "no free TCP port"
timeout 60 python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("ready", flush=True); time.sleep(50)' "$port" > "$T/busy.out" &
LOAD_PIDS+=($!)
wait_for 10 grep -q ready "$T/busy.out" || fn_fail "could not take port $port"
good metrics="127.0.0.1:$port"
expect 1 "[topology] metrics: cannot listen on 127.0.0.1:$port: Address already in use" \
	fn up "$CONF" -d
[[ ! -e $RUN_DIR && -z $(test_procs) ]] || fn_fail "left behind after a metrics address in use"
rm -f "$LOG"

# The stack's exec exists but is not executable: the driver is already up
# when the stack fails, and must be stopped again.
echo '#!/bin/sh' > "$T/bin/notexec"
chmod 644 "$T/bin/notexec"
good stack.exec="$T/bin/notexec"
expect 1 "cannot exec $T/bin/notexec: Permission denied" fn up "$CONF" -d
[[ ! -e $RUN_DIR ]] || fn_fail "run dir left after exec failure"
[[ -z $(test_procs) ]] || fn_fail "driver left after exec failure"
# (SIGTERM may reach it before it has set its handler: either way.)
grep -qE "driver/0 pid [0-9]+ (exited with exit status 0|killed by signal SIGTERM)" \
	"$LOG" || fn_fail "driver/0 was not stopped after the failed start"
rm -f "$LOG"
expect 1 "cannot exec $T/bin/notexec: Permission denied" fn up "$CONF"
nothing_left "exec failure, foreground"

# Usage.
expect 2 "Usage: fragnet up" fn up
expect 2 "unknown command" fn bogus
expect 2 "Usage: fragnet status" fn status --json
expect 2 "Usage: fragnet up" fn up "$CONF" --log-level loud
fn up --help | grep -q "Usage: fragnet up" || fn_fail "up --help"
fn stats --help | grep -q -- "--json" || fn_fail "stats --help"
fn help | grep -q "down" || fn_fail "help"
expect 1 "must be run as root" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$FRAGNET" status
expect 1 "topology fnt-none-$$ is not running" fn status "fnt-none-$$"
nothing_left "usage"
echo "ok: bad config"
