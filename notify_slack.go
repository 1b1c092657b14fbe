package main

// Slack, as the original troc posted: a Slack app's token and a channel,
// through the Web API's chat.postMessage, or an incoming webhook, whose
// URL names its channel (Mattermost's and Discord's Slack-compatible
// webhooks take the same messages).

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// slackTextLimit is the longest message text troc posts, in characters.
// Slack asks for at most 4,000 and cuts longer ones; troc cuts the log's
// tail instead, so the message always ends as it should.
const slackTextLimit = 4000

// slackAPIURL is the Web API's base URL, notify.slack.api_url's default.
const slackAPIURL = "https://slack.com/api"

// slackChannel posts to Slack.
type slackChannel struct {
	p       *poster
	api     *url.URL // chat.postMessage; nil with a webhook
	token   string
	channel string
	webhook *url.URL // the incoming webhook; nil with a token
}

// newSlackChannel returns the Slack channel that c describes, nil if it
// describes none, or an error naming the key that is missing or wrong.
func newSlackChannel(c *NotifyConfig, p *poster) (channel, error) {
	sc := c.Slack
	switch {
	case sc.Token == "" && sc.Webhook == "" && sc.Channel == "":
		return nil, nil
	case sc.Token != "" && sc.Webhook != "":
		return nil, errors.New("notify.slack.token and notify.slack.webhook are both set: use one")
	case sc.Webhook != "":
		u, err := parseHTTPURL("notify.slack.webhook", sc.Webhook)
		if err != nil {
			return nil, err
		}
		return &slackChannel{p: p, webhook: u, channel: sc.Channel}, nil
	case sc.Token == "":
		return nil, errors.New("notify.slack.token: missing, needed with notify.slack.channel (or set notify.slack.webhook)")
	case sc.Channel == "":
		return nil, errors.New("notify.slack.channel: missing, needed with notify.slack.token")
	case strings.ContainsAny(sc.Token, " \t\r\n"):
		return nil, errors.New("notify.slack.token: contains white space")
	}
	api, err := parseHTTPURL("notify.slack.api_url", cmp.Or(sc.APIURL, slackAPIURL))
	if err != nil {
		return nil, err
	}
	return &slackChannel{p: p, api: api.JoinPath("chat.postMessage"), token: sc.Token, channel: sc.Channel}, nil
}

func (s *slackChannel) name() string { return "slack" }

// slackMessage is the body of chat.postMessage and of a webhook post.
type slackMessage struct {
	Channel     string `json:"channel,omitempty"`
	Text        string `json:"text"`
	UnfurlLinks bool   `json:"unfurl_links"`
	UnfurlMedia bool   `json:"unfurl_media"`
}

func (s *slackChannel) send(ctx context.Context, m *notice) error {
	body, err := json.Marshal(slackMessage{Channel: s.channel, Text: slackText(m)})
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if s.webhook != nil {
		return s.p.post(ctx, s.webhook, h, body, checkSlackWebhook)
	}
	h.Set("Authorization", "Bearer "+s.token)
	return s.p.post(ctx, s.api, h, body, checkSlackAPI)
}

// checkSlackAPI accepts a Web API response that says {"ok": true}. Of a
// response that does not, it quotes only Slack's error code
// (channel_not_found), when its "error" has the shape of one.
func checkSlackAPI(resp *http.Response, body []byte) error {
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	jsonErr := json.Unmarshal(body, &r)
	if resp.StatusCode/100 != 2 {
		e := newStatusError(resp)
		if jsonErr == nil && e.detail == "" {
			e.detail = errorCode(r.Error)
		}
		return e
	}
	switch {
	case jsonErr != nil:
		return errors.New("unexpected answer: not the JSON of Slack's API")
	case r.OK:
		return nil
	case errorCode(r.Error) == "":
		return errors.New("slack says it failed, without an error code")
	}
	return fmt.Errorf("slack says %s", errorCode(r.Error))
}

// checkSlackWebhook accepts any 2xx response. An incoming webhook says
// why it refused a post with a plain-text code (no_service,
// invalid_payload): that is quoted, when it has the shape of one.
func checkSlackWebhook(resp *http.Response, body []byte) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := newStatusError(resp)
	if e.detail == "" {
		e.detail = errorCode(string(body))
	}
	return e
}

// slackText is m as Slack shows it: @channel if it is tagged, the lines,
// and the log's tail in a code block, cut to fit slackTextLimit with a
// "... N earlier lines" marker.
func slackText(m *notice) string {
	var b strings.Builder
	if m.tag {
		b.WriteString("<!channel> ")
	}
	b.WriteString(slackEscape(strings.Join(m.lines(), "\n")))
	if m.tail != nil {
		const fence = "\n```\n"
		budget := max(slackTextLimit-len([]rune(b.String()))-2*len(fence), 1000)
		lines := fitTail(m.tail, m.earlier, budget, 500, slackEscape)
		if len(lines) == 0 {
			lines = []string{"(the log is empty)"}
		}
		b.WriteString(fence + strings.Join(lines, "\n") + fence[:4])
	}
	return b.String()
}

// slackEscape escapes what Slack reads as markup: &, < and >, and a code
// fence, which would end the log's block early.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "```", "`\u200b``").Replace
