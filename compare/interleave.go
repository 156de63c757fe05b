package compare

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/perfnb/perfnb/internal/nbformat"
	"github.com/perfnb/perfnb/magics/record"
)

// Side is one of the two notebooks that Interleave compares, executed
// once already, whose cells it runs again (runner.Execution).
type Side interface {
	// Document is the notebook with the outputs of its latest runs.
	Document() *nbformat.Document
	// Rerun runs a cell of the document again.
	Rerun(ctx context.Context, c *nbformat.Cell) error
}

// RunOptions set an interleaved comparison.
type RunOptions struct {
	Options
	// MaxRounds is the most rounds run (DefaultRounds when 0).
	MaxRounds int
	// Progress receives a line per round.
	Progress io.Writer
	// Names are the two sides' names in messages and in the report.
	OldName, NewName string
}

// series is a figure of a matched result, one value per round.
type series struct {
	name, unit string
	floor      float64
	old, new   []float64
}

// located is a result, located by its cell, its record's place among
// the cell's records, and its own place in the record.
type located struct {
	cell     *nbformat.Cell
	rec, res int
}

// Interleave compares two notebooks that have run once: it runs the
// cells that hold the matched results again, alternately (old then new
// in one round, new then old in the next, so that a drift of the
// machine's speed cancels), and compares each figure on its rounds'
// pairs (comparePaired). The first run's figures, which were not
// interleaved, are not used. It stops once every figure is settled, or
// after o.MaxRounds rounds. It also returns every round's records of
// each side, one record per original with all the rounds' runs, for
// Go's benchmark format.
func Interleave(ctx context.Context, old, new Side, o RunOptions) (*Report, [2][]record.Record, error) {
	var merged [2][]record.Record
	olds, err := resultsOf(o.OldName, old.Document())
	if err != nil {
		return nil, merged, err
	}
	news, err := resultsOf(o.NewName, new.Document())
	if err != nil {
		return nil, merged, err
	}
	pairs, onlyOld, onlyNew, renamed := match(olds.Entries, news.Entries)
	rep := &Report{Matched: len(pairs), OnlyOld: onlyOld, OnlyNew: onlyNew, Renamed: renamed}
	if len(pairs) == 0 {
		return rep, merged, nil
	}
	r := newRounds(old, new, olds, news, pairs)
	maxRounds := cmp.Or(o.MaxRounds, DefaultRounds)
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	for round := 1; round <= maxRounds; round++ {
		if err := r.run(ctx, round, o); err != nil {
			return nil, merged, err
		}
		rep.Rows, rep.Rounds = r.rows(o.Options), round
		settled := 0
		for _, row := range rep.Rows {
			if row.settled {
				settled++
			}
		}
		fmt.Fprintf(progress, "round %d of at most %d: %d of %d figures settled\n", round, maxRounds, settled, len(rep.Rows))
		if settled == len(rep.Rows) && round >= minRounds(o.Alpha) {
			rep.Stopped = "every figure settled"
			break
		}
		rep.Stopped = fmt.Sprintf("the most rounds (%d) were run", maxRounds)
	}
	return rep, r.merged, nil
}

// rounds is the state of Interleave's rounds.
type rounds struct {
	sides  [2]Side
	cells  [][2]*nbformat.Cell // the cells to run, paired, in order
	pairs  []pair
	where  [][2]located // where each pair's results are
	series [][]*series  // per pair, per unit of the new result
	merged [2][]record.Record
	// mergedAt maps a located record to its merged record.
	mergedAt [2]map[located]int
}

func newRounds(old, new Side, olds, news *NotebookResults, pairs []pair) *rounds {
	r := &rounds{sides: [2]Side{old, new}, pairs: pairs}
	r.mergedAt = [2]map[located]int{{}, {}}
	seen := map[[2]*nbformat.Cell]bool{}
	for _, p := range pairs {
		w := [2]located{locate(old.Document(), olds, p.old), locate(new.Document(), news, p.new)}
		r.where = append(r.where, w)
		cells := [2]*nbformat.Cell{w[0].cell, w[1].cell}
		if !seen[cells] {
			seen[cells] = true
			r.cells = append(r.cells, cells)
		}
		var ss []*series
		for _, m := range p.new.res.Metrics {
			if _, ok := p.old.res.Metric(m.Unit); ok {
				ss = append(ss, &series{name: p.new.name.Title, unit: m.Unit, floor: p.floor(m.Unit)})
			}
		}
		r.series = append(r.series, ss)
		for side, res := range []result{p.old, p.new} {
			at := located{cell: w[side].cell, rec: w[side].rec}
			if _, ok := r.mergedAt[side][at]; !ok {
				rec := *res.rec
				rec.Results = make([]record.Result, len(res.rec.Results))
				for i, x := range res.rec.Results {
					rec.Results[i] = record.Result{Label: x.Label, Iterations: x.Iterations}
				}
				r.mergedAt[side][at] = len(r.merged[side])
				r.merged[side] = append(r.merged[side], rec)
			}
		}
	}
	return r
}

