-- Per-job figures kept up to date by triggers as runs are recorded, so that
-- "troc job list" reads a few rows per job instead of its whole history,
-- and every way a run's status changes (exec, a spool replay, orphan
-- marking, "troc run term", a late real end) counts the same way.
--
-- The tallies describe what ran: pruning runs does not lower them.

ALTER TABLE jobs ADD COLUMN last_run_id INTEGER;     -- its latest run (no reference: runs get pruned)
ALTER TABLE jobs ADD COLUMN last_success_ms INTEGER; -- end of its latest Succeeded run
ALTER TABLE jobs ADD COLUMN notify INTEGER NOT NULL DEFAULT 0; -- notify after every run, as if --notify were given
ALTER TABLE jobs ADD COLUMN notify_on TEXT;          -- statuses that notify, comma-separated; NULL: the config's

-- A job's runs by start time: retention finds expired runs without reading
-- the ones it keeps, and "--since" with a job reads only what it shows.
CREATE INDEX runs_job_start ON runs (job_id, start_ms);

-- Runs and failures (Failed, TimedOut, Terminated) per job and UTC day.
CREATE TABLE job_days (
	job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	day      INTEGER NOT NULL, -- start_ms / 86400000
	runs     INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (job_id, day)
) WITHOUT ROWID;

CREATE TRIGGER runs_tally_insert AFTER INSERT ON runs
BEGIN
	INSERT INTO job_days (job_id, day, runs, failures)
	VALUES (NEW.job_id, NEW.start_ms / 86400000, 1,
		NEW.status IN ('Failed', 'TimedOut', 'Terminated'))
	ON CONFLICT (job_id, day) DO UPDATE SET
		runs = runs + 1,
		failures = failures + excluded.failures;
	UPDATE jobs SET
		last_run_id = max(coalesce(last_run_id, 0), NEW.id),
		last_success_ms = CASE NEW.status
			WHEN 'Succeeded' THEN max(coalesce(last_success_ms, 0), NEW.end_ms)
			ELSE last_success_ms END
	WHERE id = NEW.job_id;
END;

CREATE TRIGGER runs_tally_update AFTER UPDATE OF status ON runs
WHEN OLD.status <> NEW.status
BEGIN
	UPDATE job_days SET failures = failures
		+ (NEW.status IN ('Failed', 'TimedOut', 'Terminated'))
		- (OLD.status IN ('Failed', 'TimedOut', 'Terminated'))
	WHERE job_id = NEW.job_id AND day = NEW.start_ms / 86400000;
	UPDATE jobs SET last_success_ms = max(coalesce(last_success_ms, 0), NEW.end_ms)
	WHERE id = NEW.job_id AND NEW.status = 'Succeeded';
END;
