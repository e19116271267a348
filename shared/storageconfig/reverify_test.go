package storageconfig

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/provider/s3"
)

func TestNextDue(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		interval time.Duration
		failures int
		want     time.Duration // after now; -1: the zero time
	}{
		{"off", 0, 0, -1},
		{"off while failing", 0, 3, -1},
		{"negative interval is off", -time.Hour, 0, -1},
		{"healthy", time.Hour, 0, time.Hour},
		{"healthy, weekly", MaxReverifyInterval, 0, MaxReverifyInterval},
		{"first failure", time.Hour, 1, 5 * time.Minute},
		{"second failure", time.Hour, 2, 10 * time.Minute},
		{"third failure", time.Hour, 3, 20 * time.Minute},
		{"fourth failure", time.Hour, 4, 40 * time.Minute},
		{"fifth failure: capped at the interval", time.Hour, 5, time.Hour},
		{"many failures: still the interval", time.Hour, 1000, time.Hour},
		{"short interval caps the first retry", 15 * time.Minute, 3, 15 * time.Minute},
		{"weekly, tenth failure", MaxReverifyInterval, 10, 5 * time.Minute << 9},
		{"weekly, many failures", MaxReverifyInterval, 60, MaxReverifyInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextDue(now, tt.interval, tt.failures)
			if tt.want < 0 {
				if !got.IsZero() {
					t.Fatalf("NextDue = %v, want the zero time", got)
				}
				return
			}
			if d := got.Sub(now); d != tt.want {
				t.Fatalf("NextDue = now+%v, want now+%v", d, tt.want)
			}
		})
	}
}

func TestParseCreateReverifyInterval(t *testing.T) {
	tests := []struct {
		name    string
		value   any // nil: left out; "null": JSON null
		want    time.Duration
		wantErr string
	}{
		{"left out: the default", nil, DefaultReverifyInterval, ""},
		{"null: off", "null", 0, ""},
		{"minimum", 900, 15 * time.Minute, ""},
		{"maximum", 604800, MaxReverifyInterval, ""},
		{"below the minimum", 899, 0, "from 900"},
		{"above the maximum", 604801, 0, "from 900"},
		{"zero", 0, 0, "from 900"},
		{"negative", -3600, 0, "from 900"},
		{"fraction", 3600.5, 0, "valid integer"},
		{"string", "3600", 0, "valid integer"},
		{"bool", true, 0, "valid integer"},
		{"huge", 1e30, 0, "valid integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := map[string]any{}
			if err := json.Unmarshal(body(t, nil), &raw); err != nil {
				t.Fatal(err)
			}
			switch tt.value {
			case nil:
			case "null":
				raw[fieldReverifyInterval] = nil
			default:
				raw[fieldReverifyInterval] = tt.value
			}
			b, _ := json.Marshal(raw)
			c, _, err := ParseCreate(b)
			if tt.wantErr != "" {
				var fe errcode.FieldErrors
				if !errors.As(err, &fe) || len(fe) != 1 || !strings.Contains(strings.Join(fe[fieldReverifyInterval], " "), tt.wantErr) {
					t.Fatalf("ParseCreate: got %v, want only %s: %q", err, fieldReverifyInterval, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCreate: %v", err)
			}
			if c.ReverifyInterval != tt.want {
				t.Errorf("ReverifyInterval = %v, want %v", c.ReverifyInterval, tt.want)
			}
			if !c.NextReverifyAt.IsZero() || c.ReverifyFailures != 0 {
				t.Errorf("ParseCreate scheduled the config: next %v, failures %d", c.NextReverifyAt, c.ReverifyFailures)
			}
		})
	}
}

func TestParsePatch(t *testing.T) {
	hour := time.Hour
	tests := []struct {
		name     string
		body     string
		wantName *string
		wantIvl  *time.Duration
		wantErrs map[string]string // field -> substring of its first message
	}{
		{"empty object", `{}`, nil, nil, nil},
		{"rename", `{"name": "  New name "}`, new("New name"), nil, nil},
		{"interval", `{"reverify_interval_seconds": 3600}`, nil, &hour, nil},
		{"switch off", `{"reverify_interval_seconds": null}`, nil, new(time.Duration(0)), nil},
		{"both", `{"name": "x", "reverify_interval_seconds": 3600}`, new("x"), &hour, nil},
		{"interval out of range", `{"reverify_interval_seconds": 60}`, nil, nil,
			map[string]string{fieldReverifyInterval: "from 900"}},
		{"blank name", `{"name": " "}`, nil, nil, map[string]string{"name": "may not be blank"}},
		{"null name", `{"name": null}`, nil, nil, map[string]string{"name": "may not be null"}},
		{"type errors of provider fields too, all named at once", `{"s3_bucket_name": 7, "s3_is_accelerated": "yes", "s3_secret_access_key": null, "name": 7}`,
			nil, nil, map[string]string{
				"s3_bucket_name": "Not a valid string", "s3_is_accelerated": "valid boolean",
				"name": "Not a valid string"}},
		{"unknown field", `{"colour": "blue", "reverify_interval_seconds": "soon"}`, nil, nil,
			map[string]string{"colour": "Unknown field", fieldReverifyInterval: "valid integer"}},
		{"not an object", `[1]`, nil, nil, map[string]string{errcode.NonField: "JSON object"}},
		{"malformed", `{"name": `, nil, nil, map[string]string{errcode.NonField: "Malformed JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePatch([]byte(tt.body))
			if tt.wantErrs != nil {
				wantFieldErrors(t, err, tt.wantErrs)
				return
			}
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			if !equalPtr(p.Name, tt.wantName) || !equalPtr(p.ReverifyInterval, tt.wantIvl) {
				t.Errorf("patch = name %v interval %v, want %v %v", deref(p.Name), deref(p.ReverifyInterval), deref(tt.wantName), deref(tt.wantIvl))
			}
			if p.Empty() != (tt.wantName == nil && tt.wantIvl == nil) {
				t.Errorf("Empty() = %v", p.Empty())
			}
		})
	}
}

func equalPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestPatchApply(t *testing.T) {
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now := created.Add(10 * time.Minute)
	base := func() *Config {
		c := &Config{Name: "a", IsVerified: true, LastVerifiedAt: created, CreatedAt: created, UpdatedAt: created}
		c.ReverifyInterval = time.Hour
		c.NextReverifyAt = NextDue(created, time.Hour, 0)
		return c
	}
	off, short, long := time.Duration(0), 15*time.Minute, 2*time.Hour
	tests := []struct {
		name        string
		patch       Patch
		wantChanged bool
		wantIvl     time.Duration
		wantNext    time.Time
	}{
		{"nothing", Patch{}, false, time.Hour, created.Add(time.Hour)},
		{"same name", Patch{Name: new("a")}, false, time.Hour, created.Add(time.Hour)},
		{"rename keeps the schedule", Patch{Name: new("b")}, true, time.Hour, created.Add(time.Hour)},
		{"off clears next", Patch{ReverifyInterval: &off}, true, 0, time.Time{}},
		{"shorter: due from the last verification", Patch{ReverifyInterval: &short}, true, short, created.Add(short)},
		{"longer", Patch{ReverifyInterval: &long}, true, long, created.Add(long)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			if got := tt.patch.Apply(c, now); got != tt.wantChanged {
				t.Errorf("changed = %v, want %v", got, tt.wantChanged)
			}
			if c.ReverifyInterval != tt.wantIvl || !c.NextReverifyAt.Equal(tt.wantNext) {
				t.Errorf("schedule = %v next %v, want %v next %v", c.ReverifyInterval, c.NextReverifyAt, tt.wantIvl, tt.wantNext)
			}
			if wantUpdated := map[bool]time.Time{true: now, false: created}[tt.wantChanged]; !c.UpdatedAt.Equal(wantUpdated) {
				t.Errorf("UpdatedAt = %v, want %v", c.UpdatedAt, wantUpdated)
			}
			if c.Reverifies() != (tt.wantIvl > 0) {
				t.Errorf("Reverifies() = %v", c.Reverifies())
			}
		})
	}

	// Switching back on without any verification: due one interval from now.
	c := &Config{CreatedAt: created}
	Patch{ReverifyInterval: &short}.Apply(c, now)
	if !c.NextReverifyAt.Equal(now.Add(short)) {
		t.Errorf("never verified: next = %v, want %v", c.NextReverifyAt, now.Add(short))
	}
}

