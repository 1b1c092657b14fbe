#!/usr/bin/env bash
# bench/exec.sh measures what `troc exec` costs next to plain sh, all in one
# run on this machine, and prints each figure beside its baseline, its ratio
# and the target from the issue, marked ok or OVER. It reports; it never fails
# on a number: it exits non-zero only when something broke.
#
#   exec overhead   `troc exec --name b true` against `sh -c true`, N times
#                   each, interleaved after a warm-up: median and p95 of troc
#                   minus those of sh.
#   troc startup    `troc version` against `sh -c true` alongside, to show how
#                   much of the overhead is only starting the binary.
#   1M-run history  the same run against a history seeded with 1,000 jobs and
#                   1,000,000 runs, interleaved with the two above: its
#                   overhead against the empty history's, then the database
#                   size per run.
#   1 GB of output  a job writing 1 GB to stdout, with and without --tee,
#                   against `sh -c 'head ... > FILE'`, REPS times each,
#                   interleaved: median wall times and ratios.
#   max RSS         troc's peak memory for 1 GB and for a small output.
#   floor           bench/floor, a Go program that links modernc.org/sqlite,
#                   opens a one-table WAL database, inserts a row, runs
#                   `sh -c true` with its output to a file and updates the
#                   row, interleaved with the above: troc's overhead as a
#                   ratio to the floor's, median and p95.
#   floor, new log  the same floor writing each run's output to a new file
#                   (-logdir), as any wrapper that keeps every run's output
#                   must, and troc's ratio to it.
#   musts           bench/floor built with -tags musts and run with all its
#                   options: the floor plus only what troc's fixed shape
#                   and promises oblige any troc to do (net/http linked, a
#                   config read, a lock, two new files a run, three signals
#                   caught), and troc's ratio to it: the part of troc's
#                   overhead its design could still win back.
#   new file        what creating a file costs beside troc's logs (200 made
#                   by the shell, less its loop): on ext4 without a
#                   journal, up to 0.5 ms for a minute or so after many files
#                   were deleted (README, Benchmarks), when troc's two new
#                   files a run count more than anything else it does.
#   Go + SQLite     bench/floor without a database: only starting a Go
#                   binary that links modernc.org/sqlite, for reading both.
#
# Run it from anywhere in the repository; it builds troc itself:
#   bench/exec.sh          # N=300 REPS=5: about 70 s on 2 cores
#   N=50 bench/exec.sh     # a quick look: about 45 s (seeding and 1 GB stay)
#
# Every scenario runs in its own `mktemp -d` under $TMPDIR, deleted at exit.
# The 1 GB part needs 2 GB free there and is skipped with a message if not.
# Needs go; sqlite3 for the seeded history and GNU time (/usr/bin/time, Debian
# package `time`) for max RSS: a figure whose tool is missing is skipped.
set -euo pipefail
export LC_ALL=C # a '.' in $EPOCHREALTIME and in awk's numbers
cd "$(dirname "$0")/.."

N=${N:-300}
REPS=${REPS:-5}
WARMUP=${WARMUP:-20}
GB=1000000000

source bench/lib.sh

