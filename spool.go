package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The spool keeps runs that the history could not take: the database was
// locked past its timeout, the disk was full, the file was corrupt or too
// new. The job runs anyway; its run is written as one JSON file in the
// spool directory (beside the logs), and the next troc command that opens
// the history replays it there and deletes the file.
//
// Replay is idempotent: each spooled run carries a random key stored with
// its row (runs.spool_key, unique), so two trocs replaying the same file
// at once, or a replay cut short before the file was deleted, never record
// it twice.

// spoolRun writes r to a new or existing spool file in dir (rewriting it
// atomically) and returns the file's path.
func spoolRun(dir string, r *Run) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create spool directory: %w", err)
	}
	if r.SpoolKey == "" {
		var b [12]byte
		rand.Read(b[:])
		r.SpoolKey = hex.EncodeToString(b[:])
	}
	data, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.SpoolKey+".json")
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return "", fmt.Errorf("write spool file: %w", err)
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
		return "", fmt.Errorf("write spool file: %w", err)
	}
	return path, nil
}

// replaySpool moves the runs spooled in dir into the history. A spooled
// run that is still in progress (its troc is alive) is left for later.
// Problems are logged, not returned: the spool must never stop troc from
// doing what it was asked to.
func replaySpool(ctx context.Context, db *DB, dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn(fmt.Sprintf("Cannot read spool directory %s: %v", dir, err))
		}
		return
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := replayOne(ctx, db, path, log); err != nil {
			log.Warn(fmt.Sprintf("Cannot replay spool file %s: %v", path, err))
		}
	}
}

func replayOne(ctx context.Context, db *DB, path string, log *slog.Logger) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another troc replayed it
	}
	if err != nil {
		return err
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil || r.Job == "" || r.SpoolKey == "" {
		return fmt.Errorf("not a spooled run")
	}
	if !r.finished() && processAlive(r.PID, r.PIDStart) {
		return nil // its troc will rewrite the file when the run ends
	}
	if !r.finished() {
		r.Status = StatusTerminated
		r.addNote("troc exited without recording an end")
	}
	if r.ID != 0 {
		// The start is in the history; the end is what was spooled.
		err := db.finishRun(ctx, &r)
		if !errors.Is(err, errRunNotFound) {
			if err != nil {
				return err
			}
			return finishReplay(path, &r, log)
		}
		r.ID = 0 // this history never saw the start: record the whole run
	}
	if _, _, err := db.ensureJob(ctx, r.Job, r.Start); err != nil {
		return err
	}
	if err := db.insertRun(ctx, &r); err != nil {
		return err
	}
	return finishReplay(path, &r, log)
}

// finishReplay deletes a spool file whose run is now in the history.
func finishReplay(path string, r *Run, log *slog.Logger) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	log.Info(fmt.Sprintf("Replayed spooled run of %s as run %d: %s", r.Job, r.ID, r.Status))
	return nil
}
