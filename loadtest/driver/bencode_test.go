package main

import (
	"errors"
	"reflect"
	"testing"
)

func TestBencode(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"integer", 42, "i42e"},
		{"negative", int64(-3), "i-3e"},
		{"string", "spam", "4:spam"},
		{"empty string", "", "0:"},
		{"list of strings", []string{"origin", "session-connection"}, "l6:origin18:session-connectione"},
		{"dictionary sorted", map[string]any{"sdp": "v=0", "command": "offer", "n": []any{1, "a"}}, "d7:command5:offer1:nli1e1:ae3:sdp3:v=0e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bencode(nil, tt.v)
			if err != nil || string(got) != tt.want {
				t.Fatalf("bencode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestBdecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any // nil: must fail
	}{
		{"reply", "d6:result2:ok3:sdp3:v=0e", map[string]any{"result": "ok", "sdp": "v=0"}},
		{"nested", "d1:ald1:bi7eeee", map[string]any{"a": []any{map[string]any{"b": int64(7)}}}},
		{"error reply", "d6:result5:error12:error-reason7:unknowne", map[string]any{"result": "error", "error-reason": "unknown"}},
		{"string past the end", "5:abc", nil},
		{"unterminated list", "li1e", nil},
		{"unterminated dictionary", "d1:ai1e", nil},
		{"bad integer", "i1x2e", nil},
		{"trailing bytes", "i1ei2e", nil},
		{"non-string key", "di1ei2ee", nil},
		{"empty", "", nil},
		{"too deep", string(make([]byte, 0)) + repeat("l", 40) + repeat("e", 40), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bdecode([]byte(tt.in))
			if tt.want == nil {
				if !errors.Is(err, errBencode) {
					t.Fatalf("bdecode(%q) = %v, %v; want errBencode", tt.in, got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("bdecode(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

// FuzzBdecode: rtpengine's replies are input from another process; the
// decoder must never panic, and what it decodes must encode back to the
// same value.
func FuzzBdecode(f *testing.F) {
	for _, s := range []string{"d6:result2:ok3:sdp3:v=0e", "li1e4:spame", "i-1e", "0:", "d1:ad1:bl1:ceee"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := bdecode(data)
		if err != nil {
			return
		}
		enc, err := bencode(nil, v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		back, err := bdecode(enc)
		if err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("round trip of %q: %#v, %v", enc, back, err)
		}
	})
}
