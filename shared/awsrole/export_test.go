package awsrole

// CacheLen returns how many roles a caches credentials of.
func CacheLen(a *Assumer) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.cache)
}
