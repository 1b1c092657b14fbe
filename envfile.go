package main

// troc exec --env-file: KEY=VALUE lines, read as systemd reads an
// EnvironmentFile (systemd.exec(5)), so that a unit's file serves a cron
// job unchanged:
//
//   - blank lines, and lines whose first non-blank character is # or ;,
//     are comments;
//   - blanks around the key and before the value are dropped, and after
//     an unquoted value;
//   - "double quotes" keep blanks, and a backslash in them escapes ", \,
//     `, $ and a newline (any other backslash stays); 'single quotes' keep
//     everything; outside quotes a backslash escapes the next character;
//   - a quoted value may span lines, and a backslash at the end of a line
//     joins the next one.
//
// Where systemd skips a line it cannot read (no "=", a key that is not a
// variable name) with a warning, troc refuses the file, naming the line:
// a job whose environment is half what its file says should not run.
// Errors never quote the file's content, which may hold secrets.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxEnvFile is the most troc reads of an env file.
const maxEnvFile = 1 << 20

// readEnvFile reads path as an env file and returns its variables,
// KEY=VALUE, in the file's order (a key set twice keeps the later value).
func readEnvFile(path string) ([]string, error) {
	data, err := readJobFile(path)
	if errors.Is(err, errNotAFile) {
		return nil, fmt.Errorf("--env-file %w", err) // it names the path
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	vars, err := parseEnvFile(string(data))
	if err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	return vars, nil
}

// readJobFile reads a file that decides how a job runs (its env file: its
// PATH, its LD_PRELOAD, its secrets), so another local user must not be
// able to write or swap it, nor make troc wait on it: a regular file (not
// a symlink, a FIFO or a device), of troc's user or root, writable by no
// one else, in a directory that passes trustDir, and at most maxEnvFile
// bytes.
func readJobFile(path string) ([]byte, error) {
	if err := trustDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("not read: %w", err)
	}
	f, fi, err := openRegularInfo(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !ownedByUser(fi, true) {
		return nil, errors.New("not read: it belongs to another user")
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("not read: it is writable by other users (mode %04o)", fi.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err == nil && len(data) > maxEnvFile {
		err = fmt.Errorf("larger than %d bytes", maxEnvFile)
	}
	return data, err
}

// parseEnvFile parses an env file's text (see the rules above).
func parseEnvFile(text string) ([]string, error) {
	var out []string
	index := map[string]int{}
	line := 1
	for len(text) > 0 {
		start := line
		// One logical line: up to a newline outside quotes.
		trimmed := strings.TrimLeft(text, " \t\r\f\v")
		if trimmed == "" || trimmed[0] == '\n' || trimmed[0] == '#' || trimmed[0] == ';' {
			nl := strings.IndexByte(trimmed, '\n')
			if nl < 0 {
				break
			}
			text, line = trimmed[nl+1:], line+1
			continue
		}
		eq := strings.IndexAny(trimmed, "=\n")
		if eq < 0 || trimmed[eq] != '=' {
			return nil, fmt.Errorf("line %d: no '=' (want KEY=VALUE)", start)
		}
		key := strings.TrimRight(trimmed[:eq], " \t\r\f\v")
		if !isEnvName(key) {
			return nil, fmt.Errorf("line %d: the key is not a variable name (letters, digits and '_', not starting with a digit)", start)
		}
		value, rest, lines, err := parseEnvValue(trimmed[eq+1:])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		if i, ok := index[key]; ok {
			out[i] = key + "=" + value
		} else {
			index[key] = len(out)
			out = append(out, key+"="+value)
		}
		text, line = rest, line+lines
	}
	return out, nil
}

// parseEnvValue reads a value from the start of s up to the end of its
// logical line, and returns it, what follows, and how many lines it took.
func parseEnvValue(s string) (value, rest string, lines int, err error) {
	s = strings.TrimLeft(s, " \t\r\f\v")
	var b strings.Builder
	trailing := 0 // unquoted blanks at the end of b, dropped at the end
	lines = 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			return b.String()[:b.Len()-trailing], s[i+1:], lines, nil
		case c == '\\':
			if i+1 == len(s) {
				return "", "", 0, errors.New("a backslash ends the file")
			}
			i++
			if s[i] == '\n' {
				lines++ // a continued line
			} else {
				b.WriteByte(s[i])
			}
			trailing = 0
		case c == '"' || c == '\'':
			end := i + 1
			for ; end < len(s) && s[end] != c; end++ {
				ch := s[end]
				if c == '"' && ch == '\\' && end+1 < len(s) && strings.IndexByte("\"\\`$\n", s[end+1]) >= 0 {
					end++
					if ch = s[end]; ch == '\n' {
						lines++ // an escaped newline joins the lines
						continue
					}
				} else if ch == '\n' {
					lines++
				}
				b.WriteByte(ch)
			}
			if end == len(s) {
				return "", "", 0, fmt.Errorf("%c quote not closed", c)
			}
			i = end
			trailing = 0
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			b.WriteByte(c)
			trailing++
		default:
			b.WriteByte(c)
			trailing = 0
		}
	}
	return b.String()[:b.Len()-trailing], "", lines, nil
}

// overEnv is env with vars (KEY=VALUE) set over it.
func overEnv(env, vars []string) []string {
	if len(vars) == 0 {
		return env
	}
	set := map[string]bool{}
	for _, kv := range vars {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	out := make([]string, 0, len(env)+len(vars))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}
