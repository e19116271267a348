//go:build !linux

package main

// isTerminal reports false: live progress is drawn on Linux terminals
// only; elsewhere the command prints plain lines.
func isTerminal(w any) bool { return false }
