package admin

import (
	"net/http"
	"net/url"

	"github.com/voiceedge/edge/tenancy"
)

// collection is a kind of configuration item served as a collection:
// GET list, POST, GET/PUT/DELETE item.
type collection struct {
	kind   tenancy.Kind
	schema string
	// summary names the items in route summaries.
	summary string
}

// collections are the configuration collections of a workspace.
var collections = []collection{
	{tenancy.KindService, "Service", "services (voice agents)"},
	{tenancy.KindNumber, "PhoneNumber", "phone numbers (id: the E.164 number, '+' escaped as %2B)"},
	{tenancy.KindTrunk, "Trunk", "carrier trunks (password write-only)"},
	{tenancy.KindSafetyPolicy, "SafetyPolicy", "safety policies"},
	{tenancy.KindDataSource, "DataSource", "data sources (credentials write-only)"},
	{tenancy.KindOutboundTrunk, "OutboundTrunk", "outbound (termination) trunks (admin+ to write; password write-only)"},
}

// singleton is a configuration kind with one value per workspace: GET/PUT.
type singleton struct {
	kind   tenancy.Kind
	schema string
	write  tenancy.Action
}

// singletons are the singleton configuration kinds of a workspace.
var singletons = []singleton{
	{tenancy.KindVoiceSettings, "VoiceSettings", tenancy.ActionConfigure},
	{tenancy.KindOperatorConfig, "OperatorConfig", tenancy.ActionConfigure},
	{tenancy.KindBilling, "Billing", tenancy.ActionManage},
}

func (s *Server) collectionRoutes(ws string, c collection) []route {
	base := ws + "/" + c.kind.Name
	item := base + "/{id}"
	read, conf := tenancy.ActionRead, tenancy.ActionConfigure
	return []route{
		{method: "GET", path: base, access: inWorkspace, action: read, tag: c.kind.Name, summary: "List " + c.summary, response: c.schema, list: true, query: pagingQuery, status: 200, handle: s.listItems(c)},
		{method: "POST", path: base, access: inWorkspace, action: conf, tag: c.kind.Name, summary: "Create one of the " + c.summary + " (409 if the id is taken; without id, one is derived from the name)", request: c.schema, response: c.schema, status: 201, handle: s.createItem(c)},
		{method: "GET", path: item, access: inWorkspace, action: read, tag: c.kind.Name, summary: "Get one of the " + c.summary, response: c.schema, status: 200, handle: s.getItem(c)},
		{method: "PUT", path: item, access: inWorkspace, action: conf, tag: c.kind.Name, summary: "Create (201) or replace (200) one of the " + c.summary, request: c.schema, response: c.schema, status: 200, handle: s.putItem(c)},
		{method: "DELETE", path: item, access: inWorkspace, action: conf, tag: c.kind.Name, summary: "Delete one of the " + c.summary, status: 204, handle: s.deleteItem(c)},
	}
}

func (s *Server) singletonRoutes(ws string, c singleton) []route {
	path := ws + "/" + c.kind.Name
	return []route{
		{method: "GET", path: path, access: inWorkspace, action: tenancy.ActionRead, tag: c.kind.Name, summary: "Get the " + c.kind.Name, response: c.schema, status: 200, handle: s.getSingleton(c)},
		{method: "PUT", path: path, access: inWorkspace, action: c.write, tag: c.kind.Name, summary: "Replace the " + c.kind.Name, request: c.schema, response: c.schema, status: 200, handle: s.putSingleton(c)},
	}
}

func (s *Server) listItems(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *request) error {
		p, err := s.pageOf(r.Request)
		if err != nil {
			return err
		}
		items, next, err := s.store.List(r.Context(), r.ws, c.kind, p.cursor, p.limit)
		if err != nil {
			return err
		}
		out := listPage[any]{Items: make([]any, 0, len(items)), NextCursor: next}
		for _, it := range items {
			out.Items = append(out.Items, view(it))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (s *Server) createItem(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *request) error {
		it, err := decodeItem(w, r.Request, c.kind)
		if err != nil {
			return err
		}
		if _, err := s.store.Create(r.Context(), r.p, r.ws, c.kind, it); err != nil {
			return err
		}
		w.Header().Set("Location", r.URL.Path+"/"+url.PathEscape(it.ItemID()))
		writeJSON(w, http.StatusCreated, view(it))
		return nil
	}
}

func (s *Server) getItem(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *request) error {
		id, ok := pathItemID(c.kind, r.PathValue("id"))
		if !ok {
			return tenancy.ErrNotFound
		}
		it, err := s.store.Get(r.Context(), r.ws, c.kind, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, view(it))
		return nil
	}
}

