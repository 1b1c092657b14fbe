# bench/lib.sh: what the benchmark scripts share. Sourced, not run: it sets
# up a scratch list deleted at exit, builds troc into $trocbin, and gives
# timing, statistics and report helpers. Scripts set N and WARMUP first.
# shellcheck shell=bash

scratch=() # directories deleted at exit
trap 'rm -rf "${scratch[@]}"' EXIT

# newdir VAR sets VAR to a fresh temporary directory, deleted at exit.
newdir() {
	local -n dir=$1
	dir=$(mktemp -d)
	scratch+=("$dir")
}

# fail STATUS CMD... says which command broke, with the end of the stderr
# collected so far, and exits.
fail() {
	local rc=$1
	shift
	echo "bench: '$*' exited $rc; end of stderr:" >&2
	tail -n 20 "$errlog" >&2
	exit 1
}

# quietly CMD... runs CMD with stdout to /dev/null and stderr to $errlog.
quietly() {
	"$@" >/dev/null 2>>"$errlog" || fail $? "$@"
}

# troc_in DIR ARGS... runs troc with its config, history, locks and logs in DIR
# (logs in DIR/logs: as root they would otherwise go to /var/log/troc, and
# stay there, 1 GB a run of exec.sh's big job).
troc_in() {
	local d=$1
	shift
	TROC_CONFIG_PATH=$d TMPDIR=$d TROC_LOGDIR=$d/logs "$trocbin" "$@"
}

# time_once OUT CMD... runs CMD quietly once and appends its wall time in
# microseconds to the file OUT.
time_once() {
	local out=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	quietly "$@"
	t1=$EPOCHREALTIME
	echo $((${t1/./} - ${t0/./})) >>"$out"
}

# interleave ROUNDS OUTDIR NAME... runs the commands held in the arrays
# NAME... in turn (A B A B ...), so that drift hits them all alike, timing
# each into OUTDIR/NAME. The command named by $after, if set, runs untimed
# after each one.
interleave() {
	local rounds=$1 out=$2 i name cmd
	shift 2
	mkdir -p "$out"
	for ((i = 0; i < rounds; i++)); do
		for name; do
			cmd="$name[@]"
			time_once "$out/$name" "${!cmd}"
			${after:-}
		done
	done
}

# stats FILE prints the median and the 95th percentile (nearest rank) of
# FILE's microseconds, in milliseconds.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = int(0.95 * NR); if (p < 0.95 * NR) p++
		printf "%.3f %.3f\n", m / 1000, v[p] / 1000 }'
}

# calc EXPR prints awk's value of EXPR.
calc() {
	awk "BEGIN { print $1 }"
}

# verdict COND prints ok when awk finds COND true, else OVER.
verdict() {
	awk "BEGIN { print ($1) ? \"ok\" : \"OVER\" }"
}

# line LABEL FIGURES TARGET VERDICT prints one figure in the report's columns.
line() {
	printf '%-16s %-68s %-20s %s\n' "$@"
}

# max_rss_mib DIR ARGS... runs troc as troc_in does, under GNU time, and
# prints its peak resident memory in MiB.
max_rss_mib() {
	local d=$1
	shift
	TROC_CONFIG_PATH=$d TMPDIR=$d TROC_LOGDIR=$d/logs quietly /usr/bin/time -f %M -o "$d/rss" "$trocbin" "$@"
	awk 'END { printf "%.1f", $1 / 1024 }' "$d/rss"
}

# seed DIR [RUNS] fills DIR's history with 1,000 jobs and RUNS runs
# (default 1,000,000) that look real: spread evenly over the past year
# (one every ~32 s for a million), mostly Succeeded, with host, command,
# log paths, pid and output size, and the jobs' summaries to match.
seed() {
	local runs=${2:-1000000}
	quietly troc_in "$1" exec --name warm true # creates the schema
	quietly sqlite3 "$1/troc.db" <<EOF
BEGIN;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 1000)
INSERT INTO jobs (name, created_ms)
SELECT printf('job-%04d', i), (strftime('%s', 'now') - 366 * 86400) * 1000 FROM k;

WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $runs),
r AS (
	SELECT i, printf('job-%04d', i % 1000 + 1) AS job,
		(strftime('%s', 'now') - 365 * 86400) * 1000 + i * (31536000000 / $runs) AS start,
		CASE
			WHEN i * 7919 % 1000 < 900 THEN 'Succeeded'
			WHEN i * 7919 % 1000 < 960 THEN 'Failed'
			WHEN i * 7919 % 1000 < 980 THEN 'Skipped'
			WHEN i * 7919 % 1000 < 990 THEN 'TimedOut'
			ELSE 'Terminated'
		END AS status,
		lower(hex(randomblob(3))) AS rnd
	FROM k
)
INSERT INTO runs (job_id, status, start_ms, end_ms, exit_code, signal, pid,
	pid_start, host, command, log_file, system_log_file, output_bytes)
SELECT (SELECT id FROM jobs WHERE name = job), status, start,
	start + CASE status WHEN 'Skipped' THEN 0 ELSE i * 37 % 60000 END,
	CASE status WHEN 'Succeeded' THEN 0 WHEN 'Failed' THEN 1 END,
	CASE WHEN status IN ('TimedOut', 'Terminated') THEN 15 END,
	CASE WHEN status <> 'Skipped' THEN 1000 + i * 13 % 4000000 END,
	CASE WHEN status <> 'Skipped' THEN i * 97 % 1000000000 END,
	'web1', '/usr/local/bin/' || job || ' --quiet',
	printf('/tmp/troc-1000/%s.%s.%s.log', job,
		strftime('%Y%m%dT%H%M%SZ', start / 1000, 'unixepoch'), rnd),
	printf('/tmp/troc-1000/trocsys_%s_%s.%s.log', job,
		strftime('%Y%m%dT%H%M%SZ', start / 1000, 'unixepoch'), rnd),
	CASE WHEN status <> 'Skipped' THEN i * 101 % 100000 END
FROM r;

-- The per-job summaries that troc keeps as it records runs, computed for
-- the seeded ones as schema/0002_job_summary.sql computes them.
DELETE FROM job_days;
INSERT INTO job_days (job_id, day, runs, failures)
SELECT job_id, day,
	sum(runs) OVER (PARTITION BY job_id ORDER BY day),
	sum(failures) OVER (PARTITION BY job_id ORDER BY day)
FROM (
	SELECT job_id, start_ms / 86400000 AS day, count(*) AS runs,
		sum(status IN ('Failed', 'TimedOut', 'Terminated')) AS failures
	FROM runs GROUP BY job_id, day);
UPDATE jobs SET
	last_run_id = c.last_run_id, last_success_ms = c.last_success_ms, last_end_id = c.last_end_id,
	skipped = c.skipped, succeeded = c.succeeded, failed = c.failed,
	terminated = c.terminated, timedout = c.timedout,
	runs_total = c.runs_total, failures_total = c.failures_total
FROM (
	SELECT job_id, max(id) AS last_run_id, count(*) AS runs_total,
		sum(status IN ('Failed', 'TimedOut', 'Terminated')) AS failures_total,
		max(CASE WHEN status = 'Succeeded' THEN end_ms END) AS last_success_ms,
		max(CASE WHEN status NOT IN ('Running', 'Skipped') THEN id END) AS last_end_id,
		sum(status = 'Skipped') AS skipped, sum(status = 'Succeeded') AS succeeded,
		sum(status = 'Failed') AS failed, sum(status = 'Terminated') AS terminated,
		sum(status = 'TimedOut') AS timedout
	FROM runs GROUP BY job_id) AS c
WHERE c.job_id = jobs.id;
UPDATE jobs SET last_end_status = (SELECT status FROM runs WHERE id = jobs.last_end_id);
-- The recent runs: the backfill of schema/NNNN_run_insights.sql itself.
$(sed -n '/^UPDATE jobs SET$/,/;$/p' schema/*_run_insights.sql)
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
}

# start_seeded SCRIPT PARAMS starts a benchmark of a seeded history: it
# checks for sqlite3, builds troc and prints the report's first line.
start_seeded() {
	command -v sqlite3 >/dev/null || {
		echo "bench: needs sqlite3 (apt-get install -y sqlite3)" >&2
		exit 1
	}
	build_troc
	echo "$1  $(date -u '+%Y-%m-%d %H:%M UTC')  $("$trocbin" version)  $(nproc) CPUs  $2"
}

# build_troc builds troc into a scratch directory and sets trocbin and
# errlog (where quietly collects stderr).
build_troc() {
	newdir bin
	errlog=$bin/stderr
	quietly ./build "$bin"
	trocbin=$bin/troc
}
