-- What a run used and how a job's recent runs went (issue 20).
--
-- Resource use, from wait4's rusage of the job and the descendants it
-- waited for: NULL for runs whose job did not run, and for every run
-- recorded before this version (the original troc's too).
ALTER TABLE runs ADD COLUMN user_cpu_us     INTEGER; -- user CPU, microseconds
ALTER TABLE runs ADD COLUMN sys_cpu_us      INTEGER; -- system CPU, microseconds
ALTER TABLE runs ADD COLUMN max_rss_kb      INTEGER; -- peak resident set of the largest process, KiB
ALTER TABLE runs ADD COLUMN blocks_in       INTEGER; -- file system blocks read (ru_inblock)
ALTER TABLE runs ADD COLUMN blocks_out      INTEGER; -- and written (ru_oublock)
ALTER TABLE runs ADD COLUMN ctx_voluntary   INTEGER; -- voluntary context switches (ru_nvcsw)
ALTER TABLE runs ADD COLUMN ctx_involuntary INTEGER; -- involuntary ones (ru_nivcsw)

-- Settings for anomalies (check.go): a successful run shorter than
-- min_runtime_ms is suspect (NULL: the job's own median decides), and
-- so is one that wrote nothing when expect_output is set.
ALTER TABLE jobs ADD COLUMN min_runtime_ms INTEGER;
ALTER TABLE jobs ADD COLUMN expect_output  INTEGER NOT NULL DEFAULT 0;

-- Summary, kept by countRun (db_runs.go) like 0005's: the job's latest
-- 20 finished runs (recent; not an attempt that troc ran again, 0006's
-- retried: the attempt that ended the retries stands for it) and its
-- latest 21 Succeeded ones (recent_ok: the last, and the 20 it is judged
-- against),
-- each "ID,LETTER,START_MS,DURATION_MS,OUTPUT_BYTES" separated by spaces,
-- LETTER as the strip shows it (strip.go). So job list, check and ui draw
-- a job's history and judge its last run from its row alone, however
-- long the history. Computed here from the runs the history keeps.
ALTER TABLE jobs ADD COLUMN recent    TEXT;
ALTER TABLE jobs ADD COLUMN recent_ok TEXT;

UPDATE jobs SET
	recent = (SELECT group_concat(e, ' ') FROM (
		SELECT r.id || ',' || CASE r.status WHEN 'Succeeded' THEN '.' WHEN 'Failed' THEN 'F'
			WHEN 'Skipped' THEN 'S' WHEN 'TimedOut' THEN 'T' ELSE 'X' END
			|| ',' || r.start_ms || ',' || max(coalesce(r.end_ms - r.start_ms, 0), 0)
			|| ',' || coalesce(r.output_bytes, 0) AS e
		FROM runs r WHERE r.job_id = jobs.id AND r.status <> 'Running' AND r.retried = 0
		ORDER BY r.id DESC LIMIT 20)),
	recent_ok = (SELECT group_concat(e, ' ') FROM (
		SELECT r.id || ',.,' || r.start_ms || ',' || max(coalesce(r.end_ms - r.start_ms, 0), 0)
			|| ',' || coalesce(r.output_bytes, 0) AS e
		FROM runs r WHERE r.job_id = jobs.id AND r.status = 'Succeeded'
		ORDER BY r.id DESC LIMIT 21));
