package tenancy

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestEncodeCallIsEncodingJSON: encodeCall writes what json.Marshal
// writes, for every field of CallRecord (a field added to the struct and
// not to encodeCall fails here).
func TestEncodeCallIsEncodingJSON(t *testing.T) {
	answered := time.Date(2026, 12, 3, 13, 0, 1, 500000000, time.UTC)
	ended := time.Date(2026, 12, 3, 13, 0, 9, 0, time.FixedZone("", 3600))
	full := CallRecord{ID: "c-1", WorkspaceID: "ws_a", ServiceID: "svc", From: `"Dr <x>" <sip:+1555@carrier;tag=a&b>` + "\xff\u2028",
		To: "+15551230000", State: CallEnded, StartedAt: time.Date(2026, 12, 3, 13, 0, 0, 123, time.UTC),
		AnsweredAt: &answered, EndedAt: &ended, EndReason: "caller_hangup", NodeID: "edge-1", Direction: DirectionInbound}
	for _, rec := range []CallRecord{{}, full, {ID: "c-2", State: CallRinging, StartedAt: time.Now()}} {
		want, _ := json.Marshal(rec)
		got, err := encodeCall(rec)
		if err != nil || string(got) != string(want) {
			t.Fatalf("got %s (%v)\nwant %s", got, err, want)
		}
	}
	// Every field set: a field encodeCall does not know is missing from its output.
	var m map[string]any
	got, _ := encodeCall(full)
	if err := json.Unmarshal(got, &m); err != nil || len(m) != reflect.TypeOf(full).NumField() {
		t.Fatalf("%d keys of %d fields (%v)", len(m), reflect.TypeOf(full).NumField(), err)
	}
}

// FuzzEncodeCall: a caller's From and To, whatever their bytes, encode as
// encoding/json encodes them.
func FuzzEncodeCall(f *testing.F) {
	f.Add("sip:a@b", "+1555", "caller_hangup")
	f.Add("<\xff>", "\u2029", "\x00")
	f.Fuzz(func(t *testing.T, from, to, reason string) {
		rec := CallRecord{ID: "c", From: from, To: to, EndReason: reason, StartedAt: time.Unix(1e9, 7).UTC()}
		want, _ := json.Marshal(rec)
		if got, err := encodeCall(rec); err != nil || string(got) != string(want) {
			t.Fatalf("got %s (%v)\nwant %s", got, err, want)
		}
	})
}
