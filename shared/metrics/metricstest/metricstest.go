// Package metricstest reads what package metrics writes, the way its
// consumers do, for tests: Prometheus text with the Prometheus project's
// own parser, and EMF lines held to the rules of CloudWatch's
// specification.
package metricstest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// ParseText parses Prometheus text exposition with the Prometheus
// project's parser (expfmt), failing t when it does not parse.
func ParseText(t testing.TB, text string) map[string]*dto.MetricFamily {
	t.Helper()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the text does not parse: %v\n%s", err, text)
	}
	return fams
}

// DimensionNames are every dimension bucketlink uses: closed sets, none
// naming a config, org or key.
var DimensionNames = []string{"provider", "kind", "outcome", "check", "code", "class"}

// emfUnits are the units CloudWatch accepts
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html).
var emfUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// CheckEMF holds one line to the rules of the EMF specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// a JSON object with an _aws member holding an integer Timestamp (ms) and
// CloudWatchMetrics directives; each directive's Namespace is set, it has
// at most 30 dimensions per set and 100 metrics; every dimension names a
// string member of the root, every metric a number member. It returns the
// metric names and the dimension values.
func CheckEMF(t testing.TB, line []byte) (names []string, dims map[string]string) {
	t.Helper()
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, line)
	}
	var meta struct {
		Timestamp         *json.Number `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	d := json.NewDecoder(bytes.NewReader(root["_aws"]))
	d.UseNumber()
	d.DisallowUnknownFields()
	if err := d.Decode(&meta); err != nil {
		t.Fatalf("_aws: %v: %s", err, line)
	}
	if meta.Timestamp == nil {
		t.Fatalf("no Timestamp: %s", line)
	}
	if ms, err := meta.Timestamp.Int64(); err != nil || ms < 1e12 {
		t.Errorf("Timestamp %v is not epoch milliseconds", meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		t.Fatalf("no directive: %s", line)
	}
	dims = map[string]string{}
	for _, dir := range meta.CloudWatchMetrics {
		if dir.Namespace == "" || len(dir.Metrics) == 0 || len(dir.Metrics) > 100 {
			t.Errorf("directive %+v", dir)
		}
		for _, set := range dir.Dimensions {
			if len(set) > 30 {
				t.Errorf("%d dimensions", len(set))
			}
			for _, name := range set {
				var v string
				if err := json.Unmarshal(root[name], &v); err != nil {
					t.Errorf("dimension %s is not a string member: %s", name, line)
				}
				if !slices.Contains(DimensionNames, name) {
					t.Errorf("dimension %s is not one of %v", name, DimensionNames)
				}
				dims[name] = v
			}
		}
		for _, m := range dir.Metrics {
			var f float64
			if err := json.Unmarshal(root[m.Name], &f); err != nil {
				t.Errorf("metric %s is not a number member: %s", m.Name, line)
			}
			if !slices.Contains(emfUnits, m.Unit) {
				t.Errorf("metric %s: unit %q", m.Name, m.Unit)
			}
			names = append(names, m.Name)
		}
	}
	return names, dims
}
