package sip

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/tenancy"
)

func referRequest(referTo string) *sip.Request {
	req := sip.NewRequest(sip.REFER, sip.Uri{Scheme: "sip", User: "edge", Host: "127.0.0.1"})
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	return req
}

func TestParseReferTo(t *testing.T) {
	cases := []struct {
		in       string
		kind, id string
		bad      bool
	}{
		{in: "<tel:+13125550142>", kind: tenancy.TransferPSTN, id: "+13125550142"},
		{in: "tel:+1-312-555-0142;phone-context=+1", kind: tenancy.TransferPSTN, id: "+13125550142"},
		{in: "<sip:+13125550142@evil.example;user=phone>", kind: tenancy.TransferPSTN, id: "+13125550142"},
		{in: `"Nurse" <sip:nurse@edge;target=service>`, kind: tenancy.TransferService, id: "nurse"},
		{in: "<sip:operators@edge;target=operators>", kind: tenancy.TransferOperators},
		{in: "<sip:bob@evil.example>", bad: true},
		{in: "<sip:>", bad: true},
		{in: "<tel:+1312CALLNOW>", bad: true},
		{in: "<tel:+13125550100123456>", bad: true},
		{in: "<sip:+13125550142@h?Replaces=abc>", bad: true},
		{in: "<http://evil.example/>", bad: true},
		{in: "<sip:Bad%20Id@edge;target=service>", bad: true},
		{in: "<sip:x@edge;target=elsewhere>", bad: true},
		{in: ">sip:+13125550142@h<", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, detail := parseReferTo(referRequest(tc.in))
			if tc.bad {
				if detail == "" {
					t.Fatalf("accepted %+v", got)
				}
				return
			}
			if detail != "" || got.kind != tc.kind || (got.number+got.id) != tc.id {
				t.Fatalf("got %+v %q", got, detail)
			}
		})
	}
	two := referRequest("<tel:+13125550142>")
	two.AppendHeader(sip.NewHeader("Refer-To", "<tel:+13125550143>"))
	if _, detail := parseReferTo(two); detail == "" {
		t.Fatal("two Refer-To accepted")
	}
}

// FuzzReferTo: the parser of an untrusted header never panics, and what it
// accepts is one of the three target forms with a valid number or id.
func FuzzReferTo(f *testing.F) {
	for _, s := range []string{"<tel:+13125550142>", "<sip:+13125550142@h;user=phone>", "<sip:nurse@h;target=service>",
		"<sip:operators@h;target=operators>", "<sip:>", "sip:a@b?c", "\"x\" <sips:+1@h>", "<tel:+1;x=<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") {
			return
		}
		got, detail := parseReferTo(referRequest(s))
		if detail != "" {
			return
		}
		switch got.kind {
		case tenancy.TransferPSTN:
			if !tenancy.IsE164(got.number) {
				t.Fatalf("accepted number %q from %q", got.number, s)
			}
		case tenancy.TransferService:
			if !tenancy.ValidID(got.id) {
				t.Fatalf("accepted service id %q from %q", got.id, s)
			}
		case tenancy.TransferOperators:
		default:
			t.Fatalf("kind %q from %q", got.kind, s)
		}
	})
}
