package reverify_test

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// memPeak is the highest memory figures a memSampler saw.
type memPeak struct {
	heapInuse uint64 // runtime.MemStats.HeapInuse
	sys       uint64 // runtime.MemStats.Sys
	rss       uint64 // VmRSS of /proc/self/status; 0 where there is none
}

// memSampler samples the process's memory every period until stop.
type memSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak memPeak
}

// startMemSampler takes a first sample at once, then one every period.
func startMemSampler(period time.Duration) *memSampler {
	s := &memSampler{done: make(chan struct{})}
	s.sample()
	s.wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	})
	return s
}

func (s *memSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := readRSS()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak.heapInuse = max(s.peak.heapInuse, ms.HeapInuse)
	s.peak.sys = max(s.peak.sys, ms.Sys)
	s.peak.rss = max(s.peak.rss, rss)
}

// stop takes a last sample and returns the peaks.
func (s *memSampler) stop() memPeak {
	close(s.done)
	s.wg.Wait()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// readRSS returns the process's resident set size in bytes from
// /proc/self/status, or 0 when it cannot be read (not Linux).
func readRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("VmRSS:")) {
			continue
		}
		fields := bytes.Fields(line[len("VmRSS:"):])
		if len(fields) < 1 {
			return 0
		}
		kb, err := strconv.ParseUint(string(fields[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
