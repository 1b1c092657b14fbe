#!/usr/bin/env bash
# bench/history.sh measures the commands that read the history, as whole
# processes, against histories of three sizes built in the same run, and
# prints each median beside its target, marked ok or OVER. It reports; it
# exits non-zero only when something broke.
#
#   empty  one job, one run: the baseline (what starting troc costs)
#   1M     1,000 jobs and 1,000,000 runs over the past year
#   10M    the same jobs with 10,000,000 runs (GROWTH=10 times the 1M)
#
#   run list --name J   a job's latest 20 runs       target <=20 ms at 1M
#   run show -r ID      a run from the middle        target <=20 ms at 1M
#   job list            every job and its figures    target <=50 ms at 1M
#   check               every job scheduled          target <=100 ms at 1M
#   metrics             Prometheus text, every job   target <=100 ms at 1M
#   flat                each at 10M against 1M       target ratio <=1.10
#   history size        bytes of troc.db per run     target <=300
#
# The commands run interleaved (A B C A B C ...) so that drift on a shared
# machine hits them alike. Seeding writes the runs, then the per-job figures
# from them in one pass.
#   bench/history.sh               # N=100
#   N=30 GROWTH=3 bench/history.sh # a quick look
# Needs go and sqlite3.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

N=${N:-100}
WARMUP=${WARMUP:-10}
GROWTH=${GROWTH:-10}
source bench/lib.sh

start_seeded "bench/history.sh" "N=$N GROWTH=$GROWTH"

newdir empty
quietly troc_in "$empty" exec --name job-0500 true
newdir one
newdir big
for spec in "$one 1000000" "$big $((1000000 * GROWTH))"; do
	read -r dir runs <<<"$spec"
	t0=$EPOCHREALTIME
	seed "$dir" "$runs"
	printf "seeded %d runs in %.0f s\n" "$runs" "$(calc "(${EPOCHREALTIME/./} - ${t0/./}) / 1e6")"
	# Every job scheduled, so that troc check has them all to judge.
	quietly sqlite3 "$dir/troc.db" "UPDATE jobs SET schedule = '0 */8 * * *', schedule_ms = created_ms"
done
quietly troc_in "$empty" job update --name job-0500 --schedule '0 */8 * * *'

# check_in DIR runs troc check, whose exit status 1 only says that some
# job is not ok.
check_in() {
	troc_in "$1" check || [[ $? == 1 ]]
}
# A run in the middle of each history.
mid_one=$(sqlite3 "$one/troc.db" 'SELECT max(id) / 2 FROM runs')
mid_big=$(sqlite3 "$big/troc.db" 'SELECT max(id) / 2 FROM runs')

names=()
for size in empty one big; do
	dir=${!size}
	mid=1
	[[ $size == one ]] && mid=$mid_one
	[[ $size == big ]] && mid=$mid_big
	declare -a "list_$size=(troc_in $dir run list --name job-0500)"
	declare -a "show_$size=(troc_in $dir run show -r $mid)"
	declare -a "jobs_$size=(troc_in $dir job list)"
	declare -a "check_$size=(check_in $dir)"
	declare -a "metrics_$size=(troc_in $dir metrics)"
	names+=("list_$size" "show_$size" "jobs_$size" "check_$size" "metrics_$size")
done
newdir d
interleave "$WARMUP" "$d/warmup" "${names[@]}"
interleave "$N" "$d" "${names[@]}"

report() {
	local what=$1 cmd=$2 target=$3 e o b _
	read -r e _ < <(stats "$d/${cmd}_empty")
	read -r o _ < <(stats "$d/${cmd}_one")
	read -r b _ < <(stats "$d/${cmd}_big")
	line "$what" "$(printf 'median %.1f ms at 1M (empty %.1f ms, %dx: %.1f ms)' "$o" "$e" "$GROWTH" "$b")" \
		"target <=$target ms" "$(verdict "$o <= $target")"
	line "  flat" "$(printf 'ratio %.2f (%dx history / 1M)' "$(calc "$b / $o")" "$GROWTH")" \
		"target <=1.10" "$(verdict "$b / $o <= 1.10")"
}
report "run list --name" list 20
report "run show" show 20
report "job list" jobs 50
report "check" check 100
report "metrics" metrics 100

for spec in "1M $one" "${GROWTH}x $big"; do
	read -r label dir <<<"$spec"
	quietly sqlite3 "$dir/troc.db" 'PRAGMA wal_checkpoint(TRUNCATE)'
	runs=$(sqlite3 "$dir/troc.db" 'SELECT count(*) FROM runs')
	bytes=$(stat -c %s "$dir/troc.db")
	line "size $label" "$(printf '%.0f bytes/run (%d runs, %.0f MB)' "$(calc "$bytes / $runs")" "$runs" "$(calc "$bytes / 1e6")")" \
		"target <=300" "$(verdict "$bytes / $runs <= 300")"
done
