package main

import (
	"io"
	"testing"
)

func TestOperatorSettings(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		args       []string
		err        bool
		icePort    int
		publicIPs  []string
		advertised string
	}{
		{name: "defaults", icePort: 8443, advertised: "127.0.0.1:8080"},
		{name: "env", env: map[string]string{"EDGE_ICE_PORT": "9443", "EDGE_ICE_PUBLIC_IPS": "203.0.113.7, 203.0.113.8", "EDGE_HTTP_ADVERTISE_ADDR": "10.0.0.5:8080"},
			icePort: 9443, publicIPs: []string{"203.0.113.7", "203.0.113.8"}, advertised: "10.0.0.5:8080"},
		{name: "flag over env", env: map[string]string{"EDGE_ICE_PORT": "9443"}, args: []string{"-ice-port", "7443"}, icePort: 7443, advertised: "127.0.0.1:8080"},
		{name: "public ip announced by default", env: map[string]string{"EDGE_PUBLIC_IP": "198.51.100.2", "EDGE_HTTP_ADDR": "0.0.0.0:8080"},
			icePort: 8443, publicIPs: []string{"198.51.100.2"}, advertised: "198.51.100.2:8080"},
		{name: "bad ice port", env: map[string]string{"EDGE_ICE_PORT": "70000"}, err: true},
		{name: "ice port not a number", env: map[string]string{"EDGE_ICE_PORT": "x"}, err: true},
		{name: "bad public ip", env: map[string]string{"EDGE_ICE_PUBLIC_IPS": "example.com"}, err: true},
		{name: "bad ice addr", env: map[string]string{"EDGE_ICE_ADDR": "nope"}, err: true},
		{name: "bad advertise addr", env: map[string]string{"EDGE_HTTP_ADVERTISE_ADDR": "10.0.0.5"}, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			cfg, err := loadConfig(tc.args, lookup, io.Discard)
			if tc.err {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w, err := cfg.webrtcConfig()
			if err != nil {
				t.Fatal(err)
			}
			adv, err := cfg.advertiseAddr()
			if err != nil {
				t.Fatal(err)
			}
			if w.ICEPort != tc.icePort || adv != tc.advertised || len(w.PublicIPs) != len(tc.publicIPs) {
				t.Fatalf("ice port %d, public %v, advertised %q", w.ICEPort, w.PublicIPs, adv)
			}
			for i := range tc.publicIPs {
				if w.PublicIPs[i] != tc.publicIPs[i] {
					t.Fatalf("public ips %v, want %v", w.PublicIPs, tc.publicIPs)
				}
			}
		})
	}
}
