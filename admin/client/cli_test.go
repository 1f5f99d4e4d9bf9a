package client

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// newTestCLIEnv is the environment of a CLI acting on ws with its key.
func newTestCLIEnv(api *testAPI, ws testWorkspace) map[string]string {
	return map[string]string{EnvURL: api.url, EnvKey: ws.key, EnvWorkspace: ws.id}
}

func TestCLIWorkspaceCreate(t *testing.T) {
	api := newTestAPI(t)
	env := map[string]string{EnvURL: api.url, EnvBootstrapToken: testPlatformToken}
	cases := []struct {
		name   string
		output string
		check  func(t *testing.T, stdout string) (ws, key string)
	}{
		{"text", "text", func(t *testing.T, stdout string) (string, string) {
			ws := regexp.MustCompile(`workspace (ws_[a-z0-9]+) created`).FindStringSubmatch(stdout)
			key := regexp.MustCompile(`owner API key \(shown once, store it now\): (edk_[a-z0-9]+)`).FindStringSubmatch(stdout)
			if ws == nil || key == nil {
				t.Fatalf("output:\n%s", stdout)
			}
			return ws[1], key[1]
		}},
		{"env", "env", func(t *testing.T, stdout string) (string, string) {
			m := regexp.MustCompile(`^EDGE_ADMIN_WORKSPACE=(ws_[a-z0-9]+)\nEDGE_ADMIN_KEY=(edk_[a-z0-9]+)\n$`).FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("output:\n%s", stdout)
			}
			return m[1], m[2]
		}},
		{"json", "json", func(t *testing.T, stdout string) (string, string) {
			var c CreatedWorkspace
			if err := json.Unmarshal([]byte(stdout), &c); err != nil {
				t.Fatalf("output %s: %v", stdout, err)
			}
			return c.ID, c.OwnerAPIKey
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _, err := runCLI(t, env, "workspace", "create", "--name", "Northside Family Clinic", "--env", "staging",
				"--owner-name", "Dana Whitfield", "--owner-email", "dana@northside.example", "--timezone", "America/Chicago", "-o", tc.output)
			if err != nil {
				t.Fatal(err)
			}
			ws, key := tc.check(t, stdout)
			got, _, err := runCLI(t, map[string]string{EnvURL: api.url, EnvKey: key}, "get", "workspace", "-w", ws, "-o", "json")
			if err != nil {
				t.Fatalf("the owner key does not work: %v", err)
			}
			var w tenancy.Workspace
			if err := json.Unmarshal([]byte(got), &w); err != nil || w.Environment != tenancy.EnvStaging || w.Settings.Timezone != "America/Chicago" {
				t.Errorf("workspace %+v (%v)", w, err)
			}
		})
	}
	t.Run("refusals name the field", func(t *testing.T) {
		_, _, err := runCLI(t, env, "workspace", "create", "--name", "X", "--env", "qa", "--owner-name", "D", "--owner-email", "d@x.example")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 422 || ae.Field != "environment" {
			t.Errorf("err = %v, want 422 naming environment", err)
		}
	})
	t.Run("a workspace key cannot create workspaces", func(t *testing.T) {
		ws := api.newWorkspace(t, tenancy.EnvDevelopment)
		_, _, err := runCLI(t, map[string]string{EnvURL: api.url}, "workspace", "create", "--key", ws.key, "--name", "X", "--env", "staging", "--owner-name", "D", "--owner-email", "d@x.example")
		if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "403") {
			t.Errorf("err = %v, want 403", err)
		}
	})
}

