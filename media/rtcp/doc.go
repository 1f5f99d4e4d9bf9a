// Package rtcp is the edge's side of RTCP (RFC 3550 section 6) for one leg
// of a call: it checks and reads the compound packets a peer sends (its
// sender and receiver reports), writes the edge's own SR or RR with an
// SDES CNAME, computes the round-trip time from the LSR/DLSR of a report
// (section 6.4.1), and estimates call quality with a simplified ITU-T
// G.107 E-model. Parsing and marshalling are github.com/pion/rtcp's.
//
// RTCP is terminated per leg: what one peer reports never reaches the other
// (its SSRCs, CNAME and addresses stay on its leg); each leg gets reports
// the edge makes of what it relays to and receives from that leg.
//
// The E-model (G.107 with its defaults, simplified as G.107 Annex and most
// monitoring tools do): R = 93.2 - Id - Ie,eff, where the delay impairment
// Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3) for the one-way delay d in
// ms, taken as half the round-trip time plus twice the jitter (a jitter
// buffer's worth); and the equipment impairment of G.711 with packet-loss
// concealment Ie,eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl) with Ie = 0 and
// Bpl = 25.1 (G.113 Appendix I), Ppl the packet loss in percent. MOS =
// 1 + 0.035 R + 7e-6 R (R - 60) (100 - R) for 0 < R < 100 (G.107 Annex B),
// 1 below, 4.5 above.
package rtcp
