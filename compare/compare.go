// Package compare compares the results saved in two notebooks, as
// benchstat compares two benchmark files: it matches each result of the
// new notebook with the old one's (by cell and label, else by the magic's
// source and label), tests each figure with benchmath's Mann-Whitney U
// test, and reports a regression when a figure is significantly worse by
// more than a threshold. perfnb compare is its command.
package compare

import (
	"fmt"
	"math"
	"sort"

	"golang.org/x/perf/benchmath"

	"github.com/perfnb/perfnb/magics/record"
)

// Defaults that a CI job on a shared machine can live with. Measured with
// scripts/bench-gate on two cores at a load average of 17–19: timed on CPU
// time (%timeit -c), no false positive in 20 comparisons of unchanged
// code, and every slowdown of 1.5× caught (README: Figures).
const (
	DefaultThreshold = 0.25
	DefaultAlpha     = 0.01
)

// Options set the gate.
type Options struct {
	// Threshold is the least relative worsening reported as a regression
	// (0.25 for 25%).
	Threshold float64
	// Alpha is the significance level of the test.
	Alpha float64
}

// Verdict is what a comparison of one figure concluded.
type Verdict int

// The verdicts.
const (
	Same        Verdict = iota // no significant difference beyond the threshold
	Regression                 // significantly worse by more than the threshold
	Improvement                // significantly better by more than the threshold
	TooFew                     // too few runs for the test to find a difference
)

// Row is the comparison of one figure of one result.
type Row struct {
	Name     string // record.Record.Name: "In3/timeit/fast"
	Unit     string // "sec/op", "B/op"...
	Old, New benchmath.Summary
	// Delta is New.Center/Old.Center - 1 (NaN when Old.Center is 0 and
	// New.Center is not).
	Delta   float64
	Test    benchmath.Comparison
	Verdict Verdict
}

// Report is the comparison of two notebooks.
type Report struct {
	Rows []Row
	// OnlyOld and OnlyNew name the results found in one notebook only.
	OnlyOld, OnlyNew []string
	// Matched counts the results found in both notebooks.
	Matched int
	// Environment lists the differences between the environments of the
	// matched results that may make the comparison meaningless.
	Environment []string
}

// Regressions returns the rows that are regressions.
func (r *Report) Regressions() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Verdict == Regression {
			out = append(out, row)
		}
	}
	return out
}

// Compare compares the records of two notebooks.
func Compare(old, new []Entry, o Options) *Report {
	rep := &Report{}
	pairs, onlyOld, onlyNew := match(old, new)
	rep.Matched = len(pairs)
	envSeen := map[string]bool{}
	for _, p := range pairs {
		for _, d := range record.Differences(p.old.Record.Environment, p.new.Record.Environment) {
			if !envSeen[d] {
				envSeen[d] = true
				rep.Environment = append(rep.Environment, d)
			}
		}
		rep.Rows = append(rep.Rows, compareRecords(p.old.Record, p.new.Record, o)...)
	}
	for _, e := range onlyOld {
		rep.OnlyOld = append(rep.OnlyOld, names(e.Record)...)
	}
	for _, e := range onlyNew {
		rep.OnlyNew = append(rep.OnlyNew, names(e.Record)...)
	}
	return rep
}

func names(rec record.Record) []string {
	var out []string
	for _, r := range rec.Results {
		out = append(out, rec.Name(r))
	}
	return out
}

// compareRecords compares the results of two matched records, label by
// label, unit by unit, in the new record's order.
func compareRecords(old, new record.Record, o Options) []Row {
	var rows []Row
	for _, nr := range new.Results {
		var or *record.Result
		for i := range old.Results {
			if old.Results[i].Label == nr.Label {
				or = &old.Results[i]
			}
		}
		if or == nil {
			continue
		}
		for _, m := range nr.Metrics {
			ov, ok := or.Metric(m.Unit)
			if !ok || allZero(ov) && allZero(m.Values) {
				// Nothing to compare: no allocation before or after.
				continue
			}
			rows = append(rows, compareValues(new.Name(nr), m.Unit, ov, m.Values, o))
		}
	}
	return rows
}

func allZero(xs []float64) bool {
	for _, x := range xs {
		if x != 0 {
			return false
		}
	}
	return true
}

// compareValues compares the runs of one figure.
func compareValues(name, unit string, old, new []float64, o Options) Row {
	th := benchmath.Thresholds{CompareAlpha: o.Alpha}
	so := benchmath.NewSample(append([]float64(nil), old...), &th)
	sn := benchmath.NewSample(append([]float64(nil), new...), &th)
	row := Row{Name: name, Unit: unit,
		Old: benchmath.AssumeNothing.Summary(so, 0.95), New: benchmath.AssumeNothing.Summary(sn, 0.95)}
	row.Test = benchmath.AssumeNothing.Compare(so, sn)
	switch {
	case row.Old.Center == row.New.Center:
		row.Delta = 0
	case row.Old.Center == 0:
		row.Delta = math.NaN()
	default:
		row.Delta = row.New.Center/row.Old.Center - 1
	}
	switch {
	case row.Test.P > o.Alpha && !canDiffer(len(old), len(new), o.Alpha):
		row.Verdict = TooFew
	case row.Test.P > o.Alpha:
		row.Verdict = Same
	case row.Delta > o.Threshold || math.IsNaN(row.Delta):
		row.Verdict = Regression
	case row.Delta < -o.Threshold:
		row.Verdict = Improvement
	}
	return row
}

// canDiffer reports whether samples of n1 and n2 runs can show a
// difference at level alpha: the smallest p-value of the two-sided
// Mann-Whitney U test, 2/C(n1+n2, n1), is at most alpha.
func canDiffer(n1, n2 int, alpha float64) bool {
	if n1 == 0 || n2 == 0 {
		return false
	}
	// log C(n1+n2, n1) = lgamma(n1+n2+1) - lgamma(n1+1) - lgamma(n2+1)
	a, _ := math.Lgamma(float64(n1 + n2 + 1))
	b, _ := math.Lgamma(float64(n1 + 1))
	c, _ := math.Lgamma(float64(n2 + 1))
	return math.Log(2)-(a-b-c) <= math.Log(alpha)
}

// pair is a matched old and new record.
type pair struct{ old, new Entry }

// match pairs the records of the two notebooks: first those of the same
// cell (by id), magic, labels and place in the cell; then, among the
// rest, those of the same source, labels and order of appearance.
func match(old, new []Entry) (pairs []pair, onlyOld, onlyNew []Entry) {
	used := make([]bool, len(old))
	var rest []Entry
	byCell := map[string]int{}
	for i, e := range old {
		if e.CellID != "" {
			byCell[cellKey(e)] = i
		}
	}
	for _, e := range new {
		if i, ok := byCell[cellKey(e)]; ok && e.CellID != "" && !used[i] {
			used[i] = true
			pairs = append(pairs, pair{old[i], e})
			continue
		}
		rest = append(rest, e)
	}
	for _, e := range rest {
		found := false
		for i, o := range old {
			if !used[i] && o.Record.Source == e.Record.Source && labels(o.Record) == labels(e.Record) {
				used[i], found = true, true
				pairs = append(pairs, pair{o, e})
				break
			}
		}
		if !found {
			onlyNew = append(onlyNew, e)
		}
	}
	for i, e := range old {
		if !used[i] {
			onlyOld = append(onlyOld, e)
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].new.Record.Cell < pairs[j].new.Record.Cell })
	return pairs, onlyOld, onlyNew
}

func cellKey(e Entry) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d", e.CellID, e.Record.Magic, labels(e.Record), e.Index)
}
