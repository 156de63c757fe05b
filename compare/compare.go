// Package compare compares the results of two notebooks, as benchstat
// compares two benchmark files, and decides a regression gate. Results
// are matched by what they measure (record.NameResults: the magic and
// its statement or label), then by their cell.
//
// Two modes share the report. Compare tests saved records: each figure
// with benchmath's Mann-Whitney U test, timings only when the two
// environments were alike (the same Go, CPU and GOMAXPROCS, and a machine
// that was neither busy nor differently loaded), since a timing made
// under other load measures the load as much as the code. Interleave
// re-runs the measured cells of two executing notebooks alternately,
// round by round, so that old and new share the machine's noise, and
// tests each figure on its per-round pairs (Wilcoxon's signed-rank test
// on the log ratio), stopping as soon as every figure is settled.
package compare

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"golang.org/x/perf/benchmath"

	"github.com/perfnb/perfnb/magics/record"
)

// Defaults of the gate, measured with scripts/bench-gate (docs/compare.md
// gives the false-alarm and detection rates).
const (
	DefaultThreshold = 0.25
	// DefaultAlpha is for saved records; DefaultRunAlpha for interleaved
	// rounds, whose paired test needs 6 rounds to reach 0.05 and 8 to
	// reach 0.01 (minRounds), while the threshold keeps the false alarms
	// down.
	DefaultAlpha    = 0.01
	DefaultRunAlpha = 0.05
	DefaultRounds   = 20
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
	Same         Verdict = iota // no significant difference beyond the threshold
	Regression                  // significantly worse by more than the threshold
	Improvement                 // significantly better by more than the threshold
	TooFew                      // too few runs for the test to find a difference
	Inconclusive                // a timing made in environments too different to compare
)

// Test is the statistical test of one figure.
type Test struct {
	P      float64 // two-sided p-value
	N1, N2 int     // runs of old and new (saved records)
	Rounds int     // pairs tested (interleaved rounds); 0 for saved records
	Alpha  float64
}

// String writes the test as benchstat does: "p=0.008 n=10", "n=7+8", or
// for paired rounds "p=0.016 n=8 rounds".
func (t Test) String() string {
	switch {
	case t.Rounds > 0:
		return fmt.Sprintf("p=%.3f n=%d rounds", t.P, t.Rounds)
	case t.N1 == t.N2:
		return fmt.Sprintf("p=%.3f n=%d", t.P, t.N1)
	}
	return fmt.Sprintf("p=%.3f n=%d+%d", t.P, t.N1, t.N2)
}

// Row is the comparison of one figure of one result.
type Row struct {
	Name string // the result's title (record.NameResults): "%timeit work(n)"
	Unit string // "sec/op", "B/op"...
	// Old and New summarise the runs (saved records) or the rounds'
	// values (interleaved: see roundValue).
	Old, New benchmath.Summary
	// Delta is the estimated relative change, new/old - 1 (NaN when the
	// old figure is 0: a change from nothing is not a percentage).
	Delta float64
	// Diff is the estimated change in Unit, new - old.
	Diff float64
	// Floor is the least change the measurement resolves (see floor);
	// 0 for times.
	Floor   float64
	Test    Test
	Verdict Verdict
	// Note says why a timing is inconclusive.
	Note string
	// settled says that more rounds would not change the verdict.
	settled bool
}

// Report is the comparison of two notebooks.
type Report struct {
	Rows []Row
	// OnlyOld and OnlyNew name the results found in one notebook only.
	OnlyOld, OnlyNew []string
	// Renamed lists results matched by their cell although what they
	// measure was renamed: "%timeit f() → %timeit g()".
	Renamed []string
	// Matched counts the results found in both notebooks.
	Matched int
	// Environment lists the differences between the environments of the
	// matched results.
	Environment []string
	// Rounds is the number of interleaved rounds tested (0 for saved
	// records), and Stopped why they stopped.
	Rounds  int
	Stopped string
}

// Regressions returns the rows that are regressions.
func (r *Report) Regressions() []Row { return r.rows(Regression) }

// Inconclusive returns the rows whose timings could not be compared.
func (r *Report) Inconclusive() []Row { return r.rows(Inconclusive) }

func (r *Report) rows(v Verdict) []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Verdict == v {
			out = append(out, row)
		}
	}
	return out
}

