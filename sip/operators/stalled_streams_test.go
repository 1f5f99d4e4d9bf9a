package operators

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
)

// TestStalledStreamsLeaveCallAdmissionAlone is issue 10's reproduction: 100
// console event streams of 25 workspaces whose clients never read, while
// another workspace's calls arrive at 10 per second. The node keeps at most
// its cap of streams (the rest get 503), the streams wait in Redis on a
// client of their own, and every call is admitted and answered.
func TestStalledStreamsLeaveCallAdmissionAlone(t *testing.T) {
	e := newTestEdge(t)
	host := strings.TrimPrefix(e.baseURL, "http://")
	if u, err := url.Parse(e.baseURL); err == nil {
		host = u.Host
	}
	statuses := map[string]int{}
	for i := 0; i < 25; i++ {
		tw := newTestWorkspace(t, e.store, fmt.Sprintf("Stalled %d", i))
		for _, role := range tenancy.Roles {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			fmt.Fprintf(c, "GET /v1/events/stream HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n", host, tw.keys[string(role)])
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n') // the status line, then never read again
			statuses[strings.TrimSpace(line)]++
		}
	}
	if got := statuses["HTTP/1.1 200 OK"]; got != DefaultConfig().MaxStreams {
		t.Fatalf("streams opened: %v, want the node's cap of %d open", statuses, DefaultConfig().MaxStreams)
	}
	const calls = 20
	port := freeUDPPort(t, "127.0.0.2")
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.2", fmt.Sprint(port))
	svc := startSipp(t, "../../loadtest/sipp/uas_answer.xml", "-i", "127.0.0.2", "-p", fmt.Sprint(port), "-mp", mport,
		"-rtp_echo", "-m", fmt.Sprint(calls))
	tw := e.addWorkspace(t, "Calls", "+15551239999", fmt.Sprintf("sip:agent@127.0.0.2:%d;transport=udp", port))
	uac := startSipp(t, "../../loadtest/sipp/uac_pcmu.xml", e.udpAddr, "-i", "127.0.0.1", "-s", "+15551239999",
		"-mp", edgeproc.SIPpMediaPort(t, "127.0.0.1"), "-d", "500", "-m", fmt.Sprint(calls), "-r", "10")
	if code, logs := uac.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("%d calls at 10/s beside the stalled streams: trunk sipp exit %d\n%s", calls, code, logs)
	}
	if code, logs := svc.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	recs, _, err := e.store.ListCalls(t.Context(), tw.id, false, "", 100)
	if err != nil || len(recs) != calls {
		t.Fatalf("%d call records (%v), want %d", len(recs), err, calls)
	}
	for _, r := range recs {
		if r.AnsweredAt == nil {
			t.Errorf("call %s never answered (%s)", r.ID, r.EndReason)
		}
	}
}
