package notebooks_test

import (
	"fmt"
	"html"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The saved notebooks must show what the code prints now. Figures change
// from run to run, formats must not: outputShapes reduces each output to
// the shapes of its lines (numbers, durations, sizes and hashes replaced
// by placeholders, paths by their file names, the cell's own identifiers
// by ID, the figures in a table row about a source line by ·), and
// TestRunNotebooks compares the shapes of the saved outputs with those of
// a fresh run. scripts/resave-notebooks re-executes and re-saves the
// notebooks when the formats change on purpose.

var (
	// pathRE finds absolute file paths, and paths under ~.
	pathRE = regexp.MustCompile(`(?:~|/[\w.+@-]+)(?:/[\w.+@-]+)+/?`)
	// numberRE finds numbers: 7, -3, 1,234,567, 0.5, 5.13e+06.
	numberRE = regexp.MustCompile(`[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?`)
	// sizeRE and timeRE find a number with a unit of size or of time: the
	// unit depends on the figure's magnitude, so it is part of the figure.
	// The micro sign is IPython's, U+00B5 (as Go's time.Duration prints
	// it too): the Greek mu, U+03BC, is drift.
	sizeRE = regexp.MustCompile(`N ?(?:B|KiB|MiB|GiB|TiB|kB|KB|MB|GB)\b`)
	timeRE = regexp.MustCompile(`N ?(?:ns|\x{00b5}s|ms|s|min|h|d)\b(?: ?N ?(?:ns|\x{00b5}s|ms|s|min|h|d)\b)*`)
	// hexRE finds hashes, such as a build ID.
	hexRE = regexp.MustCompile(`\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b`)
	// pluralRE is a counted word, singular for 1 and plural otherwise.
	pluralRE = regexp.MustCompile(`\bN ([a-z]+?)s\b`)
	// machineRE is the toolchain and processor in the environment line
	// of a measurement ("go1.26.8 linux/amd64 GOAMD64=v1 · AMD EPYC ·
	// GOMAXPROCS 2 of 2 CPUs"): they depend on the machine.
	machineRE = regexp.MustCompile(`goN[^·]*·[^·]*· GOMAXPROCS`)
	// versionRE is perfnb's version in that line ("test" in tests).
	versionRE = regexp.MustCompile(`· perfnb \S+`)
	// identRE finds identifiers, to replace those of the cell's source.
	identRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	// lineRowRE is the first cell of a row about a line of source
	// (scalene's "In[3]:4", "4", or nothing for the runtime's row), whose
	// other cells are blank or not as the figures fall.
	lineRowRE = regexp.MustCompile(`^(?:In\[N\]:N|N|)$`)
	// figureCellRE is a cell of such a row that holds a figure or a bar
	// (blocks of eighths), or nothing.
	figureCellRE = regexp.MustCompile(`^(?:|N|N%|<size>|<time>|[▁▂▃▄▅▆▇█▏▎▍▌▋▊▉ ]+)$`)
	// headCellRE is a header cell of scalene's table, whose columns are
	// those that carry figures for the profile at hand.
	headCellRE = regexp.MustCompile(`^(?:Line|Source|Compiler|CPU \(self\)|[Mm]emory(?: \(self\))?|(?:Self|Total|Alloc)?(?: ?(?:Go|runtime|system|time|bytes|objects|alloc))?)$`)
	// spaceRE is a run of blanks: padding depends on the figures' widths.
	spaceRE = regexp.MustCompile(`[ \t\x{00a0}]+`)
	// verdictRE is a comparison's "not significant" verdict, which
	// replaces the p-value when the figures say so.
	verdictRE = regexp.MustCompile(`~ not significant \((.*)\)`)
)

// optionalLines are lines whose presence, not their format, depends on the
// figures: IPython's warning about a slow run (labelled or not), memit's explanations of a
// gap between resident memory and the Go heap, scalene's elision row; and
// on the machine's caches: the go command's progress while it obtains a
// module.
var optionalLines = regexp.MustCompile(`^(?:(?:[^:]*: )?The slowest run took|Child processes account for|The Go heap grew by|Resident memory grew by|\.\.\. ?│|… ?│|(?:ID|go): (?:downloading|added|upgraded|downgraded|resolving) )`)

// outputShapes returns the sorted, distinct line shapes of a code cell's
// outputs, each prefixed with the kind of output it came from.
func outputShapes(c nbCell) []string {
	idents := map[string]bool{}
	for _, id := range identRE.FindAllString(c.source(), -1) {
		idents[id] = true
	}
	var shapes []string
	add := func(kind, text string) {
		for _, line := range strings.Split(text, "\n") {
			if s := lineShape(line, idents); s != "" && !optionalLines.MatchString(s) {
				shapes = append(shapes, kind+": "+s)
			}
		}
	}
	for _, o := range c.Outputs {
		kind, _ := o["output_type"].(string)
		switch kind {
		case "stream":
			name, _ := o["name"].(string)
			add(name, joinText(o["text"]))
		case "error":
			add("error", fmt.Sprint(o["ename"])+": "+fmt.Sprint(o["evalue"]))
		case "display_data", "execute_result":
			data, _ := o["data"].(map[string]any)
			add("text/plain", joinText(data["text/plain"]))
			if h := joinText(data["text/html"]); h != "" {
				add("text/html", htmlText(h))
			}
		}
	}
	slices.Sort(shapes)
	return slices.Compact(shapes)
}

// joinText returns a notebook's multi-line string, saved as a string or as
// a list of lines.
func joinText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var b strings.Builder
		for _, s := range v {
			fmt.Fprint(&b, s)
		}
		return b.String()
	}
	return ""
}