// Compare compares the saved records of two notebooks.
func Compare(old, new []Entry, o Options) *Report {
	pairs, onlyOld, onlyNew, renamed := match(old, new)
	rep := &Report{Matched: len(pairs), OnlyOld: onlyOld, OnlyNew: onlyNew, Renamed: renamed}
	seen := map[string]bool{}
	for _, p := range pairs {
		oe, ne := p.old.rec.Environment, p.new.rec.Environment
		for _, d := range record.Differences(oe, ne) {
			if !seen[d] {
				seen[d] = true
				rep.Environment = append(rep.Environment, d)
			}
		}
		why := timingReasons(oe, ne)
		for _, m := range p.new.res.Metrics {
			ov, ok := p.old.res.Metric(m.Unit)
			if !ok || allZero(ov) && allZero(m.Values) {
				continue // nothing to compare: no allocation before or after
			}
			row := compareRuns(p.new.name.Title, m.Unit, ov, m.Values, p.floor(m.Unit), o)
			if isTime(m.Unit) && len(why) > 0 && row.Verdict != TooFew {
				row.Verdict, row.Note = Inconclusive, why[0]
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep
}

func allZero(xs []float64) bool {
	return !slices.ContainsFunc(xs, func(x float64) bool { return x != 0 })
}

// compareRuns compares the runs of one figure with the U test.
func compareRuns(name, unit string, old, new []float64, floor float64, o Options) Row {
	th := benchmath.Thresholds{CompareAlpha: o.Alpha}
	so := benchmath.NewSample(slices.Clone(old), &th)
	sn := benchmath.NewSample(slices.Clone(new), &th)
	row := Row{Name: name, Unit: unit, Floor: floor,
		Old: benchmath.AssumeNothing.Summary(so, 0.95), New: benchmath.AssumeNothing.Summary(sn, 0.95)}
	c := benchmath.AssumeNothing.Compare(so, sn)
	row.Test = Test{P: c.P, N1: len(old), N2: len(new), Alpha: o.Alpha}
	row.Diff = row.New.Center - row.Old.Center
	row.Delta = relative(row.Diff, row.Old.Center)
	switch {
	case row.Test.P > o.Alpha && !canDiffer(len(old), len(new), o.Alpha):
		row.Verdict = TooFew
	default:
		row.Verdict = verdict(row, row.Test.P <= o.Alpha, o)
	}
	return row
}

// relative is diff as a fraction of base: NaN from 0, where a change is
// not a percentage.
func relative(diff, base float64) float64 {
	switch {
	case diff == 0:
		return 0
	case base == 0:
		return math.NaN()
	}
	return diff / base
}

// verdict decides a row whose change (Delta, Diff) has been estimated
// and tested: a regression is a significant change that is worse by more
// than the threshold and, in absolute terms, more than the floor.
func verdict(row Row, significant bool, o Options) Verdict {
	beyondFloor := math.Abs(row.Diff) > row.Floor
	switch {
	case !significant || !beyondFloor:
		return Same
	case row.Diff > 0 && (math.IsNaN(row.Delta) || row.Delta > o.Threshold):
		return Regression
	case row.Diff < 0 && row.Delta < -o.Threshold:
		return Improvement
	}
	return Same
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

// result is one result of a notebook, with its names.
type result struct {
	entry *Entry
	rec   *record.Record
	res   *record.Result
	idx   int // the result's index in its record
	name  record.ResultName
}

// namedResults lists the results of entries with their names.
func namedResults(entries []Entry) []result {
	recs := make([]record.Record, len(entries))
	for i, e := range entries {
		recs[i] = e.Record
	}
	names := record.NameResults(recs)
	var out []result
	for i := range entries {
		e := &entries[i]
		for j := range e.Record.Results {
			out = append(out, result{entry: e, rec: &e.Record, res: &e.Record.Results[j], idx: j, name: names[i][j]})
		}
	}
	return out
}

// pair is a result of the old notebook and the same result of the new.
type pair struct{ old, new result }

// floor is the least change of a figure of the pair's result that the
// measurement resolves.
func (p pair) floor(unit string) float64 {
	return floor(unit, min(p.old.res.Iterations, p.new.res.Iterations))
}

// match pairs the results of the two notebooks: first those of the same
// name (what they measure), then, among the rest, those in the same
// place: the same cell (counted without an injected parameters cell),
// magic, label and index in the cell, provided the notebooks are
// evidently one notebook (some result matched by name, or the cell has
// the same id), so that two unrelated notebooks match nothing. The pairs
// are in the new notebook's order.
func match(old, new []Entry) (pairs []pair, onlyOld, onlyNew, renamed []string) {
	olds, news := namedResults(old), namedResults(new)
	used := make([]bool, len(olds))
	find := func(same func(a, b result) bool, n result) bool {
		for i, o := range olds {
			if !used[i] && same(o, n) {
				used[i] = true
				pairs = append(pairs, pair{o, n})
				return true
			}
		}
		return false
	}
	var rest []result
	for _, n := range news {
		if !find(func(a, b result) bool { return a.name.Bench == b.name.Bench }, n) {
			rest = append(rest, n)
		}
	}
	byName := len(pairs) > 0
	for _, n := range rest {
		if find(func(a, b result) bool {
			return samePlace(a, b) && (byName || a.entry.CellID != "" && a.entry.CellID == b.entry.CellID)
		}, n) {
			o := pairs[len(pairs)-1].old
			renamed = append(renamed, o.name.Title+" → "+n.name.Title)
			continue
		}
		onlyNew = append(onlyNew, n.name.Title)
	}
	for i, o := range olds {
		if !used[i] {
			onlyOld = append(onlyOld, o.name.Title)
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.new.entry.Cell, b.new.entry.Cell) })
	return pairs, onlyOld, onlyNew, renamed
}

// samePlace reports whether two results are in the same place of their
// notebooks.
func samePlace(a, b result) bool {
	return a.entry.Cell == b.entry.Cell && a.rec.Magic == b.rec.Magic && a.entry.Index == b.entry.Index &&
		a.idx == b.idx && a.res.Label == b.res.Label
}
