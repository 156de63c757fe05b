package profiles

import (
	"github.com/perfnb/perfnb/runtime/cell"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/runtime/native"
)

// Split separates perfnb's own set-up in the child from the measured
// code's work, in a profile the child wrote. It returns the cell's
// profile and the set-up's, two copies of p that share nothing.
//
// A sample is the set-up's when package initialisation is on its stack
// (runtime.doInit: decoding the notebook's values, harness.LoadState and
// its os.ReadFile, and the initialisers of the declarations, which run
// once before the benchmark), or when the frame nearest the leaf that
// is either code of a cell (a function of a file In[N], or a generated
// benchmark) or of the harness (package testing, runtime/pprof, perfnb's
// harness, the test binary's main) is the harness's: the test framework
// choosing the benchmark, its timer and b.Loop, the redirection of the
// output, writing the profiles. The rest is the cell's: its code and what
// it calls, the goroutines it started, and the runtime's own goroutines
// (the collector's workers, the scheduler), which work for it. The cell's
// stacks start at the generated benchmark: the test framework's frames
// that call it are left out.
func Split(p *profile.Profile) (cell, setUp *profile.Profile) {
	cell, setUp = p.Copy(), p.Copy()
	cell.Sample = slices.DeleteFunc(cell.Sample, isSetUp)
	for _, s := range cell.Sample {
		s.Location = fromBenchmark(s.Location)
	}
	setUp.Sample = slices.DeleteFunc(setUp.Sample, func(s *profile.Sample) bool { return !isSetUp(s) })
	// Compact drops what no sample refers to any more.
	return cell.Compact(), setUp.Compact()
}

// fromBenchmark returns a stack (leaf first) without the frames above
// the generated benchmark, if it has one.
func fromBenchmark(stack []*profile.Location) []*profile.Location {
	for i, loc := range stack {
		for _, ln := range loc.Line {
			if ln.Function != nil && isBenchmark(ln.Function) {
				return stack[:i+1]
			}
		}
	}
	return stack
}

// isBenchmark reports whether fn is a benchmark of the generated file.
func isBenchmark(fn *profile.Function) bool {
	return strings.HasPrefix(fn.Name, native.Module+".Benchmark")
}

// isSetUp reports whether a sample is perfnb's set-up (see Split).
func isSetUp(s *profile.Sample) bool {
	decided, harness := false, false
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			fn := ln.Function
			if fn == nil {
				continue
			}
			if fn.Name == "runtime.doInit1" || fn.Name == "runtime.doInit" {
				return true
			}
			if decided {
				continue
			}
			switch {
			case isCellCode(fn):
				decided = true
			case isHarness(fn.Name):
				decided, harness = true, true
			}
		}
	}
	return harness
}

// isCellCode reports whether fn is code of a cell: a function of a file
// In[N], or a benchmark the generated file wraps around a body.
func isCellCode(fn *profile.Function) bool {
	_, ok := cell.ParseFile(fn.Filename)
	return ok || isBenchmark(fn)
}

// harnessPrefixes are the packages of the code that runs the cell's
// benchmark: the test framework, the profiler writing its profiles,
// perfnb's harness, and the test binary's main.
var harnessPrefixes = []string{"testing.", "testing/", "runtime/pprof.", native.Module + "/harness.", "main."}

func isHarness(name string) bool {
	if name == "runtime.main" {
		return true
	}
	for _, p := range harnessPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Total returns the sum of the values of p's samples of the sample type
// typ ("cpu", "alloc_space"); 0 when p has no such type.
func Total(p *profile.Profile, typ string) int64 {
	if p == nil {
		return 0
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == typ {
			idx = i
		}
	}
	if idx < 0 {
		return 0
	}
	var sum int64
	for _, s := range p.Sample {
		sum += s.Value[idx]
	}
	return sum
}
