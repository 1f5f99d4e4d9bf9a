package sip

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// parseInvite parses an INVITE from a carrier with extra header lines
// (each ending in \r\n) and the given From value.
func parseInvite(t testing.TB, ruri, from, extra string) *sip.Request {
	t.Helper()
	raw := "INVITE " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n" +
		"From: " + from + ";tag=ft1\r\n" +
		"To: <sip:+13125550100@edge>\r\n" +
		"Call-ID: id-1@carrier\r\nCSeq: 1 INVITE\r\nContact: <sip:c@192.0.2.1>\r\nMax-Forwards: 70\r\n" +
		extra + "Content-Length: 0\r\n\r\n"
	msg, err := sip.NewParser().ParseSIP([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	return msg.(*sip.Request)
}

func TestCallerIdentity(t *testing.T) {
	const from = `"Carrier" <sip:3125550111@carrier.example>`
	tests := []struct {
		name, from, extra string
		want              identity
		bad               string // header a 400 names
	}{
		{name: "from only, national", from: from, want: identity{caller: "+13125550111"}},
		{name: "from with a name", from: `<sip:alice@carrier.example>`, want: identity{caller: "alice"}},
		{name: "pai tel", from: from, extra: "P-Asserted-Identity: <tel:+13125550122>\r\n",
			want: identity{caller: "+13125550122"}},
		{name: "pai sip and tel, national", from: from, extra: "P-Asserted-Identity: \"Clinic\" <sip:3125550133@carrier.example;user=phone>, <tel:3125550133>\r\n",
			want: identity{caller: "+13125550133"}},
		{name: "pai two lines, first not a number", from: from, extra: "P-Asserted-Identity: <sip:frontdesk@pbx.example>\r\nP-Asserted-Identity: <tel:+13125550144>\r\n",
			want: identity{caller: "+13125550144"}},
		{name: "pai addr-spec", from: from, extra: "P-Asserted-Identity: sip:+13125550155@carrier.example\r\n",
			want: identity{caller: "+13125550155"}},
		{name: "privacy id", from: from, extra: "P-Asserted-Identity: <tel:+13125550122>\r\nPrivacy: id\r\n",
			want: identity{caller: anonymous, privacy: true}},
		{name: "privacy user;id", from: from, extra: "Privacy: user;id\r\n", want: identity{caller: anonymous, privacy: true}},
		{name: "privacy none", from: from, extra: "Privacy: none\r\n", want: identity{caller: "+13125550111"}},
		{name: "privacy unknown value ignored", from: from, extra: "Privacy: history\r\n", want: identity{caller: "+13125550111"}},
		{name: "anonymous from", from: `"Anonymous" <sip:anonymous@anonymous.invalid>`, want: identity{caller: anonymous, privacy: true}},
		{name: "rpid calling", from: from, extra: "Remote-Party-ID: \"Bob\" <sip:+13125550166@carrier.example>;party=calling;screen=yes;privacy=off\r\n",
			want: identity{caller: "+13125550166"}},
		{name: "rpid privacy full", from: from, extra: "Remote-Party-ID: <sip:+13125550166@carrier.example>;party=calling;privacy=full\r\n",
			want: identity{caller: anonymous, privacy: true}},
		{name: "rpid called party ignored", from: from, extra: "Remote-Party-ID: <sip:+13125550177@carrier.example>;party=called\r\n",
			want: identity{caller: "+13125550111"}},
		{name: "pai wins over rpid", from: from, extra: "P-Asserted-Identity: <tel:+13125550122>\r\nRemote-Party-ID: <sip:+13125550166@c>;party=calling\r\n",
			want: identity{caller: "+13125550122"}},
		{name: "malformed rpid ignored", from: from, extra: "Remote-Party-ID: <sip:+13125550166@c\r\n", want: identity{caller: "+13125550111"}},
		{name: "verstat in pai tel", from: from, extra: "P-Asserted-Identity: <tel:+13125550122;verstat=TN-Validation-Passed>\r\n",
			want: identity{caller: "+13125550122", verified: "TN-Validation-Passed"}},
		{name: "verstat in pai sip user", from: from, extra: "P-Asserted-Identity: <sip:+13125550122;verstat=tn-validation-failed@carrier.example;user=phone>\r\n",
			want: identity{caller: "+13125550122", verified: "TN-Validation-Failed"}},
		{name: "verstat in from", from: `<sip:+13125550111;verstat=No-TN-Validation@carrier.example;user=phone>`,
			want: identity{caller: "+13125550111", verified: "No-TN-Validation"}},
		{name: "verstat as uri parameter", from: `<sip:+13125550111@carrier.example;user=phone;verstat=TN-Validation-Passed>`,
			want: identity{caller: "+13125550111", verified: "TN-Validation-Passed"}},
		{name: "markup in pai", from: from, extra: "P-Asserted-Identity: <tel:+13125550122;verstat=<script>>\r\n",
			bad: "P-Asserted-Identity"},
		{name: "made-up verstat dropped", from: from, extra: "P-Asserted-Identity: <tel:+13125550122;verstat=Trust-Me>\r\n",
			want: identity{caller: "+13125550122"}},
		{name: "verstat kept under privacy", from: from, extra: "P-Asserted-Identity: <tel:+13125550122;verstat=TN-Validation-Passed>\r\nPrivacy: id\r\n",
			want: identity{caller: anonymous, privacy: true, verified: "TN-Validation-Passed"}},
		{name: "diversion", from: from, extra: "Diversion: <sip:3125550188@carrier.example>;reason=unconditional;counter=1\r\n",
			want: identity{caller: "+13125550111", divertedFrom: "+13125550188"}},
		{name: "diversion topmost wins", from: from, extra: "Diversion: <tel:+13125550188>;reason=no-answer, <tel:+13125550199>;reason=busy\r\n",
			want: identity{caller: "+13125550111", divertedFrom: "+13125550188"}},
		{name: "diversion privacy full", from: from, extra: "Diversion: <tel:+13125550188>;privacy=full\r\n",
			want: identity{caller: "+13125550111"}},
		{name: "diversion not a number", from: from, extra: "Diversion: <sip:reception@pbx.example>\r\n",
			want: identity{caller: "+13125550111"}},
		{name: "history-info retargeted", from: from, extra: "History-Info: <sip:+13125550188@carrier.example>;index=1, <sip:+13125550100@edge?Reason=SIP%3Bcause%3D302>;index=1.1;mp=1\r\n",
			want: identity{caller: "+13125550111", divertedFrom: "+13125550188"}},
		{name: "history-info without retargeting", from: from, extra: "History-Info: <sip:+13125550100@edge>;index=1\r\n",
			want: identity{caller: "+13125550111"}},
		{name: "malformed history-info ignored", from: from, extra: "History-Info: <sip:+13125550188@carrier;index=1\r\n",
			want: identity{caller: "+13125550111"}},
		{name: "diversion wins over history-info", from: from, extra: "Diversion: <tel:+13125550177>\r\nHistory-Info: <sip:+13125550188@c>;index=1, <sip:+13125550100@e>;index=1.1;mp=1\r\n",
			want: identity{caller: "+13125550111", divertedFrom: "+13125550177"}},
		{name: "malformed pai", from: from, extra: "P-Asserted-Identity: <sip:+13125550122@carrier\r\n", bad: "P-Asserted-Identity"},
		{name: "pai of another scheme", from: from, extra: "P-Asserted-Identity: <mailto:a@b>\r\n", bad: "P-Asserted-Identity"},
		{name: "pai unterminated quote", from: from, extra: "P-Asserted-Identity: \"Clinic <tel:+13125550122>\r\n", bad: "P-Asserted-Identity"},
		{name: "pai junk after uri", from: from, extra: "P-Asserted-Identity: <tel:+13125550122> junk\r\n", bad: "P-Asserted-Identity"},
		{name: "empty pai", from: from, extra: "P-Asserted-Identity: ,\r\n", bad: "P-Asserted-Identity"},
		{name: "malformed diversion", from: from, extra: "Diversion: \"x\" tel:+1\r\n", bad: "Diversion"},
		{name: "too many pai", from: from, extra: "P-Asserted-Identity: " + strings.Repeat("<tel:+13125550122>,", maxIdentityEntries+1) + "<tel:+1312>\r\n", bad: "P-Asserted-Identity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := parseInvite(t, "sip:3125550100@edge", tc.from, tc.extra)
			got, rej := callerIdentity(req, "1")
			if tc.bad != "" {
				if rej == nil || rej.Reason != ReasonMalformed || rej.Detail != tc.bad {
					t.Fatalf("callerIdentity = %+v, %v, want 400 naming %s", got, rej, tc.bad)
				}
				if code, phrase := rej.Status(); code != 400 || !strings.Contains(phrase, tc.bad) {
					t.Errorf("answer %d %q", code, phrase)
				}
				if vrej := validateInvite(req); vrej == nil || vrej.Detail != tc.bad {
					t.Errorf("validateInvite = %v, want the 400 before any admission step", vrej)
				}
				return
			}
			if rej != nil {
				t.Fatalf("callerIdentity: %v", rej)
			}
			if got != tc.want {
				t.Fatalf("callerIdentity = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestServiceHeadersSize keeps every X- header together under 1 KiB
// (design section 10), with the longest values each can take.
func TestServiceHeadersSize(t *testing.T) {
	long := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strings.Repeat("k", 100)
		}
		return out
	}
	small := tenancy.VoiceSettings{TTSVoice: "alloy", Speed: 1, Keyterms: []string{"appointment"}}
	huge := tenancy.VoiceSettings{TTSVoice: strings.Repeat("v", 200), Speed: 1, Keyterms: long(200), SensitiveTopics: long(100)}
	ws := &routing.WorkspaceView{ID: strings.Repeat("w", 64), Environment: tenancy.EnvProduction}
	svc := &routing.Service{ID: strings.Repeat("s", 64)}
	maxID := identity{caller: strings.Repeat("c", 64), privacy: true, verified: "TN-Validation-Passed", divertedFrom: "+123456789012345"}
	tests := []struct {
		name      string
		settings  tenancy.VoiceSettings
		id        identity
		truncated bool
		omitted   bool
	}{
		{"small settings whole", small, identity{caller: "+13125550111"}, false, false},
		{"small settings with every identity header", small, maxID, false, false},
		{"huge settings trimmed", huge, maxID, true, false},
		{"huge lists only", tenancy.VoiceSettings{Speed: 1, Keyterms: long(200)}, identity{caller: anonymous}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &routing.Route{Number: "+123456789012345", Workspace: ws, Service: svc, VoiceSettings: tc.settings,
				VoiceSettingsB64: routingB64(t, tc.settings)}
			hdrs := serviceHeaders("call_abcdefghijklmnopqrst", r, tc.id, "", MaxServiceHeaders)
			if n := headersSize(hdrs); n >= MaxServiceHeaders {
				t.Fatalf("X- headers take %d bytes, want < %d", n, MaxServiceHeaders)
			}
			var vs string
			for _, h := range hdrs {
				if !strings.HasPrefix(h.Name(), "X-") {
					t.Errorf("header %s is not an X- header", h.Name())
				}
				if h.Name() == HeaderVoiceSettings {
					vs = h.Value()
				}
			}
			if tc.omitted != (vs == "") {
				t.Fatalf("X-Voice-Settings %q, want omitted=%v", vs, tc.omitted)
			}
			if got := vs != r.VoiceSettingsB64; got != tc.truncated {
				t.Errorf("truncated = %v, want %v", got, tc.truncated)
			}
		})
	}
}

func routingB64(t *testing.T, v tenancy.VoiceSettings) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
