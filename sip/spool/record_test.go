package spool

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		r    record
	}{
		{"entry", record{kind: kindEntry, seq: 7, entry: Entry{Seq: 7, Op: "end_call", WorkspaceID: "ws_a", CallID: "call_1", Data: []byte(`{"state":"ended"}`)}}},
		{"empty fields", record{kind: kindEntry, seq: 1, entry: Entry{Seq: 1, Data: []byte{}}}},
		{"ack", record{kind: kindAck, seq: 1 << 40}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := appendRecord(nil, tc.r)
			if tc.r.kind == kindEntry && len(b) != tc.r.entry.size() {
				t.Fatalf("size %d, framed %d", tc.r.entry.size(), len(b))
			}
			got, n, err := decodeRecord(append(b, 0xff))
			if err != nil || n != len(b) || got.kind != tc.r.kind || got.seq != tc.r.seq ||
				got.entry.Op != tc.r.entry.Op || got.entry.CallID != tc.r.entry.CallID || !bytes.Equal(got.entry.Data, tc.r.entry.Data) {
				t.Fatalf("decode: %+v %d %v", got, n, err)
			}
			if _, _, err := decodeRecord(b[:len(b)-1]); !errors.Is(err, errShort) {
				t.Fatalf("cut record: %v, want errShort", err)
			}
			b[len(b)-1] ^= 1
			if _, _, err := decodeRecord(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flipped bit: %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzDecodeRecord: a segment read after a crash is untrusted; the decoder
// never panics, never reads past its input, and what it accepts encodes
// back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, record{kind: kindEntry, seq: 3, entry: Entry{Op: "admit", WorkspaceID: "ws", CallID: "c", Data: []byte("{}")}}))
	f.Add(appendRecord(nil, record{kind: kindAck, seq: 3}))
	f.Add([]byte{0, 0, 0, 9, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := decodeRecord(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		if got := appendRecord(nil, r); !bytes.Equal(got, b[:n]) {
			t.Fatalf("re-encoded %x, read %x", got, b[:n])
		}
	})
}
