package main

// The terminal under troc ui. troc ui puts it in raw mode (no line
// editing, no echo, and Ctrl-C arrives as a key rather than as SIGINT, so
// that troc reads every key itself) and switches to the alternate screen,
// so that the shell's screen comes back as it was. Modes are read and set
// with the TCGETS and TCSETS ioctls, the size with TIOCGWINSZ: the
// standard library has all it takes, no terminal module is needed.
//
// restore puts back the modes troc found and leaves the alternate screen.
// troc ui defers it in the goroutine that draws, so it runs however that
// goroutine ends: q, Ctrl-C, a signal (which the same goroutine handles),
// or a panic (deferred calls run before the runtime prints the panic, so
// the message lands on a readable screen). The goroutines that only read
// keys and wait for signals do nothing that can panic.

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// The escape sequences around a troc ui session: the alternate screen, a
// hidden cursor, and no automatic wrap, so that a line one column too
// wide for the terminal (a wide character in a log) is cut at the edge
// rather than pushing the rest of the screen down.
const (
	enterScreen = "\x1b[?1049h\x1b[?25l\x1b[?7l"
	leaveScreen = "\x1b[?7h\x1b[?25h\x1b[?1049l"
)

// terminal is the terminal troc ui runs on, in raw mode until restored.
type terminal struct {
	in, out *os.File
	saved   syscall.Termios // the modes to restore
}

// openTerminal puts the terminal of in and out in raw mode and switches it
// to the alternate screen. The caller must call restore.
func openTerminal(in, out *os.File) (*terminal, error) {
	t := &terminal{in: in, out: out}
	if err := termios(in, syscall.TCGETS, &t.saved); err != nil {
		return nil, fmt.Errorf("read the terminal's modes: %w", err)
	}
	// What cfmakeraw(3) does: bytes in and out as they are.
	raw := t.saved
	raw.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP |
		syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	raw.Oflag &^= syscall.OPOST
	raw.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	raw.Cflag &^= syscall.CSIZE | syscall.PARENB
	raw.Cflag |= syscall.CS8
	// A read returns what has been typed, or nothing after 100 ms: the
	// reader can then see that troc ui is done and stop, rather than
	// sit in a read that would take the next line typed at the shell.
	raw.Cc[syscall.VMIN], raw.Cc[syscall.VTIME] = 0, 1
	if err := termios(in, syscall.TCSETS, &raw); err != nil {
		return nil, fmt.Errorf("set the terminal to raw mode: %w", err)
	}
	if _, err := io.WriteString(out, enterScreen); err != nil {
		t.restore()
		return nil, fmt.Errorf("write to the terminal: %w", err)
	}
	return t, nil
}

// restore leaves the alternate screen, shows the cursor and puts back the
// terminal's modes. Errors are ignored, as there is nothing better to do
// with a terminal that has gone away (SIGHUP).
func (t *terminal) restore() {
	io.WriteString(t.out, leaveScreen)
	termios(t.in, syscall.TCSETS, &t.saved)
}

// size returns the terminal's width and height in characters. A terminal
// that does not know its size (0x0, a bare pseudo-terminal) is taken to
// be the classic 80x24.
func (t *terminal) size() (width, height int) { return termSize(t.out) }

// termSize is the size of the terminal f, as terminal.size says it.
func termSize(f *os.File) (width, height int) {
	var ws struct{ row, col, xpixel, ypixel uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TIOCGWINSZ, uintptr(unsafe.Pointer(&ws)))
	if errno != 0 || ws.col == 0 || ws.row == 0 {
		return 80, 24
	}
	return int(ws.col), int(ws.row)
}

// isTerminal reports whether f is a terminal: whether it has modes.
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	return termios(f, syscall.TCGETS, &t) == nil
}

// termios gets or sets (op: TCGETS, TCSETS) the modes of f's terminal.
func termios(f *os.File, op uintptr, t *syscall.Termios) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), op, uintptr(unsafe.Pointer(t)))
	if errno != 0 {
		return errno
	}
	return nil
}
