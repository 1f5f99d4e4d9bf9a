package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseTracesAndFlame(t *testing.T) {
	out := `File: edge
Type: cpu
-----------+-------------------------------------------------------
      20ms   syscall.Syscall6
             internal/poll.(*FD).WriteTo
             main.main
-----------+-------------------------------------------------------
      1.5s   runtime.mallocgc
             main.main
-----------+-------------------------------------------------------
`
	s, err := parseTraces(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0].value != 20*time.Millisecond || s[0].frames[0] != "main.main" || s[0].frames[2] != "syscall.Syscall6" || s[1].value != 1500*time.Millisecond {
		t.Fatalf("parseTraces = %+v", s)
	}
	svg := string(flameSVG(s, "test <profile>"))
	for _, want := range []string{"<svg", "main.main", "runtime.mallocgc", "test &lt;profile&gt;", "1.52s total"} {
		if !strings.Contains(svg, want) {
			t.Errorf("flame graph lacks %q", want)
		}
	}
	if _, err := parseTraces("File: edge\n"); err == nil {
		t.Error("no samples accepted")
	}
}

func TestParseTop(t *testing.T) {
	rows, total := parseTop(`File: edge
Showing nodes accounting for 2.50s, 80% of 3.12s total
      flat  flat%   sum%        cum   cum%
     1.20s 38.46% 38.46%      1.20s 38.46%  syscall.Syscall6
     0.30s  9.62% 48.08%      0.50s 16.03%  runtime.mallocgc
`)
	if total == "" || len(rows) != 2 || rows[0].Func != "syscall.Syscall6" || rows[1].CumPct != "16.03%" {
		t.Fatalf("parseTop = %+v, %q", rows, total)
	}
}

func TestSDPAudioAddr(t *testing.T) {
	tests := []struct {
		name, sdp, want string
	}{
		{"session c=", pcmuSDP(mustAddr("127.0.0.5"), 4000), "127.0.0.5:4000"},
		{"media c= wins", "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 127.0.0.9\r\n", "127.0.0.9:5000"},
		{"first audio stream", "c=IN IP4 127.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\nm=audio 6000 RTP/AVP 0\r\nc=IN IP4 127.0.0.2\r\n", "127.0.0.1:5000"},
		{"none", "v=0\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sdpAudioAddr(tt.sdp)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}
