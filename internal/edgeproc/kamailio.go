package edgeproc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// kamailioCfg is a carrier's SBC in front of edges: stateful forwarding
// (tm), record_route on initial requests, loose_route for in-dialog ones
// (so that they reach the edge holding the call, draining or not), a 200
// to OPTIONS for itself (the readiness probe), and each request logged as
// "sbc: <method> <uri> from <source>". With one edge it forwards every
// initial request there; with several, the dispatcher picks the next
// active edge (round robin), fails over to another on a 503 or on no
// answer within 1 s (the edge is down), and probes every edge with
// OPTIONS each second, so that a draining edge (503) leaves the rotation
// and a restarted one comes back ("sbc: ... next edge" is logged on each
// failover).
var kamailioCfg = template.Must(template.New("kamailio.cfg").Parse(`#!KAMAILIO
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=2
auto_aliases=no
listen=udp:{{.Listen}}
alias="{{.Listen}}"

loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
modparam("rr", "append_fromtag", 1)
{{- if .List}}
loadmodule "dispatcher.so"
modparam("tm", "fr_timer", 1000)
modparam("dispatcher", "list_file", "{{.List}}")
modparam("dispatcher", "xavp_dst", "_dsdst_")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_method", "OPTIONS")
modparam("dispatcher", "ds_ping_from", "sip:sbc@{{.Listen}}")
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_reply_codes", "class=2")
{{- end}}

request_route {
	xlog("L_INFO", "sbc: $rm $ru from $si:$sp\n");
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {
		sl_send_reply("200", "Kamailio");
		exit;
	}
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		if (is_method("ACK") && t_check_trans()) {
			t_relay();
			exit;
		}
		sl_send_reply("404", "Not Here");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	record_route();
{{- if .List}}
	if (!ds_select_dst("1", "4")) {
		sl_send_reply("503", "No Edge");
		exit;
	}
	t_on_failure("FAILOVER");
{{- else}}
	$du = "sip:{{.Edge}}";
{{- end}}
	t_relay();
}
{{- if .List}}

failure_route[FAILOVER] {
	if (t_is_canceled()) {
		exit;
	}
	if (t_check_status("503") || (t_branch_timeout() && !t_branch_replied())) {
		xlog("L_INFO", "sbc: $ci failed on $du ($T_reply_code), next edge\n");
		ds_mark_dst("ip");
		if (ds_next_dst()) {
			t_on_failure("FAILOVER");
			t_relay();
			exit;
		}
	}
}
{{- end}}
`))

// Kamailio is a running Kamailio (Debian's /usr/sbin/kamailio) as a
// carrier's SBC.
type Kamailio struct {
	*Proc
	Addr string // ip:port it listens on (UDP)
}

// StartKamailio runs Kamailio on a free UDP port of ip in front of edges
// (ip:port each; kamailioCfg says how it routes), in the foreground with
// no database, in a process group of its own (it forks workers), and
// waits (10 s at most) until it answers OPTIONS.
func StartKamailio(t testing.TB, ip string, edges ...string) *Kamailio {
	t.Helper()
	bin := "/usr/sbin/kamailio"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kamailio not installed (run scripts/install-deps.sh): %v", err)
	}
	if len(edges) == 0 {
		t.Fatal("kamailio in front of no edge")
	}
	dir := t.TempDir()
	k := &Kamailio{Addr: FreeUDP(t, ip)}
	data := map[string]string{"Listen": k.Addr, "Edge": edges[0]}
	if len(edges) > 1 {
		var list strings.Builder
		for _, e := range edges {
			fmt.Fprintf(&list, "1 sip:%s 0 0\n", e)
		}
		data["List"] = filepath.Join(dir, "dispatcher.list")
		if err := os.WriteFile(data["List"], []byte(list.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var cfg bytes.Buffer
	if err := kamailioCfg.Execute(&cfg, data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	k.Proc = StartWith(t, "kamailio", bin, []string{"-f", path, "-DD", "-E", "-m", "32", "-M", "4", "-Y", dir, "-w", dir},
		nil, Options{Dir: dir, Group: true})
	k.waitReady(t)
	return k
}

// waitReady sends OPTIONS to Kamailio until it answers 200.
func (k *Kamailio) waitReady(t testing.TB) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp4", k.Addr)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for i := 0; i < 50; i++ {
		if k.Exited() {
			break
		}
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-probe-%d;rport\r\nFrom: <sip:probe@test>;tag=p%d\r\nTo: <sip:%s>\r\nCall-ID: probe-%d@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n",
			k.Addr, conn.LocalAddr(), i, i, k.Addr, i)
		_, _ = conn.WriteTo([]byte(msg), dst)
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := conn.ReadFrom(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return
		}
	}
	t.Fatalf("kamailio not answering on %s", k.Addr)
}
