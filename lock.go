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
// The file is opened O_NOFOLLOW in a private directory (see privateDir),
// so a symlink planted at the lock path is refused, never followed.
package main

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
// errLocked when another process holds it. Closing the file releases it.
func lockJob(dir, name string) (*os.File, error) {
	path := filepath.Join(dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("lock file %s is a symlink; refusing to follow it", path)
		}
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("lock file %s is not a regular file", path)
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
	return f, nil
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
// by lockHeld. When that cannot be told (no lock directory, no
// /proc/locks) it reports false: callers use it to put off marking a run
// as orphaned, and a run is never left Running for good.
func jobLockHeld(cfg *Config, job string) bool {
	dir, err := privateDir(cfg.LockDir)
	if err != nil {
		return false
	}
	held, err := lockHeld(dir, job)
	return err == nil && held
}
