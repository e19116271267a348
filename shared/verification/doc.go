// Package verification holds what the stores keep of verifications and
// what the checks and the APIs share: the outcome of one check (Check),
// the persisted state machine of a bucket-verify run (Record, its Request,
// Result, Events and transitions), and the sealing of what a run needs.
// It is pure domain and links no provider driver, so that the store, the
// checks (package verify) and the handlers can all use it.
package verification
