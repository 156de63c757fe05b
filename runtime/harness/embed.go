// Package harness is the code compiled into a magic's child process
// alongside the cell: memory measurement, profile capture and result
// reporting. Its child_*.go files are ordinary Go, built and tested here,
// and also embedded so that runtime/native can copy them into the
// workspace as the package "perfnbcell/harness".
package harness

import "embed"

// Child holds the source files of the child side (child_*.go).
//
//go:embed child_*.go
var Child embed.FS
