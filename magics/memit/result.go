package memit

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/harness"
)

// mib is memory_profiler's unit, 2^20 bytes.
const mib = 1 << 20

// failureLine is memory_profiler's text when no memory figure was read.
const failureLine = "ERROR: could not read memory usage, try with a lower interval or more iterations"

// Result is what %memit -o returns. Sizes are in bytes (divide by 2^20
// for memory_profiler's MiB); the figures are those of the run with the
// highest peak.
type Result struct {
	// Peak is the child's peak resident set size while the body ran.
	Peak int64
	// Increment is Peak minus Baseline.
	Increment int64
	// Baseline is the resident set size after setup and a collection.
	Baseline int64
	// HeapPeak is the highest size of the Go heap's objects while the body
	// ran (sampled every millisecond), and HeapBaseline its size at the start.
	HeapPeak     int64
	HeapBaseline int64
	// Allocated and Objects count the heap allocations the body made,
	// including those already collected.
	Allocated uint64
	Objects   uint64
	// GCCycles counts the collections during the body and GCPause their
	// total stop-the-world pause.
	GCCycles uint64
	GCPause  time.Duration
	// Wall is the body's wall-clock time.
	Wall time.Duration
	// Peaks holds each run's peak (memory_profiler's mem_usage), in bytes.
	Peaks []int64
	// Repeat, Timeout, Interval and IncludeChildren are the options used.
	Repeat          int
	Timeout         time.Duration
	Interval        time.Duration
	IncludeChildren bool
	// Method is how the peak was measured: "hwm" (the kernel's exact
	// high-water mark, VmHWM) or "sample" / "mprof" (resident memory
	// sampled every Interval).
	Method string
	// Note explains a fallback to sampling, if any.
	Note string
	// Children is the sampled peak of child processes' resident memory
	// included in Peak (with -c).
	Children int64
	// Environment is where the result was measured.
	Environment record.Environment
	// reports are the runs' figures, for the result's record.
	reports []harness.MemReport
}

// String returns memory_profiler's line:
// "peak memory: 52.10 MiB, increment: 31.08 MiB".
func (r *Result) String() string {
	if r == nil || r.Peak <= 0 {
		return failureLine
	}
	return fmt.Sprintf("peak memory: %.2f MiB, increment: %.2f MiB", float64(r.Peak)/mib, float64(r.Increment)/mib)
}

