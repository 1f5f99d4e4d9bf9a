package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

func TestRateLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newRateLimiter(10, 3, []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")})
	l.now = func() time.Time { return now }
	a, trusted := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.9.1.1")
	tests := []struct {
		name    string
		ip      netip.Addr
		advance time.Duration
		want    bool
	}{
		{"burst 1", a, 0, true}, {"burst 2", a, 0, true}, {"burst 3", a, 0, true},
		{"over the burst", a, 0, false},
		{"one token after 100ms", a, 100 * time.Millisecond, true},
		{"empty again", a, 0, false},
		{"trusted source", trusted, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = now.Add(tc.advance)
			if got := l.allow(tc.ip); got != tc.want {
				t.Errorf("allow = %v, want %v", got, tc.want)
			}
		})
	}
	if l.size() != 1 {
		t.Errorf("tracked %d sources, want 1 (trusted ones are not tracked)", l.size())
	}
}

// TestClassify is the cause table of issue 14 item 8: 503 with
// Retry-After only for whole-edge conditions, a workspace's own limits
// callee-scoped (486; 480 with Retry-After), one service's failure final
// and without Retry-After.
func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		code       int
		retryAfter bool
	}{
		{"concurrent limit", &tenancy.LimitError{Reason: "concurrent"}, 486, false},
		{"cps limit", fmt.Errorf("admit: %w", &tenancy.LimitError{Reason: "cps"}), 480, true},
		{"redis down", fmt.Errorf("x: %w", tenancy.ErrUnavailable), 503, true},
		{"no ports", media.ErrNoPorts, 503, true},
		{"draining", ErrDraining, 503, true},
		{"shutdown", ErrShutdown, 503, true},
		{"drain timeout", fmt.Errorf("drain: %w", ErrDrainTimeout), 503, true},
		{"trunk over budget", overBudgetRejection(), 503, true},
		{"no codec", fmt.Errorf("n: %w", media.ErrNoCommonCodec), 488, false},
		{"bad sdp", media.ErrMalformedSDP, 400, false},
		{"no answer", ErrNoAnswer, 480, false},
		{"service busy", serviceFailure(600), 486, false},
		{"service 404", serviceFailure(404), 503, false},
		{"service 500", serviceFailure(500), 503, false},
		{"service 480", serviceFailure(480), 480, false},
		{"service unreachable", fmt.Errorf("invite service: %w: %w", ErrServiceUnavailable, errors.New("connection refused")), 503, false},
		{"edge fault", errors.New("boom"), 500, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rej := classify(tc.err)
			if code, _ := rej.Status(); code != tc.code {
				t.Errorf("status %d, want %d (%v)", code, tc.code, rej)
			}
			if got := rej.RetryAfter > 0; got != tc.retryAfter {
				t.Errorf("Retry-After %d, want present=%v", rej.RetryAfter, tc.retryAfter)
			}
		})
	}
	for reason, want := range map[Reason]string{
		ReasonDrainTimeout: `SIP;cause=503;text="Edge drain timeout"`,
		ReasonShutdown:     `SIP;cause=503;text="Edge shutdown"`,
		ReasonTrunkHangup:  "",
	} {
		if got := byeReason(reason); got != want {
			t.Errorf("BYE Reason of %s: %q, want %q", reason, got, want)
		}
	}
	for reason, resp := range responses {
		if reason == "" {
			t.Error("empty reason in the table")
		}
		if resp.code == 503 && reason == ReasonServiceDown && classify(ErrServiceUnavailable).RetryAfter != 0 {
			t.Error("a service's failure carries Retry-After")
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.PublicIP = netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults with a public IP", func(*Config) {}, true},
		{"no public IP", func(c *Config) { c.PublicIP = netip.Addr{} }, false},
		{"wildcard public IP", func(c *Config) { c.PublicIP = netip.IPv4Unspecified() }, false},
		{"no node id", func(c *Config) { c.NodeID = "" }, false},
		{"zero no-answer timer", func(c *Config) { c.NoAnswerTimeout = 0 }, false},
		{"control wait over lease", func(c *Config) { c.ControlWait = time.Minute }, false},
		{"rate without burst", func(c *Config) { c.RateBurst = 0 }, false},
		{"rate limit off", func(c *Config) { c.RateLimit, c.RateBurst = 0, 0 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v is not ErrInvalidConfig", err)
			}
		})
	}
}
