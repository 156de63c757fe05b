package scalene

import (
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// Category says where a CPU sample's leaf frame was running.
type Category int

// The categories of CPU time, as the line table's columns show them.
//
// Scalene splits time into Python, native and system. Go has no
// interpreter, so the split here is:
//   - Go: the cell's own code and any library code it calls (the standard
//     library included), which is the work the line asked for;
//   - Runtime: the Go runtime on the line's behalf (allocation, the
//     collector's assists, memory moves and clears, map and channel
//     internals, the scheduler);
//   - System: system calls, the kernel's share (futex, madvise, mmap,
//     read, write and the like).
const (
	CatGo Category = iota
	CatRuntime
	CatSystem
)

// String names the category as the table's column does.
func (c Category) String() string {
	switch c {
	case CatGo:
		return "Go"
	case CatRuntime:
		return "runtime"
	case CatSystem:
		return "system"
	}
	return "unknown"
}

// systemFuncs are runtime functions that are thin wrappers around a system
// call (mostly assembly stubs in runtime/sys_linux_*.s): a sample whose leaf
// is one of them was taken in, or at the edge of, the kernel.
var systemFuncs = map[string]bool{
	"runtime.futex": true, "runtime.usleep": true, "runtime.osyield": true,
	"runtime.nanosleep": true, "runtime.epollwait": true, "runtime.epollctl": true,
	"runtime.write1": true, "runtime.write": true, "runtime.read": true,
	"runtime.open": true, "runtime.closefd": true, "runtime.pipe2": true,
	"runtime.madvise": true, "runtime.mmap": true, "runtime.sysMmap": true,
	"runtime.munmap": true, "runtime.sysMunmap": true, "runtime.mincore": true,
	"runtime.rtsigprocmask": true, "runtime.sigprocmask": true,
	"runtime.rt_sigaction": true, "runtime.sigaltstack": true,
	"runtime.raise": true, "runtime.raiseproc": true, "runtime.tgkill": true,
	"runtime.getpid": true, "runtime.gettid": true, "runtime.exit": true,
	"runtime.exitThread": true, "runtime.clone": true, "runtime.setitimer": true,
	"runtime.timer_create": true, "runtime.timer_settime": true,
	"runtime.timer_delete": true, "runtime.sched_getaffinity": true,
	"runtime.fcntl": true, "runtime.setNonblock": true,
}

// systemPrefixes are packages whose functions are system call wrappers.
var systemPrefixes = []string{
	"syscall.",
	"internal/runtime/syscall.",
	"runtime/internal/syscall.",
	"internal/syscall/",
	"golang.org/x/sys/unix.",
}

// runtimePrefixes are the Go runtime's packages.
var runtimePrefixes = []string{
	"runtime.",
	"internal/runtime/",
	"runtime/internal/",
	"gcWriteBarrier", // assembly helpers without a package prefix
}

// Classify says which column a CPU sample goes to, given the function its
// leaf frame (the innermost inlined function of the first location) runs.
func Classify(fn *profile.Function) Category {
	if fn == nil {
		return CatRuntime
	}
	if _, ok := cell.ParseFile(fn.Filename); ok {
		return CatGo
	}
	name := fn.Name
	if systemFuncs[name] {
		return CatSystem
	}
	for _, p := range systemPrefixes {
		if strings.HasPrefix(name, p) {
			return CatSystem
		}
	}
	for _, p := range runtimePrefixes {
		if strings.HasPrefix(name, p) {
			return CatRuntime
		}
	}
	return CatGo
}

// LineStats is what one line (or the unattributed rest) received.
//
// Self is what the line did itself: samples whose innermost cell line it
// is, library and runtime code it calls included (Scalene's and
// line_profiler's view of a line). Total adds the time and allocations
// of the cell functions it calls: every sample with the line anywhere on
// its stack, counted once however often it recurs (pprof list's cum).
type LineStats struct {
	CPU          [3]int64 // self: nanoseconds, indexed by Category
	AllocBytes   int64    // self: bytes allocated, all executions
	AllocObjects int64    // self: objects allocated, all executions
	CumCPU       int64    // total: nanoseconds
	CumBytes     int64    // total: bytes allocated, all executions
}

// CPUSelf is the line's own CPU time in all categories.
func (s *LineStats) CPUSelf() int64 { return s.CPU[0] + s.CPU[1] + s.CPU[2] }

func (s *LineStats) add(o *LineStats) {
	for i := range s.CPU {
		s.CPU[i] += o.CPU[i]
	}
	s.AllocBytes += o.AllocBytes
	s.AllocObjects += o.AllocObjects
	s.CumCPU += o.CumCPU
	s.CumBytes += o.CumBytes
}

// BodyFunc locates the profiled body: the generated benchmark function
// and the cell lines its body occupies.
//
// runtime/pprof gives each function one file name, that of the first frame
// it records, but the generated benchmark mixes the cell's lines (after a
// //line In[N] directive) with lines of the generated file (the loop, the
// harness calls). Its frames are therefore told apart by line number: a
// line inside the body's range is the cell's, any other is generated code
// and is skipped. (Should a long body's range overlap the generated lines'
// numbers, those few lines are counted as the cell's.)
type BodyFunc struct {
	Name        string // function name without package, e.g. BenchmarkScalene
	Cell        int
	First, Last int // cell lines of the body, inclusive
}

func (b *BodyFunc) matches(fn *profile.Function) bool {
	if b == nil || fn == nil {
		return false
	}
	n := fn.Name
	return strings.HasSuffix(n, "."+b.Name) && !strings.Contains(n[:len(n)-len(b.Name)-1], "(")
}

// Attribution is a profile's samples attributed to cell lines.
type Attribution struct {
	// Body, when set, says which function holds the profiled body (see
	// BodyFunc).
	Body  *BodyFunc
	Lines map[cell.Pos]*LineStats
	// Outside holds what no cell line accounts for: the runtime working
	// for the cell (the collector's background workers, the scheduler).
	Outside LineStats
	// Total is the sum over Lines and Outside.
	Total LineStats
}

// NewAttribution returns an empty attribution.
func NewAttribution() *Attribution {
	return &Attribution{Lines: make(map[cell.Pos]*LineStats)}
}

func (a *Attribution) line(k cell.Pos) *LineStats {
	s := a.Lines[k]
	if s == nil {
		s = &LineStats{}
		a.Lines[k] = s
	}
	return s
}

// CellLine returns the innermost cell line of a sample's stack (see
// CellLines).
func (a *Attribution) CellLine(s *profile.Sample) (cell.Pos, bool) {
	if ks := a.CellLines(s); len(ks) > 0 {
		return ks[0], true
	}
	return cell.Pos{}, false
}

// CellLines returns the cell lines of a sample's stack, innermost first,
// each once: the frames whose function lives in a file named In[N], and
// the body's lines of the generated benchmark. Inlined frames count,
// innermost first, as profile.Location.Line lists them.
func (a *Attribution) CellLines(s *profile.Sample) []cell.Pos {
	var ks []cell.Pos
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function == nil {
				continue
			}
			var k cell.Pos
			if a.Body.matches(ln.Function) {
				l := int(ln.Line)
				if l < a.Body.First || l > a.Body.Last {
					continue
				}
				k = cell.Pos{Cell: a.Body.Cell, Line: l}
			} else if n, ok := cell.ParseFile(ln.Function.Filename); ok {
				k = cell.Pos{Cell: n, Line: int(ln.Line)}
			} else {
				continue
			}
			if !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
	}
	return ks
}

