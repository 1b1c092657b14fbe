package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPrivateDir(t *testing.T) {
	uid := strconv.Itoa(os.Getuid())
	tests := []struct {
		name    string
		mode    os.FileMode                    // of the configured directory
		prepare func(t *testing.T, dir string) // what someone left there before
		want    string                         // "" for the directory itself, else the subdirectory's name
		err     string
	}{
		{name: "private", mode: 0o700, want: ""},
		{name: "owner only writes", mode: 0o755, want: ""},
		{name: "shared", mode: 0o1777, want: "troc-" + uid},
		{name: "group writable", mode: 0o770, want: "troc-" + uid},
		{name: "existing private subdirectory", mode: 0o1777, want: "troc-" + uid,
			prepare: func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "troc-"+uid), 0o700) }},
		{name: "symlink", mode: 0o1777, err: "is not a directory",
			prepare: func(t *testing.T, dir string) { os.Symlink(t.TempDir(), filepath.Join(dir, "troc-"+uid)) }},
		{name: "file", mode: 0o1777, err: "is not a directory",
			prepare: func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "troc-"+uid), nil, 0o600) }},
		{name: "open subdirectory", mode: 0o1777, err: "is open to other users (mode 0777)",
			prepare: func(t *testing.T, dir string) {
				sub := filepath.Join(dir, "troc-"+uid)
				os.Mkdir(sub, 0o700)
				os.Chmod(sub, 0o777)
			}},
		{name: "someone else's", mode: 0o1777, err: "belongs to another user",
			prepare: func(t *testing.T, dir string) {
				if os.Getuid() != 0 {
					t.Skip("needs root to give a directory away")
				}
				sub := filepath.Join(dir, "troc-"+uid)
				os.Mkdir(sub, 0o700)
				os.Chown(sub, 65534, 65534)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			os.Mkdir(dir, 0o700)
			os.Chmod(dir, tt.mode)
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			got, err := privateDir(dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("privateDir = %q, %v; want an error containing %q", got, err, tt.err)
				}
				return
			}
			if want := filepath.Join(dir, tt.want); err != nil || got != want {
				t.Fatalf("privateDir = %q, %v; want %q", got, err, want)
			}
		})
	}
	// A directory that does not exist yet is created, private.
	dir := filepath.Join(t.TempDir(), "a", "b")
	if got, err := privateDir(dir); err != nil || got != dir {
		t.Fatalf("privateDir = %q, %v", got, err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode = %04o, want 0700", fi.Mode().Perm())
	}
}

func TestCreatePrivateRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious"), 0o644)
	for _, name := range []string{"link", "dangling"} {
		path := filepath.Join(dir, name)
		dest := target
		if name == "dangling" {
			dest = filepath.Join(dir, "nowhere")
		}
		os.Symlink(dest, path)
		if f, err := createPrivate(path); err == nil {
			f.Close()
			t.Errorf("createPrivate(%s) followed the symlink", name)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Errorf("target = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("createPrivate created the dangling symlink's target")
	}
	f, err := createPrivate(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "new")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
}
