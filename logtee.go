package main

// Log capture rules.
//
// A run's log holds the job's stdout and stderr. Without --tee both go
// into one pipe, so the log keeps the exact order the job wrote them in.
// With --tee each stream has its own pipe (troc must know which bytes were
// stderr to copy them to its own stderr), so output written to the two
// streams within the same instant may interleave in the log slightly
// differently than the job wrote it. --stderr-fails also needs the
// streams apart, to count what the job wrote to stderr, and so has the
// same two pipes.
//
// The pipe is as large as Linux allows an unprivileged process (1 MiB) and
// troc reads it in chunks of that size, so a job that writes in small
// pieces costs a pipe write each, not a file write each. That made a job
// writing 1 GB faster under troc than redirected by sh to a file. splice(2)
// was tried and measured slower: it moves what the pipe holds at each
// wake-up, often a single 4 KiB write, and copies into the page cache all
// the same.
//
// The log never harms the job. If the file cannot be written (disk full,
// quota, I/O error), troc keeps reading the job's output so it never
// blocks on a full pipe, and the run's note says where the log was cut.
// Of what it could not write it keeps the last 64 KiB in memory, since the
// end of a log is what people read first: at the job's end troc tries to
// write it after a line that marks the gap, and when even that fails, the
// alerts and -q's summary show it from memory.
//
// troc stops reading when the job it started exits, not when the last
// writer closes the pipe: a background process (`sleep 300 &`) that
// inherited the job's stdout must not keep troc, and the lock, waiting.
// What was in the pipe when the job exited is kept; what such a process
// writes later is not (its writes fail with EPIPE).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// pipeSize is the capacity asked for each pipe: the most an unprivileged
// process may set by default (/proc/sys/fs/pipe-max-size). A larger pipe
// means fewer wake-ups for a job that writes a lot.
const pipeSize = 1 << 20

// firstBuf is the size of a copier's first buffer. Most jobs write little
// or nothing, and a pipeSize buffer for them was troc exec's one large
// allocation (the heap grew for it); a stream that has carried firstBuf
// bytes reads pipeSize at a time.
const firstBuf = 16 << 10

// lostTail is how much of the output a log cut short keeps in memory.
const lostTail = 64 << 10

// A job that writes a lot usually writes in small pieces (head, cat and
// most programs write 4 to 128 KB at a time), and a reader that takes
// them as they come reads little at a time: for 1 GB from head, 23,000
// reads and as many writes to the log, 8,000 waits in the Go runtime's
// poller and 12,000 context switches, which made troc exec a quarter
// slower than the job writing to a file itself. So once a stream has
// carried bulkAfter bytes, a copier that empties its pipe naps for nap
// before it waits on the poller: the pipe fills meanwhile (at 1 GB/s, a
// tenth of a 1 MB pipe), and the next read takes it all. A job whose output comes in bursts loses nothing
// (the nap is short, and its pipe holds the output meanwhile); one that
// writes little never has a nap at all. Only on a pipe of at least
// napPipe bytes: a smaller one (the system's pipe limits reached) would
// fill during the nap and make the job wait. And only when the job's
// stdout and stderr share one pipe: with two (--tee, --stderr-fails) the
// idle one's copier waits in the poller, whose thread then wakes at each
// of the job's writes to the busy pipe while its copier naps (70,000
// wake-ups for 1 GB), and the naps made troc slower, not faster.
const (
	bulkAfter = 1 << 20
	nap       = 100 * time.Microsecond
	napPipe   = 256 << 10
)

// capture carries a job's output from its pipes into the run's log.
type capture struct {
	log     *os.File // nil when there is no log: the output is only drained
	logPath string
	streams []*stream

	finishing atomic.Bool // set by finish: copiers stop napping and return to the poller
	mu        sync.Mutex
	logged    int64  // bytes in the log
	total     int64  // bytes the job wrote
	errBytes  int64  // of those, bytes written to stderr, when the streams are apart
	logErr    error  // why the log was cut, if it was
	unlogged  []byte // the last lostTail bytes of what the log did not take
	childEnds []*os.File
	wg        sync.WaitGroup
}

// stream is one pipe from the job.
type stream struct {
	r      *os.File  // troc's end, non-blocking and polled by the runtime
	tee    io.Writer // where --tee copies this stream; nil without --tee
	stderr bool      // the job's stderr, on a pipe of its own
	buf    []byte
	moved  int64 // bytes taken from the pipe so far
	canNap bool  // the pipe is large enough to nap on, and the only one (see nap)
	naps   int   // naps taken (the tests look)
}