// attribute adds a sample's self figures to its innermost cell line and
// its total figures to every cell line on its stack; samples without a
// cell line go to Outside. (Package initialisation, which runs once
// before the benchmark, is perfnb's set-up: profiles.Split takes it out
// of the profiles before they are attributed.)
func (a *Attribution) attribute(s *profile.Sample, st LineStats) {
	a.Total.add(&st)
	ks := a.CellLines(s)
	if len(ks) == 0 {
		a.Outside.add(&st)
		return
	}
	a.line(ks[0]).add(&st)
	cum := LineStats{CumCPU: st.CPUSelf(), CumBytes: st.AllocBytes}
	for _, k := range ks[1:] {
		a.line(k).add(&cum)
	}
}

// leafFunction is the innermost function of the sample's stack, not
// counting runtime.asyncPreempt: the preemption signal's handler makes the
// interrupted goroutine call it, and a profiling signal that arrives with
// it (sysmon preempts a goroutine that runs 10 ms without a call, which a
// hot loop does every few samples) records its first instruction as the
// leaf, though the CPU time of that sample was spent in the interrupted
// code. On a loaded machine that is a third of a tight loop's samples.
func leafFunction(s *profile.Sample) *profile.Function {
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function != nil && ln.Function.Name == "runtime.asyncPreempt" {
				continue
			}
			return ln.Function
		}
	}
	return nil
}

// sampleIndex returns the index of the sample type named typ.
func sampleIndex(p *profile.Profile, typ string) (int, error) {
	for i, st := range p.SampleType {
		if st.Type == typ {
			return i, nil
		}
	}
	names := make([]string, len(p.SampleType))
	for i, st := range p.SampleType {
		names[i] = st.Type
	}
	return 0, fmt.Errorf("the profile has no %q samples (it has %s)", typ, strings.Join(names, ", "))
}

// AddCPU attributes a CPU profile's time: each sample's value goes to its
// innermost cell line, in the column its leaf frame's function says
// (Classify). Samples without a cell frame go to Outside.
func (a *Attribution) AddCPU(p *profile.Profile) error {
	idx, err := sampleIndex(p, "cpu")
	if err != nil {
		return err
	}
	if u := p.SampleType[idx].Unit; u != "nanoseconds" && u != "" {
		return fmt.Errorf("CPU samples are in %s, not nanoseconds", u)
	}
	for _, s := range p.Sample {
		v := s.Value[idx]
		cat := Classify(leafFunction(s))
		st := LineStats{CumCPU: v}
		st.CPU[cat] = v
		a.attribute(s, st)
	}
	return nil
}

// AddAlloc attributes an allocation profile's alloc_space and
// alloc_objects to the innermost cell line of each sample. With
// MemProfileRate = 1 every allocation is a sample of its own and the
// figures are exact.
func (a *Attribution) AddAlloc(p *profile.Profile) error {
	bi, err := sampleIndex(p, "alloc_space")
	if err != nil {
		return err
	}
	oi, err := sampleIndex(p, "alloc_objects")
	if err != nil {
		return err
	}
	for _, s := range p.Sample {
		a.attribute(s, LineStats{AllocBytes: s.Value[bi], AllocObjects: s.Value[oi], CumBytes: s.Value[bi]})
	}
	return nil
}
