package tenancy

import (
	"context"
	"strconv"
	"strings"
)

// An item POSTed without an id gets one (design section 12): the slug of
// its name, made unique in the workspace with a numeric suffix, or a
// generated id when it has no usable name.

// maxSlugLen leaves room for a "-<n>" suffix within the 64 of ValidID.
const maxSlugLen = 56

// maxSlugSuffix bounds the suffixes tried before a generated id is used.
const maxSlugSuffix = 100

// Slug turns a name into an id: lowercase ASCII letters and digits, runs of
// anything else as one '-', trimmed, at most 56 characters; "" when
// nothing usable is left.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= maxSlugLen {
			break
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// idPrefixes are the prefixes of generated ids, per kind.
var idPrefixes = map[string]string{
	KindService.Name: "svc-", KindTrunk.Name: "trunk-", KindSafetyPolicy.Name: "policy-", KindDataSource.Name: "ds-", KindOutboundTrunk.Name: "otrunk-",
}

// SetItemID gives item the id id (a phone number: its number).
func SetItemID(item Item, id string) {
	switch v := item.(type) {
	case *Service:
		v.ID = id
	case *PhoneNumber:
		v.Number = id
	case *Trunk:
		v.ID = id
	case *OutboundTrunk:
		v.ID = id
	case *SafetyPolicy:
		v.ID = id
	case *DataSource:
		v.ID = id
	}
}

// itemName is the name an id is derived from.
func itemName(item Item) string {
	switch v := item.(type) {
	case *Service:
		return v.Name
	case *Trunk:
		return v.Name
	case *SafetyPolicy:
		return v.Name
	case *DataSource:
		if v.Name != "" {
			return v.Name
		}
		return v.Kind
	}
	return ""
}

// Create writes a new item of a collection kind (ErrConflict when its id
// is taken). An item without id gets the slug of its name, or the slug
// with the first free suffix "-2", "-3", ... in the workspace, or a
// generated id; a phone number's id is its number and is never made up.
func (s *Store) Create(ctx context.Context, actor Principal, ws string, kind Kind, item Item) (PutResult, error) {
	prefix, derivable := idPrefixes[kind.Name]
	if kind.Singleton || !derivable || item.ItemID() != "" {
		return s.Put(ctx, actor, ws, kind, item, Create)
	}
	base := Slug(itemName(item))
	if base == "" || !ValidID(base) {
		SetItemID(item, prefix+newID(""))
		return s.Put(ctx, actor, ws, kind, item, Create)
	}
	SetItemID(item, base)
	return s.put(ctx, actor, ws, kind, item, Create, func(t *tx) error {
		for n := 1; n <= maxSlugSuffix; n++ {
			id := base
			if n > 1 {
				id = base + "-" + strconv.Itoa(n)
			}
			_, taken, err := t.get(kind.fieldOf(id))
			if err != nil {
				return err
			}
			if !taken {
				SetItemID(item, id)
				return nil
			}
		}
		SetItemID(item, prefix+newID(""))
		return nil
	})
}
