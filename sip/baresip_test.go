package sip

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// baresip is a real SIP user agent with a real media stack (Debian's
// baresip 1.0.0, scripts/install-deps.sh) playing the carrier: it dials
// through the edge, sends a tone (ausine) and records what it hears
// (sndfile). Kept in a file of its own so it can move to a shared
// ...test package.

// baresipOptions configure one baresip run.
type baresipOptions struct {
	// User is the account's user; the account is sip:<user>@127.0.0.1.
	User string
	// MediaEnc is the account's mediaenc ("srtp-mand", "srtp"; "" plain).
	MediaEnc string
	// Dial is the URI to call at start ("" to only listen).
	Dial string
	// ToneHz is the frequency ausine sends (default 1000).
	ToneHz int
	// Duration is how long baresip runs before it hangs up and exits
	// (-t); default 6s.
	Duration time.Duration
	// RTCPMux offers rtcp-mux.
	RTCPMux bool
	// Codecs are the codec modules, in order of preference (default g711).
	Codecs []string
}

// baresipProc is a running baresip.
type baresipProc struct {
	cmd  *exec.Cmd
	dir  string // its config dir (-f), in t.TempDir()
	rec  string // where sndfile writes the recordings
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	// sipPort is its SIP port on 127.0.0.1, for a target URI; ctrlPort its
	// ctrl_tcp port.
	sipPort, ctrlPort int
}

// freeSIPPort returns a port of 127.0.0.1 free for baresip's SIP: UDP and
// TCP on it, and TCP on the next one (its TLS transport), at the time of
// the call.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freeUDPPort(t, "127.0.0.1")
		ok := true
		for _, port := range []int{p, p + 1} {
			ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free SIP port for baresip")
	return 0
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// command sends a command to baresip over ctrl_tcp (a netstring of JSON,
// {"command": ..., "params": ...}) and returns its response.
func (p *baresipProc) command(t *testing.T, cmd, params string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", p.ctrlPort), 2*time.Second)
	if err != nil {
		t.Fatalf("ctrl_tcp: %v\n%s", err, p.logs())
	}
	defer conn.Close()
	msg := fmt.Sprintf(`{"command":%q,"params":%q,"token":"t"}`, cmd, params)
	if _, err := fmt.Fprintf(conn, "%d:%s,", len(msg), msg); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	return string(buf[:n])
}

func (p *baresipProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// startBaresip writes a config dir (config, accounts, contacts) in a
// temporary directory and starts baresip on it, on loopback only (-n 127.0.0.1),
// with SIP on a free port of 127.0.0.1. It is killed at cleanup.
func startBaresip(t *testing.T, o baresipOptions) *baresipProc {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip not found (run scripts/install-deps.sh): %v", err)
	}
	if o.ToneHz == 0 {
		o.ToneHz = 1000
	}
	if o.Duration == 0 {
		o.Duration = 6 * time.Second
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	if err := os.Mkdir(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	sipPort := freeSIPPort(t)
	ctrlPort := freeTCPPort(t)
	rtpLo := 30000 + (sipPort%200)*10 // a small range of its own, near nobody's
	mux := "no"
	if o.RTCPMux {
		mux = "yes"
	}
	config := strings.Join([]string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", sipPort),
		"sip_trans_def udp",
		"call_local_timeout 20",
		"call_max_calls 2",
		"audio_player aubridge,nowhere",
		fmt.Sprintf("audio_source ausine,%d", o.ToneHz),
		"audio_alert aubridge,nowhere",
		"ausrc_srate 48000", // ausine runs at 48 kHz stereo only
		"ausrc_channels 2",
		"auplay_srate 48000",
		"auplay_channels 1",
		fmt.Sprintf("rtp_ports %d-%d", rtpLo, rtpLo+9),
		"rtcp_mux " + mux,
		"module_path /usr/lib/baresip/modules",
		codecModules(o.Codecs),
		"module ausine.so",
		"module aubridge.so",
		"module srtp.so",
		"module sndfile.so",
		"module rtcpsummary.so", // logs what RTCP told it at the end of the call
		"module ctrl_tcp.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", ctrlPort),
		"module_app account.so",
		"module_app menu.so",
		"snd_path " + rec,
		"",
	}, "\n")
	account := fmt.Sprintf("<sip:%s@127.0.0.1:%d>;regint=0;answermode=auto", o.User, sipPort)
	if o.MediaEnc != "" {
		account += ";mediaenc=" + o.MediaEnc
	}
	for name, body := range map[string]string{"config": config, "accounts": account + "\n", "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-f", dir, "-4", "-n", "127.0.0.1", "-t", fmt.Sprint(int(o.Duration.Seconds()))}
	if o.Dial != "" {
		args = append(args, "-e", "/dial "+o.Dial)
	}
	p := &baresipProc{cmd: exec.Command(bin, args...), dir: dir, rec: rec, done: make(chan struct{}), sipPort: sipPort, ctrlPort: ctrlPort}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// rtcpSummary returns baresip's RTCP summary line of the call ("EX=BareSip;
// ..."), "" when it collected no RTCP.
func (p *baresipProc) rtcpSummary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range strings.Split(p.out.String(), "\n") {
		if i := strings.Index(l, "EX=BareSip;"); i >= 0 && !strings.Contains(l, "ERROR=") {
			return strings.TrimSpace(l[i:])
		}
	}
	return ""
}

// wait waits (at most d) for baresip to exit and returns its log.
func (p *baresipProc) wait(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("baresip did not exit within %v", d)
	}
	return p.logs()
}

