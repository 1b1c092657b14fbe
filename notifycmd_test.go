package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestNotifyTestCommand runs troc notify test in-process against
// loopback receivers.
func TestNotifyTestCommand(t *testing.T) {
	good := newReceiver(t, nil)
	slackAPI := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
	})
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantOut    string
		wantErr    string // the error's text, "" for none
		wantStatus int    // the exitStatus, or -1 for another error
	}{
		{
			name:    "all ok",
			env:     map[string]string{"TROC_NOTIFY_WEBHOOK_URL": good.URL + "/w", "TROC_NOTIFY_PING_URL": good.URL + "/p", "TROC_NOTIFY_COMMAND": "cat >/dev/null"},
			args:    []string{"test"},
			wantOut: "webhook: ok\nping: ok\ncommand: ok\n",
		},
		{
			name: "one fails",
			env: map[string]string{"TROC_NOTIFY_WEBHOOK_URL": good.URL + "/w", "TROC_NOTIFY_SLACK_TOKEN": "xoxb-SECRET",
				"TROC_NOTIFY_SLACK_CHANNEL": "#nowhere", "TROC_NOTIFY_SLACK_API_URL": slackAPI.URL},
			args:       []string{"test"},
			wantOut:    "slack: failed: POST " + strings.TrimPrefix(slackAPI.URL, "http://") + ": slack says channel_not_found\nwebhook: ok\n",
			wantStatus: exitError,
		},
		{
			name:       "misconfigured",
			env:        map[string]string{"TROC_NOTIFY_SLACK_TOKEN": "xoxb-SECRET"},
			args:       []string{"test"},
			wantOut:    "slack: failed: notify.slack.channel: missing, needed with notify.slack.token\n",
			wantStatus: exitError,
		},
		{
			name:    "one channel",
			env:     map[string]string{"TROC_NOTIFY_WEBHOOK_URL": good.URL + "/w", "TROC_NOTIFY_COMMAND": "false"},
			args:    []string{"test", "--channel", "webhook"},
			wantOut: "webhook: ok\n",
		},
		{
			name:       "unknown channel",
			args:       []string{"test", "--channel", "pigeon"},
			wantErr:    `unknown channel "pigeon": want one of slack, webhook, ping, email, command`,
			wantStatus: -1,
		},
		{
			name:       "channel not configured",
			env:        map[string]string{"TROC_NOTIFY_COMMAND": "true"},
			args:       []string{"test", "--channel", "email"},
			wantErr:    "channel email is not configured",
			wantStatus: -1,
		},
		{
			name:       "nothing configured",
			args:       []string{"test"},
			wantErr:    "no notification channel is configured",
			wantStatus: -1,
		},
		{
			name:       "no subcommand",
			args:       nil,
			wantStatus: exitUsage,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr strings.Builder
			a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
				env: testEnv(withEnv(tt.env, map[string]string{"TROC_CONFIG_PATH": dir}))}
			err := a.run(context.Background(), append([]string{"notify"}, tt.args...))
			var status exitStatus
			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Errorf("error = %v, want none\nstderr: %s", err, stderr.String())
			case tt.wantStatus > 0 && (!errors.As(err, &status) || int(status) != tt.wantStatus):
				t.Errorf("error = %v, want exit status %d", err, tt.wantStatus)
			case tt.wantStatus < 0 && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tt.wantOut)
			}
			if strings.Contains(stdout.String()+stderr.String(), "xoxb-SECRET") {
				t.Error("the token is shown")
			}
		})
	}
	if h := slackAPI.take(); len(h) != 1 || h[0].header.Get("Authorization") != "Bearer xoxb-SECRET" {
		t.Errorf("slack API requests = %v, want one with Authorization \"Bearer xoxb-SECRET\"", h)
	}
}
