package anyblob_test

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/verify"
)

// heapMetric is the heap's live and not yet swept objects: what
// runtime.MemStats calls HeapAlloc, read without stopping the world.
const heapMetric = "/memory/classes/heap/objects:bytes"

// peakHeap runs f and returns how far the heap rose above its level
// before f (after a collection), sampled every millisecond.
func peakHeap(f func()) uint64 {
	runtime.GC()
	base := heapNow()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if h := heapNow(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	if h := heapNow(); h > peak.Load() {
		peak.Store(h)
	}
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// resetPeakRSS returns freed memory to the system and resets the
// process's peak RSS (VmHWM) to its current RSS (Linux: writing 5 to
// /proc/self/clear_refs), and reports whether it could.
func resetPeakRSS() bool {
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// rss returns the process's current (VmRSS) and peak (VmHWM) resident set
// in bytes, or zeros where /proc/self/status is not available.
func rss() (current, peak uint64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if name == "VmRSS" {
			current = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return current, peak
}

// TestHostileEndpointMemory is the memory contract: one verification
// against a server answering 300 MB error bodies raises neither the heap
// nor the process's resident set by 100 MB.
func TestHostileEndpointMemory(t *testing.T) {
	for _, target := range []hostileTarget{s3Target, azureTarget} {
		t.Run(target.provider, func(t *testing.T) {
			handler := s3Denied(300 * mib)
			if target.provider == "azure_blob" {
				handler = azureBadRequest(300 * mib)
			}
			srv := hostileServer(t, handler)
			opener, cfg, creds := target.open(t, srv.URL)
			v := &verify.Verifier{Opener: opener}

			canRSS := resetPeakRSS()
			before, _ := rss()
			var res verify.Result
			heap := peakHeap(func() { res = v.Verify(t.Context(), cfg, creds) })
			_, peakRSS := rss()
			wantTooLarge(t, res, target.field, false)

			t.Logf("heap peak +%.1f MiB", float64(heap)/mib)
			if heap > heapBudget {
				t.Errorf("the heap grew by %.0f MiB during the verification, more than %d MiB", float64(heap)/mib, heapBudget/mib)
			}
			if !canRSS || peakRSS == 0 {
				t.Logf("peak RSS not measurable here (no /proc/self/clear_refs)")
				return
			}
			grew := int64(peakRSS) - int64(before)
			t.Logf("RSS %.1f MiB before, peak %.1f MiB (+%.1f MiB)", float64(before)/mib, float64(peakRSS)/mib, float64(grew)/mib)
			if grew > heapBudget {
				t.Errorf("the resident set grew by %.0f MiB during the verification, more than %d MiB", float64(grew)/mib, heapBudget/mib)
			}
		})
	}
}

// BenchmarkHostileEndpoint runs 1 and 50 verifications (VerifyBucket,
// the bucket-verify run) at once against a server answering every request
// with a 300 MB error body, and 5 (a verify-worker batch) and 50 against
// one answering listings without end (and 50 of Verify, the checks of
// create, test and re-verification, against it), and reports the peak heap growth
// and the peak resident set of the process, and the share of
// verifications that ended in response_too_large. Every error-body
// verification must; a listing is parsed by the SDK up to the limit, CPU
// work that 50 at once on two cores may not finish within the call
// timeout (they then end in endpoint_unreachable, memory bounded all the
// same).
func BenchmarkHostileEndpoint(b *testing.B) {
	type bench struct {
		name    string
		target  hostileTarget
		handler http.HandlerFunc
		n       int
		listing bool
		// checks runs Verify (create, test, re-verification: 11 keys
		// listed) instead of VerifyBucket (bucket-verify: 1,000).
		checks bool
	}
	var benches []bench
	for _, n := range []int{1, 50} {
		benches = append(benches,
			bench{"s3_compatible 300 MB error/" + strconv.Itoa(n), s3Target, s3Denied(300 * mib), n, false, false},
			bench{"azure_blob 300 MB error/" + strconv.Itoa(n), azureTarget, azureBadRequest(300 * mib), n, false, false})
	}
	for _, n := range []int{5, 50} {
		benches = append(benches,
			bench{"s3_compatible endless listing/" + strconv.Itoa(n), s3Target, s3Listing(), n, true, false},
			bench{"azure_blob endless listing/" + strconv.Itoa(n), azureTarget, azureListing(), n, true, false})
	}
	benches = append(benches,
		bench{"s3_compatible endless listing, Verify/50", s3Target, s3Listing(), 50, true, true},
		bench{"azure_blob endless listing, Verify/50", azureTarget, azureListing(), 50, true, true})
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			srv := hostileServer(b, bc.handler)
			opener, cfg, creds := bc.target.open(b, srv.URL)
			v := &verify.Verifier{Opener: opener}

			canRSS := resetPeakRSS()
			before, _ := rss()
			var failed, runs atomic.Int64
			b.ResetTimer()
			heap := peakHeap(func() {
				for b.Loop() {
					var wg sync.WaitGroup
					for range bc.n {
						wg.Go(func() {
							var res verify.Result
							if bc.checks {
								res = v.Verify(b.Context(), cfg, creds)
							} else {
								res = v.VerifyBucket(b.Context(), cfg, creds).Result
							}
							runs.Add(1)
							if res.Checks[0].Code != "response_too_large" && failed.Add(1) == 1 {
								b.Logf("first other outcome: %+v", res.Checks[0])
							}
						})
					}
					wg.Wait()
				}
			})
			b.StopTimer()
			if f := failed.Load(); f > 0 && !bc.listing {
				b.Fatalf("%d verifications did not fail with response_too_large", f)
			}
			b.ReportMetric(1-float64(failed.Load())/float64(runs.Load()), "too-large-share")
			b.ReportMetric(float64(heap)/mib, "peak-heap-MiB")
			if _, peak := rss(); canRSS && peak > 0 {
				b.ReportMetric(float64(peak)/mib, "peak-RSS-MiB")
				b.ReportMetric(float64(int64(peak)-int64(before))/mib, "RSS-growth-MiB")
			}
		})
	}
}
