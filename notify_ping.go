package main

// Ping URLs in the style of healthchecks.io: URL/start when a run starts,
// URL itself when it succeeds, URL/<exit code> when it fails with one and
// URL/fail otherwise (a signal, a timeout). The service raises the alarm
// when the pings stop or fail, so every run pings, whatever notify.on
// says, and by default every run of every job, not only those that
// notify (notify.ping.every); a skipped run sends nothing (the run
// holding the lock will). Each ping carries rid=, a UUID of the run, so
// that healthchecks.io pairs the start and end of runs that overlap. The
// end's body, for a job whose notify-log setting is on (log tails leave
// the host only for those), is the log's tail, cut to the 100 kB
// healthchecks.io keeps.

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pingBodyLimit is the most of the log's tail a ping carries, in bytes
// (healthchecks.io keeps 100 kB), and pingTailLines the most lines.
const (
	pingBodyLimit = 100_000
	pingTailLines = 5000
)

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
	if m.rid != "" {
		q := u.Query()
		q.Set("rid", m.rid)
		u.RawQuery = q.Encode()
	}
	var body string
	switch {
	case m.event == eventTest:
		body = m.text()
	case m.pingTail != nil:
		body = pingBody(m.pingTail, m.pingEarlier)
	}
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	return c.p.post(ctx, u, h, []byte(body), checkStatus)
}

// pingBody is the log's tail as a ping's body: the last lines that fit in
// pingBodyLimit bytes, after a line counting those left out.
func pingBody(tail []string, earlier int) string {
	budget := pingBodyLimit // fitTail counts characters; a byte limit may need less
	for {
		body := strings.Join(fitTail(tail, earlier, budget, 1000, nil), "\n") + "\n"
		if len(body) <= pingBodyLimit {
			return body
		}
		budget = budget*pingBodyLimit/len(body) - 1
	}
}

// newRunID returns a random UUID (version 4, RFC 9562) for a run's pings.
func newRunID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
