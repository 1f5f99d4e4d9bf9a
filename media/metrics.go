package media

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// dropReason is why the relay dropped a packet; the names are the bounded
// label set of edge_media_rtp_dropped_total.
type dropReason uint8

const (
	dropNone        dropReason = iota // relayed; never counted
	dropMalformed                     // not RTP
	dropWrongSource                   // not from the latched or signalled peer
	dropPayloadType                   // payload type the legs did not negotiate
	dropNotReady                      // no peer, or nowhere to send, yet
	dropWriteError                    // the send failed
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropNone:        "none",
	dropMalformed:   "malformed",
	dropWrongSource: "wrong_source",
	dropPayloadType: "payload_type",
	dropNotReady:    "not_ready",
	dropWriteError:  "write_error",
}

// directionNames label edge_media_rtp_relayed_*_total, indexed by the leg
// the packets come from.
var directionNames = [2]string{LegA: "a_to_b", LegB: "b_to_a"}

// metrics are the Prometheus series of the media package (namespace "edge",
// subsystem "media"). Counters are resolved once so the relay only adds.
type metrics struct {
	relayedPackets [2]prometheus.Counter
	relayedBytes   [2]prometheus.Counter
	dropped        [numDropReasons]prometheus.Counter
	timeouts       prometheus.Counter
	portsExhausted prometheus.Counter
}

// newMetrics creates the series and registers them, with gauges reading
// activeSessions and portsInUse, into reg; a nil reg registers nothing.
func newMetrics(reg *prometheus.Registry, activeSessions, portsInUse func() float64) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "edge", Subsystem: "media", Name: name, Help: help}
	}
	packets := prometheus.NewCounterVec(prometheus.CounterOpts(opts("rtp_relayed_packets_total",
		"RTP packets relayed between the legs of calls, by direction.")), []string{"direction"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts(opts("rtp_relayed_bytes_total",
		"RTP bytes (whole packets) relayed between the legs of calls, by direction.")), []string{"direction"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts(opts("rtp_dropped_total",
		"Datagrams received on RTP ports and not relayed, by reason.")), []string{"reason"})
	timeouts := prometheus.NewCounter(prometheus.CounterOpts(opts("timeouts_total",
		"Sessions that reported a media timeout.")))
	exhausted := prometheus.NewCounter(prometheus.CounterOpts(opts("port_exhausted_total",
		"Sessions refused because no RTP port was free.")))
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("sessions_active",
		"Media sessions currently open.")), activeSessions)
	ports := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("ports_in_use",
		"RTP ports currently allocated.")), portsInUse)

	m := &metrics{timeouts: timeouts, portsExhausted: exhausted}
	for l, name := range directionNames {
		m.relayedPackets[l] = packets.WithLabelValues(name)
		m.relayedBytes[l] = bytes.WithLabelValues(name)
	}
	for r := dropMalformed; r < numDropReasons; r++ {
		m.dropped[r] = dropped.WithLabelValues(dropReasonNames[r])
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{packets, bytes, dropped, timeouts, exhausted, active, ports} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register media metrics: %w", err)
		}
	}
	return m, nil
}
