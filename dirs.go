package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// privateDir returns the directory troc keeps its lock or log files in,
// given the configured one.
//
// Lock and log files must live where no other local user can create,
// replace or redirect them. A directory that only its owner can write
// (0755, 0700) is used as it is. A directory that others can write, like
// the default /tmp, is not: troc uses a subdirectory of it named
// troc-UID, which it creates 0700 and refuses to use unless it is a real
// directory (not a symlink) owned by this user and closed to everyone else.
func privateDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 == 0 {
		return dir, nil
	}
	uid := os.Getuid()
	sub := filepath.Join(dir, "troc-"+strconv.Itoa(uid))
	if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	fi, err = os.Lstat(sub)
	if err != nil {
		return "", err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("%s is not a directory (%s); remove it", sub, fi.Mode().Type())
	case st == nil || int(st.Uid) != uid:
		return "", fmt.Errorf("%s belongs to another user; remove it", sub)
	case fi.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("%s is open to other users (mode %04o); run chmod 700 on it", sub, fi.Mode().Perm())
	}
	return sub, nil
}

// createPrivate creates a new file that nobody else can read, failing if
// anything, a symlink included, is already at path.
func createPrivate(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
}
