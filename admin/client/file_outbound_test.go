package client

import (
	"errors"
	"testing"
)

func TestFileOutboundTrunks(t *testing.T) {
	env := func(k string) (string, bool) {
		return map[string]string{"OUT_PASS": "carrier-secret-9"}[k], k == "OUT_PASS"
	}
	good := `env: [OUT_PASS]
outbound_trunks:
  - id: carrier-out
    name: Carrier termination
    gateways:
      - {host: 198.51.100.10, port: 5060, transport: udp, priority: 10, weight: 60}
      - {host: sip.carrier.example, transport: tls, priority: 20, weight: 40}
    username: clinic-01
    password: ${OUT_PASS}
    caller_id: {mode: own_numbers}
    max_cps: 5
    allowed_prefixes: ["+1312", "+1773"]
`
	f, err := ParseFile("ws.yaml", []byte(good), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.OutboundTrunks) != 1 {
		t.Fatalf("trunks %+v", f.OutboundTrunks)
	}
	o := f.OutboundTrunks[0]
	if o.Password != "carrier-secret-9" || o.MaxCPS != 5 || len(o.Gateways) != 2 || o.Gateways[1].Priority != 20 || o.Gateways[0].Weight != 60 {
		t.Fatalf("parsed %+v", o)
	}
	for name, tc := range map[string]struct{ text, field string }{
		"fractional port": {"outbound_trunks: [{id: o, name: O, gateways: [{host: 198.51.100.1, port: 50.5}], caller_id: {mode: own_numbers}, allowed_prefixes: [\"+1\"]}]\n", "outbound_trunks[0].gateways[0].port"},
		"bad prefix":      {"outbound_trunks: [{id: o, name: O, gateways: [{host: 198.51.100.1}], caller_id: {mode: own_numbers}, allowed_prefixes: [\"+1abc\"]}]\n", "outbound_trunks[0].allowed_prefixes"},
		"unknown field":   {"outbound_trunks: [{id: o, name: O, gateways: [{host: 198.51.100.1}], caller_id: {mode: own_numbers}, allowed_prefixes: [\"+1\"], secret: x}]\n", "outbound_trunks[0].secret"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseFile("ws.yaml", []byte(tc.text), env)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want field %s", err, tc.field)
			}
		})
	}
}
