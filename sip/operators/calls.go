package operators

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// Paging of GET /v1/calls.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// callView is a call as the operator API shows it: the call record and the
// operators on it (from every node's presence records).
type callView struct {
	tenancy.CallRecord
	// ServiceName is the name of the call's service ("" when it is gone).
	ServiceName string         `json:"service_name"`
	Operators   []operatorView `json:"operators"`
}

// listPage is the shape of every list.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// listCalls serves GET /v1/calls: the active calls of the key's workspace,
// newest first, each with its operators (?limit=1-1000, ?cursor).
func (h *Handler) listCalls(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	cursor, limit := q.Get("cursor"), defaultPageSize
	if len(cursor) > 256 {
		return invalid("cursor", "not a cursor of this list")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageSize {
			return invalid("limit", "must be an integer from 1 to %d", maxPageSize)
		}
		limit = n
	}
	recs, next, err := h.store.ListCalls(r.Context(), r.p.WorkspaceID, true, cursor, limit)
	if err != nil {
		return err
	}
	byCall, err := h.operatorsByCall(r)
	if err != nil {
		return err
	}
	names := h.namer(r)
	items := make([]callView, 0, len(recs))
	for _, rec := range recs {
		items = append(items, callView{CallRecord: rec, ServiceName: names.service(rec.ServiceID), Operators: orEmpty(byCall[rec.ID])})
	}
	writeJSON(w, http.StatusOK, listPage[callView]{Items: items, NextCursor: next})
	return nil
}

// getCall serves GET /v1/calls/{call_id}: the call, active or not, with
// its operators.
func (h *Handler) getCall(w http.ResponseWriter, r *request) error {
	byCall, err := h.operatorsByCall(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, callView{CallRecord: r.call, ServiceName: h.namer(r).service(r.call.ServiceID), Operators: orEmpty(byCall[r.call.ID])})
	return nil
}

// operatorsByCall returns the operators of the key's workspace by call,
// in the order they joined.
func (h *Handler) operatorsByCall(r *request) (map[string][]operatorView, error) {
	recs, err := h.store.ListOperators(r.Context(), r.p.WorkspaceID)
	if err != nil {
		return nil, err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].JoinedAt.Before(recs[j].JoinedAt) })
	names := h.namer(r)
	out := map[string][]operatorView{}
	for _, o := range recs {
		out[o.CallID] = append(out[o.CallID], operatorView{ID: o.ID, CallID: o.CallID, AccountID: o.AccountID,
			AccountName: names.account(o.AccountID), Mode: o.Mode, Muted: o.Muted, JoinedAt: o.JoinedAt.UTC().Format(time.RFC3339)})
	}
	return out, nil
}

func orEmpty(v []operatorView) []operatorView {
	if v == nil {
		return []operatorView{}
	}
	return v
}

// namer looks up the names of a workspace's accounts and services for one
// request, each at most once. A name that cannot be read is "" (the id is
// shown instead).
type namer struct {
	r        *request
	h        *Handler
	accounts map[string]string
	services map[string]string
}

func (h *Handler) namer(r *request) *namer {
	return &namer{r: r, h: h, accounts: map[string]string{}, services: map[string]string{}}
}

func (n *namer) account(id string) string {
	if name, ok := n.accounts[id]; ok {
		return name
	}
	a, err := n.h.store.GetAccount(n.r.Context(), n.r.p.WorkspaceID, id)
	n.accounts[id] = a.Name
	if err != nil {
		n.accounts[id] = ""
	}
	return n.accounts[id]
}

func (n *namer) service(id string) string {
	if name, ok := n.services[id]; ok {
		return name
	}
	n.services[id] = ""
	if id == "" {
		return ""
	}
	if it, err := n.h.store.Get(n.r.Context(), n.r.p.WorkspaceID, tenancy.KindService, id); err == nil {
		if s, ok := it.(*tenancy.Service); ok {
			n.services[id] = s.Name
		}
	}
	return n.services[id]
}
