#!/usr/bin/env bash
# bench/remote.sh measures troc --host fanning out over 20 hosts against
# the slowest of those hosts asked alone, all in one run against a real
# sshd on loopback, and prints the figures beside the issue's target (a
# fan-out at most 1.5x the slowest single host), marked ok or OVER. It
# reports; it never fails on a number.
#
#   single hosts    `troc --host hNN job list` for each of the 20 hosts: the
#                   median of each, and the slowest of those medians.
#   fan-out         `troc --hosts FILE job list` over the 20 hosts: median,
#                   and its ratio to the slowest single host.
#   parallel ssh    the same 20 questions asked by 20 plain `ssh ... troc
#                   job list --json` started at once by the shell: the least
#                   any fan-out from this machine can cost, to tell troc's
#                   own share of the fan-out (its ratio) from the machine's.
#   CPU             the CPU time one fan-out costs the whole machine (ssh,
#                   sshd, the remote shells and trocs), from /proc/stat, and
#                   the wall time that is at least on this many cores.
#
# Each "host" is an alias of the same sshd with its own history, so the 20
# hosts share this machine's cores: a fan-out cannot take less wall time
# than its total CPU time over the number of cores, and on a small machine
# that bound, not troc, sets the ratio. The CPU line shows how close it is.
#
# Needs root (sshd logs in as the user running it, and root's sshd wants
# /run/sshd), ssh, sshd and ssh-keygen (Debian: openssh-server), go.
#   bench/remote.sh          # N=7 rounds: about 2 minutes on 2 cores
#   N=3 bench/remote.sh      # a quick look
set -euo pipefail
export LC_ALL=C # a '.' in $EPOCHREALTIME and in awk's numbers
cd "$(dirname "$0")/.."

N=${N:-7}
WARMUP=${WARMUP:-1}
HOSTS=${HOSTS:-20}

source bench/lib.sh

for tool in ssh ssh-keygen /usr/sbin/sshd; do
	command -v "$tool" >/dev/null || {
		echo "bench: $tool is missing: apt-get install openssh-server openssh-client" >&2
		exit 1
	}
done

build_troc
newdir d
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 22622)
ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
cp "$d/user_key.pub" "$d/authorized_keys"
echo "[127.0.0.1]:$port $(cat "$d/host_key.pub")" >"$d/known_hosts"
mkdir -p /run/sshd 2>/dev/null || true
sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$d|g" testdata/ssh/sshd_config >"$d/sshd_config"
/usr/sbin/sshd -D -e -f "$d/sshd_config" </dev/null >/dev/null 2>"$d/sshd.log" &
sshd_pid=$!
trap 'kill $sshd_pid 2>/dev/null; rm -rf "${scratch[@]}"' EXIT

# The hosts: h01..h20, each with a history of 10 jobs that have run.
: >"$d/fleet"
: >"$d/ssh_config"
for ((i = 1; i <= HOSTS; i++)); do
	h=$(printf 'h%02d' "$i")
	mkdir -p "$d/hosts/$h"
	for j in 1 2 3 4 5 6 7 8 9 10; do
		quietly troc_in "$d/hosts/$h" exec --name "job-$j" true
	done
	echo "$h" >>"$d/fleet"
	printf 'Host %s\n  SetEnv TROC_CONFIG_PATH=%s\n' "$h" "$d/hosts/$h" >>"$d/ssh_config"
done
cat >>"$d/ssh_config" <<EOF
Host *
  HostName 127.0.0.1
  Port $port
  HostKeyAlias [127.0.0.1]:$port
  IdentityFile $d/user_key
  IdentitiesOnly yes
  UserKnownHostsFile $d/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
EOF

export TROC_CONFIG_PATH=$d/local TROC_REMOTE_SSH="ssh -F $d/ssh_config" TROC_REMOTE_TROC_PATH=$trocbin
for _ in $(seq 50); do
	ssh -F "$d/ssh_config" h01 true 2>/dev/null && break
	sleep 0.1
done

names=(fanout floor)
fanout=("$trocbin" --hosts "$d/fleet" job list)
floor=(parallel_ssh)
parallel_ssh() {
	local h pids=()
	for h in $(cat "$d/fleet"); do
		ssh -F "$d/ssh_config" "$h" "$trocbin" job list --json >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" # not sshd, also a child of this shell
}
for h in $(cat "$d/fleet"); do
	eval "single_$h=(\"\$trocbin\" --host \"$h\" job list)"
	names+=("single_$h")
done

newdir out
interleave "$WARMUP" "$out/warmup" "${names[@]}"
# CPU of the machine while the fan-outs run, in clock ticks (USER_HZ).
ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
cpu_total=0
after=
for ((round = 0; round < N; round++)); do
	for name in "${names[@]}"; do
		if [ "$name" = fanout ]; then
			t0=$(ticks)
			interleave 1 "$out" fanout
			cpu_total=$((cpu_total + $(ticks) - t0))
		else
			interleave 1 "$out" "$name"
		fi
	done
done

hz=$(getconf CLK_TCK)
cores=$(nproc)
slowest=0
slowest_host=
for h in $(cat "$d/fleet"); do
	read -r med _ < <(stats "$out/single_$h")
	if awk "BEGIN { exit !($med > $slowest) }"; then
		slowest=$med slowest_host=$h
	fi
done
read -r fan_med fan_p95 < <(stats "$out/fanout")
read -r floor_med _ < <(stats "$out/floor")
cpu=$(calc "$cpu_total / $hz / $N")
bound=$(calc "$cpu / $cores")

echo "troc --host over $HOSTS hosts (aliases of one sshd on 127.0.0.1:$port), $N rounds, $cores cores"
line "single host" "slowest median $(printf '%.1f' "$slowest") ms ($slowest_host)" "" ""
line "fan-out" "median $(printf '%.1f' "$fan_med") ms, p95 $(printf '%.1f' "$fan_p95") ms: $(printf '%.2f' "$(calc "$fan_med / $slowest")")x the slowest single host" "<= 1.5x" "$(verdict "$fan_med <= 1.5 * $slowest")"
line "parallel ssh" "median $(printf '%.1f' "$floor_med") ms: fan-out is $(printf '%.2f' "$(calc "$fan_med / $floor_med")")x plain ssh to all hosts at once" "" "info"
line "CPU" "$(printf '%.2f' "$cpu") s per fan-out over all processes: at least $(printf '%.0f' "$(calc "$bound * 1000")") ms wall on $cores cores" "" "info"
line "bound" "so on this machine no fan-out can do better than $(printf '%.2f' "$(calc "$bound * 1000 / $slowest")")x the slowest single host" "" "info"
