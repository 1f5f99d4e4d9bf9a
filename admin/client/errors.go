package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. An *APIError matches the sentinel of its status (and
// code) with errors.Is; a *FileError matches ErrInvalid.
var (
	// ErrUsage: the command line is wrong (unknown verb or flag, a missing
	// argument). The CLI exits with status 2.
	ErrUsage = errors.New("usage")
	// ErrInvalid: a field failed validation, in a workspace file or on the
	// server (400, 422).
	ErrInvalid = errors.New("invalid")
	// ErrUnauthenticated: no key, or an unknown or revoked one (401).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the key's role does not allow the action (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the resource does not exist or belongs to another
	// workspace (404); the two are the same answer on purpose.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write collides with existing state (409).
	ErrConflict = errors.New("conflict")
	// ErrPromotionRequired: agent-behaviour configuration of a production
	// workspace is changed by promotion from staging (409
	// promotion_required, or refused by apply before writing).
	ErrPromotionRequired = errors.New("promotion required")
	// ErrTooLarge: the request body is over the server's limit (413).
	ErrTooLarge = errors.New("request too large")
	// ErrRateLimited: too many requests (429).
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: the server or its store is unavailable (503).
	ErrUnavailable = errors.New("unavailable")
	// ErrServer: the server failed (500 and other unexpected statuses).
	ErrServer = errors.New("server error")
)

// codePromotionRequired is the error code of the server's 409 that asks
// for a promotion.
const codePromotionRequired = "promotion_required"

// statusErrors maps API answers to sentinels, first match wins: the one
// place that decides what a status means to callers. An empty code matches
// any code.
var statusErrors = []struct {
	status int
	code   string
	err    error
}{
	{http.StatusBadRequest, "", ErrInvalid},
	{http.StatusUnprocessableEntity, "", ErrInvalid},
	{http.StatusUnauthorized, "", ErrUnauthenticated},
	{http.StatusForbidden, "", ErrForbidden},
	{http.StatusNotFound, "", ErrNotFound},
	{http.StatusConflict, codePromotionRequired, ErrPromotionRequired},
	{http.StatusConflict, "", ErrConflict},
	{http.StatusRequestEntityTooLarge, "", ErrTooLarge},
	{http.StatusTooManyRequests, "", ErrRateLimited},
	{http.StatusServiceUnavailable, "", ErrUnavailable},
}

// APIError is an error answer of the admin API: its status and the
// {"error": {"code", "message", "field"}} envelope.
type APIError struct {
	// Method and Path are the request's.
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Code is the machine-readable error code, e.g. "invalid".
	Code string
	// Message is the server's explanation; for validation errors it names
	// the field.
	Message string
	// Field is the field that failed validation, when the server says.
	Field string
}

// Error reads "PUT /v1/...: 422 invalid: target: must be a sip: URI".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field) {
		b.WriteString(" (field " + e.Field + ")")
	}
	return b.String()
}

// Is matches the sentinel of e's status and code (see statusErrors).
func (e *APIError) Is(target error) bool {
	for _, row := range statusErrors {
		if row.status == e.Status && (row.code == "" || row.code == e.Code) {
			return row.err == target
		}
	}
	return target == ErrServer && e.Status >= 500
}

// FileError is a problem of a workspace file: where, which field, why. It
// matches ErrInvalid.
type FileError struct {
	// File is the file's name as given.
	File string
	// Line is the 1-based line of the offending node, 0 when unknown.
	Line int
	// Field is the path of the field, e.g. "services[0].target".
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error reads "configs/dev.yaml:12: services[0].target: must be ...".
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *FileError) Is(target error) bool { return target == ErrInvalid }

// usage is a command-line error.
func usage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}
