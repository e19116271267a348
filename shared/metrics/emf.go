package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of the EMF metrics.
const Namespace = "bucketlink"

// EMF writes each observation as one line of CloudWatch's Embedded Metric
// Format
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// a JSON object whose _aws member names the metrics and their dimension
// sets, the values and dimension values being members of the object. On
// Lambda, lines written to the function's output reach CloudWatch Logs,
// which extracts the metrics; no API call, no agent.
type EMF struct {
	// W receives the lines (os.Stdout on Lambda). Writes are serialised.
	W io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
}

// emfMetric is one entry of a directive's Metrics.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emfDirective is one entry of _aws.CloudWatchMetrics.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Verification implements Recorder: one line with the count and the
// duration (in milliseconds) by provider, kind and outcome, then one line
// per failed check by provider, check and code.
func (e *EMF) Verification(v Verification) {
	p, k, o := label(v.Provider), label(v.Kind), v.Outcome()
	e.write([]string{"provider", "kind", "outcome"}, map[string]any{
		"provider": p, "kind": k, "outcome": o,
		Verifications: 1, VerificationDuration: float64(v.Duration) / float64(time.Millisecond),
	}, emfMetric{Verifications, "Count"}, emfMetric{VerificationDuration, "Milliseconds"})
	for _, c := range v.Failed {
		e.write([]string{"provider", "check", "code"}, map[string]any{
			"provider": p, "check": label(c.Name), "code": label(c.Code), CheckFailures: 1,
		}, emfMetric{CheckFailures, "Count"})
	}
}

// RateLimited implements Recorder.
func (e *EMF) RateLimited(class string) {
	e.write([]string{"class"}, map[string]any{"class": label(class), RateLimited: 1}, emfMetric{RateLimited, "Count"})
}

// QueueAge implements Recorder.
func (e *EMF) QueueAge(kind string, age time.Duration) {
	e.write([]string{"kind"}, map[string]any{"kind": label(kind), QueueAge: max(age, 0).Seconds()}, emfMetric{QueueAge, "Seconds"})
}

// write writes one EMF line: the members, and the directive naming the
// metrics with the one dimension set dims.
func (e *EMF) write(dims []string, members map[string]any, metrics ...emfMetric) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	members["_aws"] = emfMeta{
		Timestamp:         now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{Namespace: Namespace, Dimensions: [][]string{dims}, Metrics: metrics}},
	}
	line, err := json.Marshal(members)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.W.Write(append(line, '\n'))
}
