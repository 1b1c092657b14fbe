package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "sigkill": syscall.SIGKILL, "Hup": syscall.SIGHUP,
		"SIGUSR1": syscall.SIGUSR1, "9": syscall.SIGKILL, "2": syscall.SIGINT,
	} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "65", "TERMINATE", "-9", "SIG"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q) error = nil, want an error", bad)
		}
	}
}

func TestProcStartTime(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	start, err := procStartTime(pid)
	if err != nil || start <= 0 {
		t.Fatalf("procStartTime = %d, %v; want a positive time, nil", start, err)
	}
	self, _ := procStartTime(os.Getpid())
	if start < self {
		t.Errorf("child started at %d, before its parent at %d", start, self)
	}
	if !processAlive(pid, start) || processAlive(pid, start+1) {
		t.Error("processAlive does not tell the process from another with its pid")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if processAlive(pid, start) {
		t.Error("processAlive after the process was reaped")
	}
}

func TestSignalName(t *testing.T) {
	for sig, want := range map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGKILL: "SIGKILL", 40: "SIG40"} {
		if got := signalName(sig); got != want {
			t.Errorf("signalName(%d) = %s, want %s", sig, got, want)
		}
	}
}
