package routing_test

import (
	"testing"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// FuzzLookup feeds untrusted Request-URI users and URIs to Lookup: it must
// never crash, a hit must be the number the input normalises to, every
// plain number tenancy.NormalizeNumber accepts must normalise the same way,
// and a number of the map must be found in whatever form it arrives.
// The committed corpus is under testdata/fuzz/FuzzLookup.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{
		"+15550010003", "15550010003", "sip:+15550010003@host;user=phone", "tel:+1-555-001-0003",
		"<sips:%2B15550010003;npdi@h>", "+1 (555) 001-0003", "sip:alice@host", "%", "\xff", "",
	} {
		f.Add(s)
	}
	src := syntheticSource(3, 10)
	numbers := map[string]bool{}
	for _, snap := range src.snaps {
		for n := range snap.Numbers {
			numbers[n] = true
		}
	}
	m := newLoadedMap(f, src)
	f.Fuzz(func(t *testing.T, dialed string) {
		norm, ok := routing.Normalize(dialed)
		if ok && !tenancy.IsE164(norm) {
			t.Fatalf("Normalize(%q) = %q, not E.164", dialed, norm)
		}
		if want, wok := tenancy.NormalizeNumber(dialed); wok && (!ok || norm != want) {
			t.Fatalf("Normalize(%q) = %q, %v; tenancy.NormalizeNumber says %q", dialed, norm, ok, want)
		}
		r, hit := m.Lookup(dialed)
		if hit && (!ok || r.Number != norm) {
			t.Fatalf("Lookup(%q) hit %q, normalised %q %v", dialed, r.Number, norm, ok)
		}
		if ok && numbers[norm] != hit {
			t.Fatalf("Lookup(%q): hit %v, but the map holds %q: %v", dialed, hit, norm, numbers[norm])
		}
	})
}
