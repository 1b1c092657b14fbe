package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
)

// diag is where troc's own diagnostic lines go: stderr, and the system log
// file once there is one. Lines written before the file is open are kept
// and copied into it when it opens, so the system log tells the whole
// story of the run, first-use messages included.
//
// In quiet mode stderr gets nothing as it happens; the lines are kept so
// that a run that needs attention can still show them.
type diag struct {
	mu      sync.Mutex
	stderr  io.Writer
	quiet   bool
	file    *os.File
	early   bytes.Buffer // lines from before the file opened
	all     bytes.Buffer // every line, kept in quiet mode
	warned  bool         // a warning or error was logged
	fileErr error
}

// Write takes one line from the slog handler.
func (d *diag) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.quiet {
		d.all.Write(p)
	} else {
		d.stderr.Write(p)
	}
	if d.file != nil {
		if _, err := d.file.Write(p); err != nil && d.fileErr == nil {
			d.fileErr = err
		}
	} else {
		d.early.Write(p)
	}
	return len(p), nil
}

// setFile starts copying lines into f, beginning with the ones logged so far.
func (d *diag) setFile(f *os.File) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.file = f
	if d.early.Len() > 0 {
		f.Write(d.early.Bytes())
	}
	d.early.Reset()
}

// fileError returns why the system log file could not be written, if it
// could not.
func (d *diag) fileError() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fileErr
}

// quietReport returns whether anything at warning level or above was
// logged, and every line logged so far (kept in quiet mode only).
func (d *diag) quietReport() (warned bool, lines string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.warned, d.all.String()
}

// close closes the system log file.
func (d *diag) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.file != nil {
		d.file.Close()
		d.file = nil
	}
}

// newLogger returns a logger writing text lines (or JSON lines) to d, in
// the key=value form the original troc printed.
//
// Quiet, d keeps the lines for a summary rather than print them, and only
// warnings and errors reach stderr as they happen: under cron, nothing
// but a problem may (cron mails whatever a job prints).
func newLogger(d *diag, asJSON bool) *slog.Logger {
	handler := func(w io.Writer, level slog.Level) slog.Handler {
		opts := &slog.HandlerOptions{Level: level}
		if asJSON {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	h := handler(d, slog.LevelInfo)
	if d.quiet {
		h = slog.NewMultiHandler(h, handler(d.stderr, slog.LevelWarn))
	}
	return slog.New(&warnTracker{Handler: h, d: d})
}

// newSystemLogger returns a logger for a command that cron runs on its
// own: every line goes to file (text or JSON lines), and only warnings
// and errors to stderr too. A nil file takes nothing.
func newSystemLogger(stderr io.Writer, file *os.File, asJSON bool) *slog.Logger {
	handler := func(w io.Writer, level slog.Level) slog.Handler {
		opts := &slog.HandlerOptions{Level: level}
		if asJSON {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	handlers := []slog.Handler{handler(stderr, slog.LevelWarn)}
	if file != nil {
		handlers = append(handlers, handler(file, slog.LevelInfo))
	}
	return slog.New(slog.NewMultiHandler(handlers...))
}

// warnTracker notes in d when anything at warning level or above is
// logged: quiet mode speaks up for such a run even when the job succeeded.
type warnTracker struct {
	slog.Handler
	d *diag
}

func (w *warnTracker) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.d.mu.Lock()
		w.d.warned = true
		w.d.mu.Unlock()
	}
	return w.Handler.Handle(ctx, r)
}

// WithAttrs and WithGroup keep the tracking in derived handlers, so that a
// warning logged through logger.With still counts.
func (w *warnTracker) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &warnTracker{Handler: w.Handler.WithAttrs(attrs), d: w.d}
}

func (w *warnTracker) WithGroup(name string) slog.Handler {
	return &warnTracker{Handler: w.Handler.WithGroup(name), d: w.d}
}
