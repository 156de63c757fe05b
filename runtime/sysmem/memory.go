package sysmem

import (
	"bytes"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Memory is the memory a process of this machine may use, in bytes: what
// /proc/meminfo says, capped by the cgroup's limit when that is lower. A
// field is 0 when it cannot be read.
type Memory struct {
	// Total is MemTotal, or the cgroup's limit when lower.
	Total int64
	// Available is MemAvailable, or what is left under the cgroup's limit
	// when less.
	Available int64
}

// ReadMemory reads the machine's memory from /proc/meminfo and the
// cgroup's limit (cgroup v2's memory.max, else v1's limit_in_bytes).
func ReadMemory() Memory {
	return readMemory(os.DirFS("/"))
}

// readMemory is ReadMemory on the file system fsys, rooted at "/".
func readMemory(fsys fs.FS) Memory {
	var m Memory
	if b, err := fs.ReadFile(fsys, "proc/meminfo"); err == nil {
		m.Total = procField(b, "MemTotal")
		m.Available = procField(b, "MemAvailable")
	}
	limit, usage := cgroupMemory(fsys)
	if limit <= 0 {
		return m
	}
	if m.Total <= 0 || limit < m.Total {
		m.Total = limit
	}
	if left := max(limit-usage, 0); m.Available <= 0 || left < m.Available {
		m.Available = left
	}
	return m
}

// cgroupMemory returns the cgroup's memory limit and usage in bytes, 0
// when there is no limit or it cannot be read.
func cgroupMemory(fsys fs.FS) (limit, usage int64) {
	for _, files := range [][2]string{
		{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory.current"},                                 // v2
		{"sys/fs/cgroup/memory/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.usage_in_bytes"}, // v1
	} {
		b, err := fs.ReadFile(fsys, files[0])
		if err != nil {
			continue
		}
		// "max" (v2) or a page-rounded MaxInt64 (v1) mean no limit.
		limit, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || limit <= 0 || limit >= 1<<62 {
			return 0, 0
		}
		if b, err := fs.ReadFile(fsys, files[1]); err == nil {
			usage, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		}
		return limit, usage
	}
	return 0, 0
}

// procField returns the field name ("VmRSS", "MemTotal") of a /proc file
// whose lines read "Name:   1234 kB", in bytes; 0 when it is missing.
func procField(b []byte, name string) int64 {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(name+":"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && f[1] == "kB" {
			n <<= 10
		}
		return n
	}
	return 0
}

// Process is a process's resident memory, in bytes, from /proc/PID/status.
type Process struct {
	// RSS is the resident set size now (VmRSS).
	RSS int64
	// HWM is the highest resident set size so far (VmHWM).
	HWM int64
}

// ReadProcess reads the resident memory of process pid.
func ReadProcess(pid int) (Process, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Process{}, err
	}
	return parseStatus(b), nil
}

// parseStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
func parseStatus(b []byte) Process {
	return Process{RSS: procField(b, "VmRSS"), HWM: procField(b, "VmHWM")}
}
