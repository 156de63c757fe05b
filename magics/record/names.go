package record

import (
	"fmt"
	"github.com/perfnb/perfnb/runtime/cell"
	"go/parser"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxWhat is the most runes of a statement or body kept in a name.
const maxWhat = 60

// Statement is what a line magic measured, as typed, without the magic's
// options: "work(n)" for "%timeit -r 10 work(n)". For a cell magic it is
// the body's code lines joined with "; ". The options are told from the
// statement without knowing the magic's option table: the statement is
// the longest tail of the magic's arguments, after whole words, that
// parses as Go statements (so "-r 10" goes with the options and "-x", in
// "%timeit -x", is the statement).
func (r *Record) Statement() string {
	line, body, isCell := r.parts()
	if isCell {
		var code []string
		for l := range strings.Lines(body) {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "//") {
				code = append(code, t)
			}
		}
		return strings.Join(code, "; ")
	}
	_, args, _ := strings.Cut(line, " ")
	args = strings.TrimSpace(args)
	for rest := args; rest != ""; {
		if parsesAsStatements(rest) {
			return rest
		}
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			break
		}
		rest = strings.TrimLeft(rest[i:], " \t")
	}
	return args
}

// parts splits the record's source into its magic line and body, and
// says whether it is a cell magic's.
func (r *Record) parts() (line, body string, isCell bool) {
	line, body, _ = strings.Cut(r.Source, "\n")
	return strings.TrimSpace(line), body, strings.HasPrefix(line, "%%")
}

// parsesAsStatements reports whether src is a list of Go statements.
func parsesAsStatements(src string) bool {
	_, err := cell.ParseText(cell.Statement, src, parser.SkipObjectResolution)
	return err == nil
}

// Title is the name of one of the record's results for a reader: the
// magic as typed and what it measured, its variant's label or its
// statement: "%timeit work(n)", "%%timeit lookup". It does not depend
// on the cell's number, so that it stays the same when cells are added
// before it or a parameters cell is injected.
func (r *Record) Title(res Result) string {
	_, _, isCell := r.parts()
	magic := "%" + r.Magic
	if isCell {
		magic = "%" + magic
	}
	what := res.Label
	if what == "" {
		what = r.Statement()
	}
	what = shorten(strings.Join(strings.Fields(what), " "))
	if what == "" {
		return magic
	}
	return magic + " " + what
}

// Name is the benchmark name of one of the record's results in Go's
// benchmark format, without the Benchmark prefix and the GOMAXPROCS
// suffix: the magic as a benchmark and what it measured as its
// sub-benchmark, with spaces turned into underscores as the testing
// package does: "Timeit/work(n)", "Timeit/lookup". Two runs of one
// notebook give the same names, so that benchstat pairs them.
func (r *Record) Name(res Result) string {
	name := upperFirst(r.Magic)
	if _, what, ok := strings.Cut(r.Title(res), " "); ok {
		name += "/" + subName(what)
	}
	return name
}

// ResultName is the two names of one result.
type ResultName struct {
	Title string // for a reader: "%timeit work(n)"
	Bench string // for Go's benchmark format: "Timeit/work(n)"
}

// NameResults names every result of recs, in order (out[i][j] names
// recs[i].Results[j]). A name that an earlier result already has gets
// the suffix the testing package gives a repeated sub-benchmark name:
// "#01", "#02"...
func NameResults(recs []Record) [][]ResultName {
	seen := map[string]int{}
	out := make([][]ResultName, len(recs))
	for i := range recs {
		for _, res := range recs[i].Results {
			n := ResultName{Title: recs[i].Title(res), Bench: recs[i].Name(res)}
			k := seen[n.Bench]
			seen[n.Bench]++
			if k > 0 {
				suffix := fmt.Sprintf("#%02d", k)
				n.Title += suffix
				n.Bench += suffix
			}
			out[i] = append(out[i], n)
		}
	}
	return out
}

// subName is s as the testing package writes a sub-benchmark's name:
// white space as underscores, other characters that cannot be printed
// escaped.
func subName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case unicode.IsSpace(c):
			b.WriteByte('_')
		case !strconv.IsPrint(c):
			q := strconv.QuoteRune(c)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// shorten cuts s to maxWhat runes, ending it with "…" when it was cut.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxWhat {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxWhat-1])) + "…"
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
