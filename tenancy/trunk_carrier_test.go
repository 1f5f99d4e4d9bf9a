package tenancy

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestTrunkCarrierSettings(t *testing.T) {
	base := func() *Trunk { return &Trunk{ID: "t", Name: "T", AllowedCIDRs: []string{"203.0.113.0/24"}} }
	tests := []struct {
		name  string
		edit  func(*Trunk)
		field string // "" = valid
	}{
		{"unset", func(*Trunk) {}, ""},
		{"nanp", func(tr *Trunk) { tr.DefaultCountryCode = "1" }, ""},
		{"three digits", func(tr *Trunk) { tr.DefaultCountryCode = "353" }, ""},
		{"plus", func(tr *Trunk) { tr.DefaultCountryCode = "+1" }, "default_country_code"},
		{"leading zero", func(tr *Trunk) { tr.DefaultCountryCode = "01" }, "default_country_code"},
		{"four digits", func(tr *Trunk) { tr.DefaultCountryCode = "1234" }, "default_country_code"},
		{"letters", func(tr *Trunk) { tr.DefaultCountryCode = "us" }, "default_country_code"},
		{"budget", func(tr *Trunk) { tr.MaxRequestsPerSecond = 2000 }, ""},
		{"negative budget", func(tr *Trunk) { tr.MaxRequestsPerSecond = -1 }, "max_requests_per_second"},
		{"huge budget", func(tr *Trunk) { tr.MaxRequestsPerSecond = MaxTrunkRequestsPerSecond + 1 }, "max_requests_per_second"},
		{"refer", func(tr *Trunk) { tr.AcceptsRefer = true }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := base()
			tc.edit(tr)
			err := tr.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("Validate() = %v, want a validation error naming %q", err, tc.field)
			}
		})
	}
}

func TestTrunkCarrierJSON(t *testing.T) {
	in := `{"id":"t","name":"T","allowed_cidrs":["10.0.0.1"],"default_country_code":"1","max_requests_per_second":800,"accepts_refer":true}`
	var tr Trunk
	if err := json.Unmarshal([]byte(in), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.DefaultCountryCode != "1" || tr.MaxRequestsPerSecond != 800 || !tr.AcceptsRefer {
		t.Fatalf("decoded %+v", tr)
	}
	if got := tr.RequestsPerSecond(); got != 800 {
		t.Errorf("RequestsPerSecond() = %d, want 800", got)
	}
	if got := (&Trunk{}).RequestsPerSecond(); got != DefaultTrunkRequestsPerSecond {
		t.Errorf("default RequestsPerSecond() = %d, want %d", got, DefaultTrunkRequestsPerSecond)
	}
}
