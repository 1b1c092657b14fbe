package main

// Ping URLs in the style of healthchecks.io: URL/start when a run starts,
// URL itself when it succeeds, URL/<exit code> when it fails with one and
// URL/fail otherwise (a signal, a timeout). The service raises the alarm
// when the pings stop or fail, so every run pings, whatever notify.on
// says; a skipped run sends nothing (the run holding the lock will). The
// body is the log's tail, for a job whose notify-log setting is on.

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pingBodyLimit is the most of the log's tail a ping carries, in
// characters (healthchecks.io keeps 100 kB).
const pingBodyLimit = 10000

// pingChannel pings a URL.
type pingChannel struct {
	p   *poster
	url *url.URL
}

// newPingChannel returns the ping channel that c describes, nil if it
// describes none, or an error naming the key that is wrong.
func newPingChannel(c *NotifyConfig, p *poster) (channel, error) {
	if c.Ping == "" {
		return nil, nil
	}
	u, err := parseHTTPURL("notify.ping.url", c.Ping)
	if err != nil {
		return nil, err
	}
	return &pingChannel{p: p, url: u}, nil
}

func (c *pingChannel) name() string { return "ping" }

// target is the URL that m pings, or nil for none.
func (c *pingChannel) target(m *notice) *url.URL {
	r := &m.run
	switch {
	case m.event == eventStart:
		return c.url.JoinPath("start")
	case m.event == eventTest:
		return c.url.JoinPath("log") // recorded, not counted as a run
	case r.Status == StatusSucceeded:
		return c.url
	case r.Status == StatusSkipped || r.Status == StatusRunning:
		return nil
	case r.ExitCode != nil && *r.ExitCode > 0 && *r.ExitCode < 256:
		return c.url.JoinPath(strconv.Itoa(*r.ExitCode))
	}
	return c.url.JoinPath("fail")
}

func (c *pingChannel) send(ctx context.Context, m *notice) error {
	u := c.target(m)
	if u == nil {
		return nil
	}
	var body string
	switch {
	case m.event == eventTest:
		body = m.text()
	case m.tail != nil:
		body = strings.Join(fitTail(m.tail, m.earlier, pingBodyLimit, 1000, nil), "\n") + "\n"
	}
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	return c.p.post(ctx, u, h, []byte(body), checkStatus)
}
