package media

import (
	"strconv"

	"github.com/voiceedge/edge/internal/jsonenc"
)

// AppendJSON appends s as encoding/json writes it (fields in their order,
// the embedded Quality's after them), for the call.ended event that
// carries both legs' (jsonenc.Appender).
func (s RTCPStats) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"reports_received":`...)
	b = strconv.AppendUint(b, s.ReportsReceived, 10)
	b = append(b, `,"reports_sent":`...)
	b = strconv.AppendUint(b, s.ReportsSent, 10)
	b = append(b, `,"dropped":`...)
	b = strconv.AppendUint(b, s.Dropped, 10)
	var err error
	float := func(key string, f float64) {
		if err == nil {
			b = append(b, key...)
			b, err = jsonenc.Float(b, f)
		}
	}
	float(`,"remote_fraction_lost":`, s.RemoteFractionLost)
	if err == nil {
		b = append(b, `,"remote_lost":`...)
		b = strconv.AppendUint(b, uint64(s.RemoteLost), 10)
	}
	float(`,"remote_jitter_ms":`, s.RemoteJitterMs)
	float(`,"rtt_ms":`, s.RTTMs)
	float(`,"r_factor":`, s.R)
	float(`,"mos":`, s.MOS)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}
