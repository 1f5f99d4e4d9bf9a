package routing

import "testing"

// TestNormalizeFor is the table of design section 10: every form a carrier
// sends one number in, per trunk country code, gives the same E.164.
func TestNormalizeFor(t *testing.T) {
	const want = "+13125550100"
	tests := []struct {
		name, dialed, cc, want string
	}{
		{"e164", "+13125550100", "1", want},
		{"e164 without country code setting", "+13125550100", "", want},
		{"10-digit national", "3125550100", "1", want},
		{"1+10 digits", "13125550100", "1", want},
		{"0+national", "03125550100", "1", want},
		{"00 international", "0013125550100", "1", want},
		{"011 international", "01113125550100", "1", want},
		{"00 without country code setting", "0013125550100", "", want},
		{"011 without country code setting", "01113125550100", "", want},
		{"digits without country code setting", "13125550100", "", want},
		{"tel uri national with separators", "tel:312-555-0100", "1", want},
		{"tel uri global", "tel:+1-312-555-0100", "", want},
		{"tel uri with global phone-context", "tel:312.555.0100;phone-context=+1", "", want},
		{"tel uri with domain phone-context", "tel:(312) 555-0100;phone-context=example.org", "1", want},
		{"sip user=phone national", "sip:3125550100@carrier.example;user=phone", "1", want},
		{"sip user=phone with separators", "sip:1-312-555-0100@carrier.example;user=phone", "1", want},
		{"sip user with npdi", "sip:3125550100;npdi;rn=3125550000@carrier.example;user=phone", "1", want},
		{"sip user with phone-context", "sip:3125550100;phone-context=+1@carrier.example;user=phone", "", want},
		{"angle brackets", "<sip:+13125550100@carrier.example>", "44", want},
		{"uk 0+national", "02079460000", "44", "+442079460000"},
		{"uk national without trunk prefix", "2079460000", "44", "+442079460000"},
		{"uk with country code", "442079460000", "44", "+442079460000"},
		{"uk 00 international", "0013125550100", "44", want},
		{"uk 011 is national (Leeds 0113)", "01134960000", "44", "+441134960000"},
		{"nanp 011 to the uk", "011442079460000", "1", "+442079460000"},
		// Misses.
		{"7 digits", "5550100", "1", ""},
		{"national without country code setting too short", "5550100", "", ""},
		{"0 national without country code", "03125550100", "", ""},
		{"letters", "312555CALL", "1", ""},
		{"empty", "", "1", ""},
		{"plus only", "+", "1", ""},
		{"00 only", "00", "1", ""},
		{"too long", "+1312555010012345", "1", ""},
		{"bad phone-context", "tel:3125550100;phone-context=+1x", "", ""},
		{"long phone-context", "tel:3125550100;phone-context=+12345", "", ""},
		{"plus after digits", "312+5550100", "1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NormalizeFor(tc.dialed, tc.cc)
			if tc.want == "" {
				if ok {
					t.Fatalf("NormalizeFor(%q, %q) = %q, want a miss", tc.dialed, tc.cc, got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Fatalf("NormalizeFor(%q, %q) = %q, %v, want %q", tc.dialed, tc.cc, got, ok, tc.want)
			}
		})
	}
}

// FuzzNormalizeFor checks that any input gives a miss or an E.164 number.
func FuzzNormalizeFor(f *testing.F) {
	for _, s := range []string{"3125550100", "tel:312.555.0100;phone-context=+1", "sip:01113125550100@h;user=phone", "%2B1312", "00", "+"} {
		f.Add(s, "1")
		f.Add(s, "44")
	}
	f.Fuzz(func(t *testing.T, dialed, cc string) {
		got, ok := NormalizeFor(dialed, cc)
		if !ok {
			return
		}
		if len(got) < 9 || len(got) > maxE164 || got[0] != '+' || got[1] == '0' {
			t.Fatalf("NormalizeFor(%q, %q) = %q", dialed, cc, got)
		}
		for _, c := range got[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("NormalizeFor(%q, %q) = %q", dialed, cc, got)
			}
		}
	})
}