// lineShape reduces a line of output to its format.
func lineShape(line string, idents map[string]bool) string {
	// HTML outputs join a figure's words with no-break spaces.
	line = strings.ReplaceAll(line, "\u00a0", " ")
	line = pathRE.ReplaceAllStringFunc(line, pathShape)
	line = identRE.ReplaceAllStringFunc(line, func(id string) string {
		if idents[id] {
			return "ID"
		}
		return id
	})
	line = hexRE.ReplaceAllStringFunc(line, func(h string) string {
		if len(h) < 12 {
			return h
		}
		return "<hex>"
	})
	line = numberRE.ReplaceAllString(line, "N")
	line = machineRE.ReplaceAllString(line, "<machine> · GOMAXPROCS")
	line = versionRE.ReplaceAllString(line, "· perfnb <version>")
	line = sizeRE.ReplaceAllString(line, "<size>")
	line = timeRE.ReplaceAllString(line, "<time>")
	line = pluralRE.ReplaceAllString(line, "N $1")
	line = verdictRE.ReplaceAllString(line, "$1")
	line = strings.TrimSpace(spaceRE.ReplaceAllString(line, " "))
	line = strings.NewReplacer("( ", "(", " )", ")").Replace(line)
	// The set-up left out of a profile has CPU time when the profiler
	// sampled it, which depends on the run.
	line = strings.Replace(line, "<time> of CPU and <size>", "<size>", 1)
	if strings.Trim(line, "─┼ ") == "" && strings.Contains(line, "┼") {
		return "<rule>" // under a table's header, as wide as its columns
	}
	if strings.Contains(line, "│") {
		line = tableRowShape(strings.Split(line, "│"))
	}
	return line
}

// tableRowShape reduces a row of a table (its cells) to its format. The
// figures of a row about a line of source become "·", and a run of them
// one "·": the table shows only the columns that carry figures for the
// profile at hand, so their number is not the format. For the same
// reason, a header row of such columns is "<header>".
func tableRowShape(cells []string) string {
	head := true
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
		head = head && headCellRE.MatchString(cells[i])
	}
	if head {
		return "<header>"
	}
	if !lineRowRE.MatchString(cells[0]) {
		return strings.Join(cells, "│")
	}
	out := cells[:1]
	for i, c := range cells[1:] {
		switch {
		case i+1 == len(cells)-1 && i > 0:
			c = "SRC" // the source line, or a label in its place
		case figureCellRE.MatchString(c):
			c = "·"
		}
		if c != "·" || out[len(out)-1] != "·" {
			out = append(out, c)
		}
	}
	return strings.Join(out, "│")
}

