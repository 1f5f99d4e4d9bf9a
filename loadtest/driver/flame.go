package main

import (
	"fmt"
	"hash/fnv"
	"html"
	"sort"
	"strings"
	"time"
)

// A flame graph (Brendan Gregg's) of a CPU profile, drawn from the stacks
// of `go tool pprof -traces`: each box is a function in a call stack, as
// wide as the time spent in it and its callees, the callers below.

// stackSample is one call stack, root first, and the time it was seen.
type stackSample struct {
	frames []string
	value  time.Duration
}

// parseTraces reads pprof -traces output: blocks separated by
// "-----------+----" lines, each "<value>  <leaf>" then one caller a line.
func parseTraces(out string) ([]stackSample, error) {
	var samples []stackSample
	var cur *stackSample
	flush := func() {
		if cur != nil && len(cur.frames) > 0 {
			// Reverse: pprof lists the leaf first.
			for i, j := 0, len(cur.frames)-1; i < j; i, j = i+1, j-1 {
				cur.frames[i], cur.frames[j] = cur.frames[j], cur.frames[i]
			}
			samples = append(samples, *cur)
		}
		cur = nil
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-----------+") {
			flush()
			cur = &stackSample{}
			continue
		}
		if cur == nil || strings.TrimSpace(l) == "" {
			continue
		}
		if len(cur.frames) == 0 {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			d, err := time.ParseDuration(f[0])
			if err != nil {
				return nil, fmt.Errorf("pprof -traces: sample value %q: %w", f[0], err)
			}
			cur.value = d
			cur.frames = append(cur.frames, strings.Join(f[1:], " "))
			continue
		}
		cur.frames = append(cur.frames, strings.TrimSpace(l))
	}
	flush()
	if len(samples) == 0 {
		return nil, fmt.Errorf("pprof -traces: no samples")
	}
	return samples, nil
}

// flameNode is a function in the merged call tree.
type flameNode struct {
	name     string
	value    time.Duration
	children map[string]*flameNode
}

func (n *flameNode) add(frames []string, v time.Duration) {
	n.value += v
	if len(frames) == 0 {
		return
	}
	if n.children == nil {
		n.children = map[string]*flameNode{}
	}
	c := n.children[frames[0]]
	if c == nil {
		c = &flameNode{name: frames[0]}
		n.children[frames[0]] = c
	}
	c.add(frames[1:], v)
}

// Flame graph geometry, in SVG user units.
const (
	flameWidth  = 1200.0
	flameRow    = 16.0
	flameMargin = 10.0
	flameTitle  = 24.0
	flameMaxDep = 64
)

// flameSVG renders the stacks, root at the bottom, children sorted by
// name (as flame graphs are: the x axis is not time).
func flameSVG(samples []stackSample, title string) []byte {
	root := &flameNode{name: "all"}
	depth := 0
	for _, s := range samples {
		fr := s.frames
		if len(fr) > flameMaxDep {
			fr = fr[:flameMaxDep]
		}
		root.add(fr, s.value)
		depth = max(depth, len(fr))
	}
	height := flameTitle + float64(depth+1)*flameRow + 2*flameMargin
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" standalone="no"?>
<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Verdana, sans-serif" font-size="11">
<rect x="0" y="0" width="100%%" height="100%%" fill="#f8f8f8"/>
<text x="%.0f" y="%.0f" font-size="15" text-anchor="middle">%s (%s total)</text>
`, flameWidth+2*flameMargin, height, flameWidth+2*flameMargin, height, flameWidth/2+flameMargin, flameMargin+14, html.EscapeString(title), root.value)
	scale := flameWidth / float64(max(root.value, 1))
	var draw func(n *flameNode, x float64, level int)
	draw = func(n *flameNode, x float64, level int) {
		w := float64(n.value) * scale
		if w < 0.3 {
			return
		}
		y := height - flameMargin - float64(level+1)*flameRow
		pct := 100 * float64(n.value) / float64(root.value)
		label := html.EscapeString(n.name)
		fmt.Fprintf(&b, `<g><title>%s (%s, %.2f%%)</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s" rx="2"/>`,
			label, n.value, pct, x+flameMargin, y, w, flameRow-1, flameColor(n.name))
		if chars := int(w / 7); chars >= 3 {
			text := n.name
			if len(text) > chars {
				text = text[:chars-2] + ".."
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, x+flameMargin+3, y+flameRow-4, html.EscapeString(text))
		}
		b.WriteString("</g>\n")
		names := make([]string, 0, len(n.children))
		for k := range n.children {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			c := n.children[k]
			draw(c, x, level+1)
			x += float64(c.value) * scale
		}
	}
	draw(root, 0, 0)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// flameColor is a warm colour stable per function name; the runtime and
// system calls are bluer, so that they stand out from the edge's code.
func flameColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	if strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "syscall.") || strings.HasPrefix(name, "internal/runtime") {
		return fmt.Sprintf("rgb(%d,%d,%d)", 80+v%60, 140+v%60, 200+v%50)
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", 205+v%50, 80+v%130, 40+v%50)
}