func (p *baresipProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Drop the per-second status lines and the echo of typed commands.
	var b strings.Builder
	for _, l := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(l, "audio=") && strings.Contains(l, "bit/s") || strings.HasPrefix(l, "/") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return lastLines(b.String(), 60)
}

// heard returns what baresip decoded from the call (sndfile's "-dec"
// recording) as 16-bit samples and their rate.
func (p *baresipProc) heard(t *testing.T) ([]int16, int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.rec, "*-dec.wav"))
	if len(files) == 0 {
		t.Fatalf("baresip recorded nothing\n%s", p.logs())
	}
	samples, rate, err := readWAV(files[0])
	if err != nil {
		t.Fatalf("read %s: %v", files[0], err)
	}
	return samples, rate
}

// readWAV reads a PCM 16-bit WAV file (the first channel).
func readWAV(path string) ([]int16, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("not a WAV file")
	}
	var rate, channels, bits int
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size > len(body) {
			size = len(body) // a recording cut short by the exit
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("short fmt chunk")
			}
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 || channels < 1 {
				return nil, 0, fmt.Errorf("unsupported format: %d bits, %d channels", bits, channels)
			}
			step := 2 * channels
			out := make([]int16, 0, size/step)
			for i := 0; i+step <= size; i += step {
				out = append(out, int16(binary.LittleEndian.Uint16(body[i:])))
			}
			return out, rate, nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, fmt.Errorf("no data chunk")
}

// toneLevel estimates the amplitude of freq in samples at rate with the
// Goertzel algorithm (as media's mixer tests do).
func toneLevel(samples []int16, freq float64, rate int) float64 {
	if len(samples) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(power, 0)) / float64(len(samples))
}

// toneWindows splits samples into 100 ms windows and returns how many
// carry freq at more than threshold, and how many there are.
func toneWindows(samples []int16, rate int, freq, threshold float64) (hits, windows int) {
	w := rate / 10
	for i := 0; i+w <= len(samples); i += w {
		windows++
		if toneLevel(samples[i:i+w], freq, rate) > threshold {
			hits++
		}
	}
	return hits, windows
}

// codecModules returns the config lines loading codec modules in order
// (baresip offers codecs in the order their modules load).
func codecModules(codecs []string) string {
	if len(codecs) == 0 {
		codecs = []string{"g711"}
	}
	lines := make([]string, len(codecs))
	for i, c := range codecs {
		lines[i] = "module " + c + ".so"
	}
	return strings.Join(lines, "\n")
}
