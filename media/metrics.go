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
	handedToMixer                     // sent on by the operator mixer; never counted
	dropMalformed                     // not RTP
	dropWrongSource                   // not from the latched or signalled peer
	dropPayloadType                   // payload type the legs did not negotiate
	dropNotReady                      // no peer, or nowhere to send, yet
	dropWriteError                    // the send failed
	dropLate                          // late: the mixer already filled its slot
	dropAuth                          // SRTP/SRTCP that failed authentication or replayed
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropNone:        "none",
	handedToMixer:   "mixer",
	dropMalformed:   "malformed",
	dropWrongSource: "wrong_source",
	dropPayloadType: "payload_type",
	dropNotReady:    "not_ready",
	dropWriteError:  "write_error",
	dropLate:        "late",
	dropAuth:        "srtp_auth",
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
	latched        [2]prometheus.Counter // signalled, learned
	dtmfInjected   prometheus.Counter
	rtcpReceived   prometheus.Counter
	rtcpSent       prometheus.Counter
	rtcpDropped    [numRTCPDrops]prometheus.Counter
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

	rtcpPackets := prometheus.NewCounterVec(prometheus.CounterOpts(opts("rtcp_packets_total",
		"RTCP compound packets the edge received from and sent to the peers of calls (terminated per leg).")), []string{"direction"})
	rtcpDropped := prometheus.NewCounterVec(prometheus.CounterOpts(opts("rtcp_dropped_total",
		"RTCP datagrams refused, by reason.")), []string{"reason"})
	latches := prometheus.NewCounterVec(prometheus.CounterOpts(opts("rtp_latched_total",
		"Legs latched onto their peer's RTP source (RFC 4961): signalled (the SDP address's IP) or learned (rtp_latching: learn, another source).")), []string{"how"})
	dtmf := prometheus.NewCounter(prometheus.CounterOpts(opts("dtmf_injected_total",
		"RFC 4733 events the edge made itself (from SIP INFO digits).")))
	m := &metrics{timeouts: timeouts, portsExhausted: exhausted, dtmfInjected: dtmf,
		latched:      [2]prometheus.Counter{latches.WithLabelValues("signalled"), latches.WithLabelValues("learned")},
		rtcpReceived: rtcpPackets.WithLabelValues("received"), rtcpSent: rtcpPackets.WithLabelValues("sent")}
	for i, name := range rtcpDropNames {
		m.rtcpDropped[i] = rtcpDropped.WithLabelValues(name)
	}
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
	for _, c := range []prometheus.Collector{packets, bytes, dropped, timeouts, exhausted, active, ports, rtcpPackets, rtcpDropped, latches, dtmf} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register media metrics: %w", err)
		}
	}
	return m, nil
}

// Join results, the bounded label set of edge_media_operator_joins_total.
const (
	joinOK        = "ok"
	joinBadOffer  = "bad_offer"
	joinNoPCMU    = "no_pcmu"
	joinBadMode   = "bad_mode"
	joinClosed    = "closed"
	joinCancelled = "cancelled"
	joinError     = "error"
)

var joinResults = []string{joinOK, joinBadOffer, joinNoPCMU, joinBadMode, joinClosed, joinCancelled, joinError}

// operatorMetrics are the series of operator legs and the mixer, exported
// by an OperatorEngine (namespace "edge", subsystem "media").
type operatorMetrics struct {
	joins      map[string]prometheus.Counter
	frames     prometheus.Counter // mixer frames produced
	lateFrames prometheus.Counter // mixer frames produced behind schedule
	underruns  prometheus.Counter // inputs that had no audio when due
	overflows  prometheus.Counter // input audio dropped to bound delay
}

// newOperatorMetrics creates the series, with a gauge reading active, and
// registers them into reg; a nil reg registers nothing.
func newOperatorMetrics(reg *prometheus.Registry, active func() float64) (*operatorMetrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "edge", Subsystem: "media", Name: name, Help: help}
	}
	joins := prometheus.NewCounterVec(prometheus.CounterOpts(opts("operator_joins_total",
		"Operator join attempts (WebRTC offers), by result.")), []string{"result"})
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("operators_active",
		"Operator legs currently joined to calls.")), active)
	frames := prometheus.NewCounter(prometheus.CounterOpts(opts("mixer_frames_total",
		"20 ms frames mixed for calls with operators.")))
	late := prometheus.NewCounter(prometheus.CounterOpts(opts("mixer_late_frames_total",
		"Mixer frames produced more than one frame period behind schedule.")))
	underruns := prometheus.NewCounter(prometheus.CounterOpts(opts("mixer_underruns_total",
		"Times a party of a mixed call had no audio buffered when its frame was due while it was sending.")))
	overflows := prometheus.NewCounter(prometheus.CounterOpts(opts("mixer_overflow_frames_total",
		"Input audio frames the mixer dropped to keep its delay bounded.")))
	m := &operatorMetrics{
		joins:      make(map[string]prometheus.Counter, len(joinResults)),
		frames:     frames,
		lateFrames: late,
		underruns:  underruns,
		overflows:  overflows,
	}
	for _, r := range joinResults {
		m.joins[r] = joins.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{joins, gauge, frames, late, underruns, overflows} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register operator metrics: %w", err)
		}
	}
	return m, nil
}

// countLatch counts a leg latching onto its peer; nil-safe for legs made
// without metrics.
func (m *metrics) countLatch(learned bool) {
	if m == nil {
		return
	}
	if learned {
		m.latched[1].Inc()
	} else {
		m.latched[0].Inc()
	}
}
