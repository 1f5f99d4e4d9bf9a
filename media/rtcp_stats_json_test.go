package media

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/voiceedge/edge/media/rtcp"
)

// TestRTCPStatsAppendJSONIsEncodingJSON: AppendJSON writes what
// json.Marshal writes, every field included, and refuses what it refuses.
func TestRTCPStatsAppendJSONIsEncodingJSON(t *testing.T) {
	full := RTCPStats{ReportsReceived: 12, ReportsSent: 11, Dropped: 1, RemoteFractionLost: 0.015625, RemoteLost: 1 << 23,
		RemoteJitterMs: 3.25, RTTMs: 1e-7, Quality: rtcp.Quality{R: 93.2, MOS: 4.41}}
	for _, s := range []RTCPStats{{}, full} {
		want, _ := json.Marshal(s)
		got, err := s.AppendJSON(nil)
		if err != nil || string(got) != string(want) {
			t.Fatalf("got %s (%v)\nwant %s", got, err, want)
		}
	}
	var m map[string]any
	got, _ := full.AppendJSON(nil)
	if err := json.Unmarshal(got, &m); err != nil || len(m) != reflect.TypeOf(full).NumField()-1+reflect.TypeOf(full.Quality).NumField() {
		t.Fatalf("%d keys (%v): a field of RTCPStats is missing from AppendJSON", len(m), err)
	}
	if _, err := (RTCPStats{RTTMs: math.NaN()}).AppendJSON(nil); err == nil {
		t.Fatal("NaN encoded")
	}
}
