package metrics_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/metrics/metricstest"
)

// observe records the same observations into r.
func observe(r metrics.Recorder) {
	r.Verification(metrics.Verification{Provider: "aws_s3", Kind: metrics.KindConfig, Passed: true, Duration: 300 * time.Millisecond})
	r.Verification(metrics.Verification{Provider: "aws_s3", Kind: metrics.KindBucket, Duration: 2 * time.Second,
		Failed: []metrics.Check{{Name: "write", Code: "access_denied"}, {Name: "delete", Code: "access_denied"}}})
	r.Verification(metrics.Verification{Provider: "azure_blob", Kind: metrics.KindConfig, Duration: 70 * time.Second,
		Failed: []metrics.Check{{Name: "list", Code: "bucket_not_found"}}})
	r.RateLimited("verify")
	r.RateLimited("verify")
	r.RateLimited("read")
	r.QueueAge("verify", 1500*time.Millisecond)
	r.QueueAge("reverify", -time.Second) // a clock skew is age 0
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func find(t *testing.T, f *dto.MetricFamily, want map[string]string) *dto.Metric {
	t.Helper()
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		ok := len(got) == len(want)
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return m
		}
	}
	t.Fatalf("%s has no series %v", f.GetName(), want)
	return nil
}

func TestPrometheusText(t *testing.T) {
	var r metrics.Registry
	// Before any observation, every metric is declared.
	var empty bytes.Buffer
	if err := r.WriteText(&empty); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{metrics.Verifications, metrics.CheckFailures, metrics.VerificationDuration, metrics.RateLimited, metrics.QueueAge} {
		if !strings.Contains(empty.String(), "# TYPE "+name+" ") {
			t.Errorf("%s is not declared before its first observation", name)
		}
	}
	metricstest.ParseText(t, empty.String())

	observe(&r)
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != metrics.ContentType {
		t.Errorf("content type %q", ct)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	fams := metricstest.ParseText(t, body.String())

	v := fams[metrics.Verifications]
	if v.GetType() != dto.MetricType_COUNTER || len(v.GetMetric()) != 3 {
		t.Fatalf("verifications: %v", v)
	}
	if got := find(t, v, map[string]string{"provider": "aws_s3", "kind": "bucket", "outcome": "failed"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("failed aws_s3 bucket verifications %v", got)
	}
	cf := fams[metrics.CheckFailures]
	if got := find(t, cf, map[string]string{"provider": "aws_s3", "check": "write", "code": "access_denied"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("write access_denied %v", got)
	}
	d := fams[metrics.VerificationDuration]
	h := find(t, d, map[string]string{"provider": "azure_blob", "kind": "config", "outcome": "failed"}).GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 70 {
		t.Errorf("duration histogram %v", h)
	}
	for _, b := range h.GetBucket() {
		// 70 s is above every bound: only +Inf (the count) holds it.
		if want := uint64(0); math.IsInf(b.GetUpperBound(), 1) {
			want = 1
			if b.GetCumulativeCount() != want {
				t.Errorf("bucket +Inf holds %d", b.GetCumulativeCount())
			}
		} else if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v holds %d", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
	h = find(t, d, map[string]string{"provider": "aws_s3", "kind": "config", "outcome": "passed"}).GetHistogram()
	for _, b := range h.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 0.3 {
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("0.3 s: bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if got := find(t, fams[metrics.RateLimited], map[string]string{"class": "verify"}).GetCounter().GetValue(); got != 2 {
		t.Errorf("rate limited verify %v", got)
	}
	qa := fams[metrics.QueueAge]
	if got := find(t, qa, map[string]string{"kind": "verify"}).GetHistogram().GetSampleSum(); got != 1.5 {
		t.Errorf("queue age sum %v", got)
	}
	if got := find(t, qa, map[string]string{"kind": "reverify"}).GetHistogram().GetSampleSum(); got != 0 {
		t.Errorf("negative age recorded as %v", got)
	}
}

// However many distinct values arrive, the registry keeps at most
// MaxSeries series and counts what it dropped.
func TestPrometheusSeriesBound(t *testing.T) {
	var r metrics.Registry
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range metrics.MaxSeries {
				r.Verification(metrics.Verification{Provider: "aws_s3", Kind: "config",
					Failed: []metrics.Check{{Name: "list", Code: fmt.Sprintf("code-%d-%d", g, i)}}})
			}
		}()
	}
	wg.Wait()
	var out bytes.Buffer
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	fams := metricstest.ParseText(t, out.String())
	n := 0
	for name, f := range fams {
		if name == "bucketlink_metrics_dropped_total" {
			continue
		}
		n += len(f.GetMetric())
	}
	if n > metrics.MaxSeries {
		t.Errorf("%d series, limit %d", n, metrics.MaxSeries)
	}
	if d := fams["bucketlink_metrics_dropped_total"].GetMetric()[0].GetCounter().GetValue(); d == 0 {
		t.Error("nothing counted as dropped")
	}
}

func TestEMFLines(t *testing.T) {
	var out bytes.Buffer
	e := &metrics.EMF{W: &out, Now: func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }}
	observe(e)
	var got []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		names, dims := metricstest.CheckEMF(t, sc.Bytes())
		keys := []string{}
		for _, k := range metricstest.DimensionNames {
			if v, ok := dims[k]; ok {
				keys = append(keys, k+"="+v)
			}
		}
		got = append(got, strings.Join(names, "+")+" "+strings.Join(keys, ","))
	}
	want := []string{
		"bucketlink_verifications_total+bucketlink_verification_duration_seconds provider=aws_s3,kind=config,outcome=passed",
		"bucketlink_verifications_total+bucketlink_verification_duration_seconds provider=aws_s3,kind=bucket,outcome=failed",
		"bucketlink_check_failures_total provider=aws_s3,check=write,code=access_denied",
		"bucketlink_check_failures_total provider=aws_s3,check=delete,code=access_denied",
		"bucketlink_verifications_total+bucketlink_verification_duration_seconds provider=azure_blob,kind=config,outcome=failed",
		"bucketlink_check_failures_total provider=azure_blob,check=list,code=bucket_not_found",
		"bucketlink_rate_limited_requests_total class=verify",
		"bucketlink_rate_limited_requests_total class=verify",
		"bucketlink_rate_limited_requests_total class=read",
		"bucketlink_queue_age_seconds kind=verify",
		"bucketlink_queue_age_seconds kind=reverify",
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Concurrent observations never interleave two lines.
func TestEMFConcurrent(t *testing.T) {
	var out bytes.Buffer
	e := &metrics.EMF{W: &out}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				observe(e)
			}
		}()
	}
	wg.Wait()
	n := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		metricstest.CheckEMF(t, sc.Bytes())
		n++
	}
	if n != 8*50*11 {
		t.Errorf("%d lines, want %d", n, 8*50*11)
	}
}
