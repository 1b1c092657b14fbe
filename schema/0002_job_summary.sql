-- Jobs get their settings (notifications, a schedule, how late and how long
-- a run may be) and a summary of their runs, kept up to date by triggers as
-- runs are recorded. So "troc job list", "troc check" and "troc metrics"
-- read one row per job (and two index lookups for the tallies) however
-- long the history, and every way a run's status changes (exec, a spool
-- replay, orphan marking, "troc run term", a late real end) counts the
-- same way. The summaries describe what ran: pruning runs does not lower
-- them.

-- Settings.
ALTER TABLE jobs ADD COLUMN notify         INTEGER NOT NULL DEFAULT 0; -- notify after every run, as if --notify were given
ALTER TABLE jobs ADD COLUMN notify_on      TEXT;    -- statuses that notify, comma-separated; NULL: the config's
ALTER TABLE jobs ADD COLUMN schedule       TEXT;    -- a cron expression (cron.go); NULL: none
ALTER TABLE jobs ADD COLUMN schedule_ms    INTEGER; -- when the schedule was set: nothing is due before
ALTER TABLE jobs ADD COLUMN grace_ms       INTEGER; -- how late a scheduled run may start; NULL: the default
ALTER TABLE jobs ADD COLUMN max_runtime_ms INTEGER; -- running longer is stuck; NULL: never
ALTER TABLE jobs ADD COLUMN health         TEXT;    -- what "troc check --notify" last announced; NULL: nothing yet
ALTER TABLE jobs ADD COLUMN health_ms      INTEGER; -- when

-- Summary. Run ids are no references: runs get pruned.
ALTER TABLE jobs ADD COLUMN last_run_id     INTEGER; -- its latest run
ALTER TABLE jobs ADD COLUMN last_success_ms INTEGER; -- end of its latest Succeeded run
ALTER TABLE jobs ADD COLUMN last_end_id     INTEGER; -- its latest finished run that was not skipped
ALTER TABLE jobs ADD COLUMN last_end_status TEXT;    -- and its status: "failing" reads it
-- Runs, and failures (Failed, TimedOut, Terminated), since the job was
-- created: the latest of its running totals in job_days, below.
ALTER TABLE jobs ADD COLUMN runs_total     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN failures_total INTEGER NOT NULL DEFAULT 0;
-- Runs by final status since the job was created: the counters of metrics.
ALTER TABLE jobs ADD COLUMN skipped    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN succeeded  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN failed     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN terminated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN timedout   INTEGER NOT NULL DEFAULT 0;

-- A job's runs by start time: retention finds expired runs without reading
-- the ones it keeps, and "--since" with a job reads only what it shows.
CREATE INDEX runs_job_start ON runs (job_id, start_ms);

-- Running totals of each job's runs and failures (Failed, TimedOut,
-- Terminated), one row per UTC day on which it started a run: the row of
-- day D counts everything that started on D or before. So the runs of any
-- period are the job's totals less the last row before the period: one
-- lookup per job, however many days it spans.
CREATE TABLE job_days (
	job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	day      INTEGER NOT NULL, -- start_ms / 86400000
	runs     INTEGER NOT NULL,
	failures INTEGER NOT NULL,
	PRIMARY KEY (job_id, day)
) WITHOUT ROWID;

-- The history so far, in one pass over it each.
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

-- A new run counts on its start's day and every later day already there
-- (only a run replayed from a spool long after finds any). A new day's row
-- starts from the totals of the day before it.
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
