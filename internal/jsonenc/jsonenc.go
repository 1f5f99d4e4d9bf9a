// Package jsonenc appends JSON for the values the call path writes on
// every call (call records, event data), byte for byte what encoding/json
// writes for them, without its reflection: at 800 calls/s, six
// json.Marshal calls a call were 5% of the edge's CPU. Anything else is
// left to encoding/json (Append falls back to it).
package jsonenc

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// ErrUnsupported is a float encoding/json refuses too (NaN, ±Inf).
var ErrUnsupported = errors.New("jsonenc: unsupported value")

const hex = "0123456789abcdef"

// String appends s as a JSON string, escaped as encoding/json escapes it:
// HTML-safe (<, >, & as \u003c...), U+2028 and U+2029 escaped, invalid
// UTF-8 replaced by U+FFFD.
func String(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Float appends f as encoding/json writes a float64 (ES6 number style).
func Float(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, ErrUnsupported
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// Time appends t as encoding/json writes a time.Time (RFC 3339 with
// nanoseconds); a year outside 0-9999 is left to encoding/json, which
// refuses it.
func Time(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return appendMarshal(b, t)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// Appender is a value that appends its own JSON, as encoding/json would
// write it.
type Appender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// Append appends v: the scalars, Appenders, and the maps with string keys
// (sorted, as encoding/json sorts them) that call events carry (of any,
// uint64, float64 and bool values), directly; anything else through
// encoding/json.
func Append(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case Appender:
		return v.AppendJSON(b)
	case nil:
		return append(b, "null"...), nil
	case string:
		return String(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float64:
		return Float(b, v)
	case map[string]any:
		return appendMap(b, v, Append)
	case map[string]uint64:
		return appendMap(b, v, func(b []byte, x uint64) ([]byte, error) { return strconv.AppendUint(b, x, 10), nil })
	case map[string]float64:
		return appendMap(b, v, Float)
	case map[string]bool:
		return appendMap(b, v, func(b []byte, x bool) ([]byte, error) { return strconv.AppendBool(b, x), nil })
	}
	return appendMarshal(b, v)
}

// appendMap appends m as an object with its keys sorted, each value by
// value; a nil map is null, as encoding/json has it.
func appendMap[V any](b []byte, m map[string]V, value func([]byte, V) ([]byte, error)) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = String(b, k)
		b = append(b, ':')
		var err error
		if b, err = value(b, m[k]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendMarshal(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, out...), nil
}