// newResult combines the reports of the runs: as memory_profiler does, the
// highest peak is reported. It returns nil when no run read the memory.
func newResult(reports []harness.MemReport, o options) *Result {
	best := -1
	var peaks []int64
	for i, r := range reports {
		if r.LimitExceeded {
			continue
		}
		peaks = append(peaks, r.Peak)
		if r.Peak > 0 && (best < 0 || r.Peak > reports[best].Peak) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := reports[best]
	return &Result{
		Peak:            b.Peak,
		Increment:       b.Peak - b.Baseline,
		Baseline:        b.Baseline,
		HeapPeak:        int64(b.HeapPeak),
		HeapBaseline:    int64(b.HeapBaseline),
		Allocated:       b.Allocated,
		Objects:         b.Objects,
		GCCycles:        b.GCCycles,
		GCPause:         time.Duration(b.GCPause),
		Wall:            time.Duration(b.Wall),
		Peaks:           peaks,
		Repeat:          o.repeat,
		Timeout:         o.timeout,
		Interval:        o.interval,
		IncludeChildren: o.children,
		Method:          b.Method,
		Note:            b.Note,
		Children:        b.Children,
		reports:         reports,
	}
}

// explanation is one sentence on why resident memory and the Go heap
// disagree, or "" when they roughly agree.
func (r *Result) explanation() string {
	rss := r.Increment - r.Children
	heap := r.HeapPeak - r.HeapBaseline
	const slack = 4 * mib // runtime metadata, stacks, rounding
	switch {
	case r.Children > slack && r.Children > rss:
		return fmt.Sprintf("Child processes account for %s of the peak (their resident memory, sampled every %s and added to the peak, as with memory_profiler's -c); the Go heap is this process's only.",
			mibText(r.Children), durationText(r.Interval))
	case heap > 2*rss+slack:
		return fmt.Sprintf("The Go heap grew by %s but resident memory only by %s: memory that is allocated but never written is not resident, because the system maps a page only when it is first touched and Go does not need to clear fresh memory from the system.",
			mibText(heap), mibText(rss))
	case rss > 2*heap+slack:
		return fmt.Sprintf("Resident memory grew by %s but the Go heap only by %s (sampled every millisecond): the rest is memory outside the Go heap (goroutine stacks, memory mapped by the program or by C code), or heap memory that was used and collected between two samples.",
			mibText(rss), mibText(heap))
	}
	return ""
}

// methodText describes how the peak was measured.
func (r *Result) methodText() string {
	switch r.Method {
	case harness.MemMethodHWM:
		return "kernel high-water mark (VmHWM)"
	case harness.MemMethodSample:
		return "sampled every " + durationText(r.Interval)
	case harness.MemMethodMprof:
		return "sampled every " + durationText(r.Interval) + " (memory_profiler)"
	}
	return r.Method
}

// durationText formats d with four significant digits and the units and
// micro sign of %timeit (magics.FormatTime): "768.3 ms", "250 µs".
func durationText(d time.Duration) string {
	return magics.FormatTime(d.Seconds(), 4)
}

// htmlTemplate renders a result; html/template escapes every value.
// memory_profiler's line comes first, as it prints it, in a <pre>; then
// the table. Its structure carries what matters, so that it reads the
// same where a notebook is shown through a sanitizer (which strips
// inline styles): names left-aligned by <div align="left">, figures in
// nowrap cells; inline styles only refine spacing.
var htmlTemplate = template.Must(template.New("memit").Funcs(template.FuncMap{
	// nbsp keeps a figure and its unit together where a notebook's style
	// sheet overrides nowrap (Jupyter's does).
	"nbsp": func(s string) string { return strings.ReplaceAll(s, " ", "\u00a0") },
}).Parse(`{{if .Failed}}<pre>{{.Caption}}</pre>{{else}}<div class="perfnb-memit">
<pre style="margin:0 0 6px 0">{{.Caption}}</pre>
<table style="border-collapse:collapse;font-variant-numeric:tabular-nums"><tbody>
{{range .Rows}}<tr><th nowrap="nowrap" style="padding:1px 12px 1px 0" title="{{.Title}}"><div align="left">{{.Name}}</div></th><td nowrap="nowrap" style="padding:1px 0">{{nbsp .Value}}</td></tr>
{{end}}</tbody></table>
{{range .Notes}}<p style="margin:4px 0;max-width:48em">{{.}}</p>
{{end}}{{with .Footer}}<div><small>{{.}}</small></div>
{{end}}</div>{{end}}`))

// htmlRow is one row of the table: a name with its explanation as title.
type htmlRow struct{ Name, Value, Title string }

// HTML renders the result as a compact table, with the environment it
// was measured in as its last line.
func (r *Result) HTML() string {
	data := struct {
		Failed          bool
		Caption, Footer string
		Rows            []htmlRow
		Notes           []string
	}{Caption: r.String()}
	if r == nil || r.Peak <= 0 {
		data.Failed = true
	} else {
		data.Rows, data.Footer = r.rows(), r.Environment.Footer()
		for _, s := range []string{r.explanation(), r.Note} {
			if s != "" {
				data.Notes = append(data.Notes, s)
			}
		}
	}
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, data); err != nil {
		// The template is fixed and its data are plain values.
		panic(fmt.Sprintf("memit: rendering the table: %v", err))
	}
	return b.String()
}

// rows are the table's rows.
func (r *Result) rows() []htmlRow {
	rows := []htmlRow{
		{"peak RSS", mibText(r.Peak), "highest resident set size of the child while the body ran"},
		{"increment", mibText(r.Increment), "peak RSS minus baseline"},
		{"baseline", mibText(r.Baseline), "resident set size after setup and a collection"},
	}
	if r.IncludeChildren {
		rows = append(rows, htmlRow{"children (in peak)", mibText(r.Children), "sampled resident memory of child processes, included in the peak"})
	}
	runs := fmt.Sprintf("%d", r.Repeat)
	if r.Repeat > 1 {
		runs += " (largest peak shown)"
	}
	method := r.methodText()
	if r.IncludeChildren {
		method += "; children sampled every " + durationText(r.Interval)
	}
	return append(rows,
		htmlRow{"Go heap peak", fmt.Sprintf("%s (+%s)", mibText(r.HeapPeak), mibText(r.HeapPeak-r.HeapBaseline)), "highest size of live and unswept heap objects, sampled every millisecond; in brackets its growth"},
		htmlRow{"allocated", mibText(int64(r.Allocated)) + " in " + magics.Plural(magics.Thousands(int64(r.Objects)), "object"), "all heap allocations of the body, including those already collected"},
		htmlRow{"collections", fmt.Sprintf("%d, %s paused", r.GCCycles, durationText(r.GCPause)), "garbage collection cycles and their total stop-the-world pause"},
		htmlRow{"wall time", durationText(r.Wall), "the body's elapsed time"},
		htmlRow{"runs", runs, "-r: runs of the body"},
		htmlRow{"method", method, "how the peak was measured"},
	)
}

// mibText formats bytes as MiB with two decimals, as memory_profiler does.
func mibText(n int64) string {
	return fmt.Sprintf("%.2f MiB", float64(n)/mib)
}
