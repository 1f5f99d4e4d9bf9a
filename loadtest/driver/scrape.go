package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// metricSet is one scrape of a Prometheus text endpoint: "name{labels}"
// (labels as exposed) -> value.
type metricSet map[string]float64

// scrape reads url's metrics.
func scrape(url string) (metricSet, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body)
}

// parseMetrics parses the Prometheus text format, keeping samples only.
func parseMetrics(r io.Reader) (metricSet, error) {
	out := metricSet{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sum adds the samples of a metric over all its label sets that contain
// every one of the label matchers (`reason="cps"`).
func (m metricSet) sum(name string, matchers ...string) float64 {
	var t float64
	for k, v := range m {
		base, labels := k, ""
		if i := strings.IndexByte(k, '{'); i >= 0 {
			base, labels = k[:i], k[i:]
		}
		if base != name {
			continue
		}
		ok := true
		for _, mt := range matchers {
			if !strings.Contains(labels, mt) {
				ok = false
				break
			}
		}
		if ok {
			t += v
		}
	}
	return t
}

// delta returns m - prev for the metric (counters).
func (m metricSet) delta(prev metricSet, name string, matchers ...string) float64 {
	return m.sum(name, matchers...) - prev.sum(name, matchers...)
}

// histogramQuantile estimates quantile q of a histogram's observations
// between two scrapes, interpolating linearly inside the bucket.
func histogramQuantile(cur, prev metricSet, name string, q float64) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for k, v := range cur {
		if !strings.HasPrefix(k, name+"_bucket{") {
			continue
		}
		i := strings.Index(k, `le="`)
		if i < 0 {
			continue
		}
		s := k[i+4:]
		s = s[:strings.IndexByte(s, '"')]
		le, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue
		}
		bs = append(bs, bucket{le, v - prev[k]})
	}
	if len(bs) == 0 {
		return 0
	}
	for i := 1; i < len(bs); i++ {
		for j := i; j > 0 && bs[j].le < bs[j-1].le; j-- {
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
	total := bs[len(bs)-1].n
	if total == 0 {
		return 0
	}
	rank := q * total
	lo, below := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if b.le > 1e300 { // +Inf
				return lo
			}
			if b.n == below {
				return b.le
			}
			return lo + (b.le-lo)*(rank-below)/(b.n-below)
		}
		lo, below = b.le, b.n
	}
	return lo
}

// procSample is a process's CPU time and resident memory at one moment.
type procSample struct {
	at       time.Time
	cpu      float64 // seconds of user + system time
	rssBytes float64
}

// sampleProc reads /proc/<pid>/stat (utime, stime in clock ticks) and
// /proc/<pid>/statm (resident pages).
func sampleProc(pid int) (procSample, error) {
	st := procSample{at: time.Now()}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// Fields after the command name, which is in parentheses.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return st, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	stt, _ := strconv.ParseFloat(f[12], 64)
	st.cpu = (ut + stt) / clockTicks
	data, err = os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return st, err
	}
	m := strings.Fields(string(data))
	if len(m) > 1 {
		pages, _ := strconv.ParseFloat(m[1], 64)
		st.rssBytes = pages * float64(os.Getpagesize())
	}
	return st, nil
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// cpuPercent is the CPU used between two samples, in % of one core.
func cpuPercent(a, b procSample) float64 {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return 0
	}
	return 100 * (b.cpu - a.cpu) / wall
}

// udpCounters reads the kernel's UDP counters (/proc/net/snmp).
func udpCounters() map[string]float64 {
	out := map[string]float64{}
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return out
	}
	var head []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "Udp: ") {
			continue
		}
		f := strings.Fields(l)[1:]
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if i < len(f) {
				out[h], _ = strconv.ParseFloat(f[i], 64)
			}
		}
	}
	return out
}

// loadAvg returns the 1-minute load average.
func loadAvg() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return v
}

// socketDrops reads the per-socket drop counters of /proc/net/udp: local
// "ip:port" -> datagrams dropped (receive buffer full).
func socketDrops() map[string]float64 {
	out := map[string]float64{}
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 13 {
			continue
		}
		hp := strings.Split(f[1], ":")
		if len(hp) != 2 {
			continue
		}
		ipv, err1 := strconv.ParseUint(hp[0], 16, 32)
		port, err2 := strconv.ParseUint(hp[1], 16, 16)
		drops, err3 := strconv.ParseFloat(f[len(f)-1], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		// The kernel prints the address in host (little-endian) order.
		ip := fmt.Sprintf("%d.%d.%d.%d", ipv&0xff, ipv>>8&0xff, ipv>>16&0xff, ipv>>24)
		out[ip+":"+strconv.FormatUint(port, 10)] = drops
	}
	return out
}

// dropTracker sums the socket drops of a period, per local IP.
type dropTracker struct {
	base map[string]float64 // at the start
	seen map[string]float64 // highest value seen
}

func newDropTracker() *dropTracker {
	return &dropTracker{base: socketDrops(), seen: map[string]float64{}}
}

func (d *dropTracker) sample() {
	for k, v := range socketDrops() {
		d.seen[k] = max(d.seen[k], v)
	}
}

// byIP returns the drops of the period per local IP.
func (d *dropTracker) byIP() map[string]float64 {
	out := map[string]float64{}
	for k, v := range d.seen {
		if n := v - d.base[k]; n > 0 {
			out[k[:strings.LastIndexByte(k, ':')]] += n
		}
	}
	return out
}
