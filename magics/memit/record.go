package memit

import (
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics/record"
)

// The units of %memit's figures in its record, per run of the body.
const (
	peakUnit      = "peak-RSS-B"
	incrementUnit = "increment-RSS-B"
)

// record returns the figures of each run whose memory was read: its peak
// and increment of resident memory, and its heap allocations (as B/op and
// allocs/op of one loop).
func (r *Result) record() record.Result {
	out := record.Result{Iterations: 1}
	var peaks, increments, bytes, objects []float64
	for _, m := range r.reports {
		if m.LimitExceeded || m.Peak <= 0 {
			continue
		}
		peaks = append(peaks, float64(m.Peak))
		increments = append(increments, float64(m.Peak-m.Baseline))
		bytes = append(bytes, float64(m.Allocated))
		objects = append(objects, float64(m.Objects))
	}
	out.Add(peakUnit, peaks...)
	out.Add(incrementUnit, increments...)
	out.Add("B/op", bytes...)
	out.Add("allocs/op", objects...)
	return out
}

// bundle is the display of r (nil when no memory figure was read): its
// text, its table with rec's environment, and rec with r's figures.
func (r *Result) bundle(rec *record.Record) protocol.Bundle {
	b := protocol.Bundle{"text/plain": r.String()}
	if r != nil {
		r.Environment = rec.Environment
		rec.Results = []record.Result{r.record()}
		b[record.MIMEType] = rec
	}
	b["text/html"] = r.HTML()
	return b
}
