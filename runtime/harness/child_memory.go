package harness

// Memory measurement for %memit. A generated benchmark calls MemStart
// after its setup and MemStop after its body:
//
//	func BenchmarkCell(b *testing.B) {
//		setup
//		harness.MemStart()
//		for b.Loop() { body }
//		harness.MemStop()
//	}
//
// MemStart collects garbage, returns free memory to the system, resets the
// kernel's high-water mark of resident memory (writing 5 to
// /proc/self/clear_refs) and reads the baseline; MemStop reads the
// high-water mark (VmHWM), which the kernel keeps exactly, so short spikes
// are never missed. Where the mark cannot be reset (not Linux, no
// permission), resident memory is sampled every interval instead, as
// memory_profiler does, and the report says so.
//
// Each MemStop appends one JSON line (a MemReport) to the file the plan
// names (MemitPlan.Result), so nothing the body prints can be mistaken for
// a result. Without a file the line goes to standard output after the
// prefix MemReportPrefix.
//
// The child is configured by the JSON MemitPlan in the environment
// variable MemitPlanEnv; without it, it measures with the defaults.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MemReportPrefix starts a report line on standard output when
// PERFNB_RESULT is not set.
const MemReportPrefix = "\x00perfnb-memit\x00 "

// MemLimitExitCode is the exit status of a child stopped at its plan's
// Limit.
const MemLimitExitCode = 86

// MemitPlanEnv names the environment variable that holds the JSON
// MemitPlan of a %memit child.
const MemitPlanEnv = "PERFNB_MEMIT"

// MemMethodEnv names the environment variable of the interpreter process
// that forces %memit's measurement method (one of the MemMethod values),
// for scripts/bench-memit's comparisons with memory_profiler.
const MemMethodEnv = "PERFNB_MEMIT_METHOD"

// MemitPlan says how a %memit child measures.
type MemitPlan struct {
	// Result is the file that receives the JSON MemReport lines.
	Result string `json:"result,omitempty"`
	// Method is one of the MemMethod values; "" is MemMethodHWM (the
	// high-water mark, sampling when it cannot be reset).
	Method string `json:"method,omitempty"`
	// Interval is the sampling interval, where memory is sampled;
	// 0 is 100 ms.
	Interval time.Duration `json:"interval,omitempty"`
	// Children adds the resident memory of child processes.
	Children bool `json:"children,omitempty"`
	// Limit, in bytes, stops the process when resident memory or the Go
	// heap exceeds it, after writing a report with LimitExceeded; the
	// exit status is MemLimitExitCode. It is watched from the start of
	// the process, so setup is covered too. 0 is no limit.
	Limit int64 `json:"limit,omitempty"`
}

// Measurement methods named in MemReport.Method.
const (
	MemMethodHWM    = "hwm"    // kernel high-water mark (VmHWM) after clear_refs
	MemMethodSample = "sample" // resident memory sampled every interval and at the end
	MemMethodMprof  = "mprof"  // memory_profiler's sampling: at the start and every interval
)

// MemReport is what one MemStart/MemStop pair measured, or, with
// LimitExceeded, why the child stopped. Sizes are in bytes.
type MemReport struct {
	Method string `json:"method"`
	// Baseline is the resident set size after setup and a collection.
	Baseline int64 `json:"baseline"`
	// Peak is the highest resident set size while the body ran
	// (including children's with PERFNB_MEMIT_CHILDREN); 0 when it could
	// not be read.
	Peak int64 `json:"peak"`
	// End is the resident set size when the body had finished.
	End int64 `json:"end"`
	// Children is the highest sampled sum of the children's resident
	// memory, already included in Peak.
	Children int64 `json:"children,omitempty"`
	// Samples counts the resident-memory samples taken (sampling methods).
	Samples int `json:"samples,omitempty"`
	// HeapBaseline and HeapPeak are the bytes of Go heap objects at the
	// start and the highest value seen (sampled every millisecond and at
	// both ends).
	HeapBaseline uint64 `json:"heap_baseline"`
	HeapPeak     uint64 `json:"heap_peak"`
	// Allocated and Objects count the heap allocations during the body.
	Allocated uint64 `json:"allocated"`
	Objects   uint64 `json:"objects"`
	// GCCycles counts completed collections; GCPause is their total
	// stop-the-world pause in nanoseconds.
	GCCycles uint64 `json:"gc_cycles"`
	GCPause  int64  `json:"gc_pause_ns"`
	// Wall is the body's wall-clock time in nanoseconds.
	Wall int64 `json:"wall_ns"`
	// Note explains a fallback (why the high-water mark was not used).
	Note string `json:"note,omitempty"`
	// LimitExceeded is set when the child stopped because of
	// PERFNB_MEMIT_LIMIT; Limit is that limit and Peak the size that
	// crossed it, of resident memory or, when Note says so, the Go heap.
	LimitExceeded bool  `json:"limit_exceeded,omitempty"`
	Limit         int64 `json:"limit,omitempty"`
}

