package main

// troc run grep: search the logs of the runs a filter selects, newest run
// first, as grep -n searches files: each matching line as RUN:LINE:TEXT,
// exit 0 when a line matched, 1 when none did, 2 on an error.
//
// PATTERN is a Go regular expression (RE2: grep -E's syntax, without
// back-references), matched against each line without its line feed. A
// log is read a MiB at a time, and a MiB without a match is passed over
// with one search of the whole block: most of a log matches nothing, so
// most of the cost is reading it. The runs are read from the history a
// page at a time, so the first matches print before the whole history
// has been read. A log that is gone (pruned, or deleted by hand) is passed
// over without a word: grep has nothing to search there. One that cannot
// be read is reported, and makes the exit status 2.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
)

// grepPage is how many runs run grep reads from the history at a time.
const grepPage = 500

// grepBlock is how much of a log run grep reads at a time.
const grepBlock = 1 << 20

// runGrepCmd is troc run grep.
func runGrepCmd(fs *flag.FlagSet) runFunc {
	selection := runSelectFlags(fs)
	fold := fs.Bool("i", false, "ignore case")
	list := fs.Bool("l", false, "print only the ids of the runs whose log matches, one a line")
	return func(a *app, ctx context.Context, args []string) error {
		positional, err := a.parseArgs(fs, joinedGrepFlags(args))
		if err != nil {
			return err
		}
		if len(positional) != 1 {
			return withUsageHint(fs, usagef("expected one PATTERN, got %d arguments", len(positional)))
		}
		re, err := compileGrep(positional[0], *fold)
		if err != nil {
			return err
		}
		h, f, err := selection(ctx, a, grepFailed)
		if err != nil {
			return err
		}
		g := newGrep(re)
		g.list, g.out, g.stderr = *list, bufio.NewWriterSize(a.stdout, 64<<10), a.stderr
		err = g.runs(ctx, h.db, f)
		if ferr := g.out.Flush(); err == nil {
			err = ferr
		}
		switch {
		case err != nil:
			return grepFailed(err)
		case g.failed:
			return exitStatus(exitGrepError)
		case !g.matched:
			return exitStatus(exitError)
		}
		return nil
	}
}

// joinedGrepFlags spells out -il and -li, as grep users write them, for
// the flag package, which takes one flag a word. Reading stops at "--".
func joinedGrepFlags(args []string) []string {
	out := make([]string, 0, len(args)+1)
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if arg == "-il" || arg == "-li" {
			out = append(out, "-i", "-l")
			continue
		}
		out = append(out, arg)
	}
	return out
}

// exitGrepError is run grep's exit status on an error, as grep's.
const exitGrepError = 2

// grepFailed is err with run grep's exit status for errors: 2, as grep's.
func grepFailed(err error) error { return &codedError{err: err, code: exitGrepError} }

// compileGrep compiles PATTERN for run grep: (?m), so that ^ and $ also
// match at the line feeds within a block, and (?i) for -i.
func compileGrep(pattern string, fold bool) (*regexp.Regexp, error) {
	flags := "(?m)"
	if fold {
		flags = "(?mi)"
	}
	re, err := regexp.Compile(flags + pattern)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, usagef("invalid PATTERN %q: %s", pattern, se.Code)
		}
		return nil, usagef("invalid PATTERN %q: %v", pattern, err)
	}
	return re, nil
}

// grep is one troc run grep's search.
type grep struct {
	re      *regexp.Regexp
	byLine  bool // re anchors at the text's start or end: no block pre-check (lines)
	list    bool // -l
	out     *bufio.Writer
	stderr  io.Writer
	buf     []byte
	matched bool // a line matched
	failed  bool // a log could not be read
}

// newGrep returns a search for re.
func newGrep(re *regexp.Regexp) *grep {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	return &grep{re: re, byLine: err != nil || anchorsText(tree)}
}

// anchorsText reports whether r has \A or \z (or ^ or $ without (?m)),
// which in a block of lines match at the block's start or end only, not
// at each line's: a block without a match may still hold a line with one.
func anchorsText(r *syntax.Regexp) bool {
	if r.Op == syntax.OpBeginText || r.Op == syntax.OpEndText {
		return true
	}
	return slices.ContainsFunc(r.Sub, anchorsText)
}

// runs searches the logs of the runs f selects, newest first, a page of
// runs at a time.
func (g *grep) runs(ctx context.Context, db *DB, f runFilter) error {
	f.Limit = grepPage
	for {
		runs, err := db.listRuns(ctx, f)
		if err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		for _, r := range runs {
			if r.LogFile == "" {
				continue
			}
			if err := g.log(r); err != nil {
				g.failed = true
				fmt.Fprintf(g.stderr, "troc: run %d: %s\n", r.ID, termText(err.Error()))
			}
		}
		if len(runs) < grepPage {
			return nil
		}
		f.Before = runs[len(runs)-1].ID
	}
}

// log searches the log of run r.
func (g *grep) log(r *Run) error {
	f, err := openLog(r.LogFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	prefix := strconv.FormatInt(r.ID, 10) + ":"
	err = g.lines(f, func(n int, line []byte) bool {
		g.matched = true
		if g.list {
			g.out.WriteString(prefix[:len(prefix)-1] + "\n")
			return false
		}
		g.out.WriteString(prefix)
		g.out.WriteString(strconv.Itoa(n))
		g.out.WriteByte(':')
		g.out.Write(line)
		g.out.WriteByte('\n')
		return true
	})
	return err
}

// lines calls match for each line of r that g.re matches, with its number
// (from 1) and its text without the line feed, until match returns false.
// A block of lines without a match costs one search of the block.
func (g *grep) lines(r io.Reader, match func(n int, line []byte) bool) error {
	if g.buf == nil {
		g.buf = make([]byte, grepBlock)
	}
	buf, held, n := g.buf, 0, 0
	for {
		k, err := io.ReadFull(r, buf[held:])
		end := held + k
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			return err
		}
		// The complete lines of the buffer; at the end, the last one too.
		cut := bytes.LastIndexByte(buf[:end], '\n') + 1
		if last {
			cut = end
		} else if cut == 0 {
			// A line longer than the buffer: make room for it.
			buf = append(buf[:end], make([]byte, len(buf))...)[:2*len(buf)]
			held = end
			continue
		}
		block := buf[:cut]
		if !g.byLine && !g.re.Match(block) {
			n += bytes.Count(block, []byte{'\n'})
		} else {
			for len(block) > 0 {
				line := block
				i := bytes.IndexByte(block, '\n')
				if i >= 0 {
					line, block = block[:i], block[i+1:]
				} else {
					block = nil
				}
				n++
				if g.re.Match(line) && !match(n, line) {
					return nil
				}
			}
		}
		if last {
			return nil
		}
		held = copy(buf, buf[cut:end])
	}
}
