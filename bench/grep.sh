#!/usr/bin/env bash
# bench/grep.sh measures troc run grep over the logs of 10,000 runs against
# grep over the same files, in the same run, and prints each median with
# its ratio. It reports; it exits non-zero only when something broke.
#
#   run grep      `troc run grep PATTERN` over every run (10,000 logs of
#                 LINES lines, ~60 bytes each, one line in 100 matching):
#                 the history's runs newest first, each log searched
#   run grep -l   `troc run grep -l PATTERN`: the first match of each log
#   baseline      `grep -rn PATTERN DIR` and `grep -rl PATTERN DIR` over
#                 the same files, as a whole process each
#
# The commands run interleaved (A B A B ...) after a warm-up, with the logs
# in the page cache, so the figures are the search and not the disk.
#   bench/grep.sh              # N=20 LOGS=10000 LINES=100
#   N=5 bench/grep.sh          # a quick look
# Needs go, sqlite3 and GNU grep.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

N=${N:-20}
WARMUP=${WARMUP:-3}
LOGS=${LOGS:-10000}
LINES=${LINES:-100}
source bench/lib.sh

start_seeded "bench/grep.sh" "N=$N LOGS=$LOGS LINES=$LINES"

newdir hist
mkdir "$hist/logs"
t0=$EPOCHREALTIME
quietly troc_in "$hist" exec --name warm true # creates the schema
# LOGS log files, and a Succeeded run for each, spread over 10 jobs.
awk -v logs="$LOGS" -v lines="$LINES" -v dir="$hist/logs" 'BEGIN {
	for (i = 1; i <= logs; i++) {
		f = sprintf("%s/job-%d.%06d.log", dir, i % 10, i)
		for (l = 1; l <= lines; l++) {
			if ((i * lines + l) % 100 == 0)
				printf "%06d %04d ERROR: rsync: write failed on \"/srv/dst/file\": No space left\n", i, l > f
			else
				printf "%06d %04d sending incremental file list, chunk %d of %d ok\n", i, l, l, lines > f
		}
		close(f)
	}
}'
quietly sqlite3 "$hist/troc.db" <<SQL
BEGIN;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 9)
INSERT INTO jobs (name, created_ms) SELECT 'job-' || i, 0 FROM k;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $LOGS)
INSERT INTO runs (job_id, status, start_ms, end_ms, exit_code, host, command, log_file, output_bytes)
SELECT (SELECT id FROM jobs WHERE name = 'job-' || (i % 10)), 'Succeeded',
	1700000000000 + i * 60000, 1700000000000 + i * 60000 + 1000, 0, 'web1', 'rsync -a /srv/src /srv/dst',
	printf('$hist/logs/job-%d.%06d.log', i % 10, i), 6000
FROM k;
COMMIT;
SQL
printf "made %d logs of %d lines (%s) and their runs in %.1f s\n" "$LOGS" "$LINES" \
	"$(du -sh "$hist/logs" | cut -f1)" "$(calc "(${EPOCHREALTIME/./} - ${t0/./}) / 1e6")"

# Both must find the same lines.
want=$(grep -rh 'No space left' "$hist/logs" | wc -l)
got=$(troc_in "$hist" run grep 'No space left' 2>>"$errlog" | wc -l)
[[ $got == "$want" ]] || { echo "bench: run grep found $got lines, grep $want" >&2; exit 1; }

newdir d
trocgrep=(troc_in "$hist" run grep 'No space left')
trocgrepl=(troc_in "$hist" run grep -l 'No space left')
grepn=(grep -rn 'No space left' "$hist/logs")
grepl=(grep -rl 'No space left' "$hist/logs")
interleave "$WARMUP" "$d/warmup" trocgrep grepn trocgrepl grepl
interleave "$N" "$d" trocgrep grepn trocgrepl grepl
read -r tg _ < <(stats "$d/trocgrep")
read -r gn _ < <(stats "$d/grepn")
read -r tl _ < <(stats "$d/trocgrepl")
read -r gl _ < <(stats "$d/grepl")
line "run grep" "$(printf 'ratio %.2f (troc %.1f ms / grep -rn %.1f ms)' "$(calc "$tg / $gn")" "$tg" "$gn")" "no target" "-"
line "run grep -l" "$(printf 'ratio %.2f (troc %.1f ms / grep -rl %.1f ms)' "$(calc "$tl / $gl")" "$tl" "$gl")" "no target" "-"
