package cell

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Pos is a position in a cell of the notebook, In[Cell]:Line:Col: the
// one way compiler errors, panics, profiles and notes name a place in a
// notebook. Line and Col are 1-based; a zero Col (and a zero Line) is
// left out.
type Pos struct {
	Cell, Line, Col int
}

// String writes p as In[3]:5:2, In[3]:5 or In[3].
func (p Pos) String() string {
	switch {
	case p.Line <= 0:
		return File(p.Cell)
	case p.Col <= 0:
		return fmt.Sprintf("%s:%d", File(p.Cell), p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", File(p.Cell), p.Line, p.Col)
}

// File is the name of cell n's code, In[n], as the compiler and pprof
// see it through //line directives.
func File(n int) string { return "In[" + strconv.Itoa(n) + "]" }

// ParseFile returns n for a file named File(n), and whether name is one.
func ParseFile(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "In[")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || num[0] == '+' {
		return 0, false
	}
	return n, true
}

// InterpFile is the name the interpreter gives cell n's code: yaegi needs
// a last element _.go, which NormalizePositions removes from what it
// reports.
func InterpFile(n int) string { return File(n) + "/_.go" }

// Directive is the //line directive that makes the text after it read as
// position p (its column 1 when p has none).
func (p Pos) Directive() string {
	return fmt.Sprintf("//line %s:%d:%d", File(p.Cell), max(p.Line, 1), max(p.Col, 1))
}

// posRE matches a cell position in text, as the compiler, the runtime or
// the interpreter writes it.
var posRE = regexp.MustCompile(`In\[(\d+)\](?:/_\.go)?:(\d+)(?::(\d+))?`)

// FindPos returns the first cell position in s, and whether there is one.
func FindPos(s string) (Pos, bool) {
	m := posRE.FindStringSubmatch(s)
	if m == nil {
		return Pos{}, false
	}
	return posOf(m), true
}

// CutPos returns the cell position that starts s ("In[3]:5:2: msg") and
// what follows it after ": ", and whether s starts with one.
func CutPos(s string) (Pos, string, bool) {
	loc := posRE.FindStringSubmatchIndex(s)
	if loc == nil || loc[0] != 0 {
		return Pos{}, s, false
	}
	m := make([]string, 4)
	for i := range m {
		if loc[2*i] >= 0 {
			m[i] = s[loc[2*i]:loc[2*i+1]]
		}
	}
	rest := s[loc[1]:]
	if len(rest) >= 2 && rest[:2] == ": " {
		rest = rest[2:]
	}
	return posOf(m), rest, true
}

func posOf(m []string) Pos {
	var p Pos
	p.Cell, _ = strconv.Atoi(m[1])
	p.Line, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		p.Col, _ = strconv.Atoi(m[3])
	}
	return p
}

// interpFileRE matches the interpreter's name of a cell's code.
var interpFileRE = regexp.MustCompile(`In\[(\d+)\]/_\.go:`)

// NormalizePositions writes the interpreter's cell positions in s as the
// others are written: In[3]/_.go:5 becomes In[3]:5.
func NormalizePositions(s string) string {
	return interpFileRE.ReplaceAllString(s, "In[$1]:")
}

// Frame writes a line of a cell error's traceback: the position of a
// call and the function it is in ("cell" for the cell's own code), as
// "    at In[3]:5 (fib)".
func Frame(p Pos, fn string) string { return "    at " + p.String() + " (" + fn + ")" }

// frameRE matches a line that Frame writes.
var frameRE = regexp.MustCompile(`^    at (In\[\d+\]:\d+(?::\d+)?) \((\w+)\)$`)

// ParseFrame reads a line that Frame wrote.
func ParseFrame(line string) (p Pos, fn string, ok bool) {
	m := frameRE.FindStringSubmatch(line)
	if m == nil {
		return Pos{}, "", false
	}
	p, _ = FindPos(m[1])
	return p, m[2], true
}
