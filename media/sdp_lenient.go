package media

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
)

// lineRank is the order RFC 4566 section 5 gives the lines of a session
// (v o s i u e p c b t r z k a) and of a media description (m i c b k a).
var lineRank = [256]int8{
	'v': 1, 'o': 2, 's': 3, 'i': 4, 'u': 5, 'e': 6, 'p': 7, 'c': 8, 'b': 9,
	't': 10, 'r': 11, 'z': 12, 'k': 13, 'a': 14, 'm': 15,
}

// normalizeSDP puts the lines of a body into the order RFC 4566 requires,
// keeping the relative order of lines of one type, so that bodies of
// carriers that write a session c= or b= after t= parse. It drops empty
// lines, ends every line with CRLF, and enforces MaxMediaLines and
// MaxAttributes.
func normalizeSDP(b []byte) ([]byte, error) {
	lines := bytes.Split(b, []byte("\n"))
	var media, attrs int
	type section struct{ lines [][]byte }
	sections := []section{{}}
	for _, l := range lines {
		l = bytes.TrimRight(l, "\r")
		if len(l) == 0 {
			continue
		}
		if len(l) < 2 || l[1] != '=' || lineRank[l[0]] == 0 {
			if len(l) >= 2 && l[1] == '=' {
				continue // an unknown type: RFC 4566 section 5 says ignore it
			}
			return nil, fmt.Errorf("%w: line %.20q", ErrMalformedSDP, l)
		}
		switch l[0] {
		case 'm':
			media++
			if media > MaxMediaLines {
				return nil, fmt.Errorf("%w: more than %d m-lines", ErrSDPTooComplex, MaxMediaLines)
			}
			sections = append(sections, section{})
		case 'a':
			attrs++
			if attrs > MaxAttributes {
				return nil, fmt.Errorf("%w: more than %d attributes", ErrSDPTooComplex, MaxAttributes)
			}
		}
		cur := &sections[len(sections)-1]
		cur.lines = append(cur.lines, l)
	}
	out := make([]byte, 0, len(b)+2*len(lines))
	for i, s := range sections {
		if i == 0 {
			// Repeat times (r=) belong to their t= line; keep t/r/z together
			// in their original order.
			slices.SortStableFunc(s.lines, func(x, y []byte) int {
				return int(rankOf(x[0])) - int(rankOf(y[0]))
			})
		} else {
			rest := s.lines[1:] // m= stays first
			slices.SortStableFunc(rest, func(x, y []byte) int {
				return int(lineRank[x[0]]) - int(lineRank[y[0]])
			})
		}
		for _, l := range s.lines {
			out = append(out, l...)
			out = append(out, '\r', '\n')
		}
	}
	return out, nil
}

// rankOf is lineRank with t, r and z of equal rank, so that their
// interleaving (t r t r) survives the sort.
func rankOf(c byte) int8 {
	if c == 'r' || c == 'z' {
		return lineRank['t']
	}
	return lineRank[c]
}

// MaxMultipartParts bounds the parts ExtractSDP looks at.
const MaxMultipartParts = 8

// ExtractSDP returns the SDP of a SIP message body: the body itself for
// application/sdp (or no Content-Type), the first application/sdp part of
// a multipart/mixed or multipart/alternative body (SIP-I and SIP-T carry
// ISUP beside the SDP, RFC 3204), and ErrNoAudio for anything else.
func ExtractSDP(contentType string, body []byte) ([]byte, error) {
	if strings.TrimSpace(contentType) == "" {
		return body, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: content type: %w", ErrMalformedSDP, err)
	}
	switch {
	case mt == "application/sdp":
		return body, nil
	case strings.HasPrefix(mt, "multipart/"):
	default:
		return nil, fmt.Errorf("%w: content type %.40q", ErrNoAudio, mt)
	}
	if len(body) > MaxSDPSize*4 {
		return nil, fmt.Errorf("%w: multipart body of %d bytes", ErrSDPTooLarge, len(body))
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, fmt.Errorf("%w: multipart without boundary", ErrMalformedSDP)
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for range MaxMultipartParts {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pt != "application/sdp" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, MaxSDPSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: multipart: %w", ErrMalformedSDP, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: no application/sdp part", ErrNoAudio)
}
