-- Run ids are never reused: an id that troc ever printed (in a notification,
-- a ticket, a log) names that one run forever, even after the newest runs
-- are pruned or their job is deleted. SQLite gives that only to an
-- AUTOINCREMENT key, which ALTER TABLE cannot add, so runs is rebuilt with
-- every row and id as it was. The sequence starts past every id the
-- history has ever given out, as far as it still knows them: the runs
-- themselves, each job's latest run, and the runs that alerts were about.
--
-- end_inferred marks an end that troc presumed rather than saw: a run
-- marked Terminated because its troc was gone (orphan marking, a spool
-- replay, troc run term). The run's own troc, if it comes back with the
-- real end, replaces such an end; nothing else ever does.

CREATE TABLE runs_new (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id          INTEGER NOT NULL REFERENCES jobs (id),
	status          TEXT    NOT NULL,
	start_ms        INTEGER NOT NULL,
	end_ms          INTEGER,
	exit_code       INTEGER,
	signal          INTEGER,
	pid             INTEGER,
	pid_start       INTEGER,
	host            TEXT    NOT NULL,
	command         TEXT    NOT NULL,
	log_file        TEXT,
	system_log_file TEXT,
	output_bytes    INTEGER,
	note            TEXT,
	spool_key       TEXT,
	end_inferred    INTEGER NOT NULL DEFAULT 0
);

INSERT INTO runs_new (id, job_id, status, start_ms, end_ms, exit_code, signal,
	pid, pid_start, host, command, log_file, system_log_file, output_bytes,
	note, spool_key, end_inferred)
SELECT id, job_id, status, start_ms, end_ms, exit_code, signal,
	pid, pid_start, host, command, log_file, system_log_file, output_bytes,
	note, spool_key,
	coalesce(status = 'Terminated' AND note LIKE '%troc exited without recording an end%', 0)
FROM runs;

DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;

DELETE FROM sqlite_sequence WHERE name IN ('runs', 'runs_new');
INSERT INTO sqlite_sequence (name, seq) SELECT 'runs', max(
	coalesce((SELECT max(id) FROM runs), 0),
	coalesce((SELECT max(last_run_id) FROM jobs), 0),
	coalesce((SELECT max(last_end_id) FROM jobs), 0),
	coalesce((SELECT max(run_id) FROM notify_alerts), 0));

-- The indexes and the summary's triggers went with the old table; they
-- are as 0001 and 0002 made them.
CREATE INDEX runs_job ON runs (job_id, id);
CREATE INDEX runs_running ON runs (status) WHERE status = 'Running';
CREATE UNIQUE INDEX runs_spool_key ON runs (spool_key) WHERE spool_key IS NOT NULL;
CREATE INDEX runs_job_start ON runs (job_id, start_ms);

CREATE TRIGGER runs_tally_insert AFTER INSERT ON runs
BEGIN
	INSERT INTO job_days (job_id, day, runs, failures)
	SELECT NEW.job_id, NEW.start_ms / 86400000, coalesce(p.runs, 0), coalesce(p.failures, 0)
	FROM (SELECT 1) LEFT JOIN (
		SELECT runs, failures FROM job_days
		WHERE job_id = NEW.job_id AND day < NEW.start_ms / 86400000
		ORDER BY day DESC LIMIT 1) p
	WHERE true
	ON CONFLICT (job_id, day) DO NOTHING;
	UPDATE job_days SET
		runs = runs + 1,
		failures = failures + (NEW.status IN ('Failed', 'TimedOut', 'Terminated'))
	WHERE job_id = NEW.job_id AND day >= NEW.start_ms / 86400000;
	UPDATE jobs SET
		last_run_id = max(coalesce(last_run_id, 0), NEW.id),
		last_success_ms = CASE NEW.status
			WHEN 'Succeeded' THEN max(coalesce(last_success_ms, 0), NEW.end_ms)
			ELSE last_success_ms END,
		runs_total = runs_total + 1,
		failures_total = failures_total + (NEW.status IN ('Failed', 'TimedOut', 'Terminated')),
		skipped = skipped + (NEW.status = 'Skipped'),
		succeeded = succeeded + (NEW.status = 'Succeeded'),
		failed = failed + (NEW.status = 'Failed'),
		terminated = terminated + (NEW.status = 'Terminated'),
		timedout = timedout + (NEW.status = 'TimedOut')
	WHERE id = NEW.job_id;
	UPDATE jobs SET last_end_id = NEW.id, last_end_status = NEW.status
	WHERE id = NEW.job_id AND NEW.status NOT IN ('Running', 'Skipped')
		AND coalesce(last_end_id, 0) <= NEW.id;
END;

-- A run's status changes when it ends, and again in the rare case that a
-- run presumed Terminated (an orphan, troc run term) records its real
-- end: then its old status is taken off the counts.
CREATE TRIGGER runs_tally_update AFTER UPDATE OF status ON runs
WHEN OLD.status <> NEW.status
BEGIN
	UPDATE job_days SET failures = failures
		+ (NEW.status IN ('Failed', 'TimedOut', 'Terminated'))
		- (OLD.status IN ('Failed', 'TimedOut', 'Terminated'))
	WHERE job_id = NEW.job_id AND day >= NEW.start_ms / 86400000;
	UPDATE jobs SET
		last_success_ms = CASE NEW.status
			WHEN 'Succeeded' THEN max(coalesce(last_success_ms, 0), NEW.end_ms)
			ELSE last_success_ms END,
		failures_total = failures_total
			+ (NEW.status IN ('Failed', 'TimedOut', 'Terminated'))
			- (OLD.status IN ('Failed', 'TimedOut', 'Terminated')),
		skipped = skipped + (NEW.status = 'Skipped') - (OLD.status = 'Skipped'),
		succeeded = succeeded + (NEW.status = 'Succeeded') - (OLD.status = 'Succeeded'),
		failed = failed + (NEW.status = 'Failed') - (OLD.status = 'Failed'),
		terminated = terminated + (NEW.status = 'Terminated') - (OLD.status = 'Terminated'),
		timedout = timedout + (NEW.status = 'TimedOut') - (OLD.status = 'TimedOut')
	WHERE id = NEW.job_id;
	UPDATE jobs SET last_end_id = NEW.id, last_end_status = NEW.status
	WHERE id = NEW.job_id AND NEW.status NOT IN ('Running', 'Skipped')
		AND coalesce(last_end_id, 0) <= NEW.id;
END;
