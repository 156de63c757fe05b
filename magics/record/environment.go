package record

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// Environment is where a result was measured. Its JSON keys are those of
// Go's benchmark format where one exists (goos, goarch, cpu).
type Environment struct {
	// Go is the version of the toolchain that built the measured code.
	Go     string `json:"go"`
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	// Build holds the build settings that change the generated code:
	// the architecture level (GOAMD64=v1, GOARM64, GO386...) and
	// CGO_ENABLED.
	Build map[string]string `json:"build,omitempty"`
	// CPU is the processor's model name, as go test -bench prints it.
	CPU string `json:"cpu,omitempty"`
	// GOMAXPROCS is the measured process's GOMAXPROCS.
	GOMAXPROCS int `json:"gomaxprocs"`
	// NumCPU is the number of logical CPUs the machine offers.
	NumCPU int `json:"numcpu"`
	// LoadAvg is the system load average over 1, 5 and 15 minutes when the
	// measurement started (empty where the system does not say).
	LoadAvg []float64 `json:"loadavg,omitempty"`
	// Perfnb is perfnb's version.
	Perfnb string `json:"perfnb,omitempty"`
	// Modules are the modules, other than the standard library, that the
	// measured code was built with, with their versions. Test binaries do
	// not carry them in their build information: the caller fills them
	// from the workspace's requirements (none until a notebook can
	// require modules).
	Modules []Module `json:"modules,omitempty"`
}

// Module is a module compiled into the measured code.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	// Replace is the module's replacement ("../local" or "example.com/x
	// v1.2.0"), if go.mod replaces it.
	Replace string `json:"replace,omitempty"`
}

// buildKeys are the build settings kept in Environment.Build.
var buildKeys = map[string]bool{
	"GOAMD64": true, "GOARM": true, "GOARM64": true, "GO386": true, "GOMIPS": true,
	"GOMIPS64": true, "GOPPC64": true, "GORISCV64": true, "GOWASM": true, "CGO_ENABLED": true,
}

// Collect returns the environment of a measurement of the test binary at
// binary (its Go version and build settings come from the build
// information the toolchain wrote into it; "" uses this process's), by
// perfnb version perfnb. Call it just before the measurement starts, for
// the load average.
func Collect(binary, perfnb string) Environment {
	e := Environment{
		Go: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		Perfnb: perfnb, CPU: cpuModel(), LoadAvg: loadAvg(),
	}
	if binary == "" {
		return e
	}
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return e
	}
	e.Go = info.GoVersion
	for _, s := range info.Settings {
		switch {
		case s.Key == "GOOS":
			e.GOOS = s.Value
		case s.Key == "GOARCH":
			e.GOARCH = s.Value
		case buildKeys[s.Key]:
			if e.Build == nil {
				e.Build = map[string]string{}
			}
			e.Build[s.Key] = s.Value
		}
	}
	return e
}

// AddBench takes the CPU model and GOMAXPROCS from go test -bench output
// (its "cpu:" line and the -N suffix of its benchmark names), which say
// what the measured process itself saw.
func (e *Environment) AddBench(data []byte) {
	r := benchfmt.NewReader(bytes.NewReader(data), "benchmark output")
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		if cpu := res.GetConfig("cpu"); cpu != "" {
			e.CPU = cpu
		}
		if _, procs := res.Name.Parts(); len(procs) > 0 {
			last := string(procs[len(procs)-1])
			if n, err := strconv.Atoi(strings.TrimPrefix(last, "-")); err == nil && strings.HasPrefix(last, "-") {
				e.GOMAXPROCS = n
			}
		}
	}
}

// Footer is the environment in one line, for the foot of a result table:
// "go1.26.8 linux/amd64 GOAMD64=v1 · AMD EPYC · GOMAXPROCS 2 of 2 CPUs ·
// load 0.52 · perfnb 0.1.0".
func (e Environment) Footer() string {
	platform := e.Go + " " + e.GOOS + "/" + e.GOARCH
	if lvl := e.archLevel(); lvl != "" {
		platform += " " + lvl
	}
	parts := []string{platform}
	if e.CPU != "" {
		parts = append(parts, e.CPU)
	}
	parts = append(parts, fmt.Sprintf("GOMAXPROCS %d of %d CPUs", e.GOMAXPROCS, e.NumCPU))
	if len(e.LoadAvg) > 0 {
		parts = append(parts, fmt.Sprintf("load %.2f", e.LoadAvg[0]))
	}
	if e.Perfnb != "" {
		parts = append(parts, "perfnb "+e.Perfnb)
	}
	return strings.Join(parts, " · ")
}

// archLevel is the architecture level setting, as "GOAMD64=v1".
func (e Environment) archLevel() string {
	for k, v := range e.Build {
		if k != "CGO_ENABLED" {
			return k + "=" + v
		}
	}
	return ""
}

// Differences lists, in words, what differs between two environments in
// a way that can change the figures: the Go version, the platform and
// its level, the CPU, GOMAXPROCS. The load average and perfnb's version
// are not compared.
func Differences(old, new Environment) []string {
	var out []string
	check := func(what, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s: %s (old) vs %s (new)", what, orNone(a), orNone(b)))
		}
	}
	check("Go version", old.Go, new.Go)
	check("platform", old.GOOS+"/"+old.GOARCH, new.GOOS+"/"+new.GOARCH)
	check("architecture level", old.archLevel(), new.archLevel())
	check("CPU", old.CPU, new.CPU)
	check("GOMAXPROCS", strconv.Itoa(old.GOMAXPROCS), strconv.Itoa(new.GOMAXPROCS))
	return out
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// cpuModel reads the processor's model name from /proc/cpuinfo; "" where
// there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// loadAvg reads the load averages from /proc/loadavg; nil where there is
// none.
func loadAvg() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	var out []float64
	for i := 0; i < 3 && i < len(f); i++ {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil
		}
		out = append(out, x)
	}
	return out
}
