package scalene

import (
	"html/template"

	"github.com/perfnb/perfnb/magics/record"
)

// addRecords fills rec with the figures of the profiled runs, one result
// per variant: the benchmark's time per execution in the CPU run, and the
// bytes allocated per execution in the memory run (from the profile's
// alloc_space, which the runtime scales up from its samples).
func addRecords(rec *record.Record, results []*Result) *record.Record {
	rec.Clock = "wall"
	for _, r := range results {
		out := record.Result{Label: r.Label, Iterations: int(max(r.CPUExecutions, 1))}
		if r.NsPerOp > 0 {
			out.Add("sec/op", r.NsPerOp/1e9)
		}
		if r.Mem != nil && r.Executions > 0 {
			if idx, err := sampleIndex(r.Mem, "alloc_space"); err == nil {
				var total int64
				for _, s := range r.Mem.Sample {
					total += s.Value[idx]
				}
				out.Add("B/op", float64(total)/float64(r.Executions))
			}
		}
		rec.Results = append(rec.Results, out)
	}
	return rec
}

// envFooter is the line under the page that says where the profiles were
// taken.
func envFooter(e record.Environment) string {
	return `<p class="perfnb-env" style="color:#666;font-size:0.85em">` + template.HTMLEscapeString(e.Footer()) + `</p>`
}
