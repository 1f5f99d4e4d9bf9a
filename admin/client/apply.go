package client

import (
	"context"
	"fmt"
	"io"
)

// Apply plans f against workspace ws (see Plan) and runs the plan,
// printing one line per item to out as it goes and a summary at the end.
// With opts.DryRun it prints the plan and writes nothing. It stops at the
// first error, which names the item and carries the API's answer; the
// lines printed before it are what was written (each write is atomic, and
// applying the file again converges).
func (c *Client) Apply(ctx context.Context, f *File, ws string, opts ApplyOptions, out io.Writer) (*Plan, error) {
	p, err := c.Plan(ctx, f, ws, opts)
	if err != nil {
		return nil, err
	}
	if opts.DryRun {
		for _, ch := range p.Changes {
			fmt.Fprintln(out, ch.String())
		}
		fmt.Fprintf(out, "dry run of %s on %s: %s; nothing written\n", f.Name, ws, p.Summary())
		return p, nil
	}
	for _, ch := range p.Changes {
		if err := c.applyChange(ctx, ws, ch); err != nil {
			return p, fmt.Errorf("apply %s to %s: %s: %w", f.Name, ws, ch.String(), err)
		}
		fmt.Fprintln(out, ch.String())
	}
	fmt.Fprintf(out, "applied %s to %s: %s\n", f.Name, ws, p.Summary())
	return p, nil
}

// applyChange makes one change of a plan.
func (c *Client) applyChange(ctx context.Context, ws string, ch Change) error {
	switch ch.Op {
	case OpCreate, OpUpdate:
		return c.PutItem(ctx, ws, ch.Kind, ch.Item)
	case OpDelete:
		return c.DeleteItem(ctx, ws, ch.Kind, ch.ID)
	}
	return nil
}
