package spool

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
)

// Entry is one call-state write: Op names it for the store's applier
// (e.g. "end_call"), Data is its encoded arguments.
type Entry struct {
	// Seq orders entries; the spool assigns it.
	Seq         uint64
	Op          string
	WorkspaceID string
	CallID      string
	Data        []byte
	// Value is Data not yet encoded. A write applied straight through
	// (Write while Direct) reaches the store as it is and is never
	// encoded; Append encodes it as JSON into Data, and drops it, before
	// the entry is queued, so that what waits is bytes of a known size.
	Value any
}

// encode sets Data from Value, when Data is not set yet.
func (e *Entry) encode() error {
	if e.Data != nil || e.Value == nil {
		e.Value = nil
		return nil
	}
	b, err := json.Marshal(e.Value)
	if err != nil {
		return fmt.Errorf("spool: encode %s of call %s: %w", e.Op, e.CallID, err)
	}
	e.Data, e.Value = b, nil
	return nil
}

const (
	kindEntry = 1
	kindAck   = 2
	// frameHeader is the length and the checksum before each payload.
	frameHeader = 8
	// MaxRecord bounds one record's payload.
	MaxRecord = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is what a segment holds: an entry, or the ack of entry seq.
type record struct {
	kind  byte
	seq   uint64
	entry Entry
}

// size is the framed size of an entry record.
func (e Entry) size() int {
	n := frameHeader + 1 + 8
	for _, f := range [][]byte{[]byte(e.Op), []byte(e.WorkspaceID), []byte(e.CallID), e.Data} {
		n += uvarintLen(uint64(len(f))) + len(f)
	}
	return n
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// appendRecord appends r, framed, to dst.
func appendRecord(dst []byte, r record) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	dst = append(dst, r.kind)
	dst = binary.BigEndian.AppendUint64(dst, r.seq)
	if r.kind == kindEntry {
		for _, f := range [][]byte{[]byte(r.entry.Op), []byte(r.entry.WorkspaceID), []byte(r.entry.CallID), r.entry.Data} {
			dst = binary.AppendUvarint(dst, uint64(len(f)))
			dst = append(dst, f...)
		}
	}
	payload := dst[start+frameHeader:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// decodeRecord reads the record at the start of b and how many bytes it
// took. errShort: b ends inside the record; ErrCorrupt: the length, the
// checksum or the payload is wrong. b comes from a disk that may have
// crashed mid-write: nothing in it is trusted.
func decodeRecord(b []byte) (record, int, error) {
	var r record
	if len(b) < frameHeader {
		return r, 0, errShort
	}
	n := binary.BigEndian.Uint32(b)
	if n < 9 || n > MaxRecord {
		return r, 0, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	if uint64(len(b)-frameHeader) < uint64(n) {
		return r, 0, errShort
	}
	payload := b[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return r, 0, fmt.Errorf("%w: checksum", ErrCorrupt)
	}
	r.kind, r.seq = payload[0], binary.BigEndian.Uint64(payload[1:9])
	rest := payload[9:]
	switch r.kind {
	case kindAck:
		if len(rest) != 0 {
			return record{}, 0, fmt.Errorf("%w: ack with a body", ErrCorrupt)
		}
	case kindEntry:
		var fields [4][]byte
		for i := range fields {
			l, k := binary.Uvarint(rest)
			if k <= 0 || l > uint64(len(rest)-k) {
				return record{}, 0, fmt.Errorf("%w: field %d", ErrCorrupt, i)
			}
			fields[i] = rest[k : k+int(l)]
			rest = rest[k+int(l):]
		}
		if len(rest) != 0 {
			return record{}, 0, fmt.Errorf("%w: trailing bytes", ErrCorrupt)
		}
		r.entry = Entry{Seq: r.seq, Op: string(fields[0]), WorkspaceID: string(fields[1]), CallID: string(fields[2]),
			Data: append([]byte(nil), fields[3]...)}
	default:
		return record{}, 0, fmt.Errorf("%w: kind %d", ErrCorrupt, r.kind)
	}
	return r, frameHeader + int(n), nil
}
