package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes err as {"error": {...}} with the status of the error
// table, adding WWW-Authenticate to 401s and Retry-After when known.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPIError(err)
	switch e.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="edge-admin"`)
	case http.StatusInternalServerError:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		s.log.Warn("request failed: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Code == CodePromotionRequired {
		e.Message = promotionHint(r.PathValue("ws"))
	}
	var re *retryError
	if errors.As(err, &re) {
		w.Header().Set("Retry-After", strconv.Itoa(re.retryAfter))
	} else if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, map[string]apiError{"error": e})
}

// decodeBody reads r's JSON body into v: application/json only (415), at
// most 1 MiB (413), well-formed with no unknown fields and nothing after
// the value (400); a value of the wrong type for a field is a 422 naming
// the field. With optional, an empty body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if r.ContentLength > maxBodyBytes {
		return ErrTooLarge
	}
	if optional && r.ContentLength == 0 {
		return nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		if optional && r.Header.Get("Content-Type") == "" && r.ContentLength <= 0 {
			return drainEmpty(w, r)
		}
		return fmt.Errorf("%w, not %q", ErrUnsupportedMedia, r.Header.Get("Content-Type"))
	}
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, optional)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrTooLarge
		}
		return malformed("unexpected data after the JSON value")
	}
	return nil
}

// drainEmpty accepts a chunked body without Content-Type only if it is
// empty.
func drainEmpty(w http.ResponseWriter, r *http.Request) error {
	n, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return ErrTooLarge
	case n > 0:
		return fmt.Errorf("%w: send Content-Type: application/json", ErrUnsupportedMedia)
	}
	return nil
}

func decodeError(err error, optional bool) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return ErrTooLarge
	case errors.Is(err, io.EOF):
		if optional {
			return nil
		}
		return malformed("a JSON body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("the JSON body ends early")
	case errors.As(err, &se):
		return malformed("JSON syntax error at byte %d: %v", se.Offset, err)
	case errors.As(err, &ute):
		if ute.Field == "" {
			return malformed("the body must be a JSON %s, not %s", ute.Type.Kind(), ute.Value)
		}
		return invalid(ute.Field, "must be a JSON %s, not %s", jsonKind(ute.Type.Kind().String()), ute.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return malformed("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return malformed("%v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return "number"
}

// isJSON reports whether a Content-Type is application/json or a +json type.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// page is a list's paging parameters.
type page struct {
	cursor string
	limit  int
}

// pageOf reads ?cursor= and ?limit=.
func (s *Server) pageOf(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{cursor: q.Get("cursor"), limit: s.cfg.DefaultPageSize}
	if len(p.cursor) > 256 {
		return p, invalid("cursor", "not a cursor of this list")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > s.cfg.MaxPageSize {
			return p, invalid("limit", "must be an integer from 1 to %d", s.cfg.MaxPageSize)
		}
		p.limit = n
	}
	return p, nil
}

// listPage is the shape of every list response.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// paginate pages a list sorted by id: the items after cursor, at most
// limit, and the cursor of the next page ("" at the end).
func paginate[T any](all []T, id func(T) string, p page) listPage[T] {
	out := listPage[T]{Items: []T{}}
	for _, it := range all {
		if p.cursor != "" && id(it) <= p.cursor {
			continue
		}
		if len(out.Items) == p.limit {
			out.NextCursor = id(out.Items[len(out.Items)-1])
			break
		}
		out.Items = append(out.Items, it)
	}
	return out
}
