package client

import (
	"fmt"
	"math"

	"gopkg.in/yaml.v3"

	"github.com/voiceedge/edge/tenancy"
)

// buildOutbound turns the outbound_trunks section into validated items,
// with ${VAR} references of declared variables expanded in the password
// (as for trunks).
func (f *File) buildOutbound(raw *fileDoc, doc *yaml.Node, lookup LookupEnv) error {
	for i, t := range raw.OutboundTrunks {
		field := fmt.Sprintf("outbound_trunks[%d]", i)
		line := itemLine(doc, "outbound_trunks", i)
		whole := func(name string, v float64) (int, error) {
			if v != math.Trunc(v) || v < -1e9 || v > 1e9 {
				return 0, &FileError{File: f.Name, Line: line, Field: field + "." + name, Reason: "must be a whole number"}
			}
			return int(v), nil
		}
		it := &tenancy.OutboundTrunk{
			ID: t.ID, Name: t.Name, AllowedPrefixes: t.AllowedPrefixes,
			CallerID: tenancy.CallerIDPolicy{Mode: t.CallerID.Mode, Number: t.CallerID.Number},
		}
		var err error
		if it.MaxCPS, err = whole("max_cps", t.MaxCPS); err != nil {
			return err
		}
		if it.RingTimeout, err = whole("ring_timeout", t.RingTimeout); err != nil {
			return err
		}
		for j, g := range t.Gateways {
			gw := tenancy.Gateway{Host: g.Host, Transport: g.Transport}
			gf := fmt.Sprintf("gateways[%d].", j)
			if gw.Port, err = whole(gf+"port", g.Port); err != nil {
				return err
			}
			if gw.Priority, err = whole(gf+"priority", g.Priority); err != nil {
				return err
			}
			if gw.Weight, err = whole(gf+"weight", g.Weight); err != nil {
				return err
			}
			it.Gateways = append(it.Gateways, gw)
		}
		it.Username = t.Username // never expanded: checkReferences refused any ${...}
		if it.Password, err = expandEnv(t.Password, lookup, f.env, f.Name, field+".password", line); err != nil {
			return err
		}
		if err := f.add(tenancy.KindOutboundTrunk, i, it, doc); err != nil {
			return err
		}
		f.OutboundTrunks = append(f.OutboundTrunks, it)
	}
	return nil
}
