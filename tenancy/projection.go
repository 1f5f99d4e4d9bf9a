package tenancy

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// evTransferred is the edge's event of a completed transfer (design
// section 11).
const evTransferred = "call.transferred"

// loader reads the stored JSON of entity id of kind ("open" for an open
// call); ok is false when there is none.
type loader func(kind, id string) (b []byte, ok bool, err error)

// projection applies events to the entities they touch, which it loads on
// first use and keeps until flushed. It is the one place that says what an
// event means for the world model.
type projection struct {
	load loader
	loc  *time.Location

	callers  map[string]*CallerEntity
	services map[string]*ServiceEntity
	numbers  map[string]*NumberEntity
	open     map[string]*openCall // nil value: the call has ended
}

func newProjection(load loader, loc *time.Location) *projection {
	if loc == nil {
		loc = time.UTC
	}
	return &projection{
		load: load, loc: loc,
		callers: map[string]*CallerEntity{}, services: map[string]*ServiceEntity{},
		numbers: map[string]*NumberEntity{}, open: map[string]*openCall{},
	}
}

// get loads entity id of kind into v, the zero value when it is absent.
func (p *projection) get(kind, id string, v any) (bool, error) {
	b, ok, err := p.load(kind, id)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s %s: %w", kind, id, err)
	}
	return true, nil
}

func (p *projection) caller(id string) (*CallerEntity, error) {
	if c, ok := p.callers[id]; ok {
		return c, nil
	}
	c := &CallerEntity{ID: id}
	if _, err := p.get(EntityCallers, id, c); err != nil {
		return nil, err
	}
	p.callers[id] = c
	return c, nil
}

func (p *projection) service(id string) (*ServiceEntity, error) {
	if s, ok := p.services[id]; ok {
		return s, nil
	}
	s := &ServiceEntity{ID: id}
	if _, err := p.get(EntityServices, id, s); err != nil {
		return nil, err
	}
	p.services[id] = s
	return s, nil
}

func (p *projection) number(id string) (*NumberEntity, error) {
	if n, ok := p.numbers[id]; ok {
		return n, nil
	}
	n := &NumberEntity{ID: id}
	if _, err := p.get(EntityNumbers, id, n); err != nil {
		return nil, err
	}
	p.numbers[id] = n
	return n, nil
}

// call returns the open call id, or nil when the projection knows none.
func (p *projection) call(id string) (*openCall, error) {
	if c, ok := p.open[id]; ok {
		return c, nil
	}
	c := &openCall{}
	ok, err := p.get("open", id, c)
	if err != nil || !ok {
		return nil, err
	}
	p.open[id] = c
	return c, nil
}

// apply folds one event into the entities. Events that are not about
// calls leave them alone.
func (p *projection) apply(e Event) error {
	if e.CallID == "" {
		return nil
	}
	var d struct {
		From       string `json:"from"`
		To         string `json:"to"`
		ServiceID  string `json:"service_id"`
		Reason     string `json:"reason"`
		DurationMS int64  `json:"duration_ms"`
		TalkMS     int64  `json:"talk_ms"`
	}
	_ = json.Unmarshal(e.Data, &d) // a malformed event counts with what it has
	if e.Type == EventCallStarted {
		return p.started(e, openCall{From: d.From, To: d.To, ServiceID: d.ServiceID, StartedAt: e.Time.UTC()})
	}
	oc, err := p.call(e.CallID)
	if err != nil || oc == nil {
		return err
	}
	ids := p.ids(oc)
	switch e.Type {
	case EventCallAnswered:
		return p.each(ids, nil, func(s *ServiceEntity) {
			s.Answered++
			s.AnswerRate = ratio(s.Answered, s.Calls)
		}, nil)
	case EventEscalationRequested:
		return p.each(ids, func(c *CallerEntity) { c.Escalations++ }, func(s *ServiceEntity) { s.Escalations++ }, nil)
	case evTransferred:
		return p.each(ids, func(c *CallerEntity) { c.Transfers++ }, func(s *ServiceEntity) { s.Transfers++ }, nil)
	case EventCallEnded:
		p.open[e.CallID] = nil
		return p.each(ids, func(c *CallerEntity) {
			c.TalkTimeSeconds = seconds(float64(c.TalkTimeSeconds*1000) + float64(d.TalkMS))
			for i := range c.RecentCalls {
				if c.RecentCalls[i].CallID == e.CallID {
					c.RecentCalls[i].DurationS = seconds(float64(d.DurationMS))
					c.RecentCalls[i].EndReason = d.Reason
				}
			}
		}, func(s *ServiceEntity) {
			s.Ended++
			s.TotalDurationSeconds = seconds(s.TotalDurationSeconds*1000 + float64(d.DurationMS))
			s.AverageDurationSeconds = math.Round(s.TotalDurationSeconds/float64(s.Ended)*1000) / 1000
		}, nil)
	}
	return nil
}