func TestCLIGet(t *testing.T) {
	api := newTestAPI(t)
	dev := api.newWorkspace(t, tenancy.EnvDevelopment)
	env := newTestCLIEnv(api, dev)
	if _, _, err := runCLI(t, env, "apply", "-f", configPath("northside-development.yaml")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		lines []string // regexps, one per line of output
	}{
		{"services table", []string{"get", "services"}, []string{
			`^ID\s+NAME\s+TARGET$`,
			`^after-hours-triage\s+After-hours triage agent \(dev\)\s+sip:triage@127\.0\.0\.2:5070;transport=udp$`,
			`^front-desk\s+Front desk agent \(dev\)\s+sip:front-desk@127\.0\.0\.2:5070;transport=udp$`,
		}},
		{"one number by its spelling", []string{"get", "phone-numbers", "+1 312 555 0101"}, []string{
			`^NUMBER\s+SERVICE\s+LABEL$`,
			`^\+13125550101\s+after-hours-triage\s+After-hours line \(dev\)$`,
		}},
		{"trunks never show a password", []string{"get", "trunks"}, []string{
			`^ID\s+NAME\s+ALLOWED_CIDRS\s+USERNAME$`,
			`^local-sipp\s+Local SIPp \(development\)\s+127\.0\.0\.1/32\s+-$`,
		}},
		{"voice settings", []string{"get", "voice-settings"}, []string{
			`^TTS_VOICE\s+SPEED\s+KEYTERMS\s+SENSITIVE_TOPICS$`,
			`^en-US-warm-female-1\s+1\s+Northside,Dr\. Okafor,.*\.\.\.\s+diagnosis,test results,mental health,reproductive health$`,
		}},
		{"workspace", []string{"get", "workspace"}, []string{
			`^ID\s+NAME\s+ENVIRONMENT\s+STATUS\s+MAX_CALLS\s+MAX_CPS\s+DIRECT_CHANGES\s+TIMEZONE$`,
			`^ws_[a-z0-9]+\s+Northside Family Clinic \(development\)\s+development\s+active\s+0\s+0\s+false\s+-$`,
		}},
		{"accounts", []string{"get", "accounts"}, []string{
			`^ID\s+NAME\s+EMAIL\s+ROLE\s+CREATED$`,
			`^acc_[a-z0-9]+\s+Dana Whitfield\s+dana\.whitfield@northside\.example\s+owner\s+\d{4}-`,
		}},
		{"no calls yet", []string{"get", "calls", "--active"}, []string{
			`^ID\s+STATE\s+FROM\s+TO\s+SERVICE\s+STARTED\s+ENDED\s+REASON\s+NODE$`,
		}},
		{"no callers yet", []string{"get", "callers"}, []string{
			`^ID\s+CALLS\s+LAST_CALL\s+TALK_S\s+ESCALATIONS\s+TRANSFERS\s+LAST_SERVICE$`,
		}},
		{"events, first two", []string{"get", "events", "--limit", "2"}, []string{
			`^ID\s+TIME\s+TYPE\s+CALL\s+DATA$`,
			`^\d+-\d+\s+\S+\s+config\.changed\s+-\s+\{"actor":\{"platform":true\},.*\.\.\.$`,
			`^\d+-\d+\s+\S+\s+config\.changed\s+-\s+\{"actor":`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _, err := runCLI(t, env, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			got := lines(stdout)
			if len(got) != len(tc.lines) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(tc.lines), stdout)
			}
			for i, re := range tc.lines {
				if !regexp.MustCompile(re).MatchString(got[i]) {
					t.Errorf("line %d %q does not match %s", i, got[i], re)
				}
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		stdout, _, err := runCLI(t, env, "get", "phone-numbers", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var numbers []map[string]any
		if err := json.Unmarshal([]byte(stdout), &numbers); err != nil || len(numbers) != 2 || numbers[0]["id"] != "+13125550100" {
			t.Errorf("numbers %v (%v)", numbers, err)
		}
		stdout, _, err = runCLI(t, env, "get", "service", "front-desk", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var svc tenancy.Service
		if err := json.Unmarshal([]byte(stdout), &svc); err != nil || svc.ID != "front-desk" || len(svc.ContextGraph) == 0 {
			t.Errorf("service %+v (%v)", svc, err)
		}
	})
	t.Run("more events than the limit leave a cursor hint", func(t *testing.T) {
		_, stderr, err := runCLI(t, env, "get", "events", "--limit", "1")
		if err != nil || !strings.Contains(stderr, "--cursor ") {
			t.Errorf("stderr %q (%v)", stderr, err)
		}
	})
	errCases := []struct {
		name   string
		env    map[string]string
		args   []string
		target error
		text   string
	}{
		{"unknown kind", env, []string{"get", "widgets"}, ErrUsage, "unknown kind"},
		{"an id for a singleton", env, []string{"get", "voice-settings", "x"}, ErrUsage, "takes no id"},
		{"bad output", env, []string{"get", "services", "-o", "yaml"}, ErrUsage, "-o"},
		{"no workspace", map[string]string{EnvURL: api.url, EnvKey: dev.key}, []string{"get", "services"}, ErrUsage, EnvWorkspace},
		{"missing item", env, []string{"get", "services", "nope"}, ErrNotFound, "404 not_found"},
		{"no key", map[string]string{EnvURL: api.url, EnvWorkspace: dev.id}, []string{"get", "services"}, ErrUnauthenticated, "401"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, tc.env, tc.args...)
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.target, tc.text)
			}
		})
	}
	t.Run("another workspace's things do not exist", func(t *testing.T) {
		other := api.newWorkspace(t, tenancy.EnvDevelopment)
		for _, kind := range []string{"workspace", "services", "voice-settings", "accounts", "api-keys", "calls", "events"} {
			_, _, err := runCLI(t, newTestCLIEnv(api, other), "get", kind, "-w", dev.id)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("get %s of another workspace: %v, want 404", kind, err)
			}
		}
		_, _, err := runCLI(t, newTestCLIEnv(api, other), "get", "phone-numbers", "+13125550100")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("another workspace's number in one's own: %v, want 404", err)
		}
	})
}

