-- What the notification rules need besides the runs themselves: when each
-- job's latest failure alert went out and which run it was about, so that
-- a job that keeps failing is reminded of at most once per notify.repeat,
-- and a success is announced as a recovery only after failures that were
-- announced.

CREATE TABLE notify_alerts (
	job_id  INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
	run_id  INTEGER NOT NULL, -- the failed run the alert was about (no reference: runs get pruned)
	sent_ms INTEGER NOT NULL  -- when it was sent
);
