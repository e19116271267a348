package awsapp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWithDeadlineMargin(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration // 0: none
		want     time.Duration // remaining time the handler sees, about
	}{
		{name: "no deadline", deadline: 0},
		{name: "lambda deadline", deadline: 10 * time.Second, want: 9 * time.Second},
		{name: "deadline inside the margin", deadline: 500 * time.Millisecond, want: -500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got time.Time
			var had bool
			h := withDeadlineMargin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, had = r.Context().Deadline()
			}), time.Second)
			req := httptest.NewRequest("GET", "/", nil)
			start := time.Now()
			if tt.deadline > 0 {
				ctx, cancel := context.WithTimeout(req.Context(), tt.deadline)
				defer cancel()
				req = req.WithContext(ctx)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if had != (tt.deadline > 0) {
				t.Fatalf("handler deadline present = %v", had)
			}
			if !had {
				return
			}
			if d := got.Sub(start); d < tt.want-100*time.Millisecond || d > tt.want+100*time.Millisecond {
				t.Errorf("handler deadline in %s, want about %s", d, tt.want)
			}
		})
	}
}
