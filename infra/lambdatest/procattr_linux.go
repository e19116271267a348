package lambdatest

import "syscall"

// childAttr makes a function's process die with the test binary, so a
// killed `go test` leaves no stray bootstraps behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
