#!/usr/bin/env bash
# bench/ui.sh measures what one refresh of troc ui costs with 1,000 jobs,
# beside a baseline measured in the same run, and prints each figure with
# its ratio and its target, marked ok or OVER. It reports; it exits
# non-zero only when something broke.
#
#   ui refresh   what troc ui does every second in its jobs view: the query
#                of every job and its latest run, every job's health, and
#                the 80x24 frame, in colour (BenchmarkUIRefresh, N times,
#                on the seeded history): the mean per frame. The target is
#                the issue's "The TUI redraws a 1,000-job table within
#                50 ms per frame".
#   ui frame     the same but the query (BenchmarkUIFrame, on 1,000 jobs
#                held in memory): what the dashboard adds to the query.
#   job list     the baseline: `troc job list` on the same history, N times
#                after a warm-up, as a whole process (start, open, the same
#                query, a table of every job): the median. The ratio says
#                how a frame compares with the command people run today.
#
# The history is lib.sh's seed: 1,000 jobs and RUNS runs (default 100,000,
# about 10 s to seed: a refresh reads one row per job, so the number of
# runs matters little; RUNS=1000000 matches bench/history.sh), every job
# scheduled, so that each one's health is worked out.
#   bench/ui.sh           # N=200
#   N=50 bench/ui.sh      # a quick look
# Needs go and sqlite3.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

N=${N:-200}
WARMUP=${WARMUP:-10}
RUNS=${RUNS:-100000}
source bench/lib.sh

start_seeded "bench/ui.sh" "N=$N RUNS=$RUNS"

newdir hist
t0=$EPOCHREALTIME
seed "$hist" "$RUNS"
quietly sqlite3 "$hist/troc.db" "UPDATE jobs SET schedule = '0 */8 * * *', schedule_ms = created_ms"
printf "seeded 1,000 jobs and %d runs in %.0f s\n" "$RUNS" "$(calc "(${EPOCHREALTIME/./} - ${t0/./}) / 1e6")"

newdir d
jobs=(troc_in "$hist" job list)
interleave "$WARMUP" "$d/warmup" jobs
interleave "$N" "$d" jobs
read -r list_med _ < <(stats "$d/jobs")

# go test prints "BenchmarkUIRefresh-2  200  4123456 ns/op": milliseconds
# per frame for each benchmark.
TROC_UI_BENCH_CONFIG=$hist go test -run '^$' -bench '^BenchmarkUI(Frame|Refresh)$' \
	-benchtime "${N}x" -count 1 . >"$d/bench" 2>>"$errlog" || fail $? go test -bench
ms() {
	awk -v name="$1" '$1 ~ "^" name "(-[0-9]+)?$" { printf "%.3f", $3 / 1e6 }' "$d/bench"
}
refresh=$(ms BenchmarkUIRefresh)
frame=$(ms BenchmarkUIFrame)
[[ -n $refresh && -n $frame ]] || { echo "bench: no figures in go test's output:" >&2; cat "$d/bench" >&2; exit 1; }

line "ui refresh" \
	"$(printf 'mean %.2f ms per frame, 1,000 jobs (ratio %.2f to job list %.1f ms)' \
		"$refresh" "$(calc "$refresh / $list_med")" "$list_med")" \
	"target <=50 ms" "$(verdict "$refresh <= 50")"
line "ui frame" "$(printf 'mean %.2f ms per frame without the query' "$frame")" \
	"target <=50 ms" "$(verdict "$frame <= 50")"
line "job list" "$(printf 'median %.1f ms, the whole process' "$list_med")" "baseline" "-"
