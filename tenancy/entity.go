package tenancy

import "time"

// Entity kinds of the world model: projections of a workspace's event
// stream, each stored in the hash {ws:<id>}:entities:<kind> (field: the
// entity id, value: its JSON).
const (
	EntityCallers  = "callers"
	EntityServices = "services"
	EntityNumbers  = "numbers"
)

// EntityKinds lists the entity kinds.
var EntityKinds = []string{EntityCallers, EntityServices, EntityNumbers}

// ValidEntityKind reports whether kind is one of EntityKinds.
func ValidEntityKind(kind string) bool {
	return kind == EntityCallers || kind == EntityServices || kind == EntityNumbers
}

// maxRecentCalls is how many calls a caller entity lists.
const maxRecentCalls = 10

// CallerEntity is what the workspace knows of a caller (id: the E.164
// number it calls from; anonymous and non-E.164 callers are not projected).
type CallerEntity struct {
	ID              string     `json:"id"`
	Calls           int64      `json:"calls"`
	LastCallAt      *time.Time `json:"last_call_at"`
	TalkTimeSeconds float64    `json:"talk_time_seconds"`
	Escalations     int64      `json:"escalations"`
	Transfers       int64      `json:"transfers"`
	LastServiceID   string     `json:"last_service_id"`
	// RecentCalls are the caller's last 10 calls, newest first.
	RecentCalls []RecentCall `json:"recent_calls"`
}

// RecentCall is one call of a caller entity; DurationS and EndReason are
// set when it has ended.
type RecentCall struct {
	CallID    string    `json:"call_id"`
	StartedAt time.Time `json:"started_at"`
	DurationS float64   `json:"duration_s"`
	ServiceID string    `json:"service_id"`
	EndReason string    `json:"end_reason"`
}

// ServiceEntity is a service's call statistics.
type ServiceEntity struct {
	ID       string `json:"id"`
	Calls    int64  `json:"calls"`
	Answered int64  `json:"answered"`
	// AnswerRate is Answered / Calls (0 without calls).
	AnswerRate float64 `json:"answer_rate"`
	// Ended counts the calls that ended; their durations (from start to
	// end) sum to TotalDurationSeconds.
	Ended                  int64      `json:"ended"`
	TotalDurationSeconds   float64    `json:"total_duration_seconds"`
	AverageDurationSeconds float64    `json:"average_duration_seconds"`
	Escalations            int64      `json:"escalations"`
	Transfers              int64      `json:"transfers"`
	LastCallAt             *time.Time `json:"last_call_at"`
}

// NumberEntity is a phone number's calls, by hour of day.
type NumberEntity struct {
	ID    string `json:"id"`
	Calls int64  `json:"calls"`
	// ByHour counts calls by the hour of day they started at (index 0-23)
	// in Timezone: the workspace's settings.timezone when the projection
	// was computed, else UTC.
	ByHour     [24]int64  `json:"by_hour"`
	Timezone   string     `json:"timezone"`
	LastCallAt *time.Time `json:"last_call_at"`
}

// openCall is the projection's memory of a call in progress, so that the
// events after call.started (which carry only the call id) reach the
// call's caller, service and number.
type openCall struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	ServiceID string    `json:"service_id"`
	StartedAt time.Time `json:"started_at"`
}