# bench_exec times troc running `true` against sh, and against a troc whose
# history holds a million runs when sqlite3 is there.
bench_exec() {
	local empty full d
	newdir empty
	local sh=(sh -c true) troc=(troc_in "$empty" exec --name b true)
	local version=(troc_in "$empty" version) names=(sh troc version floor bare)
	local floor=("$floorbin" -db "$empty/floor.db" -log "$empty/floor.log" true) bare=("$floorbin" true)
	local floor_new=("$floorbin" -db "$empty/floor_new.db" -logdir "$empty/floor_logs" true)
	mkdir "$empty/floor_logs" "$empty/musts_logs"
	quietly troc_in "$empty" exec --name b true # writes its config, which musts reads
	cp "$empty/config.yaml" "$empty/musts.yaml"
	local musts=("$mustsbin" -db "$empty/musts.db" -logdir "$empty/musts_logs" -config "$empty/musts.yaml"
		-lock "$empty/musts.lock" -syslog -signals true)
	names+=(floor_new musts)
	if command -v sqlite3 >/dev/null; then
		newdir full
		local t0=$EPOCHREALTIME
		seed "$full"
		printf "seeded 1,000,000 runs in %.1f s\n" "$(calc "(${EPOCHREALTIME/./} - ${t0/./}) / 1e6")"
		local troc_1m=(troc_in "$full" exec --name b true)
		names+=(troc_1m)
	fi
	newdir d
	interleave "$WARMUP" "$d/warmup" "${names[@]}"
	interleave "$N" "$d" "${names[@]}"

	local sh_med sh_p95 troc_med troc_p95 med p95
	read -r sh_med sh_p95 < <(stats "$d/sh")
	read -r troc_med troc_p95 < <(stats "$d/troc")
	med=$(calc "$troc_med - $sh_med")
	p95=$(calc "$troc_p95 - $sh_p95")
	line "exec overhead" \
		"$(printf 'median %.1f ms (troc %.1f / sh %.1f)  p95 %.1f ms (troc %.1f / sh %.1f)' \
			"$med" "$troc_med" "$sh_med" "$p95" "$troc_p95" "$sh_p95")" \
		"target <=5 / <=8 ms" "$(verdict "$med <= 5 && $p95 <= 8")"

	local floor_med floor_p95 fmed fp95
	read -r floor_med floor_p95 < <(stats "$d/floor")
	fmed=$(calc "$floor_med - $sh_med")
	fp95=$(calc "$floor_p95 - $sh_p95")
	line "floor" \
		"$(printf 'median %.1f ms  p95 %.1f ms (one-row Go + SQLite wrapper %.1f / %.1f)' \
			"$fmed" "$fp95" "$floor_med" "$floor_p95")" \
		"no target" "-"
	line "troc / floor" \
		"$(printf 'median %.2f  p95 %.2f (overhead %.1f / %.1f ms, p95 %.1f / %.1f ms)' \
			"$(calc "$med / $fmed")" "$(calc "$p95 / $fp95")" "$med" "$fmed" "$p95" "$fp95")" \
		"target <=1.00" "$(verdict "$med <= $fmed")"
	local nmed np95 mmed mp95
	read -r nmed np95 < <(overhead floor_new)
	line "floor, new log" \
		"$(printf 'median %.1f ms  p95 %.1f ms; troc / it: median %.2f  p95 %.2f' \
			"$nmed" "$np95" "$(calc "$med / $nmed")" "$(calc "$p95 / $np95")")" \
		"no target" "-"
	read -r mmed mp95 < <(overhead musts)
	line "musts" \
		"$(printf 'median %.1f ms  p95 %.1f ms, %.2f times the floor; troc / it: median %.2f  p95 %.2f' \
			"$mmed" "$mp95" "$(calc "$mmed / $fmed")" "$(calc "$med / $mmed")" "$(calc "$p95 / $mp95")")" \
		"no target" "-"
	line "new file" "$(printf '%.0f us each, beside troc'"'"'s logs' "$(new_file_us "$empty/logs")")" "no target" "-"

	# How much of that is only starting a Go binary, for reading the above.
	local version_med bare_med _
	read -r version_med _ < <(stats "$d/version")
	line "troc startup" \
		"$(printf 'median %.1f ms (troc version %.1f / sh %.1f)' \
			"$(calc "$version_med - $sh_med")" "$version_med" "$sh_med")" \
		"no target" "-"
	read -r bare_med _ < <(stats "$d/bare")
	line "Go + SQLite" \
		"$(printf 'median %.1f ms (floor without a database running sh -c true %.1f / sh %.1f)' \
			"$(calc "$bare_med - $sh_med")" "$bare_med" "$sh_med")" \
		"no target" "-"

	if [[ -z ${full:-} ]]; then
		echo "1M-run history: skipped, no sqlite3 (apt-get install -y sqlite3)"
		return
	fi
	local full_med full_p95 full_over ratio runs bytes
	read -r full_med full_p95 < <(stats "$d/troc_1m")
	full_over=$(calc "$full_med - $sh_med")
	ratio=$(calc "$full_over / $med")
	line "1M-run history" \
		"$(printf 'ratio %.2f (overhead %.1f / %.1f ms; troc %.1f / %.1f)' \
			"$ratio" "$full_over" "$med" "$full_med" "$troc_med")" \
		"target <=1.10" "$(verdict "$ratio <= 1.10")"

	quietly sqlite3 "$full/troc.db" 'PRAGMA wal_checkpoint(TRUNCATE)'
	runs=$(sqlite3 "$full/troc.db" 'SELECT count(*) FROM runs')
	bytes=$(stat -c %s "$full/troc.db")
	line "history size" \
		"$(printf '%.0f bytes/run (%d runs, %.1f MB)' \
			"$(calc "$bytes / $runs")" "$runs" "$(calc "$bytes / 1e6")")" \
		"target <=300" "$(verdict "$bytes / $runs <= 300")"
	rm -rf "$empty" "$full" "$d"
}

