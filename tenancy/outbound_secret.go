package tenancy

import (
	"encoding/json"
	"fmt"
)

// Outbound-trunk passwords at rest. The edge answers the carrier's digest
// challenge itself, so it needs the password, not a hash of it; the store
// keeps it sealed with Policy.Credentials (AES-256-GCM, the key id with
// the ciphertext, bound to the workspace and the trunk's field) in the
// trunk's PasswordSealed, never in clear. The routing hash and the
// snapshots edges hold carry neither (Redacted); the edge that dials
// opens it for that dial (OutboundCredentials). A Redis dump, a replica or
// a backup therefore holds no carrier password, and a reader of Redis
// without EDGE_CREDENTIALS_KEY learns none.

// openOutboundTrunk returns the stored outbound trunk old with its
// password in clear, so that a replace without one keeps it (keepSecrets)
// and an unchanged write is seen as unchanged.
func (t *tx) openOutboundTrunk(old []byte) ([]byte, error) {
	var ot OutboundTrunk
	if err := json.Unmarshal(old, &ot); err != nil {
		return nil, fmt.Errorf("decode outbound trunk: %w", err)
	}
	pw, _, err := t.s.openPassword(t.ws, ot.ID, ot.PasswordSealed)
	if err != nil {
		return nil, err
	}
	if pw != "" {
		ot.Password, ot.PasswordSealed = pw, ""
	}
	return json.Marshal(ot)
}

// sealOutboundTrunk returns the stored form of ot: its password sealed.
// ot itself keeps its clear password (the transaction may run again).
func (t *tx) sealOutboundTrunk(ot *OutboundTrunk) ([]byte, error) {
	stored := *ot
	if stored.Password != "" {
		if t.s.policy.Credentials == nil {
			return nil, invalid("password", "this platform stores no outbound-trunk passwords: edge-admin has no EDGE_CREDENTIALS_KEY")
		}
		stored.PasswordSealed = t.s.policy.Credentials.Seal([]byte(stored.Password), passwordAAD(t.ws, ot.ID))
		stored.Password = ""
	}
	return json.Marshal(stored)
}

// openPassword opens the sealed password of outbound trunk id of ws ("":
// none); stale reports an old key's ciphertext.
func (s *Store) openPassword(ws, id, sealed string) (string, bool, error) {
	if sealed == "" {
		return "", false, nil
	}
	if s.policy.Credentials == nil {
		return "", false, fmt.Errorf("open the password of outbound trunk %s of %s: %w (no EDGE_CREDENTIALS_KEY)", id, ws, ErrSecretKey)
	}
	plain, stale, err := s.policy.Credentials.Open(sealed, passwordAAD(ws, id))
	if err != nil {
		return "", false, fmt.Errorf("open the password of outbound trunk %s of %s: %w", id, ws, err)
	}
	return string(plain), stale, nil
}

// passwordAAD binds a sealed password to its workspace and trunk, so that
// a ciphertext copied elsewhere does not open.
func passwordAAD(ws, id string) string { return ws + "/" + KindOutboundTrunk.fieldOf(id) + "/password" }

// sealOutboundPasswords seals again, with the current key, every outbound
// trunk password of the transaction's workspace sealed with an old key or
// stored in clear by an older version, counting them in done.
func (t *tx) sealOutboundPasswords(done *int) error {
	if t.s.policy.Credentials == nil {
		return nil
	}
	raw, err := t.fields(KindOutboundTrunk.field)
	if err != nil {
		return err
	}
	for id, v := range raw {
		var ot OutboundTrunk
		if err := json.Unmarshal([]byte(v), &ot); err != nil {
			return fmt.Errorf("decode outbound trunk %s of %s: %w", id, t.ws, err)
		}
		pw, stale, err := t.s.openPassword(t.ws, ot.ID, ot.PasswordSealed)
		if err != nil {
			return err
		}
		if !stale && ot.Password == "" {
			continue
		}
		if pw != "" {
			ot.Password = pw
		}
		b, err := t.sealOutboundTrunk(&ot)
		if err != nil {
			return err
		}
		t.sets = append(t.sets, KindOutboundTrunk.fieldOf(id), b)
		t.audit(PlatformPrincipal, KindOutboundTrunk.Name, id, "reencrypt")
		*done++
	}
	return nil
}
