package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateHelp = flag.Bool("update-help", false, "rewrite the golden files under testdata/help")

// runApp runs troc in this process with args, as main does, and returns
// its exit status and what it printed.
func runApp(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "config.yaml"), nil, 0o600) // nothing to say on first use
	var out, errb strings.Builder
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		env: testEnv(map[string]string{"HOME": home, "TROC_CONFIG_PATH": home, "TROC_LOGDIR": home})}
	code = a.main(context.Background(), args)
	return code, out.String(), errb.String()
}

// golden compares got with testdata/help/name, or rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	checkGoldenFile(t, filepath.Join("testdata", "help", name), got, *updateHelp, "-update-help")
}

// TestHelpGolden holds troc help, every group's help and every command's
// -h to golden files, so that help cannot drift from the command table
// again: each is printed to stdout, exit 0.
func TestHelpGolden(t *testing.T) {
	lines := [][]string{{"help"}, {"run", "help"}, {"job", "help"}, {"notify", "help"}}
	for _, c := range commands {
		lines = append(lines, append(strings.Fields(c.path), "-h"))
	}
	for _, args := range lines {
		name := strings.Join(args, "_") + ".txt"
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runApp(t, args...)
			if code != 0 || stderr != "" {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr)
			}
			golden(t, name, stdout)
		})
	}
}

// TestHelpFlagsListed: every command's synopsis names each of its flags,
// so that its usage line and its -h agree.
func TestHelpFlagsListed(t *testing.T) {
	for _, c := range commands {
		if c.path == "exec" {
			continue // its synopsis says [flags]: it has too many for one line
		}
		c.flags().VisitAll(func(f *flag.Flag) {
			if strings.HasPrefix(f.Usage, "same as ") {
				return // another spelling of a flag that is listed
			}
			if !strings.Contains(c.usage, "-"+f.Name) {
				t.Errorf("troc %s has flag -%s, which its synopsis %q lacks", c.path, f.Name, c.usage)
			}
		})
	}
}

// TestBadCommandLines holds, for each kind of bad command line, the exit
// status and the first line troc prints to a golden file.
func TestBadCommandLines(t *testing.T) {
	lines := [][]string{
		{},
		{"frobnicate"},
		{"rn"},
		{"run"},
		{"run", "lst"},
		{"job", "frob"},
		{"notify", "tset"},
		{"run", "list", "--bogus"},
		{"run", "list", "--limit"},
		{"run", "list", "--limit", "x"},
		{"run", "list", "extra"},
		{"run", "show"},
		{"job", "show"},
		{"exec"},
		{"exec", "--name", "x"},
		{"exec", "--bogus", "--name", "x", "true"},
		{"version", "extra"},
		{"--host"},
		{"--host", "web1", "exec", "--name", "x", "true"},
	}
	var b strings.Builder
	for _, args := range lines {
		code, _, stderr := runApp(t, args...)
		first, _, _ := strings.Cut(stderr, "\n")
		fmt.Fprintf(&b, "troc %s\n\texit %d: %s\n", strings.Join(args, " "), code, first)
	}
	golden(t, "bad-command-lines.txt", b.String())
}