func (s *Server) putItem(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *request) error {
		id, ok := pathItemID(c.kind, r.PathValue("id"))
		if !ok {
			return invalid("id", "%q is not a valid id of %s", r.PathValue("id"), c.kind.Name)
		}
		it, err := decodeItem(w, r.Request, c.kind)
		if err != nil {
			return err
		}
		switch bodyID, valid := pathItemID(c.kind, it.ItemID()); {
		case it.ItemID() == "":
			tenancy.SetItemID(it, id)
		case !valid:
			// the store's validation names the field
		case bodyID != id:
			return invalid("id", "the body's id %q differs from the path's %q", it.ItemID(), id)
		}
		res, err := s.store.Put(r.Context(), r.p, r.ws, c.kind, it, tenancy.Upsert)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if res.Created {
			status = http.StatusCreated
			w.Header().Set("Location", r.URL.Path)
		}
		writeJSON(w, status, view(it))
		return nil
	}
}

func (s *Server) deleteItem(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *request) error {
		id, ok := pathItemID(c.kind, r.PathValue("id"))
		if !ok {
			return tenancy.ErrNotFound
		}
		if err := s.store.Delete(r.Context(), r.p, r.ws, c.kind, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) getSingleton(c singleton) handlerFunc {
	return func(w http.ResponseWriter, r *request) error {
		it, err := s.store.Get(r.Context(), r.ws, c.kind, "")
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, view(it))
		return nil
	}
}

func (s *Server) putSingleton(c singleton) handlerFunc {
	return func(w http.ResponseWriter, r *request) error {
		it := c.kind.New()
		if err := decodeBody(w, r.Request, it, false); err != nil {
			return err
		}
		if _, err := s.store.Put(r.Context(), r.p, r.ws, c.kind, it, tenancy.Upsert); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, view(it))
		return nil
	}
}

// phoneNumberBody is a phone number as clients send it: "id", when
// present, must be the number (what GET returns can be sent back).
type phoneNumberBody struct {
	ID string `json:"id,omitempty"`
	tenancy.PhoneNumber
}

// phoneNumberView is a phone number as the API shows it: with an "id",
// like every item, which is its number.
type phoneNumberView struct {
	ID string `json:"id"`
	tenancy.PhoneNumber
}

// decodeItem reads an item of kind from the body.
func decodeItem(w http.ResponseWriter, r *http.Request, kind tenancy.Kind) (tenancy.Item, error) {
	if kind.Name != tenancy.KindNumber.Name {
		it := kind.New()
		return it, decodeBody(w, r, it, false)
	}
	var b phoneNumberBody
	if err := decodeBody(w, r, &b, false); err != nil {
		return nil, err
	}
	if b.ID != "" {
		id, _ := tenancy.NormalizeNumber(b.ID)
		num, _ := tenancy.NormalizeNumber(b.Number)
		switch {
		case b.Number == "":
			b.Number = b.ID
		case id != num:
			return nil, invalid("id", "a phone number's id is its number: %q differs from %q", b.ID, b.Number)
		}
	}
	return &b.PhoneNumber, nil
}

// pathItemID is the item id of a path (or body) value: phone numbers are
// normalised to E.164, other ids must be valid ids.
func pathItemID(kind tenancy.Kind, v string) (string, bool) {
	if kind.Name == tenancy.KindNumber.Name {
		return tenancy.NormalizeNumber(v)
	}
	return v, tenancy.ValidID(v)
}

// view is an item as the API shows it: write-only fields removed, phone
// numbers with their id.
func view(it tenancy.Item) any {
	it = tenancy.Redacted(it)
	if n, ok := it.(*tenancy.PhoneNumber); ok {
		return phoneNumberView{ID: n.Number, PhoneNumber: *n}
	}
	return it
}
