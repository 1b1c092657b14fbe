-- The first schema: jobs and their runs.
--
-- Times are integer milliseconds since the Unix epoch (UTC): compact, exact,
-- and sortable. Statuses are the spellings users see (Running, Skipped, ...).

CREATE TABLE jobs (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL UNIQUE,
	description TEXT    NOT NULL DEFAULT '',
	timeout_ms  INTEGER,                    -- default --timeout for its runs; NULL: none
	notify_log  INTEGER NOT NULL DEFAULT 0, -- include the log's tail in notifications
	created_ms  INTEGER NOT NULL
);

CREATE TABLE runs (
	id              INTEGER PRIMARY KEY,
	job_id          INTEGER NOT NULL REFERENCES jobs (id),
	status          TEXT    NOT NULL,
	start_ms        INTEGER NOT NULL,
	end_ms          INTEGER,          -- NULL while Running
	exit_code       INTEGER,          -- NULL unless the job exited by itself
	signal          INTEGER,          -- the signal that ended the job, if any
	pid             INTEGER,          -- the job's pid (also its process group id)
	pid_start       INTEGER,          -- the pid's start time in clock ticks after boot (/proc/PID/stat)
	host            TEXT    NOT NULL,
	command         TEXT    NOT NULL,
	log_file        TEXT,
	system_log_file TEXT,
	output_bytes    INTEGER,
	note            TEXT,             -- why anything unusual happened
	spool_key       TEXT              -- set for runs replayed from a spool file, to replay them once
);

-- A job's runs newest first; run ids grow with time.
CREATE INDEX runs_job ON runs (job_id, id);

-- Runs still in progress, for finding orphans without scanning the history.
CREATE INDEX runs_running ON runs (status) WHERE status = 'Running';

CREATE UNIQUE INDEX runs_spool_key ON runs (spool_key) WHERE spool_key IS NOT NULL;
