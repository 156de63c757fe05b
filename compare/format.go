package compare

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchunit"

	"github.com/perfnb/perfnb/magics/record"
)

// WriteText writes the report as benchstat does: one table per unit with
// the old and new medians and their 95% confidence intervals, the change
// and the test, then the verdict of each row that is not "no
// difference", the notes (inconclusive timings and why, differences of
// environment, renamed results, results found in one notebook only) and
// the gate's conclusion.
func (r *Report) WriteText(w io.Writer, oldName, newName string, o Options) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, unit := range unitsInOrder(r.Rows) {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\tchange\t\n", unit, oldName, newName)
		for _, row := range r.Rows {
			if row.Unit != unit {
				continue
			}
			sc := benchunit.CommonScale([]float64{row.Old.Center, row.New.Center}, benchunit.ClassOf(unit))
			fmt.Fprintf(tw, "%s\t%s ± %s\t%s ± %s\t%s\t%s\n", row.Name,
				sc.Format(row.Old.Center), row.Old.PctRangeString(), sc.Format(row.New.Center), row.New.PctRangeString(),
				changeText(row), verdictText(row, o))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", strings.Join(r.notes(oldName, newName, o), "\n"))
	return err
}

// notes are the lines under the tables.
func (r *Report) notes(oldName, newName string, o Options) []string {
	var notes []string
	why := map[string]bool{}
	for _, row := range r.Inconclusive() {
		if !why[row.Note] {
			why[row.Note] = true
			notes = append(notes, "inconclusive timings: "+row.Note)
		}
	}
	if len(why) > 0 {
		notes = append(notes, "  (compare both sides in one run, interleaved, with perfnb compare --run: see docs/compare.md)")
	}
	for _, d := range r.Environment {
		if !why[d] {
			notes = append(notes, "the environments differ: "+d)
		}
	}
	if len(r.Renamed) > 0 {
		notes = append(notes, "matched by their cell although renamed: "+strings.Join(r.Renamed, ", "))
	}
	if len(r.OnlyOld) > 0 {
		notes = append(notes, "only in "+oldName+": "+strings.Join(r.OnlyOld, ", "))
	}
	if len(r.OnlyNew) > 0 {
		notes = append(notes, "only in "+newName+": "+strings.Join(r.OnlyNew, ", "))
	}
	if r.Rounds > 0 {
		notes = append(notes, fmt.Sprintf("%d interleaved rounds, old and new alternating (%s); each figure tested on its rounds' pairs", r.Rounds, r.Stopped))
	}
	return append(notes, r.summary(o))
}

// changeText is the estimated change and the test: "+12.34% (p=0.000
// n=7)", "~ (p=0.456 n=7)" when not significant, and an amount rather
// than a percentage for a change from 0 ("+96 KiB (p=0.008 n=10)").
func changeText(row Row) string {
	test := row.Test.String()
	switch {
	case row.Verdict == TooFew || row.Test.P > row.Test.Alpha:
		return "~ (" + test + ")"
	case math.IsNaN(row.Delta):
		return amount(row.Diff, row.Unit) + " (" + test + ")"
	}
	return fmt.Sprintf("%+.2f%% (%s)", 100*row.Delta, test)
}

// amount writes a change in its unit, scaled: "+96Ki B/op".
func amount(x float64, unit string) string {
	sc := benchunit.CommonScale([]float64{math.Abs(x)}, benchunit.ClassOf(unit))
	sign := "+"
	if x < 0 {
		sign = "-"
	}
	return sign + sc.Format(math.Abs(x)) + " " + unit
}

// verdictText says what a row means, for rows that need saying.
func verdictText(row Row, o Options) string {
	switch row.Verdict {
	case Regression:
		return fmt.Sprintf("REGRESSION (worse by more than %s)", percent(o.Threshold))
	case Improvement:
		return "improvement"
	case TooFew:
		if row.Test.Rounds > 0 {
			return fmt.Sprintf("too few rounds to test: need %d at alpha %g", minRounds(o.Alpha), o.Alpha)
		}
		return "too few runs to test: " + tooFewText(o)
	case Inconclusive:
		return "inconclusive (see below)"
	case Same:
		significant := row.Test.P <= row.Test.Alpha
		switch {
		case significant && row.Diff > 0 && math.Abs(row.Diff) <= row.Floor:
			return "below what the measurement resolves (" + amount(row.Floor, row.Unit) + ")"
		case significant && row.Diff > 0:
			return fmt.Sprintf("worse, within %s", percent(o.Threshold))
		case row.Test.Rounds > 0 && !row.settled:
			return "not settled"
		}
	}
	return ""
}

// tooFewText says how many runs a test needs.
func tooFewText(o Options) string {
	n := 1
	for !canDiffer(n, n, o.Alpha) {
		n++
	}
	return fmt.Sprintf("need %d or more in each notebook at alpha %g", n, o.Alpha)
}

func percent(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*x), "0"), ".") + "%"
}

// summary is the report's last line: the regressions, or that there are
// none, and what was not tested.
func (r *Report) summary(o Options) string {
	regs := r.Regressions()
	gate := fmt.Sprintf("(threshold %s, alpha %g)", percent(o.Threshold), o.Alpha)
	if len(regs) > 0 {
		var names []string
		for _, row := range regs {
			names = append(names, row.Name+" "+row.Unit)
		}
		return fmt.Sprintf("%d regression(s) %s: %s", len(regs), gate, strings.Join(names, ", "))
	}
	tooFew, inconclusive := len(r.rows(TooFew)), len(r.Inconclusive())
	var untested []string
	if tooFew > 0 {
		untested = append(untested, fmt.Sprintf("%d had too few runs to be tested", tooFew))
	}
	if inconclusive > 0 {
		untested = append(untested, fmt.Sprintf("%d were inconclusive", inconclusive))
	}
	if len(untested) > 0 {
		return fmt.Sprintf("no regression %s; of %d figures, %s", gate, len(r.Rows), strings.Join(untested, " and "))
	}
	return "no regression " + gate
}

func unitsInOrder(rows []Row) []string {
	var units []string
	seen := map[string]bool{}
	for _, row := range rows {
		if !seen[row.Unit] {
			seen[row.Unit] = true
			units = append(units, row.Unit)
		}
	}
	return units
}

// WriteBench writes the figures of the notebooks' records in Go's
// benchmark format, each with a "notebook" configuration line when there
// are several (benchstat -col notebook compares them).
func WriteBench(w io.Writer, notebooks ...*NotebookResults) error {
	for _, nb := range notebooks {
		var recs []record.Record
		for _, e := range nb.Entries {
			recs = append(recs, e.Record)
		}
		var extra map[string]string
		if len(notebooks) > 1 {
			extra = map[string]string{"notebook": nb.Path}
		}
		if err := record.WriteBench(w, recs, extra); err != nil {
			return err
		}
	}
	return nil
}
