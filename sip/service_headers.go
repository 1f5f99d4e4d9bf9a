package sip

import (
	"encoding/base64"
	"encoding/json"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// MaxServiceHeaders bounds the X- headers of an INVITE to a service, all of
// them together, each counted as "Name: value\r\n" (design section 10:
// under 1 KiB; what does not fit the service fetches with the call token).
const MaxServiceHeaders = 1023

// serviceHeaders are the X- headers of the INVITE to the service (design
// sections 7 and 10), within room bytes (at most MaxServiceHeaders). The
// identity headers are present only when the carrier said something of
// them; token is the call's token (X-Edge-Call-Token, "" when none could
// be issued). X-Voice-Settings takes what the others leave
// (voiceSettingsValue).
func serviceHeaders(callID string, r *routing.Route, id identity, token string, room int) []sip.Header {
	hdrs := []sip.Header{
		sip.NewHeader(HeaderCallID, callID),
		sip.NewHeader(HeaderWorkspaceID, r.Workspace.ID),
		sip.NewHeader(HeaderServiceID, r.Service.ID),
		sip.NewHeader(HeaderEnvironment, string(r.Workspace.Environment)),
		sip.NewHeader(HeaderCaller, id.caller),
		sip.NewHeader(HeaderCalled, r.Number),
	}
	if token != "" {
		hdrs = append(hdrs, sip.NewHeader(HeaderCallToken, token))
	}
	if id.verified != "" {
		hdrs = append(hdrs, sip.NewHeader(HeaderCallerVerified, id.verified))
	}
	if id.privacy {
		hdrs = append(hdrs, sip.NewHeader(HeaderCallerPrivacy, "id"))
	}
	if id.divertedFrom != "" {
		hdrs = append(hdrs, sip.NewHeader(HeaderDivertedFrom, id.divertedFrom))
	}
	room = min(room, MaxServiceHeaders) - headersSize(hdrs) - len(HeaderVoiceSettings) - 4
	if v, ok := voiceSettingsValue(r, room); ok {
		hdrs = append(hdrs, sip.NewHeader(HeaderVoiceSettings, v))
	}
	return hdrs
}

// headersSize is the size of hdrs on the wire.
func headersSize(hdrs []sip.Header) int {
	n := 0
	for _, h := range hdrs {
		n += len(h.Name()) + 2 + len(h.Value()) + 2
	}
	return n
}

// truncatedSettings is the JSON of voice settings cut to fit: the lists
// lose entries from their ends and "truncated" says so.
type truncatedSettings struct {
	tenancy.VoiceSettings
	Truncated bool `json:"truncated"`
}

// voiceSettingsValue returns the X-Voice-Settings value of r in at most
// room bytes: the base64url JSON of the workspace's voice settings as it
// is when it fits; else the same with "truncated": true, keyterms dropped
// from the end first, then sensitive topics (the service fetches the full
// settings from the control plane's call context, design section 12). It
// reports false when not even the settings without lists fit: the header
// is left out.
func voiceSettingsValue(r *routing.Route, room int) (string, bool) {
	if len(r.VoiceSettingsB64) <= room {
		return r.VoiceSettingsB64, true
	}
	v := truncatedSettings{VoiceSettings: r.VoiceSettings, Truncated: true}
	v.Keyterms = append([]string{}, v.Keyterms...)
	v.SensitiveTopics = append([]string{}, v.SensitiveTopics...)
	for {
		b, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		if base64.RawURLEncoding.EncodedLen(len(b)) <= room {
			return base64.RawURLEncoding.EncodeToString(b), true
		}
		// Drop entries until the estimate fits (an entry is its JSON string
		// and a comma), then measure again: a few rounds at most.
		over := len(b) - room*3/4
		if len(v.Keyterms) == 0 && len(v.SensitiveTopics) == 0 {
			return "", false
		}
		for over > 0 && len(v.Keyterms) > 0 {
			over -= len(v.Keyterms[len(v.Keyterms)-1]) + 3
			v.Keyterms = v.Keyterms[:len(v.Keyterms)-1]
		}
		for over > 0 && len(v.SensitiveTopics) > 0 {
			over -= len(v.SensitiveTopics[len(v.SensitiveTopics)-1]) + 3
			v.SensitiveTopics = v.SensitiveTopics[:len(v.SensitiveTopics)-1]
		}
	}
}
