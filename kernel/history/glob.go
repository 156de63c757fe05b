package history

import (
	"strings"
	"unicode/utf8"
)

// maxSteps bounds the work of one search: the character comparisons of
// all the matches it tries. A search that reaches it stops and returns
// what it has found, so that no pattern holds the kernel's shell (a
// pattern of 20,000 ? after a star against a cell of 1 MiB would take
// 2·10^10 comparisons).
const maxSteps = 1 << 26

// glob is a compiled glob pattern, as SQLite's GLOB (which IPython's
// history search uses) reads it: * any text, ? one character, [abc] and
// [a-z] a class, [^...] its complement, anything else itself. It matches
// whole strings, newlines included, case-sensitively.
type glob struct {
	// segments are the pattern's parts between stars; a pattern that
	// starts (ends) with a star has an empty first (last) segment.
	segments [][]token
	// steps counts the comparisons made, against maxSteps.
	steps int
}

// token is one character of a pattern: a literal rune, any rune, or a
// class.
type token struct {
	kind   byte // 'r' a rune, '?' any rune, '[' a class
	r      rune
	ranges []rune // a class: pairs of bounds
	negate bool
}

// compileGlob compiles pattern; an empty pattern matches everything.
// Consecutive stars are one star.
func compileGlob(pattern string) *glob {
	if pattern == "" {
		pattern = "*"
	}
	g := &glob{segments: [][]token{nil}}
	p := []rune(pattern)
	for i := 0; i < len(p); i++ {
		last := len(g.segments) - 1
		switch c := p[i]; c {
		case '*':
			if len(g.segments[last]) > 0 || last == 0 {
				g.segments = append(g.segments, nil)
			}
		case '?':
			g.segments[last] = append(g.segments[last], token{kind: '?'})
		case '[':
			t, next, ok := parseClass(p, i)
			if !ok {
				t = token{kind: 'r', r: '['}
				next = i
			}
			g.segments[last] = append(g.segments[last], t)
			i = next
		default:
			g.segments[last] = append(g.segments[last], token{kind: 'r', r: c})
		}
	}
	return g
}

// parseClass reads the class that starts at p[i] ('['), up to the next
// ']' (a ']' right after '[' or '[^' is part of it), and returns it with
// the index of its ']'; ok is false for a '[' without its ']', which is
// then a literal.
func parseClass(p []rune, i int) (t token, end int, ok bool) {
	j := i + 1
	t = token{kind: '['}
	if j < len(p) && p[j] == '^' {
		t.negate = true
		j++
	}
	start := j
	for j < len(p) && (p[j] != ']' || j == start) {
		j++
	}
	if j >= len(p) {
		return token{}, i, false
	}
	class := p[start:j]
	for k := 0; k < len(class); k++ {
		lo, hi := class[k], class[k]
		if k+2 < len(class) && class[k+1] == '-' {
			hi = class[k+2]
			k += 2
		}
		t.ranges = append(t.ranges, lo, hi)
	}
	return t, j, true
}

// matches reports whether the token matches r.
func (t *token) matches(r rune) bool {
	switch t.kind {
	case '?':
		return true
	case 'r':
		return t.r == r
	}
	in := false
	for k := 0; k < len(t.ranges); k += 2 {
		if t.ranges[k] <= r && r <= t.ranges[k+1] {
			in = true
			break
		}
	}
	return in != t.negate
}

// match reports whether s matches the pattern as a whole, and false once
// the search has made maxSteps comparisons. The first segment must match
// at the start, the last at the end, and each one between them where it
// first matches after the one before: the leftmost match of a segment
// leaves the most text to the ones after it, so no other need be tried.
func (g *glob) match(s string) bool {
	segs := g.segments
	first := segs[0]
	rest, ok := g.prefix(s, first)
	if !ok {
		return false
	}
	if len(segs) == 1 {
		return rest == ""
	}
	last := segs[len(segs)-1]
	for _, seg := range segs[1 : len(segs)-1] {
		at := g.find(rest, seg)
		if at < 0 {
			return false
		}
		rest, _ = g.prefix(rest[at:], seg)
	}
	// The last segment matches the end of what is left: it matches a
	// fixed number of characters.
	n := len(last)
	start := len(rest)
	for k := 0; k < n; k++ {
		if start == 0 {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(rest[:start])
		start -= size
	}
	tail, ok := g.prefix(rest[start:], last)
	return ok && tail == ""
}

// prefix matches seg at the start of s and returns what follows.
func (g *glob) prefix(s string, seg []token) (string, bool) {
	for i := range seg {
		if s == "" || g.steps >= maxSteps {
			return "", false
		}
		g.steps++
		r, size := utf8.DecodeRuneInString(s)
		if !seg[i].matches(r) {
			return "", false
		}
		s = s[size:]
	}
	return s, true
}

// find returns the byte offset of the first match of seg in s, or -1.
func (g *glob) find(s string, seg []token) int {
	if lit, ok := literal(seg); ok {
		at := strings.Index(s, lit) // linear in what it reads
		if at < 0 {
			g.steps += len(s)
		} else {
			g.steps += at + len(lit)
		}
		return at
	}
	for at := 0; at < len(s); {
		if g.steps >= maxSteps {
			return -1
		}
		if _, ok := g.prefix(s[at:], seg); ok {
			return at
		}
		_, size := utf8.DecodeRuneInString(s[at:])
		at += size
	}
	return -1
}

// literal returns seg as a string when it holds literal runes only
// (U+FFFD, which stands for any invalid byte, excepted).
func literal(seg []token) (string, bool) {
	var b strings.Builder
	for _, t := range seg {
		if t.kind != 'r' || t.r == utf8.RuneError {
			return "", false
		}
		b.WriteRune(t.r)
	}
	return b.String(), true
}

// exhausted reports whether the search has used its steps.
func (g *glob) exhausted() bool { return g.steps >= maxSteps }
