package testenv

import "syscall"

// childAttr makes a child server die with the test binary, so a killed
// `go test` leaves no stray servers behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