// pathShape keeps a path's file name, whose form the code chooses, and
// not its folder, which depends on the machine, the user and the test
// (a temporary directory, $PPROF_TMPDIR, the home directory).
func pathShape(p string) string {
	return ".../" + filepath.Base(p)
}

var (
	// dropRE removes what is not text: styles, scripts, SVG pictures and
	// frames (pprof's page, in a srcdoc).
	dropRE = regexp.MustCompile(`(?s)<style.*?</style>|<script.*?</script>|<svg.*?</svg>|<iframe.*?</iframe>`)
	// breakRE ends a line of text: a table row, a paragraph, a caption.
	breakRE = regexp.MustCompile(`(?i)</(?:tr|p|caption|div|pre|li|h\d|summary|details|table)>|<br\s*/?>`)
	// cellRE ends a table cell: cells are joined like scalene's text table.
	cellRE = regexp.MustCompile(`(?i)</t[dh]>`)
	tagRE  = regexp.MustCompile(`(?s)<[^>]*>`)
	// rowRE is a table row, which is one line of text: the line breaks
	// and blocks in its cells (a header's two lines, a cell's <div
	// align>) are spaces.
	rowRE      = regexp.MustCompile(`(?is)<tr.*?</tr>`)
	inRowBreak = regexp.MustCompile(`(?i)<br\s*/?>|</?div[^>]*>`)
)

// htmlText returns the text of an HTML output, a line per table row or
// paragraph, table cells separated by │.
func htmlText(h string) string {
	h = dropRE.ReplaceAllString(h, "")
	h = rowRE.ReplaceAllStringFunc(h, func(tr string) string { return inRowBreak.ReplaceAllString(tr, " ") })
	h = breakRE.ReplaceAllString(h, "\n")
	h = cellRE.ReplaceAllString(h, " │ ")
	h = tagRE.ReplaceAllString(h, "")
	var lines []string
	for _, l := range strings.Split(html.UnescapeString(h), "\n") {
		lines = append(lines, strings.TrimSuffix(strings.TrimSpace(l), " │"))
	}
	return strings.Join(lines, "\n")
}

// formatDrift compares the outputs of a saved notebook with those of a
// fresh run of it, cell by cell, and describes the lines whose shapes
// differ: the formats the saved outputs show and the code no longer
// prints, and the other way round.
func formatDrift(saved, fresh nbFile) []string {
	var drift []string
	if len(saved.Cells) != len(fresh.Cells) {
		return []string{fmt.Sprintf("%d cells saved, %d run", len(saved.Cells), len(fresh.Cells))}
	}
	for i := range saved.Cells {
		if saved.Cells[i].CellType != "code" {
			continue
		}
		old, now := outputShapes(saved.Cells[i]), outputShapes(fresh.Cells[i])
		var gone, added []string
		for _, s := range old {
			if _, found := slices.BinarySearch(now, s); !found {
				gone = append(gone, s)
			}
		}
		for _, s := range now {
			if _, found := slices.BinarySearch(old, s); !found {
				added = append(added, s)
			}
		}
		if len(gone)+len(added) > 0 {
			drift = append(drift, fmt.Sprintf("cell %d (%s):\n  saved, no longer printed:%s\n  printed now, not saved:%s",
				i+1, firstLine(saved.Cells[i].source()), listed(gone), listed(added)))
		}
	}
	return drift
}

// listed writes lines indented below a heading, or " (none)".
func listed(lines []string) string {
	if len(lines) == 0 {
		return " (none)"
	}
	return "\n    " + strings.Join(lines, "\n    ")
}