// newCapture makes the pipes for a job's output. log may be nil. With tee,
// stdout and stderr get their own pipes and are copied to teeOut and
// teeErr as they arrive; with split they get their own pipes too, so that
// stderrBytes can count what went to stderr.
func newCapture(log *os.File, logPath string, tee, split bool, teeOut, teeErr io.Writer) (*capture, error) {
	c := &capture{log: log, logPath: logPath}
	tees := []io.Writer{nil}
	switch {
	case tee:
		tees = []io.Writer{teeOut, teeErr}
	case split:
		tees = []io.Writer{nil, nil}
	}
	for i, w := range tees {
		r, childEnd, size, err := newPipe()
		if err != nil {
			c.close()
			return nil, fmt.Errorf("make output pipe: %w", err)
		}
		c.streams = append(c.streams, &stream{r: r, tee: w, stderr: i == 1, canNap: size >= napPipe && len(tees) == 1})
		c.childEnds = append(c.childEnds, childEnd)
	}
	return c, nil
}

// newPipe returns a pipe whose read end is non-blocking (so the Go runtime
// polls it) and whose write end is blocking, as programs expect their
// stdout to be, and the pipe's capacity.
func newPipe() (r, w *os.File, size int, err error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, 0, err
	}
	// Best effort: a smaller pipe only costs more wake-ups. The call
	// returns the capacity set; on failure the pipe keeps its own, which
	// is then only known to be small.
	n, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[1]), syscall.F_SETPIPE_SZ, pipeSize)
	if errno == 0 {
		size = int(n)
	}
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, nil, 0, err
	}
	return os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1"), size, nil
}

// stdout and stderr are the files to give the job.
func (c *capture) stdout() *os.File { return c.childEnds[0] }
func (c *capture) stderr() *os.File { return c.childEnds[len(c.childEnds)-1] }

// start begins copying. Call it once the job has started: it closes troc's
// copies of the job's ends so that the pipes see end-of-file when the job
// and its children are done with them.
func (c *capture) start() {
	for _, f := range c.childEnds {
		f.Close()
	}
	c.childEnds = nil
	for _, s := range c.streams {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.pump(s, false)
		}()
	}
}

// finish stops copying once the job has exited: it takes what is still in
// the pipes, and no more, and closes them. It returns the number of bytes
// the job wrote and, when the log is incomplete, a note saying so.
func (c *capture) finish() (total int64, note string) {
	// Wake the copiers out of their wait for more data; then take what the
	// pipes hold right now. Data is never lost between the two: a copier
	// only waits once its pipe is empty.
	c.finishing.Store(true)
	now := time.Now()
	for _, s := range c.streams {
		s.r.SetReadDeadline(now)
	}
	c.wg.Wait()
	for _, s := range c.streams {
		s.r.SetReadDeadline(time.Time{})
		c.pump(s, true)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logErr != nil {
		note = fmt.Sprintf("log cut at %d of %d bytes: %v", c.logged, c.total, c.logErr)
		if c.writeTail() {
			note += fmt.Sprintf("; its last %d bytes follow the gap", len(c.unlogged))
			c.unlogged = nil
		}
	}
	c.close()
	return c.total, note
}

// writeTail writes the kept end of the output to the log, after a line
// that marks what is missing, if there is space for it again.
func (c *capture) writeTail() bool {
	if c.log == nil || len(c.unlogged) == 0 {
		return false
	}
	gap := fmt.Sprintf("\n[troc: %d bytes missing here: %v]\n", c.total-c.logged-int64(len(c.unlogged)), c.logErr)
	_, err := c.log.Write(append([]byte(gap), c.unlogged...))
	return err == nil
}

// stderrBytes is how many bytes the job wrote to stderr, when newCapture
// kept the streams apart (else 0). Call after finish.
func (c *capture) stderrBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errBytes
}

// lostEnd is the end of the output that the log could not take, when
// writeTail could not write it either; nil otherwise. Call after finish.
func (c *capture) lostEnd() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unlogged
}

func (c *capture) close() {
	for _, f := range c.childEnds {
		f.Close()
	}
	for _, s := range c.streams {
		s.r.Close()
	}
	if c.log != nil {
		c.log.Close()
	}
}

// pump moves data from a stream to the log until end-of-file. With final
// set it moves only what the pipe holds now and returns.
func (c *capture) pump(s *stream, final bool) {
	rc, err := s.r.SyscallConn()
	if err != nil {
		return
	}
	left := int64(-1)
	if final {
		left = pipeBuffered(rc)
	}
	rc.Read(func(fd uintptr) bool {
		napped := false // since the last read that brought data
		for left != 0 {
			n, err := c.move(int(fd), s, left)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN && !final && s.canNap && s.moved >= bulkAfter && !c.finishing.Load():
				// Empty, but the job writes a lot: let the pipe fill (see
				// nap). Nanosleep, not time.Sleep, whose timers round a
				// tenth of a millisecond up to a whole one when troc is
				// otherwise idle. Stop napping after a nap that brought
				// nothing, and the poller wakes this copier as before.
				if napped {
					return false
				}
				ts := syscall.NsecToTimespec(int64(nap))
				syscall.Nanosleep(&ts, nil)
				napped = true
				s.naps++
				continue
			case err == syscall.EAGAIN:
				return final // empty: wait for more, unless this is the last pass
			case err != nil || n == 0:
				return true // end of file, or the pipe itself failed
			}
			s.moved += n
			napped = false
			if left > 0 {
				left -= n
			}
		}
		return true
	})
}

