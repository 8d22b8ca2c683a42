#!/bin/bash
# libfragnet-preload.so outside a pipeline (no root, no tap):
#   1. without a channel, a preloaded program stops at once (exit 1) with a
#      message naming FRAGNET_SOCKCHAN_FD and FRAGNET_PRELOAD_PASSTHROUGH;
#   2. FRAGNET_PRELOAD_PASSTHROUGH=1: preload-check (the same checks as
#      test_preload.sh) passes on the kernel's loopback with every call
#      going through the library to libc - which also checks the checks
#      against the kernel's own semantics;
#   3. the library exports only libc's names (nm -D): nothing of
#      libfragnet, no fn_ symbol.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_PRELOAD_LIB:?}" "${FN_PRELOAD_CHECK:?}"
fn_tmpdir plpass
FN_SHOW_ON_FAIL+=("$T/results")

# 1.
rc=0
env -u FRAGNET_SOCKCHAN_FD LD_PRELOAD="$FN_PRELOAD_LIB" /bin/true \
	2> "$T/err" || rc=$?
[[ $rc == 1 ]] || fn_fail "no channel: exit $rc, want 1"
grep -q "FRAGNET_SOCKCHAN_FD is not set" "$T/err" &&
	grep -q "FRAGNET_PRELOAD_PASSTHROUGH=1" "$T/err" ||
	fn_fail "no channel: unclear message: $(cat "$T/err")"
rc=0
FRAGNET_SOCKCHAN_FD=99 LD_PRELOAD="$FN_PRELOAD_LIB" /bin/true 2> "$T/err" || rc=$?
[[ $rc == 1 ]] && grep -q "not open" "$T/err" ||
	fn_fail "closed channel fd: exit $rc: $(cat "$T/err")"

# 2.
preload_peer 127.0.0.1 127.0.0.1
rc=0
FRAGNET_PRELOAD_PASSTHROUGH=1 LD_PRELOAD="$FN_PRELOAD_LIB" \
	timeout 150 "$FN_PRELOAD_CHECK" 127.0.0.1 "$T/results" || rc=$?
[[ $rc == 0 ]] || fn_fail "preload-check in passthrough: exit $rc"
grep -q '^DONE fails=0$' "$T/results" || fn_fail "preload-check in passthrough"
passed=$(grep -c '^ok' "$T/results")
((passed >= 50)) || fn_fail "too few checks: $passed"

# 3.
bad=$(nm -D --defined-only "$FN_PRELOAD_LIB" | awk '{ print $3 }' |
      grep -v -x -E '__poll_chk|accept4?|bind|close(_range|from)?|connect|dup[23]?|epoll_(create1?|ctl|p?wait2?)|fcntl(64)?|get(peer|sock)name|[gs]etsockopt|ioctl|listen|p?poll|p?select|readv?|recv(from|msg)?|send(to|msg|file(64)?)?|shutdown|socket|writev?|exec(ve|v|vpe?|l|lp|le|veat)|fexecve' || true)
[[ -z $bad ]] || fn_fail "exported beyond libc's names: $bad"
echo "ok: no-channel message, $passed checks in passthrough, exports"
