package main

// A program of the user's own: notify.command runs with /bin/sh -c for
// each notification, with the notice as JSON on its stdin (as the webhook
// receives it) and as TROC_* variables. It runs once, never retried (it
// may not be safe to run twice), in a process group of its own that is
// killed when notify.timeout runs out, and without the TROC_* variables
// that hold secrets.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// commandChannel runs a program for each notice.
type commandChannel struct {
	command string
	secrets secretTexts // masked in what the program said
}

// newCommandChannel returns the command channel that c describes, or nil.
func newCommandChannel(c *NotifyConfig) (channel, error) {
	if strings.TrimSpace(c.Command) == "" {
		return nil, nil
	}
	return &commandChannel{command: c.Command, secrets: notifySecrets(c)}, nil
}

func (c *commandChannel) name() string { return "command" }

func (c *commandChannel) send(ctx context.Context, m *notice) error {
	body, err := marshalNotice(m)
	if err != nil {
		return err
	}
	env := append(withoutSecrets(os.Environ()), m.environ()...)
	return runProgram(ctx, "/bin/sh", []string{"-c", c.command}, body, env, c.secrets)
}

// environ returns the notice as TROC_* variables; an unknown value (an
// exit code for a signal) is empty.
func (m *notice) environ() []string {
	v := m.jsonView()
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	num := func(p any) string {
		switch p := p.(type) {
		case *int64:
			if p != nil {
				return strconv.FormatInt(*p, 10)
			}
		case *int:
			if p != nil {
				return strconv.Itoa(*p)
			}
		}
		return ""
	}
	return []string{
		"TROC_EVENT=" + v.Event,
		"TROC_JOB=" + v.Job,
		"TROC_HOST=" + v.Hostname,
		"TROC_RUN_ID=" + num(v.ID),
		"TROC_STATUS=" + string(v.Status),
		"TROC_EXIT_CODE=" + num(v.ExitCode),
		"TROC_SIGNAL=" + str(v.Signal),
		"TROC_START_TIME=" + str(v.StartTime),
		"TROC_END_TIME=" + str(v.EndTime),
		"TROC_DURATION_MS=" + num(v.DurationMS),
		"TROC_LOG_FILE=" + str(v.LogFile),
		"TROC_NOTE=" + str(v.Note),
		"TROC_FAILURES=" + strconv.Itoa(v.Failures),
		"TROC_MESSAGE=" + v.Text,
	}
}

// runProgram runs path with args, stdin and env in a process group of its
// own, killed with its children when ctx is done. Its error ends with the
// last line the program printed, if any, masked of secrets.
func runProgram(ctx context.Context, path string, args []string, stdin []byte, env []string, secrets secretTexts) error {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // for a grandchild that kept the output open
	err := cmd.Run()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errors.New("timed out; killed")
	}
	if last := out.lastLine(secrets); last != "" {
		return fmt.Errorf("%v: %s", err, last)
	}
	return err
}

// tailBuffer keeps the last 64 kB written to it.
type tailBuffer struct {
	b   []byte
	cut bool // bytes before b were dropped
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - 64<<10; over > 0 {
		t.b = t.b[over:]
		t.cut = true
	}
	return len(p), nil
}

// lastLine is the last non-empty line written, masked of secrets, then
// shortened for a message. A line whose start was dropped is not quoted:
// it could begin in the middle of a secret, which masking cannot find.
func (t *tailBuffer) lastLine(secrets secretTexts) string {
	s := strings.TrimRight(string(t.b), "\r\n\t ")
	i := strings.LastIndexAny(s, "\r\n")
	switch {
	case i >= 0:
		s = s[i+1:]
	case t.cut:
		return "(its last line is too long to quote)"
	}
	return excerpt([]byte(secrets.redact(s)))
}