// checkFormats fails the test when the saved notebook's outputs differ in
// format from a fresh run's.
func checkFormats(t *testing.T, path string, fresh nbFile) {
	t.Helper()
	drift := formatDrift(readNB(t, path), fresh)
	if len(drift) > 0 {
		t.Errorf("%s: the saved outputs differ in format from what the code prints now; "+
			"re-save the notebooks with scripts/resave-notebooks (and re-read their prose):\n%s",
			path, strings.Join(drift, "\n"))
	}
}

func TestLineShape(t *testing.T) {
	idents := map[string]bool{"plusEquals": true, "words": true, "join": true, "plus": true}
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{"figures", "7.12 \u00b5s ± 80.1 ns per loop (mean ± std. dev. of 7 runs, 30,000 loops each)",
			"991 \u00b5s ± 58.8 \u00b5s per loop (mean ± std. dev. of 7 runs, 200 loops each)", true},
		{"unit by magnitude", "1 ms ± 33.2 \u00b5s per loop", "152 ms ± 11.3 ms per loop", true},
		{"IPython's long form", "took 1min 5s", "took 3.2 s", true},
		{"micro sign", "7.12 \u00b5s per loop", "7.12 \u03bcs per loop", false},
		{"Go's duration, with its micro sign", "2, 123.5\u00b5s paused", "2, 123.5 \u00b5s paused", true},
		{"size unit by magnitude", "peak memory: 18.96 MiB, increment: 14.01 MiB", "peak memory: 5.30 MiB, increment: 0.36 KiB", true},
		{"set-up's CPU time when sampled", "the test harness), 177 KiB allocated.", "the test harness), 10 ms of CPU and 177 KiB allocated.", true},
		{"B/op as a bare number", "B/op │ 5.13e+06", "B/op │ 4.89 MiB", false},
		{"labels in another order", "join: ×1.08 slower than plus, p=0.001 n=7", "plus: ×139 slower than join, p=0.002 n=7", true},
		{"not significant", "plus: ×1.01 slower than join, ~ not significant (p=0.310 n=7)", "join: ×1.5 slower than plus, p=0.001 n=7", true},
		{"padding", "join:    7.12 \u00b5s", "plus: 991 \u00b5s", true},
		{"padding in brackets", "Total samples = 1.2s ( 9.5%)", "Total samples = 1.2s (95.1%)", true},
		{"scalene row", "In[3]:4 │  10% │     14% │     4% │   19.8 KiB │       175 │ ███▍  │ plusEquals(words)",
			"In[3]:4 │      │         │        │            │           │        │ plusEquals(words)", true},
		{"scalene row with columns this profile has figures in", "In[3]:4 │ 10% │ x", "In[3]:4 │ 10% │ 10% │ x", true},
		{"scalene row with a marker", "In[3]:4 │ 10% │ I │ x", "In[3]:4 │ 10% │ 10% │ x", false},
		{"scalene's header", "   Line │   Go │ runtime │  time │ CPU (self) │ Compiler │ Source", "Line │ Self Go │ Self system │ Alloc bytes │ memory │ Source", true},
		{"scalene's rule", "────┼──────┼────────", "─────┼───┼──", true},
		{"profiles in other folders", "CPU profile: /root/pprof/perfnb.cell9.cpu.20261129-052631.pb.gz",
			"CPU profile: /tmp/TestRun123/001/perfnb.cell12.cpu.20270101-000000.pb.gz", true},
		{"profile named the old way", "CPU profile: /tmp/perfnb-123/prof/cell9.cpu.pb.gz", "CPU profile: ~/pprof/perfnb.cell9.cpu.20261129-052631.pb.gz", false},
		{"perfnb's version", "go1.26.8 linux/amd64 · AMD EPYC · GOMAXPROCS 2 of 2 CPUs · load 0.5 · perfnb 0.1.0",
			"go1.26.8 linux/amd64 · AMD EPYC · GOMAXPROCS 2 of 2 CPUs · load 0.5 · perfnb test", true},
		{"words", "fastest: join", "slowest: join", false},
		{"plural", "(mean ± std. dev. of 7 runs, 1 loop each)", "(mean ± std. dev. of 7 runs, 10 loops each)", true},
		{"build ID", "Build ID: b0f1ba52f4a1ad5ad7d3defcdebd", "Build ID: 7bcc1c3e5d4c2fff9f1", true},
		{"no-break spaces in HTML figures", "1 ms ± 3 µs │ ~ not significant (p=0.310 n=7)", "2\u00a0µs\u00a0±\u00a03\u00a0ns │ p=0.001\u00a0n=7", true},
		{"machine", "go1.26.8 linux/amd64 GOAMD64=v1 · AMD EPYC 7B13 · GOMAXPROCS 2 of 2 CPUs · load 0.5",
			"go1.27 darwin/arm64 · Apple M2 · GOMAXPROCS 8 of 8 CPUs · load 1.50", true},
	}
	for _, tt := range tests {
		a, b := lineShape(tt.a, idents), lineShape(tt.b, idents)
		if (a == b) != tt.same {
			t.Errorf("%s: shapes %q and %q; want same=%v", tt.name, a, b, tt.same)
		}
	}
}

