-- The job summaries of 0002 (jobs.last_run_id ... timedout, job_days) are
-- kept by troc's own statements from now on, in the transaction of every
-- write that adds a run or changes its status (countRun in db.go), instead
-- of by the triggers. Every troc parses the whole schema when it opens the
-- history, and the triggers were half of its text; each write of a run
-- compiled them into its statement; and most of what they did is, for an
-- exec, one UPDATE of the job's row. The columns and job_days mean what
-- 0002 says, and carry on from the totals they hold.
--
-- A run written by hand (sqlite3) is no longer counted: the summaries are
-- troc's, written only through db.go.

DROP TRIGGER runs_tally_insert;
DROP TRIGGER runs_tally_update;
