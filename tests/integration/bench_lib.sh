# bench_lib.sh - the start of the tests of bench/* scripts
# (test_bench_kvs.sh, test_bench_filter.sh); sourced.
#
# bench_test_init NAME: skip unless root; BUILD_DIR (meson) required; root
# (the repository); T, a private dir removed on exit; fail MSG.

bench_test_init() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIP: needs root" >&2
		exit 77
	fi
	: "${BUILD_DIR:?}"
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	T=$(mktemp -d "${TMPDIR:-/tmp}/fnt-$1.XXXXXX")
	trap 'rm -rf "$T"' EXIT
}

fail() { echo "FAIL: $*" >&2; exit 1; }
