// Package client is the typed HTTP client of the edge-admin REST API
// (design section 6) and the logic of the edge-admin CLI verbs built on it:
// workspace creation, get, API keys, promotion and the declarative apply of
// a workspace file.
//
// A workspace file (YAML, see configs/README.md) declares a workspace's
// services, phone numbers, trunks, safety policies, voice settings and
// operator config. Apply reads the workspace's current state through the
// API, plans a create, update, unchanged or delete per item (deletes only
// with pruning), and writes in a safe order: trunks and services before the
// numbers that route to them, numbers removed before the services they
// routed to. Everything that can be checked before the first write is
// checked first (the file's schema and every field with the tenancy
// validators, references between items, the production guard), so a bad
// file writes nothing.
//
// The client talks HTTP only; it never reads Redis.
package client