// memTick is how often the Go heap is sampled and the limit checked.
const memTick = time.Millisecond

var memMetricNames = [...]string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/allocs:objects",
	"/gc/cycles/total:gc-cycles",
	"/memory/classes/heap/objects:bytes",
}

const (
	memAllocBytes = iota
	memAllocObjects
	memCycles
	memHeapObjects
)

// memState is the measurement in progress. The harness keeps it in one
// process-wide variable because the generated benchmark calls MemStart and
// MemStop as plain functions.
type memState struct {
	mu       sync.Mutex
	cfg      MemitPlan
	running  bool
	method   string
	note     string
	baseline int64
	start    time.Time
	before   [len(memMetricNames)]metrics.Sample
	pause0   uint64
	stop     chan struct{}
	done     chan struct{}
	// Filled by the sampler while running.
	heapPeak  uint64
	rssPeak   int64
	childPeak int64
	samples   int
}

var (
	memOnce sync.Once
	mem     *memState
)

func memInit() *memState {
	memOnce.Do(func() {
		mem = &memState{cfg: memConfigFromEnv()}
		if mem.cfg.Limit > 0 {
			go memWatchLimit(mem.cfg)
		}
	})
	return mem
}

func init() {
	// Start the limit watcher before setup and package variables of the
	// cell run, but only in children that asked for it.
	if os.Getenv(MemitPlanEnv) != "" {
		memInit()
	}
}

// memConfigFromEnv reads the plan in MemitPlanEnv, with its defaults
// filled in. A plan that does not decode is reported, and the defaults
// measure.
func memConfigFromEnv() MemitPlan {
	var c MemitPlan
	if raw := os.Getenv(MemitPlanEnv); raw != "" {
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			fmt.Fprintf(os.Stderr, "perfnb harness: reading %s: %v\n", MemitPlanEnv, err)
			c = MemitPlan{}
		}
	}
	c.Method = cmp.Or(c.Method, MemMethodHWM)
	if c.Interval <= 0 {
		c.Interval = 100 * time.Millisecond
	}
	return c
}

// MemStart starts a memory measurement: it collects garbage, returns
// freed memory to the system, resets the high-water mark and reads the
// baseline. A second MemStart before MemStop restarts the measurement.
func MemStart() {
	s := memInit()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		s.stopSampler()
	}
	runtime.GC()
	debug.FreeOSMemory()

	s.method, s.note = s.cfg.Method, ""
	if s.method == MemMethodHWM {
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			s.method = MemMethodSample
			s.note = fmt.Sprintf("the high-water mark could not be reset (%v); resident memory was sampled every %v instead", err, s.cfg.Interval)
		}
	}
	s.baseline = memRSS()
	s.rssPeak, s.childPeak, s.samples = 0, 0, 0
	if s.method != MemMethodHWM {
		s.rssPeak, s.samples = s.baseline, 1
	}
	for i := range s.before {
		s.before[i].Name = memMetricNames[i]
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.pause0 = ms.PauseTotalNs
	metrics.Read(s.before[:])
	s.heapPeak = s.before[memHeapObjects].Value.Uint64()
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.running = true
	go s.sample(s.stop, s.done, s.method)
	s.start = time.Now()
}

// MemStop ends the measurement that MemStart began and reports it. Without
// a MemStart it does nothing.
func MemStop() {
	now := time.Now()
	s := memInit()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	var after [len(memMetricNames)]metrics.Sample
	for i := range after {
		after[i].Name = memMetricNames[i]
	}
	metrics.Read(after[:])
	s.stopSampler()

	r := MemReport{
		Method:       s.method,
		Baseline:     s.baseline,
		HeapBaseline: s.before[memHeapObjects].Value.Uint64(),
		Allocated:    after[memAllocBytes].Value.Uint64() - s.before[memAllocBytes].Value.Uint64(),
		Objects:      after[memAllocObjects].Value.Uint64() - s.before[memAllocObjects].Value.Uint64(),
		GCCycles:     after[memCycles].Value.Uint64() - s.before[memCycles].Value.Uint64(),
		Wall:         int64(now.Sub(s.start)),
		Note:         s.note,
		Samples:      s.samples,
	}
	r.HeapPeak = max(s.heapPeak, after[memHeapObjects].Value.Uint64())
	r.End = memRSS()
	switch s.method {
	case MemMethodHWM:
		r.Peak = max(memStatusField("VmHWM:"), r.End)
	case MemMethodSample:
		r.Samples++
		r.Peak = max(s.rssPeak, r.End)
	default: // memory_profiler: only the samples taken while the body ran
		r.Peak = s.rssPeak
	}
	if s.cfg.Children {
		r.Children = s.childPeak
		r.Peak += r.Children
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.GCPause = int64(ms.PauseTotalNs - s.pause0)
	memWrite(s.cfg.Result, r)
}

// stopSampler stops the sampling goroutine and waits for it.
func (s *memState) stopSampler() {
	close(s.stop)
	<-s.done
	s.running = false
}

// sample runs while the body does: it samples the Go heap every memTick
// and, with a sampling method or children, resident memory every interval.
// It writes s's fields only; MemStop reads them after done is closed.
func (s *memState) sample(stop <-chan struct{}, done chan<- struct{}, method string) {
	defer close(done)
	heap := []metrics.Sample{{Name: memMetricNames[memHeapObjects]}}
	tick := time.NewTicker(memTick)
	defer tick.Stop()
	every := time.NewTicker(s.cfg.Interval)
	defer every.Stop()
	sampleRSS := method != MemMethodHWM
	rssNow := newRSSReader()
	defer rssNow.close()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			metrics.Read(heap)
			s.heapPeak = max(s.heapPeak, heap[0].Value.Uint64())
		case <-every.C:
			if sampleRSS {
				s.rssPeak = max(s.rssPeak, rssNow.read())
				s.samples++
			}
			if s.cfg.Children {
				s.childPeak = max(s.childPeak, memChildrenRSS())
			}
		}
	}
}

