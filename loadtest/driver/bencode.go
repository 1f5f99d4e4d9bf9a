package main

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Bencode (BitTorrent BEP 3), the encoding of rtpengine's ng control
// protocol: integers i42e, byte strings 4:spam, lists l...e and
// dictionaries d...e with keys sorted. Values decode to int64, string,
// []any and map[string]any.

// errBencode is returned for input that is not valid bencode.
var errBencode = errors.New("bad bencode")

// maxBencodeDepth bounds the nesting of decoded lists and dictionaries.
const maxBencodeDepth = 32

// bencode appends the encoding of v (int, int64, string, []byte, []string,
// []any, map[string]any) to b.
func bencode(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int:
		return fmt.Appendf(b, "i%de", x), nil
	case int64:
		return fmt.Appendf(b, "i%de", x), nil
	case string:
		return append(fmt.Appendf(b, "%d:", len(x)), x...), nil
	case []byte:
		return append(fmt.Appendf(b, "%d:", len(x)), x...), nil
	case []string:
		b = append(b, 'l')
		for _, s := range x {
			b = append(fmt.Appendf(b, "%d:", len(s)), s...)
		}
		return append(b, 'e'), nil
	case []any:
		b = append(b, 'l')
		for _, e := range x {
			var err error
			if b, err = bencode(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, 'd')
		for _, k := range keys {
			b = append(fmt.Appendf(b, "%d:", len(k)), k...)
			var err error
			if b, err = bencode(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	}
	return nil, fmt.Errorf("%w: cannot encode %T", errBencode, v)
}

// bdecode decodes one value that must fill data.
func bdecode(data []byte) (any, error) {
	v, n, err := bdecodeAt(data, 0, 0)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the value", errBencode, len(data)-n)
	}
	return v, nil
}

// bdecodeAt decodes the value at data[i:], returning it and the index
// after it.
func bdecodeAt(data []byte, i, depth int) (any, int, error) {
	if i >= len(data) {
		return nil, i, fmt.Errorf("%w: unexpected end", errBencode)
	}
	if depth > maxBencodeDepth {
		return nil, i, fmt.Errorf("%w: nested deeper than %d", errBencode, maxBencodeDepth)
	}
	switch c := data[i]; {
	case c == 'i':
		end := bytes.IndexByte(data[i+1:], 'e')
		if end < 0 {
			return nil, i, fmt.Errorf("%w: unterminated integer", errBencode)
		}
		n, err := strconv.ParseInt(string(data[i+1:i+1+end]), 10, 64)
		if err != nil {
			return nil, i, fmt.Errorf("%w: integer: %v", errBencode, err)
		}
		return n, i + end + 2, nil
	case c >= '0' && c <= '9':
		s, next, err := bstring(data, i)
		return s, next, err
	case c == 'l':
		var list []any
		i++
		for i < len(data) && data[i] != 'e' {
			v, next, err := bdecodeAt(data, i, depth+1)
			if err != nil {
				return nil, next, err
			}
			list = append(list, v)
			i = next
		}
		if i >= len(data) {
			return nil, i, fmt.Errorf("%w: unterminated list", errBencode)
		}
		return list, i + 1, nil
	case c == 'd':
		m := map[string]any{}
		i++
		for i < len(data) && data[i] != 'e' {
			k, next, err := bstring(data, i)
			if err != nil {
				return nil, next, err
			}
			v, next, err := bdecodeAt(data, next, depth+1)
			if err != nil {
				return nil, next, err
			}
			m[k] = v
			i = next
		}
		if i >= len(data) {
			return nil, i, fmt.Errorf("%w: unterminated dictionary", errBencode)
		}
		return m, i + 1, nil
	default:
		return nil, i, fmt.Errorf("%w: unexpected %q at %d", errBencode, c, i)
	}
}

// bstring decodes the byte string "<len>:<bytes>" at data[i:].
func bstring(data []byte, i int) (string, int, error) {
	colon := bytes.IndexByte(data[i:], ':')
	if colon < 1 || colon > 10 {
		return "", i, fmt.Errorf("%w: string length at %d", errBencode, i)
	}
	n, err := strconv.Atoi(string(data[i : i+colon]))
	if err != nil || n < 0 {
		return "", i, fmt.Errorf("%w: string length at %d", errBencode, i)
	}
	start := i + colon + 1
	if n > len(data)-start {
		return "", i, fmt.Errorf("%w: string of %d bytes past the end", errBencode, n)
	}
	return string(data[start : start+n]), start + n, nil
}
