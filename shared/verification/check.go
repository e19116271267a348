package verification

// Check is the outcome of one check of a bucket (package verify runs
// them). Code is stable and machine-readable; Message is for a person and
// says what to fix. Neither ever holds a secret.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
}
