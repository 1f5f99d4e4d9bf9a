package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// profileLater fetches the edge's CPU profile (seconds long) and then its
// heap profile, starting after delay, into dir/<name>-{cpu,heap}.pprof.
// It returns at once; the returned channel is closed when done.
func profileLater(baseURL, dir, name string, delay time.Duration, seconds int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(delay)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return
		}
		name = strings.NewReplacer(" ", "-", "/", "-").Replace(name)
		_ = fetch(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", baseURL, seconds), filepath.Join(dir, name+"-cpu.pprof"), time.Duration(seconds+10)*time.Second)
		_ = fetch(baseURL+"/debug/pprof/heap", filepath.Join(dir, name+"-heap.pprof"), 10*time.Second)
	}()
	return done
}

func fetch(url, path string, timeout time.Duration) error {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
