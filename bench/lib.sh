# bench/lib.sh - shell code shared by the bench/* scripts (sourced, not run).
#
# The script sets BENCH (its name, for messages) and root (the repository)
# before sourcing; build defaults to BUILD_DIR or $root/build.  Functions:
#
#   die MSG / say MSG        error (exit 1) / progress line on stderr
#   usage                    the script's header comment, then $DEFAULTS
#   need_root WHY            refuse to run unless root
#   need_fragnet_host        /dev/net/tun, hugetlbfs, meson
#   build_targets [T...]     meson setup (once) + compile of T (all if none)
#   bench_cpus               the cpus we may use, one line, sorted
#   veth_ns NS VETH PEER HOST/P NSADDR/P   a veth pair into a new netns
#   topo_up CONF NAME [TAPADDR]   fragnet up -d, remembered for topo_down_all;
#                            with TAPADDR, waits for the tap to have it
#   topo_down NAME RC        fragnet down NAME, its log (shown if RC != 0),
#                            hugepage files and EAL runtime dir removed
#   topo_down_all RC         topo_down of every topology topo_up started
#   redis_args ADDR DIR PORT     redis-server arguments as in config/kvs.conf
#                            (--maxclients: REDIS_MAXCLIENTS, default 4000),
#                            one option per line, DIR created for APP_USER
#   redis_wait IP PORT [NS]  until redis-cli PING answers PONG (30 s)
#   comp_pids TOPO           "ROLE PIPELINE PID" per running component
#   bench_net                the /16 of a run's subnets: FN_BENCH_NET (10.N),
#                            else 10.242
#   tap_conf NAME I NET      [topology] to [stack] of a one-pipeline tap
#                            topology NAME (compact, adaptive) on NET.I.0/24:
#                            the tap at .1, the stack at .2; [app] follows

build=${BUILD_DIR:-$root/build}
FRAGNET=$build/src/supervisor/fragnet
APP_USER=fragnet-app
TOPOS=()	# started by topo_up

die() { echo "$BENCH: ERROR: $*" >&2; exit 1; }
say() { echo "$BENCH: $*" >&2; }

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
	[[ -z ${DEFAULTS:-} ]] || echo "$DEFAULTS"
}

need_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root ($1): sudo $0"
}

need_fragnet_host() {
	[[ -c /dev/net/tun ]] || die "no /dev/net/tun"
	grep -qw hugetlbfs /proc/mounts || die "no hugetlbfs mounted (sudo scripts/setup)"
	command -v meson >/dev/null || die "meson not found (scripts/setup installs it)"
}

build_targets() {
	if [[ ! -f $build/build.ninja ]]; then
		meson setup "$build" "$root" >/dev/null || die "meson setup $build failed"
	fi
	meson compile -C "$build" "$@" >/dev/null ||
		die "could not build ${*:-fragnet} (meson compile -C $build $*)"
}

bench_cpus() {
	python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))'
}

veth_ns() {	# veth_ns NS VETH PEER HOSTADDR/P NSADDR/P
	ip netns add "$1"
	ip link add "$2" type veth peer name "$3" netns "$1"
	ip addr add "$4" dev "$2"
	ip link set "$2" up
	ip -n "$1" addr add "$5" dev "$3"
	ip -n "$1" link set "$3" up && ip -n "$1" link set lo up
}

topo_up() {	# topo_up CONF NAME [TAPADDR]
	timeout 60 "$FRAGNET" up "$1" -d >&2 || die "fragnet up $1 failed"
	TOPOS+=("$2")
	[[ -n ${3:-} ]] || return 0
	for _ in $(seq 300); do
		ip -4 addr show dev "$2" 2>/dev/null | grep -q "inet $3/" && return 0
		sleep 0.1
	done
	die "tap $2 did not come up"
}

topo_down() {	# topo_down NAME RC
	timeout 30 "$FRAGNET" down "$1" >/dev/null 2>&1 || true	# never trips set -e
	if [[ $2 -ne 0 && -f /var/log/fragnet/$1.log ]]; then
		echo "--- /var/log/fragnet/$1.log ---" >&2
		tail -n 30 "/var/log/fragnet/$1.log" >&2
	fi
	rm -f /var/log/fragnet/"$1".log /dev/hugepages/fragnet-"$1"map_*
	rm -rf /var/run/dpdk/fragnet-"$1"
	local t keep=()
	for t in "${TOPOS[@]}"; do [[ $t == "$1" ]] || keep+=("$t"); done
	TOPOS=("${keep[@]}")
}

topo_down_all() {	# topo_down_all RC
	local t
	for t in "${TOPOS[@]}"; do topo_down "$t" "$1"; done
}

redis_args() {	# redis_args ADDRESS DIR PORT
	install -d -o "$APP_USER" -m 0700 "$2"
	echo "--port $3 --bind $1 --protected-mode no --save \"\" --appendonly no"
	echo "--dir $2 --maxclients ${REDIS_MAXCLIENTS:-4000} --daemonize no --logfile \"\""
}

redis_wait() {	# redis_wait IP PORT [NETNS]
	local deadline=$((SECONDS + 30)) pre=()
	[[ -z ${3:-} ]] || pre=(ip netns exec "$3")
	while ((SECONDS < deadline)); do
		[[ $("${pre[@]}" timeout 2 redis-cli -h "$1" -p "$2" PING 2>/dev/null) == PONG ]] &&
			return 0
		sleep 0.1
	done
	die "redis-server at $1:$2 does not answer"
}

comp_pids() {	# comp_pids TOPO
	timeout 30 "$FRAGNET" status "$1" |
		awk '$3 ~ /^[0-9]+$/ && $3 > 0 { print $1, $2, $3 }'
}

bench_net() {
	local n=${FN_BENCH_NET:-10.242}
	[[ $n =~ ^10\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$ ]] ||
		die "FN_BENCH_NET=$n: want 10.N (0 <= N <= 255)"
	echo "$n"
}

tap_conf() {	# tap_conf NAME I NET
	cat <<EOF
[topology]
name = $1
pipelines = 1
placement = compact
poll = adaptive
[nic]
exec = $build/src/nic/fragnet-nic
ifname = $1
mac = 02:00:0a:$(printf %02x "${3#10.}"):$(printf %02x "$2"):02
address = $3.$2.1/24
[driver]
exec = $build/src/driver/fragnet-driver
[stack]
exec = $build/src/stack/fragnet-stack
profile = full
address = $3.$2.2/24
EOF
}
