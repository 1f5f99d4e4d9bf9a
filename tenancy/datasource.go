package tenancy

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// DataSource is an external system the agents read (an EHR, a scheduling
// API). Its credentials are write-only.
type DataSource struct {
	ID string `json:"id"`
	// Name is optional; a data source POSTed without id gets its slug.
	Name    string `json:"name,omitempty"`
	Kind    string `json:"kind"`
	BaseURL string `json:"base_url"`
	// AgentAccess releases the credentials to the voice agents of the
	// workspace's calls (GET /v1/call-context); without it agents get the
	// id, kind and base URL only.
	AgentAccess bool              `json:"agent_access,omitempty"`
	Credentials map[string]string `json:"credentials,omitempty"`
}

// DataSourceKinds lists the supported kinds.
var DataSourceKinds = []string{"fhir", "hl7", "rest", "graphql", "sftp"}

// Validate checks every field of d.
func (d *DataSource) Validate() error {
	if err := validID("id", d.ID); err != nil {
		return err
	}
	if d.Name != "" {
		if err := validName("name", d.Name); err != nil {
			return err
		}
	}
	if !slices.Contains(DataSourceKinds, d.Kind) {
		return invalid("kind", "must be one of %s", strings.Join(DataSourceKinds, ", "))
	}
	u, err := url.Parse(d.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "sftp") || len(d.BaseURL) > 2048 {
		return invalid("base_url", "must be an absolute http, https or sftp URL")
	}
	if len(d.Credentials) > 32 {
		return invalid("credentials", "at most 32 entries")
	}
	for k, v := range d.Credentials {
		if k == "" || len(k) > 64 || len(v) > 8192 {
			return invalid("credentials", "keys of 1-64 characters, values of at most 8192")
		}
	}
	return nil
}

// Redacted returns d without its credentials, as the API shows it; the
// names of the credentials set are kept so a reader knows they are there.
func (d DataSource) Redacted() DataSource {
	if len(d.Credentials) > 0 {
		red := make(map[string]string, len(d.Credentials))
		for k := range d.Credentials {
			red[k] = redactedMask
		}
		d.Credentials = red
	}
	return d
}

// credentialsFollowURL refuses a replace that moves a data source to
// another base_url while keeping the stored credentials (sent back masked
// or left out): credentials issued for one system are not sent to another
// on the strength of a URL change alone (422 credentials).
func (d *DataSource) credentialsFollowURL(old []byte) error {
	var prev DataSource
	if json.Unmarshal(old, &prev) != nil || prev.BaseURL == d.BaseURL || len(prev.Credentials) == 0 {
		return nil
	}
	if len(d.Credentials) == 0 {
		return invalid("credentials", "base_url changed: send the credentials again")
	}
	for k, v := range d.Credentials {
		if _, ok := prev.Credentials[k]; ok && v == redactedMask {
			return invalid("credentials", "base_url changed: send the credentials again (%q is masked)", k)
		}
	}
	return nil
}
