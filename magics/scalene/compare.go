package scalene

import (
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"html/template"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/sysmem"
)

// perExecution returns a copy of p with every value divided by n: a
// profile of one execution of the body, so that variants whose runs
// executed the body a different number of times compare.
func perExecution(p *profile.Profile, n int64) *profile.Profile {
	q := p.Copy()
	if n > 1 {
		q.Scale(1 / float64(n))
	}
	return q
}

// speedLine compares the variants' time per execution in their CPU runs
// (measured under the profiler, so indicative; %timeit measures it
// properly).
func speedLine(rs []*Result) string {
	var parts []string
	for _, r := range rs {
		if r.CPU == nil || r.NsPerOp == 0 {
			return ""
		}
		s := fmt.Sprintf("%s %s", r.Label, magics.FormatTime(r.NsPerOp/1e9, 3))
		if r != rs[0] {
			s += fmt.Sprintf(" (%.2f× %s)", r.NsPerOp/rs[0].NsPerOp, rs[0].Label)
		}
		parts = append(parts, s)
	}
	return "Time per execution in the profiled runs: " + strings.Join(parts, ", ") + "."
}

// RenderComparison lays out the results of labelled variants: their line
// tables side by side (one after the other in text), and a difference
// flame graph of each later variant against the first, per execution of
// the body (pprof's -diff_base), CPU time when there is a CPU profile,
// else allocated bytes.
func RenderComparison(rs []*Result, opts RenderOptions) (protocol.Bundle, error) {
	var text strings.Builder
	var pg page
	if l := speedLine(rs); l != "" {
		text.WriteString(l + "\n\n")
		pg.Lead = l
	}
	for _, r := range rs {
		t, att, err := r.table(opts.Table)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Label, err)
		}
		fmt.Fprintf(&text, "── %s ──\n%s\n", r.Label, t.Text())
		pg.Tables = append(pg.Tables, pageTable{Label: r.Label, Table: template.HTML(t.HTML())})
		if opts.Asm > 0 && r.CPU != nil {
			asm := r.Assembly(att, t.Rows, opts.Asm)
			text.WriteString(asm.Text() + "\n")
			pg.Asm = append(pg.Asm, asm.HTML())
		}
		pg.Paths = append(pg.Paths, r.paths()...)
	}
	if opts.FlameGraph {
		for _, r := range rs[1:] {
			f, err := diffSection(rs[0], r)
			if err != nil {
				return nil, err
			}
			pg.Flames = append(pg.Flames, f)
		}
	}
	text.WriteString(pathsText(rs))
	return pg.bundle(text.String())
}

// diffSection is the difference flame graph of r against base, per
// execution.
func diffSection(base, r *Result) (flame, error) {
	title := fmt.Sprintf("%s %s vs %s", cell.File(r.Cell), r.Label, base.Label)
	if r.CPU != nil && base.CPU != nil {
		now, was := perExecution(sameBench(r.CPU, r), r.CPUExecutions), perExecution(sameBench(base.CPU, base), base.CPUExecutions)
		return flameSection(now, was, "cpu", fmt.Sprintf("CPU time per execution, %s against %s (red: more, blue: less)", r.Label, base.Label),
			title, func(v int64) string { return magics.FormatTime(float64(v)/1e9, 3) })
	}
	now, was := perExecution(sameBench(r.Mem, r), r.Executions), perExecution(sameBench(base.Mem, base), base.Executions)
	return flameSection(now, was, "alloc_space", fmt.Sprintf("Allocated bytes per execution, %s against %s (red: more, blue: less)", r.Label, base.Label),
		title, func(v int64) string { return sysmem.FormatBytes(float64(v)) })
}

// sameBench returns a copy of p in which the variant's benchmark function
// has the plain name, BenchmarkScalene, so that the frames of the two
// variants' bodies line up in a difference.
func sameBench(p *profile.Profile, r *Result) *profile.Profile {
	q := p.Copy()
	for _, fn := range q.Function {
		if strings.HasSuffix(fn.Name, ".Benchmark"+r.bench()) {
			fn.Name = strings.TrimSuffix(fn.Name, r.bench()) + benchName
			fn.SystemName = fn.Name
		}
	}
	return q
}
