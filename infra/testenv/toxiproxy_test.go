package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestToxiproxy proves a proxy forwards to its upstream, that a latency
// toxic delays each round trip by its latency (downstream once; both
// directions twice), and that removing it takes the latency away.
func TestToxiproxy(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "pong")
	}))
	t.Cleanup(upstream.Close)
	tp := StartToxiproxy(t)
	p := tp.NewProxy(t, upstream.URL)
	if p.Upstream != upstream.Listener.Addr().String() || p.Listen == "" || p.Listen == "127.0.0.1:0" {
		t.Fatalf("proxy = %+v, want a listen port and upstream %s", p, upstream.Listener.Addr())
	}
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	// roundTrip returns the time of one request on a warm connection.
	roundTrip := func(t *testing.T) time.Duration {
		t.Helper()
		start := time.Now()
		resp, err := client.Get(p.URL() + "/ping")
		if err != nil {
			t.Fatalf("GET through the proxy: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "pong" {
			t.Fatalf("GET through the proxy = %q, %v; want pong", body, err)
		}
		return time.Since(start)
	}
	const latency = 100 * time.Millisecond
	tests := []struct {
		name     string
		streams  []Stream
		min, max time.Duration
	}{
		{name: "no toxic", min: 0, max: latency / 2},
		{name: "downstream", streams: []Stream{Downstream}, min: latency, max: latency + latency*3/2},
		{name: "both directions", streams: []Stream{Downstream, Upstream}, min: 2 * latency, max: 2*latency + latency*3/2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.streams {
				p.AddLatency(t, "latency_"+string(s), s, latency)
				t.Cleanup(func() { p.RemoveToxic(t, "latency_"+string(s)) })
			}
			roundTrip(t) // opens the connection
			if d := roundTrip(t); d < tt.min || d > tt.max {
				t.Errorf("round trip took %s, want between %s and %s", d, tt.min, tt.max)
			}
		})
	}
	t.Run("removed", func(t *testing.T) {
		roundTrip(t)
		if d := roundTrip(t); d > latency/2 {
			t.Errorf("round trip after removing the toxics took %s, want under %s", d, latency/2)
		}
	})
}
