package main

// troc notify test: one test notification through each configured channel.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

// notifyTestJSON is one channel in troc notify test --json.
type notifyTestJSON struct {
	Channel string  `json:"channel"`
	OK      bool    `json:"ok"`
	Error   *string `json:"error"` // why it failed, secrets redacted; null when ok
}

// notifyTestCmd is troc notify test.
func notifyTestCmd(fs *flag.FlagSet) runFunc {
	only := fs.String("channel", "", "send only through `NAME`: "+strings.Join(channelNames, ", "))
	asJSON := fs.Bool("json", false, "print a JSON array, one object per channel")
	return func(a *app, ctx context.Context, args []string) error {
		if err := a.noPositional(fs, args); err != nil {
			return err
		}
		if *only != "" && !slices.Contains(channelNames, *only) {
			return usagef("unknown channel %q: want one of %s", *only, strings.Join(channelNames, ", "))
		}
		cfg, err := LoadConfig(a.env, func(msg string) { fmt.Fprintf(a.stderr, "troc: %s\n", msg) })
		if err != nil {
			return err
		}
		secrets := notifySecrets(&cfg.Notify)
		p := newPoster(secrets)
		if cfg.Notify.CAFile != "" {
			if err := p.trustCAs(cfg.Notify.CAFile); err != nil {
				return &configError{err}
			}
		}
		setups := configuredChannels(cfg, p)
		if *only != "" {
			setups = slices.DeleteFunc(setups, func(s channelSetup) bool { return s.name != *only })
			if len(setups) == 0 {
				return withHint(fmt.Errorf("channel %s is not configured", *only), "see the notify section of "+cfg.Path)
			}
		}
		if len(setups) == 0 {
			return withHint(errNoChannel, "see the notify section of "+cfg.Path)
		}

		problems, timeout := checkNotifyRules(&cfg.Notify)
		for _, p := range problems {
			fmt.Fprintf(a.stderr, "troc: %s\n", p)
		}
		host, _ := os.Hostname()
		now := nowMS()
		m := &notice{
			event: eventTest,
			run: Run{Job: "troc", Status: StatusSucceeded, Start: now, End: now, Host: host,
				Command: "troc notify test"},
			host: cfg.Notify.Hostname,
			loc:  cfg.location(),
		}
		// The channels set up wrongly report their setup error; the others
		// are sent to, all at once.
		var ready []channel
		for _, s := range setups {
			if s.err == nil {
				ready = append(ready, s.ch)
			}
		}
		sent := sendEach(ctx, timeout, ready, func(channel) *notice { return m })
		results := make([]error, len(setups))
		for i, s := range setups {
			results[i] = s.err
			if s.err == nil {
				results[i], sent = sent[0], sent[1:]
			}
		}
		failed := false
		views := make([]notifyTestJSON, len(setups))
		for i, s := range setups {
			views[i] = notifyTestJSON{Channel: s.name, OK: results[i] == nil}
			if results[i] != nil {
				failed = true
				views[i].Error = nonEmpty(secrets.redact(results[i].Error()))
			}
		}
		if *asJSON {
			if err := writeJSONList(a.stdout, views); err != nil {
				return err
			}
		} else {
			for _, v := range views {
				if v.OK {
					fmt.Fprintf(a.stdout, "%s: ok\n", v.Channel)
				} else {
					fmt.Fprintf(a.stdout, "%s: failed: %s\n", v.Channel, termText(*v.Error))
				}
			}
		}
		if failed {
			return exitStatus(exitError)
		}
		return nil
	}
}
