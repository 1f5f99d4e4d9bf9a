package client

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

func TestApplyCreatesEverything(t *testing.T) {
	api := newTestAPI(t)
	dev := api.newWorkspace(t, tenancy.EnvDevelopment)
	f := loadConfig(t, "northside-development.yaml")

	got := apply(t, dev.c, f, dev.id, ApplyOptions{})
	want := []string{
		"+ trunks/local-sipp",
		"+ services/front-desk",
		"+ services/after-hours-triage",
		"+ safety-policies/no-medical-advice",
		"+ safety-policies/emergency-escalation",
		"~ voice-settings (keyterms, sensitive_topics, speed, tts_voice)",
		"~ operator-config (escalation, modes)",
		"+ phone-numbers/+13125550100",
		"+ phone-numbers/+13125550101",
	}
	if !slices.Equal(changeLines(got), want) {
		t.Fatalf("apply printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if last := got[len(got)-1]; !strings.Contains(last, "7 created, 2 updated, 0 unchanged, 0 deleted") {
		t.Errorf("summary %q", last)
	}

	ctx := context.Background()
	t.Run("the workspace holds the file", func(t *testing.T) {
		for _, s := range sections {
			items, err := dev.c.Items(ctx, dev.id, s.kind)
			if err != nil {
				t.Fatalf("%s: %v", s.kind.Name, err)
			}
			declared := f.Items(s.kind)
			if len(items) != len(declared) {
				t.Fatalf("%s: %d items, want %d", s.kind.Name, len(items), len(declared))
			}
			for _, d := range declared {
				i := slices.IndexFunc(items, func(it tenancy.Item) bool { return it.ItemID() == d.ItemID() })
				if i < 0 {
					t.Fatalf("%s/%s missing", s.kind.Name, d.ItemID())
				}
				if diff := changedFields(tenancy.Redacted(d), items[i]); len(diff) > 0 {
					t.Errorf("%s/%s differs in %v", s.kind.Name, d.ItemID(), diff)
				}
			}
		}
	})
	t.Run("the edge's snapshot routes the numbers", func(t *testing.T) {
		snap, err := api.store.LoadSnapshot(ctx, dev.id)
		if err != nil {
			t.Fatal(err)
		}
		if n := snap.Numbers["+13125550101"]; n.ServiceID != "after-hours-triage" {
			t.Errorf("+13125550101 routes to %q", n.ServiceID)
		}
		if tr := snap.Trunks["local-sipp"]; !slices.Equal(tr.AllowedCIDRs, []string{"127.0.0.1/32"}) {
			t.Errorf("trunk CIDRs %v", tr.AllowedCIDRs)
		}
	})
}

func TestApplyTwicePrintsNoChanges(t *testing.T) {
	api := newTestAPI(t)
	dev := api.newWorkspace(t, tenancy.EnvDevelopment)
	f := loadConfig(t, "northside-development.yaml")
	apply(t, dev.c, f, dev.id, ApplyOptions{})
	seq := api.changesSeq(t)

	got := apply(t, dev.c, f, dev.id, ApplyOptions{})
	if ch := changeLines(got); len(ch) != 0 {
		t.Errorf("second apply changed %v", ch)
	}
	if n := len(got) - 1; n != 9 {
		t.Errorf("%d item lines, want 9 unchanged:\n%s", n, strings.Join(got, "\n"))
	}
	if !strings.HasPrefix(got[0], "= ") || !strings.Contains(got[len(got)-1], "no changes (9 unchanged)") {
		t.Errorf("output:\n%s", strings.Join(got, "\n"))
	}
	if s := api.changesSeq(t); s != seq {
		t.Errorf("second apply wrote %d changes", s-seq)
	}
}

func TestApplyUpdatesExactlyTheChangedItems(t *testing.T) {
	api := newTestAPI(t)
	dev := api.newWorkspace(t, tenancy.EnvDevelopment)
	orig, err := os.ReadFile(configPath("northside-development.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, dev.c, loadConfig(t, "northside-development.yaml"), dev.id, ApplyOptions{})

	edited := string(orig)
	for _, r := range [][2]string{
		{"speed: 1.0", "speed: 1.15"},
		{"target: sip:triage@127.0.0.2:5070;transport=udp", "target: sip:triage@127.0.0.2:5072;transport=udp"},
		{"    label: After-hours line (dev)\n", "    label: After-hours line (dev)\n  - number: \"+1 312 555 0102\"\n    service_id: front-desk\n    label: Refill line (dev)\n"},
	} {
		if !strings.Contains(edited, r[0]) {
			t.Fatalf("config no longer contains %q", r[0])
		}
		edited = strings.Replace(edited, r[0], r[1], 1)
	}
	seq := api.changesSeq(t)
	got := apply(t, dev.c, parseYAML(t, edited), dev.id, ApplyOptions{})
	want := []string{
		"~ services/after-hours-triage (target)",
		"~ voice-settings (speed)",
		"+ phone-numbers/+13125550102",
	}
	if !slices.Equal(changeLines(got), want) {
		t.Fatalf("apply printed\n%s\nwant changes\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := api.changesSeq(t); s-seq != 3 {
		t.Errorf("%d writes, want 3", s-seq)
	}
	vs, err := dev.c.Item(context.Background(), dev.id, tenancy.KindVoiceSettings, "")
	if err != nil {
		t.Fatal(err)
	}
	if speed := vs.(*tenancy.VoiceSettings).Speed; speed != 1.15 {
		t.Errorf("speed %v, want 1.15", speed)
	}
}

func TestApplyPrune(t *testing.T) {
	api := newTestAPI(t)
	dev := api.newWorkspace(t, tenancy.EnvDevelopment)
	apply(t, dev.c, loadConfig(t, "northside-development.yaml"), dev.id, ApplyOptions{})

	// The after-hours service and its number leave the file; the voice
	// settings section leaves too (absent sections are never pruned).
	smaller := `
services:
  - id: front-desk
    name: Front desk agent (dev)
    target: sip:front-desk@127.0.0.2:5070;transport=udp
phone_numbers:
  - {number: "+1 312 555 0100", service_id: front-desk, label: Main line (dev)}
trunks:
  - {id: local-sipp, name: Local SIPp (development), allowed_cidrs: [127.0.0.1/32]}
safety_policies: []
`
	f := parseYAML(t, smaller)
	t.Run("without prune nothing is deleted", func(t *testing.T) {
		got := apply(t, dev.c, f, dev.id, ApplyOptions{})
		want := []string{"~ services/front-desk (agent_config, context_graph)"}
		if !slices.Equal(changeLines(got), want) {
			t.Fatalf("apply printed\n%s", strings.Join(got, "\n"))
		}
	})
	t.Run("a dry run prints the deletions and writes nothing", func(t *testing.T) {
		seq := api.changesSeq(t)
		var out bytes.Buffer
		if _, err := dev.c.Apply(context.Background(), f, dev.id, ApplyOptions{Prune: true, DryRun: true}, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "- services/after-hours-triage") || !strings.Contains(out.String(), "nothing written") {
			t.Errorf("dry run printed\n%s", out.String())
		}
		if s := api.changesSeq(t); s != seq {
			t.Errorf("dry run wrote %d changes", s-seq)
		}
	})
	t.Run("prune deletes numbers before their services", func(t *testing.T) {
		got := apply(t, dev.c, f, dev.id, ApplyOptions{Prune: true})
		want := []string{
			"- phone-numbers/+13125550101",
			"- services/after-hours-triage",
			"- safety-policies/emergency-escalation",
			"- safety-policies/no-medical-advice",
		}
		if !slices.Equal(changeLines(got), want) {
			t.Fatalf("apply printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		ctx := context.Background()
		if _, err := dev.c.Item(ctx, dev.id, tenancy.KindService, "after-hours-triage"); !errors.Is(err, ErrNotFound) {
			t.Errorf("pruned service: %v", err)
		}
		vs, err := dev.c.Item(ctx, dev.id, tenancy.KindVoiceSettings, "")
		if err != nil || vs.(*tenancy.VoiceSettings).TTSVoice == "" {
			t.Errorf("voice settings, absent from the file, were touched: %+v %v", vs, err)
		}
	})
	t.Run("pruning a service a remaining number routes to is refused", func(t *testing.T) {
		seq := api.changesSeq(t)
		f := parseYAML(t, "services: []\n")
		_, err := dev.c.Apply(context.Background(), f, dev.id, ApplyOptions{Prune: true}, &bytes.Buffer{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"front-desk"`) {
			t.Errorf("err = %v, want refusal naming front-desk", err)
		}
		if s := api.changesSeq(t); s != seq {
			t.Errorf("refused apply wrote %d changes", s-seq)
		}
	})
}

func TestApplyBadFileWritesNothing(t *testing.T) {
	api := newTestAPI(t)
	dev := api.newWorkspace(t, tenancy.EnvDevelopment)
	good, err := os.ReadFile(configPath("northside-development.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to, field string
	}{
		{"unknown key", "    label: Main line (dev)\n", "    label: Main line (dev)\n    extension: 12\n", "phone_numbers[0].extension"},
		{"speed out of range", "speed: 1.0", "speed: 2.5", "voice_settings.speed"},
		{"number of a service in neither file nor workspace", "service_id: after-hours-triage", "service_id: night-owl", "phone_numbers[1].service_id"},
		{"target of another scheme", "target: sip:front-desk@127.0.0.2:5070;transport=udp", "target: tel:+13125550199", "services[0].target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(good), tc.from) {
				t.Fatalf("config no longer contains %q", tc.from)
			}
			path := writeTemp(t, "bad.yaml", strings.Replace(string(good), tc.from, tc.to, 1))
			seq := api.changesSeq(t)
			stdout, _, err := runCLI(t, map[string]string{EnvURL: api.url, EnvKey: dev.key}, "apply", "-f", path, "--workspace", dev.id)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tc.field)
			}
			if stdout != "" {
				t.Errorf("printed %q before failing", stdout)
			}
			if s := api.changesSeq(t); s != seq {
				t.Errorf("bad file wrote %d changes", s-seq)
			}
		})
	}
	t.Run("an API refusal is reported with status, code and field", func(t *testing.T) {
		// A number owned by another workspace can only be refused by the
		// server; apply stops there and says so.
		other := api.newWorkspace(t, tenancy.EnvDevelopment)
		apply(t, other.c, parseYAML(t, "services: [{id: a, name: A, target: 'sip:a@127.0.0.2'}]\nphone_numbers: [{number: '+13125550100', service_id: a}]\n"), other.id, ApplyOptions{})
		_, err := dev.c.Apply(context.Background(), loadConfig(t, "northside-development.yaml"), dev.id, ApplyOptions{}, &bytes.Buffer{})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 409 || ae.Code != "conflict" || !errors.Is(err, ErrConflict) {
			t.Fatalf("err = %v, want a 409 conflict", err)
		}
		if !strings.Contains(err.Error(), "phone-numbers/+13125550100") || !strings.Contains(err.Error(), "409 conflict") {
			t.Errorf("message %q should name the item, status and code", err)
		}
	})
}

func TestApplyAcrossWorkspacesIsNotFound(t *testing.T) {
	api := newTestAPI(t)
	a := api.newWorkspace(t, tenancy.EnvDevelopment)
	b := api.newWorkspace(t, tenancy.EnvDevelopment)
	f := loadConfig(t, "northside-development.yaml")
	seq := api.changesSeq(t)

	cases := []struct{ name, ws string }{
		{"another workspace's id", b.id},
		{"a workspace that does not exist", "ws_doesnotexist0000"},
	}
	var answers []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.c.Apply(context.Background(), f, tc.ws, ApplyOptions{Prune: true}, &bytes.Buffer{})
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 404 || !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want 404", err)
			}
			answers = append(answers, ae.Code+": "+ae.Message)
			_, _, err = runCLI(t, map[string]string{EnvURL: api.url, EnvKey: a.key}, "apply", "-f", configPath("northside-development.yaml"), "-w", tc.ws)
			if err == nil || !strings.Contains(err.Error(), "404 not_found") {
				t.Errorf("CLI err = %v, want the 404 shown", err)
			}
		})
	}
	if len(answers) == 2 && answers[0] != answers[1] {
		t.Errorf("another workspace answers %q, a missing one %q: existence leaks", answers[0], answers[1])
	}
	if s := api.changesSeq(t); s != seq {
		t.Errorf("cross-workspace apply wrote %d changes", s-seq)
	}
	items, err := b.c.Items(context.Background(), b.id, tenancy.KindService)
	if err != nil || len(items) != 0 {
		t.Errorf("workspace b has %d services (%v)", len(items), err)
	}
}

func TestApplyProductionAfterPromotion(t *testing.T) {
	api := newTestAPI(t)
	ctx := context.Background()
	staging := api.newWorkspace(t, tenancy.EnvStaging)
	prod := api.newWorkspace(t, tenancy.EnvProduction)
	prodFile := loadConfig(t, "northside-production.yaml")
	apply(t, staging.c, loadConfig(t, "northside-staging.yaml"), staging.id, ApplyOptions{})

	t.Run("before promotion the numbers have no services", func(t *testing.T) {
		seq := api.changesSeq(t)
		_, err := prod.c.Apply(ctx, prodFile, prod.id, ApplyOptions{}, &bytes.Buffer{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "phone_numbers[0].service_id") || !strings.Contains(err.Error(), "promote") {
			t.Fatalf("err = %v", err)
		}
		if s := api.changesSeq(t); s != seq {
			t.Errorf("wrote %d changes", s-seq)
		}
	})

	res, err := prod.c.Promote(ctx, prod.id, staging.id, staging.key, false)
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	if !res.Applied || len(res.Diff) != 7 {
		t.Fatalf("promotion %+v, want 7 changes applied", res)
	}

	t.Run("after promotion the file applies", func(t *testing.T) {
		got := apply(t, prod.c, prodFile, prod.id, ApplyOptions{})
		want := []string{
			"+ trunks/carrier-primary",
			"+ trunks/carrier-backup",
			"+ phone-numbers/+13125550120",
			"+ phone-numbers/+13125550121",
			"+ phone-numbers/+13125550122",
		}
		if !slices.Equal(changeLines(got), want) {
			t.Fatalf("apply printed\n%s", strings.Join(got, "\n"))
		}
		if again := changeLines(apply(t, prod.c, prodFile, prod.id, ApplyOptions{})); len(again) != 0 {
			t.Errorf("second apply changed %v", again)
		}
		tr, err := prod.c.Item(ctx, prod.id, tenancy.KindTrunk, "carrier-primary")
		if err != nil {
			t.Fatal(err)
		}
		if tr := tr.(*tenancy.Trunk); tr.Username != "northside-prod" || tr.Password != "" {
			t.Errorf("trunk as shown: %+v (password must be write-only)", tr)
		}
	})

	staged, err := os.ReadFile(configPath("northside-staging.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prodText, err := os.ReadFile(configPath("northside-production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	services := string(staged[strings.Index(string(staged), "services:"):strings.Index(string(staged), "phone_numbers:")])

	t.Run("the promoted services unchanged in the file pass", func(t *testing.T) {
		got := apply(t, prod.c, parseYAML(t, string(prodText)+"\n"+services), prod.id, ApplyOptions{})
		if ch := changeLines(got); len(ch) != 0 || !slices.Contains(got, "= services/front-desk") {
			t.Errorf("apply printed\n%s", strings.Join(got, "\n"))
		}
	})
	t.Run("a service change is refused with the promotion hint", func(t *testing.T) {
		changed := strings.Replace(services, "max_call_minutes: 15", "max_call_minutes: 20", 1)
		changed += "  - {id: billing-line, name: Billing agent, target: 'sip:billing@127.0.0.2:5070'}\n"
		f := parseYAML(t, string(prodText)+"\n"+changed)
		seq := api.changesSeq(t)
		_, err := prod.c.Apply(ctx, f, prod.id, ApplyOptions{}, &bytes.Buffer{})
		if !errors.Is(err, ErrPromotionRequired) {
			t.Fatalf("err = %v, want ErrPromotionRequired", err)
		}
		for _, want := range []string{"~ services/front-desk (agent_config)", "+ services/billing-line", "edge-admin promote", "allow_direct_changes", "nothing was written"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err, want)
			}
		}
		if s := api.changesSeq(t); s != seq {
			t.Errorf("refused apply wrote %d changes", s-seq)
		}
	})
	t.Run("the server refuses a direct change too", func(t *testing.T) {
		err := prod.c.PutItem(ctx, prod.id, tenancy.KindVoiceSettings, &tenancy.VoiceSettings{TTSVoice: "en-US-other", Speed: 1.2})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 409 || ae.Code != codePromotionRequired || !errors.Is(err, ErrPromotionRequired) {
			t.Fatalf("err = %v, want 409 promotion_required", err)
		}
		if !strings.Contains(ae.Message, "promotions") {
			t.Errorf("message %q lacks the hint", ae.Message)
		}
	})
}

func TestApplyResendSecrets(t *testing.T) {
	api := newTestAPI(t)
	ws := api.newWorkspace(t, tenancy.EnvDevelopment)
	f := parseYAML(t, "trunks:\n  - {id: t, name: T, allowed_cidrs: [127.0.0.1/32], username: clinic, password: first-password-01}\n")
	apply(t, ws.c, f, ws.id, ApplyOptions{})
	rotated := parseYAML(t, "trunks:\n  - {id: t, name: T, allowed_cidrs: [127.0.0.1/32], username: clinic, password: second-password-02}\n")

	if got := changeLines(apply(t, ws.c, rotated, ws.id, ApplyOptions{})); len(got) != 0 {
		t.Errorf("a password cannot be compared: want the trunk unchanged, got %v", got)
	}
	seq := api.changesSeq(t)
	got := changeLines(apply(t, ws.c, rotated, ws.id, ApplyOptions{ResendSecrets: true}))
	if !slices.Equal(got, []string{"~ trunks/t (password)"}) {
		t.Errorf("apply --resend-secrets printed %v", got)
	}
	if s := api.changesSeq(t); s-seq != 1 {
		t.Errorf("rotation wrote %d changes, want 1", s-seq)
	}
}