# overhead NAME prints the median and p95 of bench_exec's runs of NAME, in
# ms, less sh's (its caller's d, sh_med and sh_p95).
overhead() {
	local m p
	read -r m p < <(stats "$d/$1")
	echo "$(calc "$m - $sh_med") $(calc "$p - $sh_p95")"
}

# new_file_us DIR prints what making a new file in DIR costs, in
# microseconds: 200 files made by the shell, less the same loop on
# /dev/null. They stay until the end, as troc's logs do: deleting them
# would make later new files dearer still (see the top of this file).
new_file_us() {
	local d=$1 i t0 t1 t2
	t0=$EPOCHREALTIME
	for ((i = 0; i < 200; i++)); do : >"$d/new_file.$i"; done
	t1=$EPOCHREALTIME
	for ((i = 0; i < 200; i++)); do : >/dev/null; done
	t2=$EPOCHREALTIME
	calc "((${t1/./} - ${t0/./}) - (${t2/./} - ${t1/./})) / 200"
}

# bench_output times a job writing 1 GB to stdout, with and without --tee,
# against sh writing it to a file.
bench_output() {
	local d free
	newdir d
	free=$(df -Pk "$d" | awk 'NR == 2 { print $4 }')
	if ((free < 2 * 1024 * 1024)); then
		echo "1 GB output: skipped, $((free / 1024)) MiB free in $d, need 2 GiB"
		return
	fi
	local job="head -c $GB /dev/zero"
	local sh=(sh -c "$job > $d/out")
	local troc=(troc_in "$d" exec --name big "$job")
	local troc_tee=(troc_in "$d" exec --name big --tee "$job")
	after=rm_output interleave 1 "$d/warmup" sh troc troc_tee
	after=rm_output interleave "$REPS" "$d" sh troc troc_tee

	local sh_s troc_s tee_s ratio _
	read -r sh_s _ < <(stats "$d/sh")
	read -r troc_s _ < <(stats "$d/troc")
	read -r tee_s _ < <(stats "$d/troc_tee")
	ratio=$(calc "$troc_s / $sh_s")
	line "1 GB no tee" \
		"$(printf 'ratio %.2f (troc %.2f s / sh %.2f s)' "$ratio" "$(calc "$troc_s / 1000")" "$(calc "$sh_s / 1000")")" \
		"target <=1.05" "$(verdict "$ratio <= 1.05")"
	ratio=$(calc "$tee_s / $sh_s")
	line "1 GB --tee" \
		"$(printf 'ratio %.2f (troc %.2f s / sh %.2f s)' "$ratio" "$(calc "$tee_s / 1000")" "$(calc "$sh_s / 1000")")" \
		"target <=1.3" "$(verdict "$ratio <= 1.3")"

	if [[ ! -x /usr/bin/time ]]; then
		echo "max RSS: skipped, no GNU time (apt-get install -y time)"
		rm -rf "$d"
		return
	fi
	local big tee small
	big=$(max_rss_mib "$d" exec --name big "$job")
	rm_output
	tee=$(max_rss_mib "$d" exec --name big --tee "$job")
	rm_output
	small=$(max_rss_mib "$d" exec --name small "seq 1000")
	line "max RSS 1 GB" "$big MiB (--tee $tee MiB)" "target <20 MiB" "$(verdict "$big < 20 && $tee < 20")"
	line "max RSS small" "$small MiB" "target <20 MiB" "$(verdict "$small < 20")"
	rm -rf "$d"
}

# rm_output deletes the 1 GB outputs of bench_output's last command.
rm_output() {
	rm -f "$d/out" "$d"/big.*.log "$d"/logs/big.*.log
}

# build_floor builds bench/floor (see its comment and the one above) into
# $bin/floor.
build_floor() {
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/floor" ./bench/floor
	# Built as troc is (./build), with net/http linked.
	CGO_ENABLED=0 go build -tags musts,nethttpomithttp2 -trimpath -ldflags "-s -w" -o "$bin/musts" ./bench/floor
}

build_troc
quietly build_floor
floorbin=$bin/floor
mustsbin=$bin/musts
echo "bench/exec.sh  $(date -u '+%Y-%m-%d %H:%M UTC')  $("$trocbin" version)  $(nproc) CPUs  Linux $(uname -r)  N=$N REPS=$REPS"
bench_exec
bench_output