// locate finds a result in its notebook.
func locate(doc *nbformat.Document, nr *NotebookResults, res result) located {
	c := doc.Cells[res.entry.at]
	n := 0
	for i := range nr.Entries {
		e := &nr.Entries[i]
		if e == res.entry {
			break
		}
		if e.at == res.entry.at {
			n++
		}
	}
	return located{cell: c, rec: n, res: res.idx}
}

// run runs one round: each pair of cells, old first in odd rounds and
// new first in even ones, then records the figures.
func (r *rounds) run(ctx context.Context, round int, o RunOptions) error {
	names := [2]string{o.OldName, o.NewName}
	for _, cells := range r.cells {
		order := []int{0, 1}
		if round%2 == 0 {
			order = []int{1, 0}
		}
		for _, side := range order {
			if err := r.sides[side].Rerun(ctx, cells[side]); err != nil {
				return fmt.Errorf("%s, round %d: %w", names[side], round, err)
			}
		}
	}
	return r.collect(round, names)
}

// collect reads the records the cells published in this round and adds
// their figures to the series and the merged records.
func (r *rounds) collect(round int, names [2]string) error {
	got := [2]map[*nbformat.Cell][]record.Record{{}, {}}
	for _, cells := range r.cells {
		for side, c := range cells {
			if _, done := got[side][c]; done {
				continue
			}
			recs, err := cellRecords(c)
			if err != nil {
				return &InputError{names[side], err}
			}
			got[side][c] = recs
			for i, rec := range recs {
				if m, ok := r.mergedAt[side][located{cell: c, rec: i}]; ok {
					appendRuns(&r.merged[side][m], rec)
				}
			}
		}
	}
	for i, p := range r.pairs {
		var res [2]record.Result
		for side, at := range r.where[i] {
			recs := got[side][at.cell]
			if at.rec >= len(recs) || at.res >= len(recs[at.rec].Results) {
				return fmt.Errorf("%s, round %d: the cell gave no result for %s this time", names[side], round, p.new.name.Title)
			}
			res[side] = recs[at.rec].Results[at.res]
		}
		for _, s := range r.series[i] {
			ov, okOld := res[0].Metric(s.unit)
			nv, okNew := res[1].Metric(s.unit)
			if !okOld || !okNew {
				return fmt.Errorf("round %d: %s has no %s figure this time", round, s.name, s.unit)
			}
			s.old = append(s.old, roundValue(s.unit, ov))
			s.new = append(s.new, roundValue(s.unit, nv))
		}
	}
	return nil
}

// appendRuns adds the runs of rec's results to those of into.
func appendRuns(into *record.Record, rec record.Record) {
	for i := range into.Results {
		if i >= len(rec.Results) {
			return
		}
		for _, m := range rec.Results[i].Metrics {
			dst := &into.Results[i]
			if j := slices.IndexFunc(dst.Metrics, func(x record.Metric) bool { return x.Unit == m.Unit }); j >= 0 {
				dst.Metrics[j].Values = append(dst.Metrics[j].Values, m.Values...)
			} else {
				dst.Metrics = append(dst.Metrics, record.Metric{Unit: m.Unit, Values: slices.Clone(m.Values)})
			}
		}
	}
	into.Environment = rec.Environment
}

// roundValue is what a side's runs of one round give a figure: for a
// time, the least of them, for memory their median. The noise of a
// shared machine only ever adds time, so the least time of a round is
// the run least disturbed, and its change is the change of the code's own
// cost (Chen and Revels, "Robust benchmarking in noisy environments",
// 2016, whose argument Julia's BenchmarkTools follows); on this kind of
// machine it halved the spread of the rounds' changes against the median
// (docs/compare.md). Memory figures move either way.
func roundValue(unit string, runs []float64) float64 {
	if isTime(unit) {
		return slices.Min(runs)
	}
	s := slices.Clone(runs)
	slices.Sort(s)
	return median(s)
}

// rows compares every series.
func (r *rounds) rows(o Options) []Row {
	var rows []Row
	for _, ss := range r.series {
		for _, s := range ss {
			if allZero(s.old) && allZero(s.new) {
				continue
			}
			rows = append(rows, comparePaired(s.name, s.unit, s.old, s.new, s.floor, o))
		}
	}
	return rows
}
