package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The spool keeps runs that the history could not take: the database was
// locked past its busy timeout, the disk was full, the file was damaged
// or too new. The job runs anyway; its run is written as one JSON file in
// a spool directory, and the next troc that has the history open replays
// it there and deletes the file.
//
// Where: spool/ beside the history, then, if that cannot be written (its
// disk is full, say), spool/ in the log directory, then troc/spool in the
// user's runtime directory ($XDG_RUNTIME_DIR, or /run for root): another
// filesystem each, so that one full disk does not lose a run.
//
// What a spooled run says is what happened: its real start, end, status
// and exit code, and a note that it was recorded late and why.
//
// Replay is idempotent: each spooled run carries a random key stored with
// its row (runs.spool_key, unique), so two trocs replaying the same file
// at once, or a replay cut short before the file was deleted, never record
// it twice. A run still going (its job or its troc alive, or its job's
// lock held) is left for later; one whose troc is gone is recorded
// Terminated, with an end presumed, which the real end replaces if it
// ever comes (insertRunSQL).
//
// Only files troc itself could have written are replayed: regular files
// in a spool directory, owned by this user and closed to others. Anything
// else is left where it is and reported.

// spoolDirs returns the directories a run may be spooled to, in the order
// they are tried; logDir is the private log directory, or "".
func spoolDirs(cfg *Config, logDir string) []string {
	dirs := []string{filepath.Join(filepath.Dir(cfg.Database), "spool")}
	if logDir != "" {
		dirs = append(dirs, filepath.Join(logDir, "spool"))
	}
	if run := runtimeDir(); run != "" {
		dirs = append(dirs, filepath.Join(run, "troc", "spool"))
	}
	return dirs
}

// runtimeDir is the user's runtime directory: $XDG_RUNTIME_DIR, or /run
// for root; "" when there is none.
func runtimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return d
	}
	if os.Getuid() == 0 {
		return "/run"
	}
	return ""
}

// spoolRun writes r to its spool file (rewriting it atomically) in the
// first of dirs that takes it, and returns the file's path. It is an
// error only when none did.
func spoolRun(dirs []string, r *Run) (string, error) {
	if r.SpoolKey == "" {
		var b [12]byte
		rand.Read(b[:])
		r.SpoolKey = hex.EncodeToString(b[:])
	}
	data, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	var errs []string
	for _, dir := range dirs {
		path, err := writeSpoolFile(dir, r.SpoolKey, data)
		if err == nil {
			return path, nil
		}
		errs = append(errs, err.Error())
	}
	return "", errors.New(strings.Join(errs, "; "))
}

// writeSpoolFile writes data to dir/key.json through a temporary file and
// a rename, so that a replay never reads half a run.
func writeSpoolFile(dir, key string, data []byte) (string, error) {
	if err := ownDir(dir); err != nil {
		return "", fmt.Errorf("spool directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, key+".json")
	tmp := path + ".tmp"
	os.Remove(tmp) // left by a troc that died writing it
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return "", fmt.Errorf("write spool file %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write spool file %s: %w", path, err)
	}
	return path, nil
}

// replaySpool moves the runs spooled in dirs into the history. held says
// whether a job's lock is held. Problems are logged, not returned: the
// spool must never stop troc from doing what it was asked to. It stops at
// the first sign that the history cannot take a write (busy, broken), so
// that however many runs are spooled it waits on the history at most once.
func replaySpool(ctx context.Context, db *DB, dirs []string, held func(job string) bool, log *slog.Logger) {
	for _, dir := range dirs {
		// Usually there is no spool at all: one lstat says so, where
		// judging the directory first would take one for every directory
		// above it too, at the end of every troc exec.
		if _, err := os.Lstat(dir); err != nil {
			continue
		}
		if err := trustDir(dir); err != nil {
			log.Warn(fmt.Sprintf("Spool directory %s not replayed: %v", dir, err))
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			log.Warn(fmt.Sprintf("Cannot read spool directory %s: %v", dir, err))
			continue
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			err := replayOne(ctx, db, path, held, log)
			if err == nil {
				continue
			}
			log.Warn(fmt.Sprintf("Cannot replay spool file %s: %v", path, err))
			if errors.Is(err, errBusy) || db.broken != nil {
				return
			}
		}
	}
}

// replayOne records the run spooled at path in the history and deletes
// the file.
func replayOne(ctx context.Context, db *DB, path string, held func(job string) bool, log *slog.Logger) error {
	r, err := readSpoolFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another troc replayed it
	}
	if err != nil {
		return err
	}
	if !r.finished() {
		if processAlive(r.PID, r.PIDStart) || processAlive(r.TrocPID, r.TrocStart) || held(r.Job) {
			return nil // its troc will rewrite the file when the run ends
		}
		r.Status = StatusTerminated
		r.End = nowMS()
		r.Inferred = true
		r.addNote("%s", orphanNote)
	}
	if r.ID != 0 {
		// The start is in the history; the end is what was spooled.
		err := db.finishRun(ctx, r)
		if !errors.Is(err, errRunNotFound) {
			if err != nil {
				return err
			}
			return finishReplay(path, r, log)
		}
		r.ID = 0 // this history never saw the start: record the whole run
	}
	if err := db.insertRun(ctx, r); err != nil {
		return err
	}
	return finishReplay(path, r, log)
}

// readSpoolFile reads the run spooled at path, if troc could have written
// the file: a regular file of this user's, mode 0600, that holds a run.
func readSpoolFile(path string) (*Run, error) {
	f, fi, err := openRegularInfo(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !ownedByUser(fi, false) || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("not troc's (it must belong to this user, mode 0600): left as it is")
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil || r.Job == "" || r.SpoolKey == "" || checkJobName(r.Job) != nil {
		return nil, fmt.Errorf("not a spooled run")
	}
	return &r, nil
}

// finishReplay deletes a spool file whose run is now in the history.
func finishReplay(path string, r *Run, log *slog.Logger) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	log.Info(fmt.Sprintf("Replayed spooled run of %s as run %d: %s", r.Job, r.ID, r.Status))
	return nil
}
