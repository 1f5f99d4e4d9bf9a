package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteChart(t *testing.T) {
	rep := &report{}
	for i, p99 := range []float64{4, 6, 12, 2064} {
		rate := float64(200 * (i + 1))
		rep.Ramp = append(rep.Ramp, &step{Run: "ramp", TargetRate: rate, SetupP50: 1, SetupP99: p99, EdgeSetupP99: p99 * 0.9, Pass: p99 < 1000, Retrans: 1148 * i / 3})
	}
	for i, loss := range []float64{0, 0.0001, 0.002} {
		rep.Conc = append(rep.Conc, &step{Run: "concurrency", TargetCalls: 500 * (i + 1), EdgeCPU: float64(40 * (i + 1)), Media: &mediaStats{Loss: loss}, Pass: loss < 0.001})
	}
	tests := []struct {
		name   string
		rep    *report
		height int // 0: no chart
	}{
		{"ramp and concurrency", rep, 840},
		{"ramp only", &report{Ramp: rep.Ramp}, 420},
		{"nothing to draw", &report{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if keep := os.Getenv("CHART_OUT"); keep != "" {
				dir = keep
			}
			path := filepath.Join(dir, "chart.png")
			_ = os.Remove(path)
			if err := writeChart(path, tt.rep); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if tt.height == 0 {
				if err == nil {
					f.Close()
					t.Fatal("a chart was written with nothing to draw")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 900 || b.Dy() != tt.height {
				t.Fatalf("chart is %v, want 900x%d", b, tt.height)
			}
		})
	}
}
