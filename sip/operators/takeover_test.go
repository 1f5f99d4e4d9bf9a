package operators

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// Tones of the warm-transfer tests: the pion operator says 700 Hz; the
// caller (a SIPp trunk with -rtp_echo) says back whatever it hears, so a
// tone the operator hears from the caller is one that reached the caller.
const (
	toneOperator = 700
	toneHeard    = 800 // amplitude above which a tone is there (the operator's is 2000)
)

// toneIn estimates the amplitude of freq in 8 kHz samples (Goertzel).
func toneIn(samples []int16, freq float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return 2 * math.Sqrt(max(s1*s1+s2*s2-coeff*s1*s2, 0)) / float64(len(samples))
}

// heardFor returns what the operator hears during d from now.
func (p *pionOperator) heardFor(d time.Duration) []int16 { return p.b.HeardFor(d) }

// allowWarmTransfer lets the workspace's operators barge and lists the
// operators as a transfer target, and waits for the edge's map to have it.
func (e *testEdge) allowWarmTransfer(t *testing.T, tw *testWorkspace) {
	t.Helper()
	esc, _ := json.Marshal(map[string]any{"transfer_targets": []map[string]any{{"kind": "operators"}}})
	cfg := &tenancy.OperatorConfig{Modes: []string{"listen", "whisper", "barge"}, Escalation: esc}
	if _, err := e.store.Put(context.Background(), tenancy.PlatformPrincipal, tw.id, tenancy.KindOperatorConfig, cfg, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "operator config in the map", func() bool {
		v, ok := e.routes.Workspace(tw.id)
		return ok && string(v.OperatorConfig.Escalation) == string(esc)
	})
}

// startAgent starts a SIPp service on 127.0.0.2 that echoes nothing.
func startAgent(t *testing.T, scenario string, extra ...string) (*sippProc, string) {
	t.Helper()
	port := freeUDPPort(t, "127.0.0.2")
	args := append([]string{"-i", "127.0.0.2", "-p", fmt.Sprint(port), "-mp", edgeproc.SIPpMediaPort(t, "127.0.0.2", fmt.Sprint(port))}, extra...)
	return startSipp(t, scenario, args...), fmt.Sprintf("sip:agent@127.0.0.2:%d;transport=udp", port)
}

// echoingCaller calls number from a SIPp trunk that echoes what it hears
// and waits for the edge's BYE.
func (e *testEdge) echoingCaller(t *testing.T, number string) *sippProc {
	t.Helper()
	return startSipp(t, "../../loadtest/sipp/uac_wait_bye.xml", e.udpAddr, "-i", "127.0.0.1", "-s", number,
		"-mp", edgeproc.SIPpMediaPort(t, "127.0.0.1"), "-rtp_echo")
}

// joinOperator joins a pion operator to call in mode with key and returns
// it and its id.
func (e *testEdge) joinOperator(t *testing.T, call, key string, mode media.OperatorMode) (*pionOperator, string) {
	t.Helper()
	op := newPionOperator(t, true)
	res := do(t, http.MethodPost, e.baseURL+"/v1/calls/"+call+"/operators?mode="+string(mode), key, "application/sdp", op.offer(t))
	if res.status != http.StatusCreated {
		t.Fatalf("join: %d %s", res.status, res.body)
	}
	op.accept(t, res.body)
	return op, lastSegment(res.header.Get("Location"))
}

