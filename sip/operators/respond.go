package operators

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

// maxJSONBody bounds the JSON bodies of the API (PATCH, escalations).
const maxJSONBody = 64 << 10

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes err as {"error": {...}} with the status of the error
// table, adding WWW-Authenticate to 401s and Retry-After when known.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toAPIError(err)
	switch e.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="edge"`)
	case http.StatusInternalServerError:
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		h.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	var re *retryError
	if errors.As(err, &re) {
		w.Header().Set("Retry-After", strconv.Itoa(re.retryAfter))
	} else if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, map[string]apiError{"error": e})
}

// mediaType returns the media type of a Content-Type value, lower case, or
// "" when it does not parse.
func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// decodeJSON reads r's body into v: application/json only (415), at most
// maxJSONBody (413), one well-formed value with no unknown fields (400); a
// value of the wrong type is 422 naming the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mediaType(r.Header.Get("Content-Type")) != "application/json" {
		return fmt.Errorf("%w: send Content-Type: application/json", ErrUnsupportedMedia)
	}
	if r.ContentLength > maxJSONBody {
		return ErrTooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = terr
			if err == nil {
				return malformed("unexpected data after the JSON value")
			}
		}
	}
	if err == nil {
		return nil
	}
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return ErrTooLarge
	case errors.Is(err, io.EOF):
		return malformed("a JSON body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("the JSON body ends early")
	case errors.As(err, &se):
		return malformed("JSON syntax error at byte %d", se.Offset)
	case errors.As(err, &ute):
		if ute.Field == "" {
			return malformed("the body must be a JSON object")
		}
		return invalid(ute.Field, "has the wrong JSON type (%s)", ute.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return malformed("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return malformed("%v", err)
}

// toJSON encodes a map of plain values (which cannot fail) as an event's
// data.
func toJSON(v map[string]any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}
