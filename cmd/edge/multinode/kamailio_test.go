package multinode

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
)

// carrierCfg is a carrier's SBC in front of several edges: Kamailio's
// dispatcher sends each new INVITE to the next active edge (round robin),
// fails over to another one on a 503 or when an edge does not answer
// within 1 s (the edge is down), and pings every edge with OPTIONS each
// second so that a draining edge (503) is taken out of rotation and a
// restarted one comes back. In-dialog requests follow the record-route to
// the edge that holds the call, draining or not.
var carrierCfg = template.Must(template.New("kamailio.cfg").Parse(`#!KAMAILIO
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
loadmodule "dispatcher.so"

modparam("rr", "append_fromtag", 1)
modparam("tm", "fr_timer", 1000)
modparam("tm", "fr_inv_timer", 10000)
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

request_route {
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
	if (!ds_select_dst("1", "4")) {
		xlog("L_WARN", "sbc: no edge for $ci\n");
		sl_send_reply("503", "No Edge");
		exit;
	}
	xlog("L_INFO", "sbc: $rm $ci to $du\n");
	t_on_failure("FAILOVER");
	t_relay();
}

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
`))

// carrier is a running Kamailio SBC.
type carrier struct {
	*edgeproc.Proc
	Addr string // ip:port (UDP)
}

// startCarrier runs Kamailio on a free UDP port of 127.0.0.1 dispatching
// to edges (ip:port), and waits until it answers OPTIONS.
func startCarrier(t *testing.T, edges []string) *carrier {
	t.Helper()
	bin := "/usr/sbin/kamailio"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kamailio not installed (run scripts/install-deps.sh): %v", err)
	}
	dir := t.TempDir()
	c := &carrier{Addr: edgeproc.FreeUDP(t, "127.0.0.1")}
	var list strings.Builder
	for _, e := range edges {
		fmt.Fprintf(&list, "1 sip:%s 0 0\n", e)
	}
	listPath := filepath.Join(dir, "dispatcher.list")
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	var cfg bytes.Buffer
	if err := carrierCfg.Execute(&cfg, map[string]string{"Listen": c.Addr, "List": listPath}); err != nil {
		t.Fatal(err)
	}
	for path, b := range map[string][]byte{listPath: []byte(list.String()), cfgPath: cfg.Bytes()} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.Proc = edgeproc.StartWith(t, "kamailio", bin, []string{"-f", cfgPath, "-DD", "-E", "-m", "32", "-M", "4", "-Y", dir, "-w", dir},
		nil, edgeproc.Options{Dir: dir, Group: true})
	probe := newRawCall(t, c.Addr, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m, ok := probe.tryOptions(200 * time.Millisecond); ok && m.status() == 200 {
			return c
		}
		if c.Exited() || time.Now().After(deadline) {
			t.Fatalf("kamailio not answering on %s", c.Addr)
		}
	}
}