// TestOperatorTakeOver: a warm transfer to an operator over WebRTC. The
// operator joins in barge and takes the call over; the agent (SIPp)
// hangs up; the call goes on between the caller and the operator (the
// caller, echoing, proves it hears the operator); it ends when the
// operator leaves. Another workspace's operator gets 404, as for a call
// that does not exist.
func TestOperatorTakeOver(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startAgent(t, "../../loadtest/sipp/uas_bye.xml", "-d", "3000")
	ws := e.addWorkspace(t, "Clinic", "+15551230001", target)
	other := e.addWorkspace(t, "Other", "+15551230002", "sip:agent@127.0.0.2:5999")
	e.allowWarmTransfer(t, ws)
	e.allowWarmTransfer(t, other)
	uac := e.echoingCaller(t, "+15551230001")
	key := ws.keys["member"]
	call := e.waitCall(t, key)
	op, opID := e.joinOperator(t, call, key, media.ModeBarge)
	takeOver := e.baseURL + "/v1/calls/" + call + "/operators/" + opID + "/take-over"

	t.Run("another workspace's operator: 404", func(t *testing.T) {
		for _, role := range []string{"owner", "member"} {
			res := do(t, http.MethodPost, takeOver, other.keys[role], "", nil)
			if res.status != http.StatusNotFound || res.apiError(t).Message != "not found" {
				t.Fatalf("%s: %d %s", role, res.status, res.body)
			}
		}
	})
	t.Run("viewer: 403", func(t *testing.T) {
		if res := do(t, http.MethodPost, takeOver, ws.keys["viewer"], "", nil); res.status != http.StatusForbidden {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("an operator the caller does not hear: 409", func(t *testing.T) {
		opURL := e.baseURL + "/v1/calls/" + call + "/operators/" + opID
		if res := do(t, http.MethodPatch, opURL, key, "application/json", []byte(`{"mode":"listen"}`)); res.status != http.StatusOK {
			t.Fatalf("listen: %d %s", res.status, res.body)
		}
		if res := do(t, http.MethodPost, takeOver, key, "", nil); res.status != http.StatusConflict {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if res := do(t, http.MethodPatch, opURL, key, "application/json", []byte(`{"mode":"barge"}`)); res.status != http.StatusOK {
			t.Fatalf("barge: %d %s", res.status, res.body)
		}
	})
	t.Run("take over", func(t *testing.T) {
		res := do(t, http.MethodPost, takeOver, key, "", nil)
		if res.status != http.StatusOK || !json.Valid(res.body) {
			t.Fatalf("%d %s", res.status, res.body)
		}
		var v struct {
			ID       string `json:"id"`
			TakeOver bool   `json:"take_over"`
		}
		if err := json.Unmarshal(res.body, &v); err != nil || v.ID != opID || !v.TakeOver {
			t.Fatalf("%s", res.body)
		}
	})
	if code, logs := svc.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("agent sipp exit %d\n%s", code, logs)
	}
	waitEvent(t, e.store, ws.id, "call.transferred", map[string]any{"kind": "operators", "operator_id": opID, "call_id": call}, 5*time.Second)
	t.Run("the call goes on without the agent", func(t *testing.T) {
		time.Sleep(500 * time.Millisecond)
		if _, ok := e.srv.Call(call); !ok {
			t.Fatal("the call ended with its agent")
		}
	})
	t.Run("the caller hears the operator", func(t *testing.T) {
		heard := op.heardFor(1500 * time.Millisecond)
		if lvl := toneIn(heard, toneOperator); lvl < toneHeard {
			t.Fatalf("the operator's tone did not come back from the caller (level %.0f over %d samples)", lvl, len(heard))
		}
	})
	if res := do(t, http.MethodDelete, e.baseURL+"/v1/calls/"+call+"/operators/"+opID, key, "", nil); res.status != http.StatusNoContent {
		t.Fatalf("leave: %d %s", res.status, res.body)
	}
	if code, logs := uac.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("the caller got no BYE: sipp exit %d\n%s", code, logs)
	}
	waitEvent(t, e.store, ws.id, tenancy.EventCallEnded, map[string]any{"reason": "operator_left", "call_id": call}, 5*time.Second)
	if got := events(t, e.store, other.id, "call.transferred"); len(got) != 0 {
		t.Fatalf("the other workspace has %v", got)
	}
}

// TestOperatorJoinsWaitingCaller: the agent REFERs the caller to the
// operators and hangs up; the caller hears hold audio (a listening
// operator hears it come back from the echoing caller); the operator
// barges in, the hold audio stops, the operator has the call and the
// caller hears it.
func TestOperatorJoinsWaitingCaller(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startAgent(t, "../testdata/sipp/svc_refer_operators_bye.xml",
		"-key", "refer_to", "<sip:operators@127.0.0.1;target=operators>", "-d", "300")
	ws := e.addWorkspace(t, "Clinic", "+15551230001", target)
	e.allowWarmTransfer(t, ws)
	uac := e.echoingCaller(t, "+15551230001")
	key := ws.keys["member"]
	call := e.waitCall(t, key)
	if code, logs := svc.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("agent sipp exit %d\n%s", code, logs)
	}
	op, opID := e.joinOperator(t, call, key, media.ModeListen)
	t.Run("the waiting caller hears hold audio", func(t *testing.T) {
		heard := op.heardFor(1500 * time.Millisecond)
		if lvl := toneIn(heard, media.HoldToneHz); lvl < 300 {
			t.Fatalf("no hold tone from the caller (level %.0f over %d samples)", lvl, len(heard))
		}
	})
	res := do(t, http.MethodPatch, e.baseURL+"/v1/calls/"+call+"/operators/"+opID, key, "application/json", []byte(`{"mode":"barge"}`))
	if res.status != http.StatusOK {
		t.Fatalf("barge: %d %s", res.status, res.body)
	}
	waitEvent(t, e.store, ws.id, "call.transferred", map[string]any{"kind": "operators", "operator_id": opID}, 5*time.Second)
	t.Run("the operator barges in: hold audio stops, the caller hears the operator", func(t *testing.T) {
		op.heardFor(300 * time.Millisecond) // what was on its way
		heard := op.heardFor(1500 * time.Millisecond)
		if lvl := toneIn(heard, media.HoldToneHz); lvl > 300 {
			t.Errorf("hold tone still heard (level %.0f)", lvl)
		}
		if lvl := toneIn(heard, toneOperator); lvl < toneHeard {
			t.Errorf("the operator's tone did not come back from the caller (level %.0f)", lvl)
		}
	})
	if res := do(t, http.MethodDelete, e.baseURL+"/v1/calls/"+call+"/operators/"+opID, key, "", nil); res.status != http.StatusNoContent {
		t.Fatalf("leave: %d %s", res.status, res.body)
	}
	if code, logs := uac.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("the caller got no BYE: sipp exit %d\n%s", code, logs)
	}
	waitEvent(t, e.store, ws.id, tenancy.EventCallEnded, map[string]any{"reason": "operator_left", "call_id": call}, 5*time.Second)
}
