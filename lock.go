package main

// Locking rules.
//
// Each job has one lock file, LOCKDIR/NAME.lock, and a run holds an
// exclusive flock(2) on it for its whole life. flock and not a PID file:
// the kernel drops the lock when the holder dies, however it dies (even
// SIGKILL), so there is no stale lock to clean up and no PID to mistake
// for someone else's. For the same reason the file is never deleted:
// deleting a lock file while another process waits on it would let two
// runs hold "the" lock on two different inodes.
//
// The lock is taken without blocking: a cron job whose previous run is
// still going is recorded as Skipped, not queued. The descriptor is
// close-on-exec so the job and its children never inherit the lock and
// cannot keep it alive after troc is gone.
//
// The file is opened O_NOFOLLOW in a directory troc trusts (dirs.go), so a
// symlink planted at the lock path is refused, never followed.
//
// A lock lives as long as its job. troc writes the job's pid and start
// time into the lock file once the job runs; a troc that finds the lock
// free but that job still alive (its troc was SIGKILLed, say) treats the
// lock as held. Only the job's leader counts: a background process that
// left the job behind never holds the lock.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// errLocked says that another run of the job holds its lock.
var errLocked = errors.New("another run of this job holds its lock")

// lockJob takes the job's lock in dir without waiting. It returns
// errLocked when another process holds it, and a *previousJob when the
// lock was free but the job of the run that last held it still runs (its
// troc was killed). Closing the file releases the lock.
func lockJob(dir, name string) (*os.File, error) {
	path := filepath.Join(dir, name+".lock")
	for try := 0; ; try++ {
		f, err := openLock(path)
		if err != nil {
			return nil, err
		}
		for {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err != syscall.EINTR {
				break
			}
		}
		if err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, errLocked
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The lock is on the file troc opened; it counts only if that is
		// still the file at path. One deleted meanwhile (a tmp cleaner, a
		// job rename) would let the next troc lock a new file beside it.
		if same, err := isFileAt(f, path); err != nil || !same {
			f.Close()
			if try < 10 {
				continue
			}
			return nil, fmt.Errorf("lock %s: the file keeps changing under troc", path)
		}
		if prev := lockedJob(f); prev != nil && processAlive(prev.pid, prev.start) {
			f.Close()
			return nil, prev
		}
		return f, nil
	}
}

// openLock opens (or creates) the lock file at path: never through a
// symlink, never anything but a regular file.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("lock file %s is a symlink; refusing to follow it", path)
		}
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("lock file %s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// isFileAt reports whether f is the file at path.
func isFileAt(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Lstat(path)
	if err != nil {
		return false, nil
	}
	return os.SameFile(held, now), nil
}

// previousJob is the job of a run whose troc died holding the lock: a
// lock lives as long as its job, not only as long as its troc.
type previousJob struct {
	pid   int
	start int64
}

func (p *previousJob) Error() string {
	return fmt.Sprintf("the previous run's troc died and its job (pid %d) still runs", p.pid)
}

// lockedJob reads the job that the lock file says holds the lock (see
// markLock), or nil.
func lockedJob(f *os.File) *previousJob {
	var b [64]byte
	n, _ := f.ReadAt(b[:], 0)
	var p previousJob
	if _, err := fmt.Sscanf(string(b[:n]), "%d %d\n", &p.pid, &p.start); err != nil || p.pid <= 0 {
		return nil
	}
	return &p
}

// markLock writes the job's pid and its start time into the lock file
// that troc holds for it, so that if troc dies while the job runs, the
// next troc finds the job there and does not start a second one.
func markLock(f *os.File, pid int, start int64) error {
	s := fmt.Sprintf("%d %d\n", pid, start)
	if _, err := f.WriteAt([]byte(s), 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(s)))
}

// renameLock moves job old's lock file to new's name, for a job rename. A
// run still holding the lock keeps it, now under the new name, so the
// renamed job cannot start twice; the old name gets a fresh lock file when
// a job of that name next runs. rename(2) moves the inode itself: unlike a
// copy or a second link, nothing is ever shared between the two names
// afterwards. A missing old file (the job never ran) is not an error.
func renameLock(dir, old, new string) error {
	err := os.Rename(filepath.Join(dir, old+".lock"), filepath.Join(dir, new+".lock"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// lockHeld reports whether some process holds job name's lock in dir. It
// reads /proc/locks rather than trying the lock: taking it, even for an
// instant, could make a run that starts at that instant a Skipped one.
func lockHeld(dir, name string) (bool, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, name+".lock"), &st); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return false, nil
		}
		return false, err
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false, err
	}
	// Lines read "1: FLOCK  ADVISORY  WRITE 6390 fe:00:10182769 0 EOF":
	// the file is major:minor (hex) and inode (decimal) of its device.
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)
	for _, line := range strings.Split(string(locks), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == want {
			return true, nil
		}
	}
	return false, nil
}

// jobLockHeld reports whether some process holds the named job's lock,
// by lockHeld, in any of the directories troc may keep it in. When that
// cannot be told
// (no /proc/locks) it reports false: callers use it to put off marking a
// run as orphaned, and a run is never left Running for good.
func jobLockHeld(cfg *Config, job string) bool {
	for _, dir := range append([]string{cfg.LockDir}, cfg.lockDirs()...) {
		if held, err := lockHeld(dir, job); err == nil && held {
			return true
		}
	}
	return false
}
