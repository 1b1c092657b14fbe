-- Job control (troc exec --lock-wait, --lock, --skip-exit, --jitter,
-- --retry, the environment flags; troc job pause). Columns are only added: every row keeps what
-- it had, and a NULL means what troc did before them.
--
-- A run's waited_ms is how long it waited for its lock (--lock-wait),
-- jitter_ms how long it slept first (--jitter), lock_name the shared lock
-- it took besides its job's (--lock). attempt counts its tries, from 1
-- (NULL: a run with no retries); retry_of is the id of the first attempt
-- of the runs it retries; retried marks an attempt that troc ran again,
-- which the job's summary (last_end_*) does not take for its outcome.
ALTER TABLE runs ADD COLUMN waited_ms INTEGER;
ALTER TABLE runs ADD COLUMN jitter_ms INTEGER;
ALTER TABLE runs ADD COLUMN lock_name TEXT;
ALTER TABLE runs ADD COLUMN attempt INTEGER;
ALTER TABLE runs ADD COLUMN retry_of INTEGER;
ALTER TABLE runs ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
-- environment is the run's environment flags (--env-file FILE --cwd DIR
-- --nice N --ionice CLASS --umask MODE), as given: the env file's name,
-- never its content.
ALTER TABLE runs ADD COLUMN environment TEXT;

-- A job's settings of the same (and of the environment flags: --env-file,
-- --cwd, --nice, --ionice as CLASS:LEVEL, --umask), which troc exec's
-- flags override, and its
-- pause: paused_ms is when it was paused (NULL: not paused), until_ms when
-- the pause ends by itself (NULL: when troc job resume says).
ALTER TABLE jobs ADD COLUMN lock_name TEXT;
ALTER TABLE jobs ADD COLUMN lock_wait_ms INTEGER;
ALTER TABLE jobs ADD COLUMN skip_exit INTEGER;
ALTER TABLE jobs ADD COLUMN jitter_ms INTEGER;
ALTER TABLE jobs ADD COLUMN retries INTEGER;
ALTER TABLE jobs ADD COLUMN retry_delay_ms INTEGER;
ALTER TABLE jobs ADD COLUMN skip_when_paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN env_file TEXT;
ALTER TABLE jobs ADD COLUMN cwd TEXT;
ALTER TABLE jobs ADD COLUMN nice INTEGER;
ALTER TABLE jobs ADD COLUMN ionice TEXT;
ALTER TABLE jobs ADD COLUMN umask INTEGER;
ALTER TABLE jobs ADD COLUMN paused_ms INTEGER;
ALTER TABLE jobs ADD COLUMN pause_until_ms INTEGER;
ALTER TABLE jobs ADD COLUMN pause_reason TEXT;
