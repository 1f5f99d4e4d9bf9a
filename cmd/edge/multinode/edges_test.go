package multinode

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/media/mediatest"
	"github.com/voiceedge/edge/tenancy"
)

// maxCalls is the workspace's concurrent-call limit in TestSeveralEdges.
const maxCalls = 4

// TestSeveralEdges runs three edges behind one Redis: calls spread over
// them; every node lists the workspace's calls, hangs up and joins (as a
// listening operator hearing the call's tone) a call another node holds;
// another workspace's key gets 404 from any node exactly as for a call
// that does not exist; and a race of many INVITEs at once across the
// nodes gets exactly maxCalls answered, never one more.
func TestSeveralEdges(t *testing.T) {
	s := newStack(t, stackOptions{maxCalls: maxCalls, maxCPS: 1000})
	key := s.ws.OwnerAPIKey

	// One call to each node.
	calls := make([]*rawCall, len(s.edges))
	for i, e := range s.edges {
		calls[i] = newRawCall(t, e.SIP, number)
		if st := calls[i].invite(t, 10*time.Second); st != 200 {
			t.Fatalf("call to %s: %d", e.Config.NodeID, st)
		}
	}
	byNode := map[string]string{} // node id -> call id
	t.Run("every node lists the calls of every node", func(t *testing.T) {
		for _, e := range s.edges {
			recs := s.activeCalls(t, e, key)
			nodes := map[string]string{}
			for _, r := range recs {
				nodes[r.NodeID] = r.ID
			}
			if len(recs) != 3 || len(nodes) != 3 {
				t.Fatalf("%s lists %d calls on nodes %v, want one on each of 3", e.Config.NodeID, len(recs), nodes)
			}
			byNode = nodes
		}
	})
	if len(byNode) != 3 {
		t.FailNow()
	}

	t.Run("another workspace gets 404 from any node, as for no call", func(t *testing.T) {
		held := byNode["edge-1"]
		for _, e := range s.edges[1:] {
			base := "http://" + e.HTTP + "/v1/calls/"
			for _, req := range []struct{ method, path, ctype string }{
				{"GET", "", ""}, {"POST", "/hangup", ""}, {"POST", "/operators?mode=listen", "application/sdp"},
			} {
				theirs := rawRequest(t, req.method, base+held+req.path, s.other.OwnerAPIKey, req.ctype)
				none := rawRequest(t, req.method, base+"call_00000000deadbeef"+req.path, s.other.OwnerAPIKey, req.ctype)
				if theirs.status != 404 || theirs.status != none.status || theirs.body != none.body {
					t.Fatalf("%s %s%s on %s: %d %s, a call that does not exist: %d %s",
						req.method, held, req.path, e.Config.NodeID, theirs.status, theirs.body, none.status, none.body)
				}
			}
		}
	})

	t.Run("a node hangs up a call another node holds", func(t *testing.T) {
		id := byNode["edge-1"]
		var viewer struct {
			APIKey string `json:"api_key"`
		}
		edgeproc.Call(t, "POST", s.admin.URL+"/v1/workspaces/"+s.ws.ID+"/accounts", key,
			map[string]string{"name": "Vic Viewer", "email": "vic@example.org", "role": "viewer"}, 201, &viewer)
		edgeproc.Call(t, "POST", "http://"+s.edges[1].HTTP+"/v1/calls/"+id+"/hangup", viewer.APIKey, nil, 403, nil)
		edgeproc.Call(t, "POST", "http://"+s.edges[1].HTTP+"/v1/calls/"+id+"/hangup", key, nil, 202, nil)
		calls[0].waitBye(t, 5*time.Second)
		edgeproc.WaitFor(t, 5*time.Second, "the record ended", func() bool { return s.call(t, id).State == tenancy.CallEnded })
		if r := s.call(t, id); r.EndReason != "hangup_requested" || r.NodeID != "edge-1" {
			t.Fatalf("record %+v", r)
		}
		edgeproc.Call(t, "POST", "http://"+s.edges[2].HTTP+"/v1/calls/"+id+"/hangup", key, nil, 409, nil)
	})
	calls[1].hangup(t)
	calls[2].hangup(t)
	s.waitActive(t, 0, 5*time.Second)

	t.Run("a node joins an operator to a call another node holds", func(t *testing.T) {
		testOperatorAcrossNodes(t, s)
	})
	s.waitActive(t, 0, 10*time.Second)

	t.Run("the limit holds exactly across nodes under a race", func(t *testing.T) {
		testLimitRace(t, s, 8*len(s.edges))
	})
}

