package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// Error codes of the API's error object {"error": {"code", "message"}}.
const (
	CodeBadRequest         = "bad_request"
	CodeUnauthenticated    = "unauthenticated"
	CodeForbidden          = "forbidden"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeConflict           = "conflict"
	CodePromotionRequired  = "promotion_required"
	CodePayloadTooLarge    = "payload_too_large"
	CodeUnsupportedMedia   = "unsupported_media_type"
	CodeInvalid            = "invalid"
	CodeRateLimited        = "rate_limited"
	CodeUnavailable        = "unavailable"
	CodeInternal           = "internal"
	CodeStreamCapacityFull = "stream_capacity_full"
	CodeQuotaExceeded      = "quota_exceeded"
)

// Sentinel errors of the API layer; tenancy's sentinels cover the domain.
var (
	// ErrMalformed: the body is not well-formed JSON of the expected shape
	// (syntax error, unknown field, trailing data).
	ErrMalformed = errors.New("malformed request body")
	// ErrTooLarge: the body exceeds the 1 MiB limit.
	ErrTooLarge = errors.New("request body larger than 1 MiB")
	// ErrUnsupportedMedia: a body that is not application/json.
	ErrUnsupportedMedia = errors.New("request body must be application/json")
	// ErrRateLimited: the caller's key or address ran out of tokens.
	ErrRateLimited = errors.New("too many requests")
	// ErrMethodNotAllowed: the path exists but not with this method.
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrStreamsFull: too many live event streams are open.
	ErrStreamsFull = errors.New("too many event streams open, try again later")
)

// retryError asks the client to come back after a delay (429, 503).
type retryError struct {
	err        error
	retryAfter int // seconds, >= 1
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// apiError is the response an error maps to.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Quota names the platform quota a 409 quota_exceeded ran into.
	Quota string `json:"quota,omitempty"`
}

// errorTable maps causes to statuses, first match wins. It is the only
// place that decides an error's HTTP status.
var errorTable = []struct {
	err    error
	status int
	code   string
}{
	{ErrMalformed, http.StatusBadRequest, CodeBadRequest},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, CodePayloadTooLarge},
	{tenancy.ErrTooLarge, http.StatusRequestEntityTooLarge, CodePayloadTooLarge},
	{ErrUnsupportedMedia, http.StatusUnsupportedMediaType, CodeUnsupportedMedia},
	{ErrRateLimited, http.StatusTooManyRequests, CodeRateLimited},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, CodeMethodNotAllowed},
	{ErrStreamsFull, http.StatusServiceUnavailable, CodeStreamCapacityFull},
	{tenancy.ErrUnauthenticated, http.StatusUnauthorized, CodeUnauthenticated},
	{tenancy.ErrForbidden, http.StatusForbidden, CodeForbidden},
	{tenancy.ErrNotFound, http.StatusNotFound, CodeNotFound},
	{tenancy.ErrInvalid, http.StatusUnprocessableEntity, CodeInvalid},
	{tenancy.ErrPromotionRequired, http.StatusConflict, CodePromotionRequired},
	{tenancy.ErrQuota, http.StatusConflict, CodeQuotaExceeded},
	{tenancy.ErrConflict, http.StatusConflict, CodeConflict},
	{tenancy.ErrLimit, http.StatusConflict, CodeConflict},
	{tenancy.ErrUnavailable, http.StatusServiceUnavailable, CodeUnavailable},
}

// toAPIError maps err to its response. Messages of internal errors are not
// shown to clients.
func toAPIError(err error) apiError {
	for _, row := range errorTable {
		if !errors.Is(err, row.err) {
			continue
		}
		e := apiError{Status: row.status, Code: row.code, Message: err.Error()}
		var ve *tenancy.ValidationError
		var qe *tenancy.QuotaError
		switch {
		case errors.As(err, &qe):
			e.Quota, e.Message = qe.Quota, qe.Error()
		case errors.As(err, &ve):
			e.Field, e.Message = ve.Field, ve.Error()
		case row.err == tenancy.ErrUnavailable:
			e.Message = "the configuration store is unavailable, try again later"
		case row.err == tenancy.ErrNotFound:
			e.Message = "not found"
		}
		return e
	}
	return apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

// invalid is a validation failure of field, 422.
func invalid(field, format string, args ...any) error {
	return &tenancy.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// forbidden is a 403 that says why.
func forbidden(why string) error { return fmt.Errorf("%w: %s", tenancy.ErrForbidden, why) }

// malformed is a 400 that says why.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// promotionHint is the message of a 409 promotion_required.
func promotionHint(ws string) string {
	return fmt.Sprintf("workspace %s is a production workspace: change its services, voice settings, "+
		"safety policies and operator config with POST /v1/workspaces/%s/promotions from a staging "+
		"workspace, or have the owner set settings.allow_direct_changes", ws, ws)
}
