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
// still going is recorded as Skipped, not queued; unless the run may wait
// (--lock-wait), when troc tries again every lockPoll until the wait is
// over. It polls rather than blocks in flock(2) so that a signal, the
// deadline and a previous run's orphaned job (below) are all seen the
// same way, and nothing is left blocked in the kernel when troc gives up.
//
// A shared lock (--lock NAME) is LOCKDIR/_NAME.lock: a job name cannot
// start with '_', so no shared lock is ever a job's lock file. A run
// that has one takes its job's lock first, then the shared one, and holds
// both to its end (through its retries): one run of a job at a time
// still, and since no troc ever waits for a job's lock while holding a
// shared one, two trocs cannot each hold what the other waits for. The descriptor is
// close-on-exec so the job and its children never inherit the lock and
// cannot keep it alive after troc is gone.
//
// The file is opened O_NOFOLLOW in a directory troc trusts (dirs.go), so a
// symlink planted at the lock path is refused, never followed.
//
// A lock lives as long as its job. troc writes the job's pid and start
// time into the lock file once the job runs ("PID START", then the job's
// name on a line of its own, which a Skipped run's note quotes); a troc that finds the lock
// free but that job still alive (its troc was SIGKILLed, say) treats the
// lock as held. Only the job's leader counts: a background process that
// left the job behind never holds the lock.

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// errLocked says that another run of the job holds its lock.
var errLocked = errors.New("another run of this job holds its lock")

// lockPoll is how often troc tries a lock again while it may wait for it.
const lockPoll = 100 * time.Millisecond

// heldError says who holds a lock that troc could not take: errLocked for
// the job's own, or the shared lock and the job whose run holds it.
type heldError struct {
	shared string // the shared lock's name; "" for the job's own lock
	job    string // the holder's job, as its lock file says; "" if unknown
	pid    int    // the holder's job's pid, as its lock file says; 0 if unknown
	run    int64  // the holder's run, if the history tells (exec's recorder); 0 if unknown
}

func (e *heldError) Error() string {
	if e.shared == "" {
		return errLocked.Error()
	}
	switch {
	case e.job == "":
		return fmt.Sprintf("the lock %s is held", e.shared)
	case e.run != 0:
		return fmt.Sprintf("the lock %s is held by run %d of job %s (pid %d)", e.shared, e.run, e.job, e.pid)
	case e.pid == 0:
		return fmt.Sprintf("the lock %s is held by a run of job %s", e.shared, e.job)
	}
	return fmt.Sprintf("the lock %s is held by a run of job %s (pid %d)", e.shared, e.job, e.pid)
}

func (e *heldError) Is(target error) bool { return target == errLocked }

// sharedLockName is the file name of shared lock name (see above).
func sharedLockName(name string) string { return "_" + name }

// takeLocks takes job's lock in dir and, when shared is not "", the shared
// lock of that name, waiting up to wait for them (see above). It returns
// the files holding them; or the signal that came on sigs while it
// waited; or, when the wait ran out, the error of the last try (a
// *heldError or a *previousJob). A job's lock is released again when the
// shared one cannot be had. waiting is told why, each time troc starts
// waiting for a lock.
func takeLocks(dir, job, shared string, wait time.Duration, sigs <-chan os.Signal, waiting func(error)) ([]*os.File, os.Signal, error) {
	deadline := time.Now().Add(wait)
	names := []string{job}
	if shared != "" {
		names = append(names, sharedLockName(shared))
	}
	var locks []*os.File
	for _, name := range names {
		which := func(err error) error { // names the shared lock in err
			var held *heldError
			var prev *previousJob
			switch {
			case name == job:
			case errors.As(err, &held):
				held.shared = shared
			case errors.As(err, &prev):
				prev.shared = shared
			}
			return err
		}
		f, sig, err := waitLock(filepath.Join(dir, name+".lock"), deadline, sigs, func(err error) { waiting(which(err)) })
		if f == nil {
			for _, l := range locks {
				l.Close()
			}
			return nil, sig, which(err)
		}
		if name != job {
			// Whose it is, for a run that finds it held before this job
			// starts or between its retries; only that run's note
			// depends on it, so a full disk here is no reason to stop.
			markLocks([]*os.File{f}, 0, 0, job)
		}
		locks = append(locks, f)
	}
	return locks, nil, nil
}

// waitLock takes the lock at path, trying every lockPoll until deadline;
// waiting is told why when the first try fails and troc waits.
func waitLock(path string, deadline time.Time, sigs <-chan os.Signal, waiting func(error)) (*os.File, os.Signal, error) {
	for try := 0; ; try++ {
		f, err := lockFile(path)
		var prev *previousJob
		if err == nil || !errors.Is(err, errLocked) && !errors.As(err, &prev) {
			return f, nil, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil, err
		}
		if try == 0 {
			waiting(err)
		}
		t := time.NewTimer(min(left, lockPoll))
		select {
		case <-t.C:
		case sig := <-sigs:
			t.Stop()
			return nil, sig, err
		}
	}
}

