package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Data-source credentials live in {ws:<id>}:secrets, a hash no edge reads
// (the edge's ACL user cannot), each field data_source:<id> holding the
// credentials' JSON sealed by the platform's SecretBox (AES-256-GCM, key id
// with the ciphertext). The data source in the workspace hash keeps only
// the credentials' names, masked, which is what the API shows.
func keySecrets(ws string) string { return wsTag(ws) + ":secrets" }

// secretAAD binds a ciphertext to its workspace and field.
func secretAAD(ws, field string) string { return ws + "/" + field }

// openCredentials returns the credentials sealed in field of ws's
// secrets hash (nil when none); stale reports an old key's ciphertext.
func (s *Store) openCredentials(ws, field, sealed string) (map[string]string, bool, error) {
	if sealed == "" {
		return nil, false, nil
	}
	if s.policy.Secrets == nil {
		return nil, false, fmt.Errorf("open %s of %s: %w (no EDGE_ADMIN_SECRET_KEY)", field, ws, ErrSecretKey)
	}
	plain, stale, err := s.policy.Secrets.Open(sealed, secretAAD(ws, field))
	if err != nil {
		return nil, false, fmt.Errorf("open %s of %s: %w", field, ws, err)
	}
	var creds map[string]string
	if err := json.Unmarshal(plain, &creds); err != nil {
		return nil, false, fmt.Errorf("decode %s of %s: %w", field, ws, err)
	}
	return creds, stale, nil
}

// withCredentials fills d's credentials from the secrets hash.
func (s *Store) withCredentials(ctx context.Context, rdb redis.Cmdable, ws string, d *DataSource) error {
	field := KindDataSource.fieldOf(d.ID)
	sealed, err := rdb.HGet(ctx, keySecrets(ws), field).Result()
	if errors.Is(err, redis.Nil) {
		if !hasMasked(d.Credentials) {
			return nil // stored in clear before the secrets hash existed
		}
		d.Credentials = nil
		return nil
	}
	if err != nil {
		return unavailable("read credentials", err)
	}
	creds, _, err := s.openCredentials(ws, field, sealed)
	if err != nil {
		return err
	}
	d.Credentials = creds
	return nil
}

func hasMasked(m map[string]string) bool {
	for _, v := range m {
		if v == redactedMask {
			return true
		}
	}
	return false
}

// sealDataSource prepares the write of d (real credentials) in t: the
// workspace hash gets d with masked credentials, the secrets hash their
// ciphertext (or loses it when d has none).
func (t *tx) sealDataSource(d *DataSource) ([]byte, error) {
	field := KindDataSource.fieldOf(d.ID)
	shown := d.Redacted()
	b, err := json.Marshal(shown)
	if err != nil {
		return nil, err
	}
	if len(d.Credentials) == 0 {
		t.extra = append(t.extra, func(p redis.Pipeliner) { p.HDel(t.ctx, keySecrets(t.ws), field) })
		return b, nil
	}
	if t.s.policy.Secrets == nil {
		return nil, invalid("credentials", "this platform stores no data-source credentials: edge-admin has no EDGE_ADMIN_SECRET_KEY")
	}
	plain, err := json.Marshal(d.Credentials)
	if err != nil {
		return nil, err
	}
	sealed := t.s.policy.Secrets.Seal(plain, secretAAD(t.ws, field))
	t.extra = append(t.extra, func(p redis.Pipeliner) { p.HSet(t.ctx, keySecrets(t.ws), field, sealed) })
	return b, nil
}

// ReencryptSecrets seals again, with the current key, every data-source
// credential of every workspace still sealed with an old key (or stored
// in clear before the secrets hash existed), and replaces a trunk password
// stored in clear by an older version with its HA1s: the last step of a
// key rotation or an upgrade ("edge-admin reencrypt"); outbound-trunk
// passwords likewise with EDGE_CREDENTIALS_KEY. It returns how many
// items it rewrote.
func (s *Store) ReencryptSecrets(ctx context.Context) (int, error) {
	if s.policy.Secrets == nil && s.policy.Credentials == nil {
		return 0, errors.New("reencrypt: neither EDGE_ADMIN_SECRET_KEY nor EDGE_CREDENTIALS_KEY")
	}
	ids, err := s.ListWorkspaceIDs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ws := range ids {
		done := 0
		_, err := s.update(ctx, ws, func(t *tx) error {
			done = 0
			if err := t.sealOutboundPasswords(&done); err != nil {
				return err
			}
			if s.policy.Secrets == nil {
				return t.hashLegacyPasswords(&done)
			}
			raw, err := t.fields(KindDataSource.field)
			if err != nil {
				return err
			}
			sealed, err := t.rtx.HGetAll(ctx, keySecrets(ws)).Result()
			if err != nil {
				return err
			}
			for id, v := range raw {
				var d DataSource
				if err := json.Unmarshal([]byte(v), &d); err != nil {
					return fmt.Errorf("decode data source %s of %s: %w", id, ws, err)
				}
				field := KindDataSource.fieldOf(id)
				creds, stale, err := s.openCredentials(ws, field, sealed[field])
				if err != nil {
					return err
				}
				clear := sealed[field] == "" && len(d.Credentials) > 0 && !hasMasked(d.Credentials)
				if !stale && !clear {
					continue
				}
				if !clear {
					d.Credentials = creds
				}
				b, err := t.sealDataSource(&d)
				if err != nil {
					return err
				}
				t.sets = append(t.sets, field, b)
				t.audit(PlatformPrincipal, KindDataSource.Name, id, "reencrypt")
				done++
			}
			return t.hashLegacyPasswords(&done)
		})
		if err != nil {
			return n, err
		}
		n += done
	}
	return n, nil
}

// fullDataSource returns the stored data source old (as in the workspace
// hash, credentials masked) with its real credentials, read under the
// transaction (the secrets hash changes only with the workspace hash).
func (t *tx) fullDataSource(old []byte) ([]byte, error) {
	var d DataSource
	if err := json.Unmarshal(old, &d); err != nil {
		return nil, fmt.Errorf("decode data source: %w", err)
	}
	if err := t.s.withCredentials(t.ctx, t.rtx, t.ws, &d); err != nil {
		return nil, err
	}
	return json.Marshal(d)
}

// hashLegacyPasswords replaces trunk passwords stored in clear (before
// trunks kept HA1 only) by their HA1s, counting them in done.
func (t *tx) hashLegacyPasswords(done *int) error {
	raw, err := t.fields(KindTrunk.field)
	if err != nil {
		return err
	}
	for id, v := range raw {
		var tr Trunk
		if err := json.Unmarshal([]byte(v), &tr); err != nil {
			return fmt.Errorf("decode trunk %s of %s: %w", id, t.ws, err)
		}
		if tr.Password == "" {
			continue
		}
		tr.HA1, tr.Password = NewDigestHA1(t.s.policy.Realm, tr.Username, tr.Password), ""
		if err := t.set(KindTrunk.fieldOf(id), tr); err != nil {
			return err
		}
		t.audit(PlatformPrincipal, KindTrunk.Name, id, "hash_password")
		*done++
	}
	return nil
}
