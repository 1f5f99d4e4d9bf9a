package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "edge.yaml")
	yaml := "sip_addr: 127.0.0.1:7000\nhttp_addr: 127.0.0.1:7001\nrtp_ports: 30000-30100\nnode_id: from-file\nmedia_timeout: 45s\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EDGE_SIP_ADDR": "127.0.0.1:7100", "EDGE_NODE_ID": "from-env", "EDGE_REDIS_ADDR": "redis://127.0.0.1:6390/2"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c config)
		err   bool
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, c config) {
			if c.HTTPAddr != "127.0.0.1:8080" || c.RTPPorts != "10000-20000" || c.MediaTimeout != 60*time.Second {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "file under env under flags", args: []string{"-config", file, "-node-id", "from-flag"}, check: func(t *testing.T, c config) {
			if c.HTTPAddr != "127.0.0.1:7001" || c.RTPPorts != "30000-30100" || c.MediaTimeout != 45*time.Second {
				t.Errorf("file values lost: %+v", c)
			}
			if c.SIPAddr != "127.0.0.1:7100" {
				t.Errorf("env did not override the file: %s", c.SIPAddr)
			}
			if c.NodeID != "from-flag" {
				t.Errorf("flag did not override env: %s", c.NodeID)
			}
			if ip, _ := c.publicIP(); ip.String() != "127.0.0.1" {
				t.Errorf("public ip %v", ip)
			}
		}},
		{name: "session expires", args: []string{"-session-expires", "900"}, check: func(t *testing.T, c config) {
			s, err := c.sipConfig()
			if err != nil || s.SessionExpires != 900*time.Second {
				t.Errorf("EDGE_SESSION_EXPIRES 900: %v, %v", s.SessionExpires, err)
			}
			if d, _ := loadConfig(nil, func(string) (string, bool) { return "", false }, io.Discard); d.SessionExpires != 1800 {
				t.Errorf("default session expires %d, want 1800", d.SessionExpires)
			}
		}},
		{name: "session expires below Min-SE", args: []string{"-session-expires", "30"}, err: true},
		{name: "spool", args: []string{"-spool-dir", "/var/spool/edge", "-spool-max-bytes", "1048576"}, check: func(t *testing.T, c config) {
			if sc := c.spoolConfig(); sc.Dir != "/var/spool/edge" || sc.MaxBytes != 1<<20 || sc.MaxEntries != 100_000 {
				t.Errorf("spool config %+v", sc)
			}
			if d, _ := loadConfig(nil, func(string) (string, bool) { return "", false }, io.Discard); d.SpoolDir != "" {
				t.Errorf("default spool dir %q, want memory only", d.SpoolDir)
			}
		}},
		{name: "spool bound not positive", args: []string{"-spool-max-entries", "0"}, err: true},
		{name: "digest realm shared with edge-admin", args: []string{"-sip-realm", "clinic-edge"}, check: func(t *testing.T, c config) {
			if s, _ := c.sipConfig(); s.Realm != "clinic-edge" {
				t.Errorf("realm %q", s.Realm)
			}
		}},
		{name: "call lease as a duration or seconds", args: []string{"-call-lease", "4s"}, check: func(t *testing.T, c config) {
			s, err := c.sipConfig()
			if err != nil || s.LeaseTTL != 4*time.Second || s.ControlWait > 2*time.Second { // at most half the lease
				t.Errorf("EDGE_CALL_LEASE 4s: lease %v, control wait %v, %v", s.LeaseTTL, s.ControlWait, err)
			}
			if d, _ := loadConfig([]string{"-call-lease", "45"}, lookup, io.Discard); d.CallLease != 45*time.Second {
				t.Errorf("EDGE_CALL_LEASE 45: %v", d.CallLease)
			}
			if d, _ := loadConfig(nil, lookup, io.Discard); d.CallLease != 30*time.Second {
				t.Errorf("default call lease %v, want 30s", d.CallLease)
			}
		}},
		{name: "call lease too short", args: []string{"-call-lease", "1s"}, err: true},
		{name: "call lease not a duration", args: []string{"-call-lease", "soon"}, err: true},
		{name: "bad port range", args: []string{"-rtp-ports", "20000-10000"}, err: true},
		{name: "bad public ip", args: []string{"-public-ip", "not-an-ip"}, err: true},
		{name: "unknown flag", args: []string{"-nope"}, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(tc.args, lookup, io.Discard)
			if tc.err {
				if !errors.Is(err, errUsage) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
			if _, err := c.sipConfig(); err != nil {
				t.Errorf("sipConfig: %v", err)
			}
		})
	}
}
