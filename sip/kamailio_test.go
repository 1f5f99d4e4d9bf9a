package sip

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// kamailioProc is a real Kamailio (Debian's /usr/sbin/kamailio) running as
// a carrier SBC in front of the edge: it record-routes every dialog,
// loose-routes in-dialog requests and forwards initial requests to the
// edge. It runs in the foreground (-DD -E), logs to stderr, keeps no
// database, and is killed at cleanup. This helper is self-contained so it
// can move to a shared test package.
type kamailioProc struct {
	cmd     *exec.Cmd
	addr    string // ip:port Kamailio listens on (UDP)
	logPath string // its stderr
	done    chan struct{}
}

// logs returns Kamailio's stderr so far.
func (k *kamailioProc) logs() string {
	b, _ := os.ReadFile(k.logPath)
	return string(b)
}

// stop kills Kamailio's process group (it forks its workers) and waits
// for it, for at most 5 s.
func (k *kamailioProc) stop() {
	select {
	case <-k.done:
		return
	default:
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-k.done:
	case <-time.After(5 * time.Second):
	}
}

// kamailioCfg is the SBC's configuration: stateful forwarding (tm),
// record_route on initial requests, loose_route for in-dialog ones, and a
// 200 to OPTIONS for itself (the readiness probe).
var kamailioCfg = template.Must(template.New("kamailio.cfg").Parse(`#!KAMAILIO
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=1
auto_aliases=no
listen=udp:{{.Listen}}
alias="{{.Listen}}"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"

modparam("rr", "append_fromtag", 1)

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
	$du = "sip:{{.Edge}}";
	t_relay();
}
`))

// startKamailio runs Kamailio on a free UDP port of ip, forwarding to the
// edge at edge (ip:port), and waits until it answers.
func startKamailio(t *testing.T, ip, edge string) *kamailioProc {
	t.Helper()
	bin := "/usr/sbin/kamailio"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kamailio not installed (run scripts/install-deps.sh): %v", err)
	}
	dir := t.TempDir()
	k := &kamailioProc{addr: fmt.Sprintf("%s:%d", ip, freeUDPPort(t, ip)), done: make(chan struct{})}
	var cfg bytes.Buffer
	if err := kamailioCfg.Execute(&cfg, map[string]string{"Listen": k.addr, "Edge": edge}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	k.logPath = filepath.Join(dir, "kamailio.log")
	logFile, err := os.Create(k.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	k.cmd = exec.Command(bin, "-f", path, "-DD", "-E", "-m", "32", "-M", "4", "-n", "1", "-Y", dir, "-w", dir)
	k.cmd.Stdout, k.cmd.Stderr = logFile, logFile
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start kamailio: %v", err)
	}
	go func() { _ = k.cmd.Wait(); close(k.done) }()
	t.Cleanup(func() {
		k.stop()
		if t.Failed() {
			t.Logf("kamailio log:\n%s", lastLines(k.logs(), 60))
		}
	})
	k.waitReady(t)
	return k
}

// waitReady sends OPTIONS to Kamailio until it answers 200, for at most 10 s.
func (k *kamailioProc) waitReady(t *testing.T) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp4", k.addr)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for i := 0; i < 50; i++ {
		select {
		case <-k.done:
			t.Fatalf("kamailio exited:\n%s", lastLines(k.logs(), 40))
		default:
		}
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-probe-%d;rport\r\nFrom: <sip:probe@test>;tag=p%d\r\nTo: <sip:%s>\r\nCall-ID: probe-%d@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n",
			k.addr, conn.LocalAddr(), i, i, k.addr, i)
		_, _ = conn.WriteTo([]byte(msg), dst)
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := conn.ReadFrom(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return
		}
	}
	t.Fatalf("kamailio not answering on %s:\n%s", k.addr, lastLines(k.logs(), 40))
}