// memWatchLimit stops the process when resident memory or the Go heap
// grows past limit. It runs for the life of the process.
func memWatchLimit(cfg MemitPlan) {
	heap := []metrics.Sample{{Name: memMetricNames[memHeapObjects]}}
	rssNow := newRSSReader()
	for {
		rss := rssNow.read()
		metrics.Read(heap)
		h := int64(heap[0].Value.Uint64())
		if rss > cfg.Limit || h > cfg.Limit {
			r := MemReport{Method: cfg.Method, LimitExceeded: true, Limit: cfg.Limit, Peak: rss}
			if h > cfg.Limit && h > rss {
				r.Peak = h
				r.Note = "Go heap"
			}
			memWrite(cfg.Result, r)
			os.Exit(MemLimitExitCode)
		}
		time.Sleep(memTick)
	}
}

func memWrite(path string, r MemReport) {
	line, err := json.Marshal(r)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perfnb harness: %v\n", err)
		return
	}
	line = append(line, '\n')
	if path == "" {
		os.Stdout.Write(append([]byte(MemReportPrefix), line...))
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perfnb harness: cannot write the memory report: %v\n", err)
		return
	}
	defer f.Close()
	if _, err := f.Write(line); err != nil {
		fmt.Fprintf(os.Stderr, "perfnb harness: cannot write the memory report: %v\n", err)
	}
}

// ReadMemReports reads the report lines that MemStop wrote to a result
// file (or to standard output after MemReportPrefix), in order. Lines that
// are not reports are skipped.
func ReadMemReports(data []byte) ([]MemReport, error) {
	var out []MemReport
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := bytes.TrimPrefix(sc.Bytes(), []byte(MemReportPrefix))
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r MemReport
		if err := json.Unmarshal(line, &r); err != nil {
			return out, fmt.Errorf("reading the memory report: %w", err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// memRSS returns the resident set size in bytes, or 0 when unknown.
func memRSS() int64 {
	r := newRSSReader()
	defer r.close()
	return r.read()
}

// rssReader reads resident memory from /proc/self/statm without
// allocating, so that the samplers running beside a measured body (every
// millisecond) do not add to the allocations %memit reports.
type rssReader struct {
	f    *os.File // nil when statm cannot be opened: read falls back to VmRSS
	page int64
	buf  [128]byte
}

func newRSSReader() *rssReader {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return &rssReader{}
	}
	return &rssReader{f: f, page: int64(os.Getpagesize())}
}

// read returns the resident set size in bytes, or 0 when unknown. It reads
// the file again from its start (procfs regenerates it), then the second
// field, the resident pages.
func (r *rssReader) read() int64 {
	if r.f == nil {
		return memStatusField("VmRSS:")
	}
	n, _ := r.f.ReadAt(r.buf[:], 0)
	b := r.buf[:n]
	i := bytes.IndexByte(b, ' ') + 1
	if i == 0 {
		return 0
	}
	var pages int64
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		pages = pages*10 + int64(b[i]-'0')
	}
	return pages * r.page
}

func (r *rssReader) close() {
	if r.f != nil {
		r.f.Close()
	}
}

// memStatusField returns a kB field of /proc/self/status in bytes, or 0.
func memStatusField(name string) int64 {
	return memProcStatusField("/proc/self/status", name)
}

func memProcStatusField(path, name string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// memChildrenRSS sums the resident memory of all descendant processes.
func memChildrenRSS() int64 {
	var total int64
	seen := map[string]bool{}
	queue := []string{strconv.Itoa(os.Getpid())}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		tasks, _ := filepath.Glob("/proc/" + pid + "/task/*/children")
		for _, t := range tasks {
			data, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			for _, c := range strings.Fields(string(data)) {
				if seen[c] {
					continue
				}
				seen[c] = true
				total += memProcStatusField("/proc/"+c+"/status", "VmRSS:")
				queue = append(queue, c)
			}
		}
	}
	return total
}
