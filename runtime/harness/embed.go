// Package harness is the code compiled into a magic's child process
// alongside the cell: %timeit's calibration and runs (child_timeit.go),
// memory measurement (child_memory.go), CPU times (child_cpu.go), the
// redirection of what the cell prints (child_stdout.go), and the encoding
// of the notebook's values that the kernel writes and the child decodes
// (child_state.go). Its child_*.go files are ordinary Go, built and tested
// here, and also embedded so that runtime/native can copy them into the
// workspace as the package "perfnbcell/harness".
package harness

import "embed"

// Child holds the source files of the child side (child_*.go).
//
//go:embed child_*.go
var Child embed.FS