// testOperatorAcrossNodes: a SIPp call with a tone on edge-1, found through
// edge-2's list, joined in listen mode through edge-3 (which forwards to
// edge-1): the operator hears the tone; it leaves through edge-2.
func testOperatorAcrossNodes(t *testing.T, s *stack) {
	port := edgeproc.PortOf(edgeproc.FreeUDP(t, "127.0.0.1"))
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.1", port)
	uac := edgeproc.StartSIPp(t, "trunk", "../../../loadtest/sipp/uac_pcmu.xml", s.edges[0].SIP, "-i", "127.0.0.1",
		"-p", port,
		"-s", number, "-mp", mport, "-d", "5000", "-m", "1", "-timeout", "40s", "-timeout_error", "-trace_err")
	var id string
	edgeproc.WaitFor(t, 10*time.Second, "the SIPp call answered on edge-1", func() bool {
		for _, r := range s.activeCalls(t, s.edges[1], s.ws.OwnerAPIKey) {
			if r.State == tenancy.CallAnswered && r.NodeID == "edge-1" {
				id = r.ID
				return true
			}
		}
		return false
	})
	op := mediatest.NewBrowser(t, true)
	res := rawRequestBody(t, "POST", "http://"+s.edges[2].HTTP+"/v1/calls/"+id+"/operators?mode=listen", s.ws.OwnerAPIKey, "application/sdp", op.Offer(t))
	if res.status != 201 {
		t.Fatalf("join through edge-3: %d %s", res.status, res.body)
	}
	op.Accept(t, []byte(res.body))
	edgeproc.WaitFor(t, 5*time.Second, "RTP at the operator", func() bool { return op.Received().Load() >= 100 })
	lvl := op.Level(4000)
	t.Logf("operator on edge-1's call through edge-3: %d packets, RMS %.0f", op.Received().Load(), lvl)
	if lvl < 200 {
		t.Fatalf("the operator hears silence (RMS %.0f)", lvl)
	}
	leave := rawRequest(t, "DELETE", "http://"+s.edges[1].HTTP+res.location, s.ws.OwnerAPIKey, "")
	if leave.status != 204 {
		t.Fatalf("leave through edge-2: %d %s", leave.status, leave.body)
	}
	if code := uac.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("SIPp trunk exit %d", code)
	}
}

// testLimitRace sends n INVITEs at once, spread over the nodes: exactly
// maxCalls are answered and the others refused 486 (the limit's status),
// and Redis never counts more than maxCalls active.
func testLimitRace(t *testing.T, s *stack, n int) {
	calls := make([]*rawCall, n)
	for i := range calls {
		calls[i] = newRawCall(t, s.edges[i%len(s.edges)].SIP, number)
	}
	var peak int64
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() { // the active count, sampled through the race
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if a := s.activeCount(t); a > peak {
				peak = a
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	start := make(chan struct{})
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = c.invite(t, 15*time.Second)
		}()
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	nodes := map[string]int{}
	for i, st := range statuses {
		counts[st]++
		if st == 200 {
			nodes[s.edges[i%len(s.edges)].Config.NodeID]++
		}
	}
	active := s.activeCount(t)
	time.Sleep(300 * time.Millisecond) // a late admission would show now
	close(stop)
	watch.Wait()
	t.Logf("%d INVITEs at once over %d nodes: %v (answered per node %v), active %d, peak %d", n, len(s.edges), counts, nodes, active, peak)
	if counts[200] != maxCalls || counts[486] != n-maxCalls || active != maxCalls || peak > maxCalls {
		t.Fatalf("answers %v, active %d, peak %d: want exactly %d answered, %d refused 486", counts, active, peak, maxCalls, n-maxCalls)
	}
	one := newRawCall(t, s.edges[0].SIP, number)
	if st := one.invite(t, 10*time.Second); st != 486 {
		t.Fatalf("one more call at the limit: %d", st)
	}
	for i, c := range calls {
		if statuses[i] == 200 {
			c.hangup(t)
		}
	}
	s.waitActive(t, 0, 5*time.Second)
}

// httpResult is a raw HTTP answer.
type httpResult struct {
	status   int
	body     string
	location string
}

func rawRequest(t *testing.T, method, url, key, ctype string) httpResult {
	t.Helper()
	var body []byte
	if ctype == "application/sdp" {
		body = []byte("v=0\r\n")
	}
	return rawRequestBody(t, method, url, key, ctype, body)
}

func rawRequestBody(t *testing.T, method, url, key, ctype string, body []byte) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
}
