package sip

import (
	"strings"
	"testing"
)

func TestParseEscalation(t *testing.T) {
	cases := []struct {
		name, body, reason, detail string
	}{
		{name: "escalation", body: `{"type":"escalation","reason":" caller asks for a nurse "}`, reason: "caller asks for a nurse"},
		{name: "no reason", body: `{"type":"escalation"}`},
		{name: "other type", body: `{"type":"transfer"}`, detail: "type must be escalation"},
		{name: "unknown field", body: `{"type":"escalation","urgent":true}`, detail: "JSON body"},
		{name: "not JSON", body: `escalate please`, detail: "JSON body"},
		{name: "two values", body: `{"type":"escalation"}{}`, detail: "JSON body"},
		{name: "reason too long", body: `{"type":"escalation","reason":"` + strings.Repeat("x", MaxEscalationReason+1) + `"}`, detail: "reason too long"},
		{name: "body too large", body: strings.Repeat(" ", maxInfoBody+1), detail: "body too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reason, rej := parseEscalation([]byte(tc.body))
			if tc.detail == "" {
				if rej != nil || reason != tc.reason {
					t.Fatalf("got %q, %v; want %q", reason, rej, tc.reason)
				}
				return
			}
			if rej == nil || rej.Detail != tc.detail {
				t.Fatalf("got %v, want refusal %q", rej, tc.detail)
			}
			if code, _ := rej.Status(); code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
		})
	}
}

func FuzzParseEscalation(f *testing.F) {
	f.Add([]byte(`{"type":"escalation","reason":"nurse"}`))
	f.Add([]byte(`{"type":"escalation","reason":"\u00e9\ud800"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		reason, rej := parseEscalation(body)
		if rej == nil && len(reason) > MaxEscalationReason {
			t.Fatalf("accepted a reason of %d bytes", len(reason))
		}
	})
}
