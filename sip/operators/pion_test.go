package operators

import (
	"sync/atomic"
	"testing"

	"github.com/voiceedge/edge/media/mediatest"
)

// pionOperator is an operator's browser played by pion
// (mediatest.Browser), with the short names this package's tests use.
type pionOperator struct {
	b        *mediatest.Browser
	received *atomic.Int64
	closed   <-chan struct{}
}

// newPionOperator makes the peer; with pcmu false it offers Opus only.
func newPionOperator(t *testing.T, pcmu bool) *pionOperator {
	t.Helper()
	b := mediatest.NewBrowser(t, pcmu)
	return &pionOperator{b: b, received: b.Received(), closed: b.Closed()}
}

func (p *pionOperator) offer(t *testing.T) []byte          { return p.b.Offer(t) }
func (p *pionOperator) accept(t *testing.T, answer []byte) { p.b.Accept(t, answer) }
func (p *pionOperator) level(skip int) float64             { return p.b.Level(skip) }
