package jsonenc

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// same checks that Append writes what json.Marshal writes for v, and
// refuses what it refuses.
func same(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := Append(nil, v)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%#v: error %v, encoding/json %v", v, gerr, werr)
	}
	if werr == nil && string(got) != string(want) {
		t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
	}
}

func TestAppendIsEncodingJSON(t *testing.T) {
	type rtcp struct {
		Reports int     `json:"reports"`
		RTT     float64 `json:"rtt_ms"`
	}
	for _, v := range []any{
		nil, "", "plain", `quote " back \ slash`, "<sip:a@b>;tag=x&y", "\b\f\n\r\t\x00\x1f\x7f",
		"caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff utf-8 \xe2\x82", "sip:+15551230000@carrier.example;user=phone",
		true, false, 0, -7, int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64),
		0.0, 1.0, -2.5, 1e-7, 1e-6, 123456789.125, 1e20, 1e21, 1.5e300, -1e-300, 0.1 + 0.2, math.SmallestNonzeroFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1),
		map[string]any(nil), map[string]any{}, map[string]uint64(nil),
		map[string]any{"b": 1, "a": "x", "c": map[string]uint64{"z": 1, "y": 2}, "<k>": true, "n": nil},
		map[string]float64{"a": 0.25, "b": 1e-9}, map[string]bool{"a": true, "b": false},
		map[string]int64{"x": -1}, map[string]string{"q": `"`},
		map[string]any{"rtcp": map[string]rtcp{"a": {Reports: 3, RTT: 1.5}}}, // through encoding/json
		map[string]any{"bad": math.NaN()},
		map[string]any{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10,
			"k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17}, // more keys than the stack buffer
	} {
		same(t, v)
	}
}

func TestTimeIsEncodingJSON(t *testing.T) {
	for _, tm := range []time.Time{
		{}, time.Date(2026, 12, 3, 13, 4, 5, 0, time.UTC), time.Date(2026, 12, 3, 13, 4, 5, 123456789, time.UTC),
		time.Date(2026, 12, 3, 13, 4, 5, 120000000, time.FixedZone("x", 5*3600+1800)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		want, werr := json.Marshal(tm)
		got, gerr := Time(nil, tm)
		if (werr != nil) != (gerr != nil) || werr == nil && string(got) != string(want) {
			t.Fatalf("%v: got %s (%v), want %s (%v)", tm, got, gerr, want, werr)
		}
	}
}

// FuzzString: any string (SIP From and To are a caller's bytes) is
// escaped as encoding/json escapes it.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff", "\x00\"\\", "é\xe2\x82"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

// FuzzFloat: any float64 is written as encoding/json writes it.
func FuzzFloat(f *testing.F) {
	for _, x := range []float64{0, 1, -1, 1e-7, 1e21, 0.1, math.MaxFloat64} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		want, werr := json.Marshal(x)
		got, gerr := Float(nil, x)
		if (werr != nil) != (gerr != nil) || werr == nil && string(got) != string(want) {
			t.Fatalf("%v: got %s (%v), want %s (%v)", x, got, gerr, want, werr)
		}
	})
}
