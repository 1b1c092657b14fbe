package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateEnvFile = flag.Bool("update-envfile", false, "rewrite the golden files under testdata/envfile")

// TestEnvFileGolden parses each testdata/envfile/*.env and compares the
// variables, one %q per line, or the error, with its .golden file.
func TestEnvFileGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/envfile/*.env")
	if err != nil || len(files) == 0 {
		t.Fatalf("no env files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			vars, err := parseEnvFile(string(data))
			if err != nil {
				fmt.Fprintf(&b, "error: %v\n", err)
			}
			for _, kv := range vars {
				fmt.Fprintf(&b, "%q\n", kv)
			}
			checkGoldenFile(t, strings.TrimSuffix(path, ".env")+".golden", b.String(), *updateEnvFile, "-update-envfile")
		})
	}
}

// FuzzEnvFile: any text parses or is refused without a panic; what
// parses has variable names for keys, and its values written back in
// single quotes parse to the same.
func FuzzEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "A='x'\nB=\"y\\\"z\"\n", "A=a\\\nb\n", "# c\n;d\n\nA = b \n", "A=\"\n\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		vars, err := parseEnvFile(text)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is more than one line", err)
			}
			return
		}
		var again strings.Builder
		for _, kv := range vars {
			k, v, _ := strings.Cut(kv, "=")
			if !isEnvName(k) {
				t.Fatalf("key %q is not a variable name", k)
			}
			if strings.Contains(v, "'") {
				return
			}
			fmt.Fprintf(&again, "%s='%s'\n", k, v)
		}
		got, err := parseEnvFile(again.String())
		if err != nil || strings.Join(got, "\x00") != strings.Join(vars, "\x00") {
			t.Fatalf("written back, %q parsed to %q (%v), want %q", again.String(), got, err, vars)
		}
	})
}
