package main

import (
	"errors"
)

// The exit codes of the operator commands that check something (verify,
// configs test, reverify): see verifyHelp.
const (
	exitPassed    = 0
	exitFailed    = 1
	exitCannotRun = 2
)

// exitError is a command's failure with the exit code it ends the process
// with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// cannotRun is a failure that kept a check from running at all: bad flags,
// no credentials, an unusable network (exit 2).
func cannotRun(err error) error { return &exitError{code: exitCannotRun, err: err} }

// checksFailed is a check that ran and failed (exit 1).
func checksFailed(err error) error { return &exitError{code: exitFailed, err: err} }

// exitCode is the process's exit code for err: exitError's, 2 for bad
// usage, else 1.
func exitCode(err error) int {
	var e *exitError
	switch {
	case err == nil:
		return exitPassed
	case errors.As(err, &e):
		return e.code
	case errors.Is(err, errUsage):
		return exitCannotRun
	}
	return exitFailed
}
