package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// A simple line chart drawn with the standard library and the pixel font
// of font.go: the ramp's rate against setup latency, failing steps marked,
// and the concurrency run's calls against the edge's CPU, loss written at
// each point.

var (
	white  = color.RGBA{255, 255, 255, 255}
	black  = color.RGBA{20, 20, 20, 255}
	grey   = color.RGBA{215, 215, 215, 255}
	blue   = color.RGBA{31, 119, 180, 255}
	orange = color.RGBA{255, 127, 14, 255}
	green  = color.RGBA{44, 160, 44, 255}
	red    = color.RGBA{214, 39, 40, 255}
	purple = color.RGBA{148, 103, 189, 255}
)

type series struct {
	name   string
	color  color.RGBA
	xs, ys []float64
}

type mark struct {
	x, y  float64
	label string
	bad   bool
}

type panel struct {
	title, xlabel, ylabel string
	series                []series
	marks                 []mark
	// ycap, when set, bounds the y axis; higher points are drawn at the
	// top (their labels carry the value).
	ycap float64
}

func writeChart(path string, rep *report) error {
	var panels []panel
	if p, ok := rampPanel(rep); ok {
		panels = append(panels, p)
	}
	if p, ok := concPanel(rep); ok {
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil
	}
	const pw, ph = 900, 420
	img := image.NewRGBA(image.Rect(0, 0, pw, ph*len(panels)))
	fill(img, img.Bounds(), white)
	for i, p := range panels {
		drawPanel(img, image.Rect(0, i*ph, pw, (i+1)*ph), p)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func rampPanel(rep *report) (panel, bool) {
	p := panel{title: "Ramp: call rate vs INVITE->200 latency", xlabel: "calls per second", ylabel: "ms"}
	s50 := series{name: "SIPp p50", color: blue}
	s99 := series{name: "SIPp p99", color: orange}
	e99 := series{name: "edge p99", color: green}
	for _, s := range rep.Ramp {
		if s.Run != "ramp" {
			continue
		}
		x := s.TargetRate
		s50.xs, s50.ys = append(s50.xs, x), append(s50.ys, s.SetupP50)
		s99.xs, s99.ys = append(s99.xs, x), append(s99.ys, s.SetupP99)
		e99.xs, e99.ys = append(e99.xs, x), append(e99.ys, s.EdgeSetupP99)
		if !s.Pass {
			p.marks = append(p.marks, mark{x: x, y: s.SetupP99, bad: true,
				label: fmt.Sprintf("fail: %d failed, %d rtx, p99 %.0f ms", s.Failed+s.Refused, s.Retrans, s.SetupP99)})
		} else {
			p.ycap = max(p.ycap, s.SetupP99, s.EdgeSetupP99)
		}
	}
	if len(s50.xs) == 0 {
		return p, false
	}
	// Scale to the passing steps (at least 25 ms), so a failing step's
	// seconds do not flatten them.
	p.ycap = niceMax(max(p.ycap, 20) * 1.2)
	p.series = []series{s50, s99, e99}
	return p, true
}

func concPanel(rep *report) (panel, bool) {
	p := panel{title: "Concurrent calls with PCMU both ways: edge CPU, loss", xlabel: "simultaneous calls", ylabel: "% of one core"}
	cpu := series{name: "edge CPU", color: purple}
	for _, s := range rep.Conc {
		x := float64(s.TargetCalls)
		cpu.xs, cpu.ys = append(cpu.xs, x), append(cpu.ys, s.EdgeCPU)
		loss := 0.0
		if s.Media != nil {
			loss = 100 * s.Media.Loss
		}
		p.marks = append(p.marks, mark{x: x, y: s.EdgeCPU, bad: !s.Pass, label: fmt.Sprintf("loss %.3f%%", loss)})
	}
	if len(cpu.xs) == 0 {
		return p, false
	}
	p.series = []series{cpu}
	return p, true
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func drawPanel(img *image.RGBA, r image.Rectangle, p panel) {
	const left, right, top, bottom = 80, 30, 40, 60
	plot := image.Rect(r.Min.X+left, r.Min.Y+top, r.Max.X-right, r.Max.Y-bottom)
	drawText(img, r.Min.X+left, r.Min.Y+12, p.title, black, 2)
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range p.series {
		for i := range s.xs {
			xmin, xmax, ymax = math.Min(xmin, s.xs[i]), math.Max(xmax, s.xs[i]), math.Max(ymax, s.ys[i])
		}
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	ymax = niceMax(ymax * 1.1)
	if p.ycap > 0 {
		ymax = min(ymax, p.ycap)
	}
	px := func(x float64) int {
		return plot.Min.X + int(math.Round((x-xmin)/(xmax-xmin)*float64(plot.Dx())))
	}
	py := func(y float64) int { return plot.Max.Y - int(math.Round(min(y, ymax)/ymax*float64(plot.Dy()))) }
	// Grid and ticks.
	for i := 0; i <= 5; i++ {
		yv := ymax * float64(i) / 5
		y := py(yv)
		hline(img, plot.Min.X, plot.Max.X, y, grey)
		lbl := trimFloat(yv)
		drawText(img, plot.Min.X-8-textWidth(lbl, 1), y-3, lbl, black, 1)
		xv := xmin + (xmax-xmin)*float64(i)/5
		x := px(xv)
		vline(img, x, plot.Min.Y, plot.Max.Y, grey)
		lbl = trimFloat(xv)
		drawText(img, x-textWidth(lbl, 1)/2, plot.Max.Y+8, lbl, black, 1)
	}
	hline(img, plot.Min.X, plot.Max.X, plot.Max.Y, black)
	vline(img, plot.Min.X, plot.Min.Y, plot.Max.Y, black)
	drawText(img, plot.Min.X+plot.Dx()/2-textWidth(p.xlabel, 1), plot.Max.Y+26, p.xlabel, black, 2)
	drawTextUp(img, r.Min.X+10, plot.Min.Y+plot.Dy()/2+textWidth(p.ylabel, 2)/2, p.ylabel, black, 2)
	// Lines and points.
	for _, s := range p.series {
		for i := range s.xs {
			x, y := px(s.xs[i]), py(s.ys[i])
			fill(img, image.Rect(x-3, y-3, x+4, y+4), s.color)
			if i > 0 {
				line(img, px(s.xs[i-1]), py(s.ys[i-1]), x, y, s.color)
			}
		}
	}
	for _, m := range p.marks {
		x, y := px(m.x), py(m.y)
		c := black
		if m.bad {
			c = red
			line(img, x-6, y-6, x+6, y+6, red)
			line(img, x-6, y+6, x+6, y-6, red)
		}
		lx := min(x+8, plot.Max.X-textWidth(m.label, 1))
		drawText(img, lx, max(y-14, plot.Min.Y), m.label, c, 1)
	}
	// Legend.
	lx, ly := plot.Min.X+10, plot.Min.Y+8
	for _, s := range p.series {
		fill(img, image.Rect(lx, ly, lx+14, ly+7), s.color)
		drawText(img, lx+20, ly, s.name, black, 1)
		ly += 14
	}
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

// line draws a 2-pixel line (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