func TestCLIKeys(t *testing.T) {
	api := newTestAPI(t)
	ws := api.newWorkspace(t, tenancy.EnvDevelopment)
	env := newTestCLIEnv(api, ws)

	stdout, _, err := runCLI(t, env, "keys", "create", "--name", "ci")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`API key (\S+) created for account \S+\nkey \(shown once, store it now\): (edk_[a-z0-9]+)\n`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("output:\n%s", stdout)
	}
	id, secret := m[1], m[2]
	ciEnv := map[string]string{EnvURL: api.url, EnvKey: secret, EnvWorkspace: ws.id}
	if _, _, err := runCLI(t, ciEnv, "get", "workspace"); err != nil {
		t.Fatalf("the new key does not work: %v", err)
	}
	stdout, _, err = runCLI(t, env, "keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(stdout); len(got) != 3 || !strings.HasPrefix(got[0], "ID") || !strings.Contains(stdout, id) || strings.Contains(stdout, secret) {
		t.Errorf("keys list:\n%s", stdout)
	}
	if _, _, err := runCLI(t, env, "keys", "revoke", id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, ciEnv, "get", "workspace"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked key: %v, want 401", err)
	}
	for _, args := range [][]string{{"keys"}, {"keys", "rotate"}, {"keys", "revoke"}, {"keys", "create", "extra"}} {
		if _, _, err := runCLI(t, env, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestCLIPromote(t *testing.T) {
	api := newTestAPI(t)
	staging := api.newWorkspace(t, tenancy.EnvStaging)
	prod := api.newWorkspace(t, tenancy.EnvProduction)
	if _, _, err := runCLI(t, newTestCLIEnv(api, staging), "apply", "-f", configPath("northside-staging.yaml")); err != nil {
		t.Fatal(err)
	}
	env := newTestCLIEnv(api, prod)
	env[EnvSourceKey] = staging.key
	seq := api.changesSeq(t)

	stdout, _, err := runCLI(t, env, "promote", "--from", staging.id, "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"+ services/after-hours-triage",
		"+ services/front-desk",
		"+ safety-policies/emergency-escalation",
		"+ safety-policies/identity-before-phi",
		"+ safety-policies/no-medical-advice",
		"+ voice-settings",
		"+ operator-config",
	}
	got := lines(stdout)
	if strings.Join(got[:len(got)-1], "\n") != strings.Join(want, "\n") || !strings.Contains(got[len(got)-1], "dry run") {
		t.Fatalf("dry run printed\n%s", stdout)
	}
	if s := api.changesSeq(t); s != seq {
		t.Errorf("dry run wrote %d changes", s-seq)
	}
	stdout, _, err = runCLI(t, env, "promote", "--from", staging.id)
	if err != nil || !strings.Contains(stdout, "promoted "+staging.id+" into "+prod.id+": 7 changes") {
		t.Fatalf("promote printed %s (%v)", stdout, err)
	}
	stdout, _, err = runCLI(t, env, "promote", "--from", staging.id)
	if err != nil || !strings.Contains(stdout, "no changes") {
		t.Errorf("second promote printed %s (%v)", stdout, err)
	}
	t.Run("a source key of another workspace is not found", func(t *testing.T) {
		other := api.newWorkspace(t, tenancy.EnvStaging)
		_, _, err := runCLI(t, env, "promote", "--from", staging.id, "--source-key", other.key)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want 404", err)
		}
	})
	t.Run("flags are required", func(t *testing.T) {
		for _, args := range [][]string{{"promote"}, {"promote", "--from", staging.id, "--source-key", ""}} {
			e := newTestCLIEnv(api, prod)
			if _, _, err := runCLI(t, e, args...); !errors.Is(err, ErrUsage) {
				t.Errorf("%v: %v, want a usage error", args, err)
			}
		}
	})
}

func TestCLIApply(t *testing.T) {
	api := newTestAPI(t)
	dev := api.newWorkspace(t, tenancy.EnvDevelopment)
	env := newTestCLIEnv(api, dev)

	stdout, _, err := runCLI(t, env, "apply", "-f", configPath("northside-development.yaml"), "--dry-run")
	if err != nil || !strings.Contains(stdout, "+ services/front-desk") || !strings.Contains(stdout, "nothing written") {
		t.Fatalf("dry run printed\n%s(%v)", stdout, err)
	}
	if items, err := dev.c.Items(t.Context(), dev.id, tenancy.KindService); err != nil || len(items) != 0 {
		t.Fatalf("dry run created %d services (%v)", len(items), err)
	}
	t.Run("the file's workspace", func(t *testing.T) {
		path := writeTemp(t, "ws.yaml", "workspace: "+dev.id+"\ntrunks: [{id: t, name: T, allowed_cidrs: [127.0.0.9]}]\n")
		e := map[string]string{EnvURL: api.url, EnvKey: dev.key}
		if stdout, _, err := runCLI(t, e, "apply", "-f", path); err != nil || !strings.Contains(stdout, "+ trunks/t") {
			t.Errorf("apply printed %s (%v)", stdout, err)
		}
		if _, _, err := runCLI(t, e, "apply", "-f", path, "-w", "ws_other0000"); !errors.Is(err, ErrUsage) {
			t.Errorf("conflicting workspace: %v, want a usage error", err)
		}
	})
	for _, args := range [][]string{{"apply"}, {"apply", "file.yaml"}, {"apply", "-f"}, {"apply", "-f", "x.yaml", "--bogus"}} {
		if _, _, err := runCLI(t, env, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, _, err := runCLI(t, env, "apply", "-f", "/nonexistent/file.yaml"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestCLIUsage(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"no verb", nil, true},
		{"unknown verb", []string{"frobnicate"}, true},
		{"help", []string{"help"}, false},
		{"verb help", []string{"get", "-h"}, false},
		{"bad server", []string{"get", "services", "--server", "ftp://x", "-w", "ws_abcd"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, nil, tc.args...)
			if tc.wantErr != errors.Is(err, ErrUsage) || (!tc.wantErr && err != nil) {
				t.Errorf("err = %v", err)
			}
		})
	}
}