func (p *projection) started(e Event, oc openCall) error {
	p.open[e.CallID] = &oc
	at := oc.StartedAt
	return p.each(p.ids(&oc), func(c *CallerEntity) {
		c.Calls++
		if c.LastCallAt == nil || at.After(*c.LastCallAt) {
			c.LastCallAt, c.LastServiceID = &at, oc.ServiceID
		}
		recent := append([]RecentCall{{CallID: e.CallID, StartedAt: at, ServiceID: oc.ServiceID}}, c.RecentCalls...)
		c.RecentCalls = recent[:min(len(recent), maxRecentCalls)]
	}, func(s *ServiceEntity) {
		s.Calls++
		s.AnswerRate = ratio(s.Answered, s.Calls)
		if s.LastCallAt == nil || at.After(*s.LastCallAt) {
			s.LastCallAt = &at
		}
	}, func(n *NumberEntity) {
		n.Calls++
		n.ByHour[at.In(p.loc).Hour()]++
		n.Timezone = p.loc.String()
		if n.LastCallAt == nil || at.After(*n.LastCallAt) {
			n.LastCallAt = &at
		}
	})
}

// entityIDs are the entities a call touches ("" for none).
type entityIDs struct{ caller, service, number string }

// ids says which entities call oc touches: its caller when the caller is
// an E.164 number, its service, its dialled number.
func (p *projection) ids(oc *openCall) entityIDs {
	var ids entityIDs
	if n, ok := NormalizeNumber(oc.From); ok && n == oc.From {
		ids.caller = n
	}
	if ValidID(oc.ServiceID) {
		ids.service = oc.ServiceID
	}
	if n, ok := NormalizeNumber(oc.To); ok {
		ids.number = n
	}
	return ids
}

// each runs the functions given on the entities of ids.
func (p *projection) each(ids entityIDs, fc func(*CallerEntity), fs func(*ServiceEntity), fn func(*NumberEntity)) error {
	if fc != nil && ids.caller != "" {
		c, err := p.caller(ids.caller)
		if err != nil {
			return err
		}
		fc(c)
	}
	if fs != nil && ids.service != "" {
		s, err := p.service(ids.service)
		if err != nil {
			return err
		}
		fs(s)
	}
	if fn != nil && ids.number != "" {
		n, err := p.number(ids.number)
		if err != nil {
			return err
		}
		fn(n)
	}
	return nil
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// seconds turns milliseconds into seconds, to the millisecond.
func seconds(ms float64) float64 { return math.Round(ms) / 1000 }

// encoded returns the JSON of every entity the projection holds, by kind
// and id, and the open calls (nil: delete).
func (p *projection) encoded() (map[string]map[string][]byte, map[string][]byte, error) {
	out := map[string]map[string][]byte{EntityCallers: {}, EntityServices: {}, EntityNumbers: {}}
	put := func(kind, id string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", kind, id, err)
		}
		out[kind][id] = b
		return nil
	}
	for id, c := range p.callers {
		if c.RecentCalls == nil {
			c.RecentCalls = []RecentCall{}
		}
		if err := put(EntityCallers, id, c); err != nil {
			return nil, nil, err
		}
	}
	for id, s := range p.services {
		if err := put(EntityServices, id, s); err != nil {
			return nil, nil, err
		}
	}
	for id, n := range p.numbers {
		if err := put(EntityNumbers, id, n); err != nil {
			return nil, nil, err
		}
	}
	open := map[string][]byte{}
	for id, c := range p.open {
		if c == nil {
			open[id] = nil
			continue
		}
		b, err := json.Marshal(c)
		if err != nil {
			return nil, nil, fmt.Errorf("encode open call %s: %w", id, err)
		}
		open[id] = b
	}
	return out, open, nil
}
