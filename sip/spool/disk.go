package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// segment is one file of the disk log.
type segment struct {
	n    uint64 // its number, in its name: segments are read in this order
	path string
	size int64
	live int // entries written to it and not yet acknowledged
}

// disk is the spool's log in a directory: segments oldest first, the last
// one open for appending.
type disk struct {
	dir      string
	maxBytes int64
	segBytes int64
	lock     *os.File
	segs     []*segment
	cur      *os.File // the last segment's file; nil until the next append
	bytes    int64    // all segments' sizes
	nextSeg  uint64   // the number of the next segment
	dirty    bool     // written since the last fsync
	buf      []byte
}

// recovered is what a directory held: its unacknowledged entries in seq
// order, the segment of each, and how many records were cut as corrupt.
type recovered struct {
	entries []Entry
	segOf   []*segment
	corrupt int
	maxSeq  uint64
}

func segName(n uint64) string { return fmt.Sprintf("seg-%020d.log", n) }

// openDisk locks dir (one edge per directory) and reads what it holds.
func openDisk(dir string, maxBytes, segBytes int64) (*disk, recovered, error) {
	var rec recovered
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, rec, fmt.Errorf("spool dir %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, rec, fmt.Errorf("spool lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, rec, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
	}
	d := &disk{dir: dir, maxBytes: maxBytes, segBytes: segBytes, lock: lock}
	if rec, err = d.recover(); err != nil {
		d.close()
		return nil, rec, err
	}
	return d, rec, nil
}

// recover reads every segment: entries without an ack are pending. A
// segment's bad tail is cut at its last good record.
func (d *disk) recover() (recovered, error) {
	var rec recovered
	names, err := filepath.Glob(filepath.Join(d.dir, "seg-*.log"))
	if err != nil {
		return rec, err
	}
	sort.Strings(names)
	acked := map[uint64]bool{}
	type pending struct {
		e   Entry
		seg *segment
	}
	var all []pending
	for _, name := range names {
		num, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "seg-"), ".log"), 10, 64)
		if err != nil {
			continue
		}
		d.nextSeg = max(d.nextSeg, num+1)
		b, err := os.ReadFile(name)
		if err != nil {
			return rec, fmt.Errorf("read spool segment: %w", err)
		}
		seg := &segment{n: num, path: name}
		off := 0
		for off < len(b) {
			r, n, err := decodeRecord(b[off:])
			if err != nil {
				rec.corrupt++
				break
			}
			off += n
			if r.seq > rec.maxSeq {
				rec.maxSeq = r.seq
			}
			if r.kind == kindAck {
				acked[r.seq] = true
				continue
			}
			all = append(all, pending{r.entry, seg})
		}
		if off < len(b) {
			if err := os.Truncate(name, int64(off)); err != nil {
				return rec, fmt.Errorf("cut spool segment: %w", err)
			}
		}
		seg.size = int64(off)
		d.segs = append(d.segs, seg)
		d.bytes += seg.size
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].e.Seq < all[j].e.Seq })
	for _, p := range all {
		if acked[p.e.Seq] {
			continue
		}
		p.seg.live++
		rec.entries = append(rec.entries, p.e)
		rec.segOf = append(rec.segOf, p.seg)
	}
	d.trim()
	return rec, nil
}

// errDiskFull: the entry would take the log past its bound.
var errDiskFull = errors.New("spool disk full")

// append writes an entry (counted live in its segment, which it returns)
// or an ack (which ignores the bound: an ack left out would replay its
// entry after a restart).
func (d *disk) append(r record) (*segment, error) {
	d.buf = appendRecord(d.buf[:0], r)
	if r.kind == kindEntry && d.bytes+int64(len(d.buf)) > d.maxBytes {
		return nil, errDiskFull
	}
	if d.cur == nil || d.segs[len(d.segs)-1].size+int64(len(d.buf)) > d.segBytes {
		if err := d.rotate(); err != nil {
			return nil, err
		}
	}
	seg := d.segs[len(d.segs)-1]
	n, err := d.cur.Write(d.buf)
	if err != nil {
		// Cut a partial record so that the segment stays readable.
		_ = d.cur.Truncate(seg.size)
		_, _ = d.cur.Seek(seg.size, 0)
		return nil, fmt.Errorf("write spool segment: %w", err)
	}
	seg.size += int64(n)
	d.bytes += int64(n)
	d.dirty = true
	if r.kind == kindEntry {
		seg.live++
	}
	return seg, nil
}

// rotate closes the current segment and opens the next one.
func (d *disk) rotate() error {
	if d.cur != nil {
		_ = d.cur.Sync()
		_ = d.cur.Close()
		d.cur = nil
	}
	num := d.nextSeg
	d.nextSeg++
	path := filepath.Join(d.dir, segName(num))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open spool segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open spool segment: %w", err)
	}
	d.cur = f
	d.segs = append(d.segs, &segment{n: num, path: path, size: st.Size()})
	d.bytes += st.Size()
	if dir, err := os.Open(d.dir); err == nil { // the new name survives a crash
		_ = dir.Sync()
		dir.Close()
	}
	return nil
}

// ack records that the entry seq of seg was applied, and deletes the
// segments that hold nothing pending any more.
func (d *disk) ack(seq uint64, seg *segment) error {
	seg.live--
	if _, err := d.append(record{kind: kindAck, seq: seq}); err != nil {
		return err
	}
	d.trim()
	return nil
}

// trim deletes the oldest segments while they are fully acknowledged (an
// ack in a newer segment may refer to an entry of an older one, so never
// out of order); the open one only when it is the last and empty of work.
func (d *disk) trim() {
	for len(d.segs) > 0 && d.segs[0].live == 0 {
		last := len(d.segs) == 1
		if last && d.cur != nil {
			_ = d.cur.Close()
			d.cur = nil
		}
		if err := os.Remove(d.segs[0].path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
		d.bytes -= d.segs[0].size
		d.segs = d.segs[1:]
	}
}

// scan reads the entries with seq above after from the segments, up to
// max: the entries spilled to disk while memory was full.
func (d *disk) scan(after uint64, max int) ([]Entry, []*segment, error) {
	var out []Entry
	var segs []*segment
	for _, seg := range d.segs {
		b, err := os.ReadFile(seg.path)
		if err != nil {
			return out, segs, fmt.Errorf("read spool segment: %w", err)
		}
		for off := 0; off < len(b) && len(out) < max; {
			r, n, err := decodeRecord(b[off:])
			if err != nil {
				break
			}
			off += n
			if r.kind == kindEntry && r.seq > after {
				out = append(out, r.entry)
				segs = append(segs, seg)
			}
		}
	}
	return out, segs, nil
}

// sync fsyncs the current segment if it was written since the last sync.
func (d *disk) sync() error {
	if !d.dirty || d.cur == nil {
		return nil
	}
	d.dirty = false
	return d.cur.Sync()
}

func (d *disk) close() {
	if d.cur != nil {
		_ = d.cur.Sync()
		_ = d.cur.Close()
		d.cur = nil
	}
	if d.lock != nil {
		_ = syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
		_ = d.lock.Close()
		d.lock = nil
	}
}