func TestRecordVerification(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	c := &Config{IsVerified: true, ReverifyInterval: time.Hour, NextReverifyAt: t0}
	steps := []struct {
		ok          bool
		wantChanged bool
		wantFails   int
		wantAfter   time.Duration
	}{
		{true, false, 0, time.Hour},
		{false, true, 1, 5 * time.Minute},
		{false, false, 2, 10 * time.Minute},
		{true, true, 0, time.Hour},
	}
	for i, s := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		if got := c.RecordVerification(now, s.ok); got != s.wantChanged {
			t.Errorf("step %d: changed = %v, want %v", i, got, s.wantChanged)
		}
		if c.IsVerified != s.ok || !c.LastVerifiedAt.Equal(now) || !c.UpdatedAt.Equal(now) ||
			c.ReverifyFailures != s.wantFails || !c.NextReverifyAt.Equal(now.Add(s.wantAfter)) {
			t.Errorf("step %d: config = verified %v at %v, failures %d, next %v", i, c.IsVerified, c.LastVerifiedAt, c.ReverifyFailures, c.NextReverifyAt)
		}
	}
	// Off: failures still count, nothing is scheduled.
	c.ReverifyInterval = 0
	c.RecordVerification(t0, false)
	if !c.NextReverifyAt.IsZero() || c.ReverifyFailures != 1 {
		t.Errorf("off: next %v failures %d", c.NextReverifyAt, c.ReverifyFailures)
	}
}

func TestToResponseReverify(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	on := &Config{Provider: s3.NameAWS, ReverifyInterval: 2 * time.Hour, NextReverifyAt: now}
	off := &Config{Provider: s3.NameAWS}
	for _, tt := range []struct {
		name     string
		c        *Config
		wantIvl  any
		wantNext any
	}{
		{"on", on, float64(7200), "2025-06-01T12:00:00Z"},
		{"off", off, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(ToResponse(tt.c))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]any{"reverify_interval_seconds": tt.wantIvl, "next_reverify_at": tt.wantNext} {
				got, present := m[k]
				if !present || got != want {
					t.Errorf("%s = %v (present %v), want %v", k, got, present, want)
				}
			}
		})
	}
}

// wantFieldErrors checks that err is field errors on exactly the fields of
// want, the first message of each containing want's text.
func wantFieldErrors(t *testing.T, err error, want map[string]string) {
	t.Helper()
	var fe errcode.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want field errors", err)
	}
	if got, wantFields := slices.Sorted(maps.Keys(fe)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, wantFields) {
		t.Fatalf("fields = %v, want %v (%v)", got, wantFields, fe)
	}
	for f, sub := range want {
		if !strings.Contains(fe[f][0], sub) {
			t.Errorf("%s: %q does not contain %q", f, fe[f][0], sub)
		}
	}
}