// pipeBuffered returns how many bytes wait in the pipe.
func pipeBuffered(rc syscall.RawConn) int64 {
	var n int32
	rc.Control(func(fd uintptr) {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		if errno != 0 {
			n = 0
		}
	})
	return int64(n)
}

// move moves one chunk of at most max bytes (no limit when max < 0) from
// the pipe fd into the log, and to the tee. It returns what it took from
// the pipe: a log that fails does not stop the draining.
func (c *capture) move(fd int, s *stream, max int64) (int64, error) {
	want := int64(pipeSize)
	if max > 0 && max < want {
		want = max
	}
	switch {
	case s.buf == nil:
		s.buf = make([]byte, firstBuf)
	case len(s.buf) < pipeSize && s.moved >= firstBuf:
		s.buf = make([]byte, pipeSize)
	}
	n, err := syscall.Read(fd, s.buf[:min(want, int64(len(s.buf)))])
	if n <= 0 {
		return 0, err
	}
	p := s.buf[:n]
	if s.tee != nil {
		if _, err := s.tee.Write(p); err != nil {
			s.tee = nil // troc's own output is gone; the log still matters
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(n)
	if s.stderr {
		c.errBytes += int64(n)
	}
	if c.log != nil && c.logErr == nil {
		written, err := c.log.Write(p)
		c.logged += int64(written)
		if err != nil {
			c.logErr = fmt.Errorf("write %s: %w", c.logPath, errors.Unwrap(err))
		}
		p = p[written:]
	}
	if c.logErr != nil {
		c.keep(p)
	}
	return int64(n), nil
}

// keep adds p to the end of the output kept in memory, keeping lostTail
// bytes at most.
func (c *capture) keep(p []byte) {
	if len(p) >= lostTail {
		c.unlogged = append(c.unlogged[:0], p[len(p)-lostTail:]...)
		return
	}
	if over := len(c.unlogged) + len(p) - lostTail; over > 0 {
		c.unlogged = append(c.unlogged[:0], c.unlogged[over:]...)
	}
	c.unlogged = append(c.unlogged, p...)
}

// openLog opens a run's log for reading. The path comes from the history,
// and a log's directory may be gone and made again by someone else (the
// original troc's /tmp/troc-UID): so the log is read only when it is a
// regular file (not a symlink, a FIFO or a device) of troc's user or
// root, as troc made it.
func openLog(path string) (*os.File, error) {
	f, fi, err := openRegularInfo(path)
	if err != nil {
		return nil, err
	}
	if !ownedByUser(fi, true) {
		f.Close()
		return nil, fmt.Errorf("%s belongs to another user; troc does not read it", path)
	}
	return f, nil
}

// tailLines returns the last n lines of the file at path, reading only
// the end of it.
func tailLines(path string, n int) ([]byte, error) {
	f, err := openLog(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	const block = 16 << 10
	var buf []byte
	for off := size; off > 0; {
		step := int64(block)
		if off < step {
			step = off
		}
		off -= step
		chunk := make([]byte, step)
		if _, err := f.ReadAt(chunk, off); err != nil && err != io.EOF {
			return nil, err
		}
		buf = append(chunk, buf...)
		// n lines need n newlines before them, not counting a final one.
		body := buf
		if len(body) > 0 && body[len(body)-1] == '\n' {
			body = body[:len(body)-1]
		}
		if i := nthLastIndex(body, '\n', n); i >= 0 {
			return buf[i+1:], nil
		}
		if len(buf) > 1<<20 {
			break // a megabyte without enough newlines: show what we have
		}
	}
	return buf, nil
}

// nthLastIndex returns the index of the n-th last c in b, or -1.
func nthLastIndex(b []byte, c byte, n int) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			n--
			if n == 0 {
				return i
			}
		}
	}
	return -1
}

// fileTail returns a logTail for finish that reads the log file at path:
// its last maxLines lines, and how many lines come before them.
func fileTail(path string) func(maxLines int) (lines []string, earlier int) {
	return func(maxLines int) ([]string, int) {
		if path == "" {
			return nil, 0
		}
		b, err := tailLines(path, maxLines)
		if err != nil {
			return []string{fmt.Sprintf("(cannot read the log: %v)", err)}, 0
		}
		s := strings.TrimSuffix(string(b), "\n")
		if s == "" {
			return []string{}, 0
		}
		lines := strings.Split(s, "\n")
		if len(lines) > maxLines {
			lines = lines[len(lines)-maxLines:]
		}
		total, err := countLines(path)
		if err != nil {
			return lines, 0
		}
		return lines, max(total-len(lines), 0)
	}
}

// countLines counts the lines of the file at path, a last one without its
// line feed included. It reads the whole file, a MiB at a time: a gigabyte
// of log takes a fraction of a second, and only a job that sends its log
// asks.
func countLines(path string) (int, error) {
	f, err := openLog(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n, last := 0, byte('\n')
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte{'\n'})
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
}