// lockFile takes the lock at path without waiting. It returns a
// *heldError (errLocked) when another process holds it, and a
// *previousJob when the lock was free but the job of the run that last
// held it still runs (its troc was killed). Closing the file releases the
// lock.
func lockFile(path string) (*os.File, error) {
	for try := 0; ; try++ {
		f, fi, err := openLock(path)
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
			defer f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				held := &heldError{}
				if prev := lockedJob(f); prev != nil {
					held.job, held.pid = prev.job, prev.pid
				}
				return nil, held
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The lock is on the file troc opened; it counts only if that is
		// still the file at path. One deleted meanwhile (a tmp cleaner, a
		// job rename) would let the next troc lock a new file beside it.
		if !isFileAt(fi, path) {
			f.Close()
			if try < 10 {
				continue
			}
			return nil, fmt.Errorf("lock %s: the file keeps changing under troc", path)
		}
		prev := lockedJob(f)
		if prev != nil && prev.pid == 0 && prev.pipe != 0 {
			prev.pid, prev.start = pipeHolder(prev.pipe, prev.since)
		}
		if prev != nil && prev.pid > 0 && processAlive(prev.pid, prev.start) {
			f.Close()
			return nil, prev
		}
		return f, nil
	}
}

// openLock opens (or creates) the lock file at path, never through a
// symlink, never anything but a regular file, and returns it with what
// fstat says of it.
func openLock(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, nil, fmt.Errorf("lock file %s is a symlink; refusing to follow it", path)
		}
		return nil, nil, fmt.Errorf("open lock file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("lock file %s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// isFileAt reports whether held, an open file's fstat, is the file at
// path.
func isFileAt(held os.FileInfo, path string) bool {
	now, err := os.Lstat(path)
	return err == nil && os.SameFile(held, now)
}

// previousJob is the job of a run whose troc died holding the lock: a
// lock lives as long as its job, not only as long as its troc.
type previousJob struct {
	pid    int
	start  int64
	job    string // the job's name, from the lock file's second line; "" if none
	shared string // the shared lock's name, when it is that lock; "" for the job's own
	pipe   uint64 // pid 0: the job was starting with its output on this pipe (markStarting)
	since  int64  // and not before this moment, in /proc's clock ticks since boot
}

func (p *previousJob) Error() string {
	if p.shared != "" {
		return fmt.Sprintf("the lock %s is held by a run of job %s whose troc died; its job (pid %d) still runs", p.shared, cmp.Or(p.job, "?"), p.pid)
	}
	return fmt.Sprintf("the previous run's troc died and its job (pid %d) still runs", p.pid)
}

// lockedJob reads the job that the lock file says holds the lock (see
// markLocks), or nil. A lock taken by a troc whose job has not started
// yet says pid 0: lockedJob returns it only for its job's name.
func lockedJob(f *os.File) *previousJob {
	var b [markSize]byte
	n, _ := f.ReadAt(b[:], 0)
	first, second, _ := strings.Cut(string(b[:n]), "\n")
	var p previousJob
	if _, err := fmt.Sscanf(first, "%d %d", &p.pid, &p.start); err != nil || p.pid < 0 {
		return nil
	}
	var third string
	p.job, third, _ = strings.Cut(second, "\n")
	if checkName("job", p.job) != nil {
		p.job = ""
	}
	if p.pid == 0 {
		fmt.Sscanf(third, "starting pipe:[%d] %d\n", &p.pipe, &p.since)
	}
	if p.pid == 0 && p.job == "" {
		return nil
	}
	return &p
}

// markLocks writes the job's pid, its start time and the job's name into
// each lock file that troc holds for it ("PID START\nJOB\n"; 0 0 until
// the job starts), so that if troc dies while the job runs, the next troc
// finds the job there and does not start a second one, and a run that
// finds a shared lock held can say whose it is. The first line is what
// every troc before shared locks wrote, and all they read.
func markLocks(locks []*os.File, pid int, start int64, job string) error {
	return writeMark(locks, fmt.Sprintf("%d %d\n%s\n", pid, start, job))
}

// markStarting writes, into each lock file troc holds, that the job is
// about to start with its stdout on the pipe whose inode is pipe, and that
// it starts now or later ("0 0\nJOB\nstarting pipe:[INODE] TICKS\n",
// ticks since boot as /proc counts a process's start). markLocks replaces
// it with the job's pid as soon as fork returns. Were troc killed in
// between, the lock would come free with no pid in it while its job runs;
// the next troc then looks for a process that started since and writes to
// that pipe (pipeHolder), and finds the job. Trocs that know no third
// line read "0 0": no job.
func markStarting(locks []*os.File, pipe *os.File, job string) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(pipe.Fd()), &st); err != nil {
		return err
	}
	now, err := bootTicks()
	if err != nil {
		return err
	}
	return writeMark(locks, fmt.Sprintf("0 0\n%s\nstarting pipe:[%d] %d\n", job, st.Ino, now))
}

// markSize is the length of every mark: s, then spaces and a newline.
// Every mark overwrites all of the one before, and the file is never
// truncated: on ext4 an ftruncate(2), even within its one block, took
// about as long as the fork. It holds the longest mark (a 64-character
// job name and the third line), and lockedJob reads that much.
const markSize = 128

// writeMark replaces the content of each lock file with s, padded to
// markSize.
func writeMark(locks []*os.File, s string) error {
	b := make([]byte, markSize)
	n := copy(b, s)
	for i := n; i < markSize-1; i++ {
		b[i] = ' '
	}
	b[markSize-1] = '\n'
	for _, f := range locks {
		if _, err := f.WriteAt(b, 0); err != nil {
			return err
		}
	}
	return nil
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
