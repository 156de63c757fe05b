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
// of the median and the test's p-value, then the verdict of each row that
// is not "no difference", the differences of environment and the results
// found in one notebook only.
func (r *Report) WriteText(w io.Writer, oldName, newName string, o Options) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	units := unitsInOrder(r.Rows)
	for i, unit := range units {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\tdelta\t\n", unit, oldName, newName)
		for _, row := range r.Rows {
			if row.Unit != unit {
				continue
			}
			sc := benchunit.CommonScale([]float64{row.Old.Center, row.New.Center}, benchunit.ClassOf(unit))
			fmt.Fprintf(tw, "%s\t%s ± %s\t%s ± %s\t%s\t%s\n", row.Name,
				sc.Format(row.Old.Center), row.Old.PctRangeString(), sc.Format(row.New.Center), row.New.PctRangeString(),
				deltaText(row), verdictText(row, o))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, d := range r.Environment {
		notes = append(notes, "warning: the environments differ, the comparison may be meaningless: "+d)
	}
	if len(r.OnlyOld) > 0 {
		notes = append(notes, "only in "+oldName+": "+strings.Join(r.OnlyOld, ", "))
	}
	if len(r.OnlyNew) > 0 {
		notes = append(notes, "only in "+newName+": "+strings.Join(r.OnlyNew, ", "))
	}
	notes = append(notes, r.summary(o))
	_, err := fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	return err
}

// deltaText is the change of the median and the test, as benchstat
// writes it: "+12.34% (p=0.000 n=7)" or "~ (p=0.456 n=7)".
func deltaText(row Row) string {
	test := row.Test.String()
	if row.Test.P > row.Test.Alpha || row.Verdict == TooFew {
		return "~ (" + test + ")"
	}
	if math.IsNaN(row.Delta) {
		return "? (" + test + ")"
	}
	return fmt.Sprintf("%+.2f%% (%s)", 100*row.Delta, test)
}

// verdictText says what a row means, for rows that need saying.
func verdictText(row Row, o Options) string {
	switch row.Verdict {
	case Regression:
		return fmt.Sprintf("REGRESSION (worse by more than %s)", percent(o.Threshold))
	case Improvement:
		return "improvement"
	case TooFew:
		return "too few runs to test: " + tooFewText(o)
	case Same:
		if row.Test.P <= row.Test.Alpha && row.Delta > 0 {
			return fmt.Sprintf("worse, within %s", percent(o.Threshold))
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
// none.
func (r *Report) summary(o Options) string {
	regs := r.Regressions()
	gate := fmt.Sprintf("(threshold %s, alpha %g)", percent(o.Threshold), o.Alpha)
	if len(regs) == 0 {
		tooFew := 0
		for _, row := range r.Rows {
			if row.Verdict == TooFew {
				tooFew++
			}
		}
		if tooFew > 0 {
			return fmt.Sprintf("no regression %s; %d of %d figures had too few runs to be tested", gate, tooFew, len(r.Rows))
		}
		return fmt.Sprintf("no regression %s", gate)
	}
	var names []string
	for _, row := range regs {
		names = append(names, row.Name+" "+row.Unit)
	}
	return fmt.Sprintf("%d regression(s) %s: %s", len(regs), gate, strings.Join(names, ", "))
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

// Notebook is the records read from one notebook.
type Notebook struct {
	Path    string
	Entries []Entry
}

// WriteBench writes the figures of the notebooks' records in Go's
// benchmark format, each with a "notebook" configuration line when there
// are several (benchstat -col notebook compares them).
func WriteBench(w io.Writer, notebooks ...Notebook) error {
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
