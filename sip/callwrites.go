package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/voiceedge/edge/sip/spool"
	"github.com/voiceedge/edge/tenancy"
)

// The call-state writes the edge spools while Redis is away (sip/spool):
// each is an entry whose Op names the CallStore write and whose Data is
// its JSON. The call token is a bearer secret and never goes to disk.
// When the store issues the tokens, a call's end ends its token in the
// same script (tenancy.Store.EndCallEventToken): the end entry then
// carries the token's hash (TokenHash), what Redis keeps of it, not the
// token, and only when it is written straight through at first (an entry
// spooled after that write failed ends the token when replayed). Else
// the token's end (EndCallToken) is a write of its own, made only
// straight through. A token not ended stays inert once the call's final
// record is written (the control plane checks the record and lease)
// until its own TTL.
//
// A transition is one entry, so one round trip: its record and its event
// together (update_call+event, end_call+event). update_call, end_call and
// append_event alone are what an older edge spooled for them, and still
// apply; append_event is also the event of a call admitted from memory
// (after its admit) and the events of no record (transfers, ringing).
const (
	opAdmit       = "admit" // a call admitted from memory: RestoreCall
	opUpdate      = "update_call"
	opEnd         = "end_call"
	opEvent       = "append_event"
	opUpdateEvent = "update_call+event" // UpdateCallEvent
	opEndEvent    = "end_call+event"    // EndCallEvent
)

// admitData is an admit entry's Data.
type admitData struct {
	Rec tenancy.CallRecord `json:"rec"`
}

// eventData is an event entry's Data. Once names the write, so that a
// write sent again (spooled after an answer that never came) is not
// written twice (tenancy.Store.AppendEventOnce); entries of an older
// version have none.
type eventData struct {
	Event tenancy.Event `json:"event"`
	Once  string        `json:"once,omitempty"`
}

// recordEventData is the Data of an entry that writes a record and its
// event (opUpdateEvent, opEndEvent); Once names the event's write, as
// eventData's does. TokenHash, of an end, is the hash of the call's token
// to end with it (tenancy.CallTokenHash); entries of an older version
// have none.
type recordEventData struct {
	Rec       tenancy.CallRecord `json:"rec"`
	Event     tenancy.Event      `json:"event"`
	Once      string             `json:"once"`
	TokenHash string             `json:"token_hash,omitempty"`
}

// storeApplier applies spooled entries to the CallStore, and ends the
// tokens of end entries through tokens (nil: they are not ended).
type storeApplier struct {
	store  CallStore
	tokens tokenCallStore
	lease  time.Duration
}

var _ spool.Store = storeApplier{}

func (a storeApplier) Apply(ctx context.Context, e spool.Entry) error {
	switch e.Op {
	case opAdmit:
		d, err := entryValue[admitData](e)
		if err != nil {
			return err
		}
		return a.store.RestoreCall(ctx, d.Rec, a.lease)
	case opUpdate, opEnd:
		rec, err := entryValue[tenancy.CallRecord](e)
		if err != nil {
			return err
		}
		if e.Op == opEnd {
			return a.store.EndCall(ctx, rec)
		}
		return a.store.UpdateCall(ctx, rec)
	case opEvent:
		d, err := entryValue[eventData](e)
		if err != nil {
			return err
		}
		if d.Once == "" {
			_, err = a.store.AppendEvent(ctx, e.WorkspaceID, d.Event)
			return err
		}
		_, err = a.store.AppendEventOnce(ctx, e.WorkspaceID, d.Once, d.Event)
		return err
	case opUpdateEvent, opEndEvent:
		d, err := entryValue[recordEventData](e)
		if err != nil {
			return err
		}
		switch {
		case e.Op == opEndEvent && d.TokenHash != "" && a.tokens != nil:
			_, err = a.tokens.EndCallEventToken(ctx, d.Rec, d.Once, d.Event, d.TokenHash)
		case e.Op == opEndEvent:
			_, err = a.store.EndCallEvent(ctx, d.Rec, d.Once, d.Event)
		default:
			_, err = a.store.UpdateCallEvent(ctx, d.Rec, d.Once, d.Event)
		}
		return err
	}
	return fmt.Errorf("spooled write of unknown op %q", e.Op)
}

// entryValue is an entry's arguments: its Value as written (a write
// applied straight through is never encoded), else its Data decoded (a
// spooled one).
func entryValue[T any](e spool.Entry) (T, error) {
	if v, ok := e.Value.(T); ok {
		return v, nil
	}
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("decode spooled %s: %w", e.Op, err)
	}
	return v, nil
}

func (a storeApplier) Unavailable(err error) bool { return errors.Is(err, tenancy.ErrUnavailable) }

func (a storeApplier) Probe(ctx context.Context) error { return a.store.Ping(ctx) }

// writeState writes one call-state change of call id of workspace ws:
// straight to Redis, or through the spool while Redis is away or ws has
// writes waiting. A failure is counted and logged; the call goes on.
func (s *Server) writeState(op, ws, id string, data any) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	err := s.spool.Write(ctx, spool.Entry{Op: op, WorkspaceID: ws, CallID: id, Value: data})
	if err != nil {
		s.metrics.storeErrors.WithLabelValues(op).Inc()
		if !errors.Is(err, spool.ErrFull) { // the spool logged that one
			s.log.Warn("call state write failed", "op", op, "call_id", id, "workspace_id", ws, "error", err)
		}
	}
}

// writeUpdateEvent writes a call's record and its event e (call.answered)
// in one write.
func (s *Server) writeUpdateEvent(rec tenancy.CallRecord, e tenancy.Event) {
	s.writeState(opUpdateEvent, rec.WorkspaceID, rec.ID, recordEventData{Rec: rec, Event: e, Once: newOnce()})
}

// writeEndEvent writes a call's final record and its event e (call.ended)
// in one write, and ends the call's token ("" for none): in that write
// while Redis takes the workspace's writes straight through and the store
// issues the tokens, else after it (endCallToken).
func (s *Server) writeEndEvent(rec tenancy.CallRecord, e tenancy.Event, token string) {
	d := recordEventData{Rec: rec, Event: e, Once: newOnce()}
	if token != "" && s.withTokens != nil && s.spool.Direct(rec.WorkspaceID) {
		d.TokenHash, token = tenancy.CallTokenHash(token), ""
	}
	s.writeState(opEndEvent, rec.WorkspaceID, rec.ID, d)
	s.endCallToken(rec.WorkspaceID, rec.ID, token)
}

func (s *Server) writeEvent(ws string, e tenancy.Event) { s.writeEventOnce(ws, newOnce(), e) }

// writeEventOnce writes e under once: the key of a write that may have
// been applied already (an admission that timed out).
func (s *Server) writeEventOnce(ws, once string, e tenancy.Event) {
	s.writeState(opEvent, ws, e.CallID, eventData{Event: e, Once: once})
}

// newOnce names a write (tenancy.Store.AppendEventOnce's once).
func newOnce() string {
	var once [12]byte
	_, _ = rand.Read(once[:])
	return hex.EncodeToString(once[:])
}

// endCallToken shortens a call's token to its grace, when Redis takes
// writes of the workspace straight through (see the op list above).
func (s *Server) endCallToken(ws, id, token string) {
	if token == "" || s.tokens == nil || !s.spool.Direct(ws) {
		return
	}
	s.storeWrite("end_call_token", func(ctx context.Context) error { return s.tokens.EndCallToken(ctx, token) })
}