func TestHTMLText(t *testing.T) {
	h := `<style>td{x:1}</style><table><caption>peak memory: 1 MiB</caption><tr><th>Self<br>Go</th><th>B/op</th><td title="5,130,000 B/op">4.89 MiB</td></tr>` +
		`<tr><td><b>&lt;fast&gt;</b></td><td>1 µs</td></tr></table><p>note</p><svg><text>main.f</text></svg><iframe srcdoc="&lt;b&gt;x"></iframe>`
	want := "peak memory: 1 MiB\nSelf Go │ B/op │ 4.89 MiB\n<fast> │ 1 µs\n\nnote\n"
	if got := htmlText(h); got != want {
		t.Errorf("htmlText = %q, want %q", got, want)
	}
}

func TestFormatDrift(t *testing.T) {
	cell := func(src string, texts ...string) nbCell {
		c := nbCell{CellType: "code", Source: []byte(fmt.Sprintf("%q", src))}
		for _, s := range texts {
			c.Outputs = append(c.Outputs, map[string]any{"output_type": "display_data", "data": map[string]any{"text/plain": s}})
		}
		return c
	}
	nb := func(cells ...nbCell) nbFile { return nbFile{Cells: cells} }
	tests := []struct {
		name         string
		saved, fresh nbFile
		want         string // "" for no drift
	}{
		{"figures only", nb(cell("%timeit f()", "1 ms ± 3 µs per loop")), nb(cell("%timeit f()", "3.5 µs ± 8 ns per loop")), ""},
		{"new format", nb(cell("%timeit f()", "1 ms ± 3 μs per loop")), nb(cell("%timeit f()", "1 ms ± 3 µs per loop")), "saved, no longer printed"},
		{"line added", nb(cell("%memit f()", "peak memory: 1 MiB")), nb(cell("%memit f()", "peak memory: 1 MiB", "note: 2 MiB")), "note: <size>"},
		{"optional warning", nb(cell("%timeit f()", "The slowest run took 5.2 times longer than the fastest.\n1 ms ± 3 µs per loop")),
			nb(cell("%timeit f()", "1 ms ± 3 µs per loop")), ""},
		{"optional labelled warning", nb(cell("%timeit f()\n%timeit g()", "f(): The slowest run took 5.2 times longer than the fastest.\nf(): 1 ms ± 3 µs per loop")),
			nb(cell("%timeit f()\n%timeit g()", "f(): 1 ms ± 3 µs per loop")), ""},
		{"cells differ", nb(cell("x")), nb(cell("x"), cell("y")), "1 cells saved, 2 run"},
	}
	for _, tt := range tests {
		got := strings.Join(formatDrift(tt.saved, tt.fresh), "\n")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: drift %q, want %q", tt.name, got, tt.want)
		}
	}
}
