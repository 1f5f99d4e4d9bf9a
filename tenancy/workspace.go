package tenancy

import (
	"strings"
	"time"
)

// Environment is a workspace's kind of deployment (design section 5).
type Environment string

// The environments.
const (
	EnvProduction  Environment = "production"
	EnvStaging     Environment = "staging"
	EnvDevelopment Environment = "development"
)

// Status says whether a workspace takes calls.
type Status string

// The statuses.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
)

// Limits is the platform's quota of a workspace. Only the platform token
// sets it. Zero means unlimited.
type Limits struct {
	// MaxConcurrentCalls bounds the calls in progress across all edges.
	MaxConcurrentCalls int `json:"max_concurrent_calls"`
	// MaxCPS bounds new calls per second across all edges.
	MaxCPS int `json:"max_cps"`
}

// Settings are the owner's workspace settings.
type Settings struct {
	// AllowDirectChanges lets a production workspace's agent-behaviour
	// configuration be edited directly instead of by promotion.
	AllowDirectChanges bool `json:"allow_direct_changes"`
	// RecordCalls asks services to record calls (informational for them).
	RecordCalls bool `json:"record_calls"`
	// Timezone is an IANA zone name used by services for the clinic (and
	// by the numbers' calls-by-hour projection).
	Timezone string `json:"timezone,omitempty"`
	// EventRetentionDays is how long events are kept in the workspace's
	// event stream, in days; 0 keeps them (bounded by the stream's length
	// limit). Projections keep counting what was trimmed until rebuilt.
	EventRetentionDays int `json:"event_retention_days,omitempty"`
}

// Workspace is the tenant isolation boundary.
type Workspace struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Environment Environment `json:"environment"`
	Status      Status      `json:"status"`
	Limits      Limits      `json:"limits"`
	Settings    Settings    `json:"settings"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// Validate checks every field of w.
func (w *Workspace) Validate() error {
	if err := validName("name", w.Name); err != nil {
		return err
	}
	switch w.Environment {
	case EnvProduction, EnvStaging, EnvDevelopment:
	default:
		return invalid("environment", "must be production, staging or development")
	}
	switch w.Status {
	case StatusActive, StatusSuspended:
	default:
		return invalid("status", "must be active or suspended")
	}
	if w.Limits.MaxConcurrentCalls < 0 || w.Limits.MaxConcurrentCalls > 1_000_000 {
		return invalid("limits.max_concurrent_calls", "must be between 0 (unlimited) and 1000000")
	}
	if w.Limits.MaxCPS < 0 || w.Limits.MaxCPS > 100_000 {
		return invalid("limits.max_cps", "must be between 0 (unlimited) and 100000")
	}
	if w.Settings.EventRetentionDays < 0 || w.Settings.EventRetentionDays > 3650 {
		return invalid("settings.event_retention_days", "must be between 0 (keep) and 3650")
	}
	if w.Settings.Timezone != "" {
		if _, err := time.LoadLocation(w.Settings.Timezone); err != nil || strings.Contains(w.Settings.Timezone, "..") {
			return invalid("settings.timezone", "unknown time zone %q", w.Settings.Timezone)
		}
	}
	return nil
}

// Guarded reports whether direct changes to agent-behaviour configuration
// must be refused (production without allow_direct_changes).
func (w *Workspace) Guarded() bool {
	return w.Environment == EnvProduction && !w.Settings.AllowDirectChanges
}
