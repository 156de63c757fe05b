//go:build unix && !linux

package gotool

import "syscall"

// groupAttr puts the go command in its own process group.
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
