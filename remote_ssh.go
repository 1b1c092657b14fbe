package main

// One host's answer to troc --host, through the system's ssh client: the
// command line (every word single-quoted for the remote shell), the
// answer with its exit status, and several hosts asked at once.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// remoteParallel is how many hosts are asked at once: enough for a fleet
// to answer in about the time of its slowest host, few enough not to run
// this host out of processes or file descriptors.
const remoteParallel = 64

// command returns the ssh command that runs troc with args on host h:
// with a terminal for ui, else without one and with no input.
func (r *remote) command(ctx context.Context, h remoteHost, args []string, tty bool) (*exec.Cmd, error) {
	words, err := shellWords(r.cfg.Remote.SSH)
	if err == nil && len(words) == 0 {
		err = errors.New("empty")
	}
	if err != nil {
		return nil, &configError{fmt.Errorf("remote.ssh %q: %v", r.cfg.Remote.SSH, err)}
	}
	argv := words[1:]
	if tty {
		argv = append(argv, "-t")
	} else {
		argv = append(argv, "-T")
		if len(r.hosts) > 1 {
			// Password prompts from several hosts at once would fight
			// over the terminal: a fleet needs keys or an agent.
			argv = append(argv, "-o", "BatchMode=yes")
		}
	}
	if t := r.cfg.Remote.Timeout; t > 0 {
		argv = append(argv, "-o", fmt.Sprintf("ConnectTimeout=%d", int((t+time.Second-1)/time.Second)))
	}
	if h.port != "" {
		argv = append(argv, "-p", h.port)
	}
	if h.user != "" {
		argv = append(argv, "-l", h.user)
	}
	argv = append(argv, "--", h.addr, remoteLine(r.cfg.Remote.TrocPath, args))
	cmd := exec.CommandContext(ctx, words[0], argv...)
	// ssh may leave a child (a connection master) holding its output: do
	// not wait for it once ssh itself is gone.
	cmd.WaitDelay = 2 * time.Second
	return cmd, nil
}

// remoteLine is the line the remote shell runs: troc's path, then every
// argument single-quoted. A path's leading ~/ stays outside the quotes so
// that the remote shell expands it to the remote home.
func remoteLine(trocPath string, args []string) string {
	words := make([]string, 0, len(args)+1)
	if rest, ok := strings.CutPrefix(trocPath, "~/"); ok {
		words = append(words, "~/"+shellQuote(rest))
	} else {
		words = append(words, shellQuote(trocPath))
	}
	for _, arg := range args {
		words = append(words, shellQuote(arg))
	}
	return strings.Join(words, " ")
}

// answer is what one host answered.
type answer struct {
	host   remoteHost
	stdout []byte
	stderr []byte
	status int   // the exit status of the remote troc
	err    error // why there is no usable answer, in one line; nil if there is one
	usage  bool  // err is troc's refusal of the command line
}

// ask runs troc with args on host h and waits for its whole answer, at
// most remote.timeout.
func (r *remote) ask(ctx context.Context, h remoteHost, args []string) answer {
	ans := answer{host: h}
	if t := r.cfg.Remote.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	cmd, err := r.command(ctx, h, args, false)
	if err != nil {
		ans.err = err
		return ans
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	ans.stdout, ans.stderr = stdout.Bytes(), stderr.Bytes()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		ans.err = fmt.Errorf("no answer within %s", r.cfg.Remote.Timeout)
	case err != nil && !errors.As(err, &exit):
		ans.err = fmt.Errorf("cannot run %s: %v", cmd.Path, err)
	default:
		ans.status = cmd.ProcessState.ExitCode()
		ans.err = r.trouble(ans.status, ans.stderr)
	}
	return ans
}

// trouble says what an exit status of ssh and the remote troc means
// when it is not an answer, or returns nil: 255 is ssh's own failure,
// 126 and 127 the remote shell's when troc is not there.
func (r *remote) trouble(status int, stderr []byte) error {
	said := lastLine(stderr)
	switch status {
	case 255:
		if strings.HasPrefix(said, "ssh: ") {
			return errors.New(said)
		}
		return fmt.Errorf("ssh failed: %s", said)
	case 127:
		return fmt.Errorf("no troc there at %s (set remote.troc_path): %s", r.cfg.Remote.TrocPath, said)
	case 126:
		return fmt.Errorf("troc there at %s cannot be run: %s", r.cfg.Remote.TrocPath, said)
	}
	return nil
}

// lastLine is the last line of a remote's stderr that says something:
// troc's own error rather than its hint, else the last line of all.
func lastLine(stderr []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if strings.HasPrefix(line, "troc: ") && !strings.HasPrefix(line, "troc: hint: ") {
			return strings.TrimPrefix(line, "troc: ")
		}
	}
	if said := strings.TrimSpace(lines[len(lines)-1]); said != "" {
		return said
	}
	return "(it said nothing)"
}

// askAll asks every host in parallel and returns the answers in the
// hosts' order.
func (r *remote) askAll(ctx context.Context, args []string) []answer {
	answers := make([]answer, len(r.hosts))
	slots := make(chan struct{}, remoteParallel)
	var wg sync.WaitGroup
	for i, h := range r.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			answers[i] = r.ask(ctx, h, args)
		}()
	}
	wg.Wait()
	return answers
}

// stream runs troc with args on the one host, its output passed on as it
// comes and its exit status made troc's: for commands that follow a run
// as it goes (run watch), that change something (run term, run kill), or
// that take the terminal (ui, with tty).
func (r *remote) stream(ctx context.Context, args []string, tty bool) error {
	if r.several() {
		return usagef("%s takes one --host", strings.Join(args[:min(2, len(args))], " "))
	}
	h := r.hosts[0]
	cmd, err := r.command(ctx, h, args, tty)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = r.a.stdout, r.a.stderr
	if tty {
		cmd.Stdin = r.a.stdin
	} else {
		// What ssh and the remote troc say is shown, not obeyed. (The
		// output of run log and run watch is the log, as cat shows it.)
		errs := &termLines{w: r.a.stderr}
		defer errs.flush()
		cmd.Stderr = errs
	}
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &exit):
		return fmt.Errorf("%s: cannot run ssh: %v", h.name, err)
	case exit.ExitCode() == 255:
		// ssh has said why on stderr.
		return fmt.Errorf("%s: ssh failed", h.name)
	}
	return exitStatus(exit.ExitCode())
}
