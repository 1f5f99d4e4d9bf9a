package admin

import (
	"errors"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// newAccountBody is the body of POST accounts.
type newAccountBody struct {
	Name  string       `json:"name"`
	Email string       `json:"email"`
	Role  tenancy.Role `json:"role"`
}

// accountUpdate is the body of PUT accounts/{id}: the account's name, email
// and role; id, when present, must be the path's.
type accountUpdate struct {
	ID    string       `json:"id,omitempty"`
	Name  string       `json:"name"`
	Email string       `json:"email"`
	Role  tenancy.Role `json:"role"`
}

// createdAccount is the 201 of POST accounts: the account and its first
// key, whose secret is shown only here.
type createdAccount struct {
	tenancy.Account
	APIKey   string `json:"api_key"`
	APIKeyID string `json:"api_key_id"`
}

// newKeyBody is the optional body of POST api-keys.
type newKeyBody struct {
	Name string `json:"name,omitempty"`
}

// createdKey is the 201 of POST api-keys: the key and its secret, shown
// only here.
type createdKey struct {
	tenancy.APIKey
	Secret string `json:"api_key"`
}

func (s *Server) listAccounts(w http.ResponseWriter, r *request) error {
	p, err := s.pageOf(r.Request)
	if err != nil {
		return err
	}
	all, err := s.store.ListAccounts(r.Context(), r.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, paginate(all, func(a tenancy.Account) string { return a.ID }, p))
	return nil
}

func (s *Server) createAccount(w http.ResponseWriter, r *request) error {
	var body newAccountBody
	if err := decodeBody(w, r.Request, &body, false); err != nil {
		return err
	}
	c, err := s.store.CreateAccount(r.Context(), r.p, r.ws, tenancy.Account{Name: body.Name, Email: body.Email, Role: body.Role})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+c.Account.ID)
	writeJSON(w, http.StatusCreated, createdAccount{Account: c.Account, APIKey: c.Secret, APIKeyID: c.Key.ID})
	return nil
}

func (s *Server) getAccount(w http.ResponseWriter, r *request) error {
	id := r.PathValue("id")
	if !tenancy.ValidID(id) {
		return tenancy.ErrNotFound
	}
	a, err := s.store.GetAccount(r.Context(), r.ws, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) putAccount(w http.ResponseWriter, r *request) error {
	id := r.PathValue("id")
	if !tenancy.ValidID(id) {
		return tenancy.ErrNotFound
	}
	var body accountUpdate
	if err := decodeBody(w, r.Request, &body, false); err != nil {
		return err
	}
	if body.ID != "" && body.ID != id {
		return invalid("id", "the body's id %q differs from the path's %q", body.ID, id)
	}
	a, err := s.store.UpdateAccount(r.Context(), r.p, r.ws, tenancy.Account{ID: id, Name: body.Name, Email: body.Email, Role: body.Role})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *request) error {
	id := r.PathValue("id")
	if !tenancy.ValidID(id) {
		return tenancy.ErrNotFound
	}
	if err := s.store.DeleteAccount(r.Context(), r.p, r.ws, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *request) error {
	p, err := s.pageOf(r.Request)
	if err != nil {
		return err
	}
	all, err := s.store.ListAPIKeys(r.Context(), r.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, paginate(all, func(k tenancy.APIKey) string { return k.ID }, p))
	return nil
}

func (s *Server) createKey(w http.ResponseWriter, r *request) error {
	var body newKeyBody
	if err := decodeBody(w, r.Request, &body, true); err != nil {
		return err
	}
	c, err := s.store.CreateAPIKey(r.Context(), r.p, r.ws, r.p.AccountID, body.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+c.Key.ID)
	writeJSON(w, http.StatusCreated, createdKey{APIKey: c.Key, Secret: c.Secret})
	return nil
}

func (s *Server) getKey(w http.ResponseWriter, r *request) error {
	id := r.PathValue("id")
	if !tenancy.ValidID(id) {
		return tenancy.ErrNotFound
	}
	k, err := s.store.GetAPIKey(r.Context(), r.ws, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

// deleteKey revokes a key: any member+ its own, only the owner (manage)
// another account's.
func (s *Server) deleteKey(w http.ResponseWriter, r *request) error {
	id := r.PathValue("id")
	if !tenancy.ValidID(id) {
		return tenancy.ErrNotFound
	}
	only := r.p.AccountID
	if r.p.Role.Allows(tenancy.ActionManage) {
		only = ""
	}
	err := s.store.RevokeAPIKey(r.Context(), r.p, r.ws, id, only)
	if errors.Is(err, tenancy.ErrForbidden) {
		return forbidden("only the owner may revoke another account's key")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
