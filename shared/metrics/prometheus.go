package metrics

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bucket bounds of the two histograms, in seconds.
var (
	durationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60}
	queueAgeBuckets = []float64{0.1, 0.5, 1, 5, 10, 30, 60, 300, 900}
)

// help is the HELP line of each metric, and its type.
var help = map[string]struct{ typ, text string }{
	Verifications:        {"counter", "Verifications that ran, by provider, kind and outcome."},
	CheckFailures:        {"counter", "Failed checks, by provider, check and code."},
	VerificationDuration: {"histogram", "Wall time of a verification, by provider, kind and outcome."},
	RateLimited:          {"counter", "Requests answered 429, by route class."},
	QueueAge:             {"histogram", "Time a verify-queue message waited before a worker took it, by kind."},
	droppedSeries:        {"counter", "Observations dropped because a metric reached its series limit."},
}

// droppedSeries counts what a full Registry could not keep.
const droppedSeries = "bucketlink_metrics_dropped_total"

// MaxSeries bounds the series of one Registry. Its dimensions are closed
// sets far smaller than this; the bound is there so that no bug can turn
// the registry into unbounded memory.
const MaxSeries = 4096

// Registry keeps the observations in memory and writes them in the
// Prometheus text exposition format (version 0.0.4). Its zero value is
// ready to use.
type Registry struct {
	mu      sync.Mutex
	series  map[string]*series // by name and labels
	dropped float64
}

// series is one metric with one set of label values: a counter (value)
// or a histogram (counts per bucket, sum, count).
type series struct {
	name   string
	labels [][2]string // sorted by name
	value  float64
	bounds []float64
	counts []uint64 // per bound, not cumulative
	sum    float64
	count  uint64
}

// Verification implements Recorder.
func (r *Registry) Verification(v Verification) {
	p, k, o := label(v.Provider), label(v.Kind), v.Outcome()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(Verifications, 1, "provider", p, "kind", k, "outcome", o)
	r.observe(VerificationDuration, durationBuckets, v.Duration.Seconds(), "provider", p, "kind", k, "outcome", o)
	for _, c := range v.Failed {
		r.add(CheckFailures, 1, "provider", p, "check", label(c.Name), "code", label(c.Code))
	}
}

// RateLimited implements Recorder.
func (r *Registry) RateLimited(class string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(RateLimited, 1, "class", label(class))
}

// QueueAge implements Recorder.
func (r *Registry) QueueAge(kind string, age time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observe(QueueAge, queueAgeBuckets, max(age, 0).Seconds(), "kind", label(kind))
}

// get returns the series of name with the label pairs kv, making it if
// there is room; nil when the registry is full. r.mu is held.
func (r *Registry) get(name string, bounds []float64, kv ...string) *series {
	labels := make([][2]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		labels = append(labels, [2]string{kv[i], kv[i+1]})
	}
	slices.SortFunc(labels, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var key strings.Builder
	key.WriteString(name)
	for _, l := range labels {
		key.WriteString("\x00" + l[0] + "\x00" + l[1])
	}
	if s, ok := r.series[key.String()]; ok {
		return s
	}
	if len(r.series) >= MaxSeries {
		r.dropped++
		return nil
	}
	if r.series == nil {
		r.series = map[string]*series{}
	}
	s := &series{name: name, labels: labels, bounds: bounds}
	if bounds != nil {
		s.counts = make([]uint64, len(bounds))
	}
	r.series[key.String()] = s
	return s
}

// add adds delta to a counter. r.mu is held.
func (r *Registry) add(name string, delta float64, kv ...string) {
	if s := r.get(name, nil, kv...); s != nil {
		s.value += delta
	}
}

// observe adds v to a histogram. r.mu is held.
func (r *Registry) observe(name string, bounds []float64, v float64, kv ...string) {
	s := r.get(name, bounds, kv...)
	if s == nil {
		return
	}
	for i, b := range bounds {
		if v <= b {
			s.counts[i]++
			break
		}
	}
	s.sum += v
	s.count++
}

// ContentType is the media type of WriteText's output.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes every metric in the Prometheus text format: each
// metric's HELP and TYPE lines, then its series in a stable order. The
// metrics bucketlink defines appear even before their first observation
// (a counter with no series has no sample line).
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	byName := map[string][]*series{}
	for _, s := range r.series {
		c := *s
		c.counts = slices.Clone(s.counts)
		byName[s.name] = append(byName[s.name], &c)
	}
	dropped := r.dropped
	r.mu.Unlock()

	var b strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range help {
			if !yield(n) {
				return
			}
		}
	}) {
		h := help[name]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, h.text, name, h.typ)
		if name == droppedSeries {
			fmt.Fprintf(&b, "%s %s\n", name, formatFloat(dropped))
			continue
		}
		ss := byName[name]
		slices.SortFunc(ss, func(a, b *series) int { return strings.Compare(labelText(a.labels, ""), labelText(b.labels, "")) })
		for _, s := range ss {
			if s.bounds == nil {
				fmt.Fprintf(&b, "%s%s %s\n", name, labelText(s.labels, ""), formatFloat(s.value))
				continue
			}
			var cum uint64
			for i, bound := range s.bounds {
				cum += s.counts[i]
				fmt.Fprintf(&b, "%s_bucket%s %d\n", name, labelText(s.labels, formatFloat(bound)), cum)
			}
			fmt.Fprintf(&b, "%s_bucket%s %d\n", name, labelText(s.labels, "+Inf"), s.count)
			fmt.Fprintf(&b, "%s_sum%s %s\n", name, labelText(s.labels, ""), formatFloat(s.sum))
			fmt.Fprintf(&b, "%s_count%s %d\n", name, labelText(s.labels, ""), s.count)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Handler serves WriteText (GET /metrics).
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		_ = r.WriteText(w)
	})
}

// labelText renders {a="x",b="y"}, with le="<le>" last when le is set; ""
// when there are no labels.
func labelText(labels [][2]string, le string) string {
	if len(labels) == 0 && le == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l[0] + `="` + escapeLabel(l[1]) + `"`)
	}
	if le != "" {
		if len(labels) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`le="` + le + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// escapeLabel escapes a label value as the text format requires:
// backslash, double quote and line feed.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
