package sip

import (
	"testing"

	"github.com/voiceedge/edge/internal/edgeproc"
)

// kamailioProc is a real Kamailio running as a carrier SBC in front of the
// edge (edgeproc.StartKamailio): it record-routes every dialog,
// loose-routes in-dialog requests and forwards initial requests to the
// edge; it is killed at cleanup.
type kamailioProc struct {
	k    *edgeproc.Kamailio
	addr string // ip:port Kamailio listens on (UDP)
}

// logs returns Kamailio's log so far.
func (k *kamailioProc) logs() string { return k.k.Log() }

// startKamailio runs Kamailio on a free UDP port of ip, forwarding to the
// edge at edge (ip:port), and waits until it answers.
func startKamailio(t *testing.T, ip, edge string) *kamailioProc {
	t.Helper()
	k := edgeproc.StartKamailio(t, ip, edge)
	return &kamailioProc{k: k, addr: k.Addr}
}
