// Package record holds the machine-readable form of a magic's result: the
// figures of each run and the environment they were measured in (Go
// version, GOOS/GOARCH and the architecture level, CPU, GOMAXPROCS, load
// average, perfnb's version, module versions). Every measuring magic
// (%time, %timeit, %memit, %scalene) adds a Record to its display bundle
// under MIMEType, so that a saved notebook is a performance record that
// perfnb compare reads, and that WriteBench turns into the standard Go
// benchmark format benchstat reads.
package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
)

// MIMEType is the MIME type under which a Record travels in a display
// bundle and is saved in a notebook.
const MIMEType = "application/vnd.perfnb.result+json"

// Record is one magic's result.
type Record struct {
	// Magic is the magic's name without %: "timeit", "memit", "time".
	Magic string `json:"magic"`
	// Source is the magic's line and, for a cell magic, its body, as typed.
	Source string `json:"source"`
	// Cell is the execution count of the cell (the n of In[n]).
	Cell int `json:"cell"`
	// Clock says what the time figures measure: "wall" (elapsed time) or
	// "cpu" (the process's CPU time, %timeit -c); "" when there are none.
	Clock string `json:"clock,omitempty"`
	// Results holds one entry per measured statement: one for a plain
	// %timeit, one per labelled variant of a comparison.
	Results []Result `json:"results"`
	// Environment is where the figures were measured.
	Environment Environment `json:"environment"`
}

// Result is the figures of one measured statement.
type Result struct {
	// Label names a variant of a comparison; "" otherwise.
	Label string `json:"label,omitempty"`
	// Iterations is the number of loops per run that each value is an
	// average of (1 for a single execution).
	Iterations int `json:"iterations"`
	// Metrics are the measured quantities, each with one value per run.
	Metrics []Metric `json:"metrics"`
}

// Metric is one measured quantity in a unit of Go's benchmark format:
// "sec/op", "B/op", "allocs/op", "cpu-sec/op", "user-sec/op",
// "peak-RSS-B". Every unit is one where more is worse.
type Metric struct {
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"` // one per run, in the order measured
}

// Metric returns the values of the metric with the given unit.
func (r Result) Metric(unit string) ([]float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Values, true
		}
	}
	return nil, false
}

// Add appends a metric, unless it has no finite value.
func (r *Result) Add(unit string, values ...float64) {
	var keep []float64
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			keep = append(keep, v)
		}
	}
	if len(keep) > 0 {
		r.Metrics = append(r.Metrics, Metric{Unit: unit, Values: keep})
	}
}

// Decode reads a record saved in a notebook: a JSON object or, from a
// client that stored it as text, a JSON string holding one.
func Decode(raw json.RawMessage) (Record, error) {
	var rec Record
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return rec, err
		}
		raw = []byte(s)
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, err
	}
	if rec.Magic == "" {
		return rec, errors.New("no magic named")
	}
	return rec, nil
}
