package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// minSweep is the number of buckets below which Memory never sweeps.
const minSweep = 1024

// Memory is the Limiter of one process: the buckets in a map. Memory is
// bounded: a bucket whose TAT has passed is full, which is what a missing
// entry means, so a sweep drops it. A sweep runs when the map has doubled
// since the last one (amortized O(1) a request), so the map holds at most
// about twice the buckets used within the last Burst/rate (30 s with the
// default limits), and never fewer than minSweep before a sweep.
type Memory struct {
	limits Limits

	mu      sync.Mutex
	buckets map[memoryKey]time.Time // TATs
	sweepAt int                     // sweep when len(buckets) reaches it
}

type memoryKey struct {
	key   string
	class Class
}

// NewMemory returns a Memory with limits, which must be valid.
func NewMemory(limits Limits) (*Memory, error) {
	if err := limits.Validate(); err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	return &Memory{limits: limits, buckets: map[memoryKey]time.Time{}, sweepAt: minSweep}, nil
}

// Take implements Limiter; it never fails but for an empty key.
func (m *Memory) Take(_ context.Context, key string, class Class, now time.Time) (Decision, error) {
	rate := m.limits.Of(class)
	if rate.Off() {
		return Unlimited, nil
	}
	if key == "" {
		return Decision{}, ErrNoKey
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memoryKey{key, class}
	d, tat := rate.Admit(m.buckets[k], now)
	if d.Allowed {
		m.buckets[k] = tat
	}
	if len(m.buckets) >= m.sweepAt {
		m.sweep(now)
	}
	return d, nil
}

// sweep drops the buckets that are full at now.
func (m *Memory) sweep(now time.Time) {
	for k, tat := range m.buckets {
		if !tat.After(now) {
			delete(m.buckets, k)
		}
	}
	m.sweepAt = max(minSweep, 2*len(m.buckets))
}

// Len is the number of buckets held (for tests and metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}
