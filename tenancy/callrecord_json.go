package tenancy

import (
	"time"

	"github.com/voiceedge/edge/internal/jsonenc"
)

// encodeCall is json.Marshal(rec), byte for byte, without reflection: the
// record is written on every transition of every call (admission, answer,
// end), and encoding/json's reflection was most of its cost
// (TestEncodeCallIsEncodingJSON holds the two together).
func encodeCall(rec CallRecord) ([]byte, error) {
	b := make([]byte, 0, 320)
	b = append(b, `{"id":`...)
	b = jsonenc.String(b, rec.ID)
	b = append(b, `,"workspace_id":`...)
	b = jsonenc.String(b, rec.WorkspaceID)
	b = append(b, `,"service_id":`...)
	b = jsonenc.String(b, rec.ServiceID)
	b = append(b, `,"from":`...)
	b = jsonenc.String(b, rec.From)
	b = append(b, `,"to":`...)
	b = jsonenc.String(b, rec.To)
	b = append(b, `,"state":`...)
	b = jsonenc.String(b, rec.State)
	b = append(b, `,"started_at":`...)
	b, err := jsonenc.Time(b, rec.StartedAt)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"answered_at":`...)
	if b, err = optionalTime(b, rec.AnsweredAt); err != nil {
		return nil, err
	}
	b = append(b, `,"ended_at":`...)
	if b, err = optionalTime(b, rec.EndedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"end_reason":`...)
	b = jsonenc.String(b, rec.EndReason)
	b = append(b, `,"node_id":`...)
	b = jsonenc.String(b, rec.NodeID)
	b = append(b, `,"direction":`...)
	b = jsonenc.String(b, rec.Direction)
	return append(b, '}'), nil
}

func optionalTime(b []byte, t *time.Time) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	return jsonenc.Time(b, *t)
}
