package cell

import "fmt"

// lexer follows a cell line by line far enough to know, at the start of
// each line, whether the line begins at the top level of the cell (outside
// brackets, raw strings and block comments). It is tolerant: Parse leaves
// real syntax checking to go/parser, and IsComplete uses what the lexer
// saw to tell incomplete input from invalid input.
type lexer struct {
	stack   []byte // open brackets: '(', '[' or '{'
	inRaw   bool   // inside a `raw string`
	inBlock bool   // inside a /* block comment */
	// last is the last significant token class seen: whether a newline
	// after it would end a statement (Go's semicolon rule).
	endsStmt bool
	// err is the first invalid construct seen: a stray or mismatched
	// closing bracket, an unterminated interpreted string or rune literal.
	err     error
	errLine int
	errCol  int
}

// atTop reports whether the next line starts at the top level.
func (l *lexer) atTop() bool {
	return len(l.stack) == 0 && !l.inRaw && !l.inBlock
}

// open reports whether something is still open: a bracket, raw string or
// block comment.
func (l *lexer) open() bool { return !l.atTop() }

func (l *lexer) fail(line, col int, format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf(format, args...)
		l.errLine, l.errCol = line, col
	}
}

var closing = map[byte]byte{')': '(', ']': '[', '}': '{'}

// line consumes one line of text (without its newline); n is its 1-based
// line number, used in errors.
func (l *lexer) line(s string, n int) {
	i := 0
	more := true
	for more && i < len(s) {
		if l.inRaw || l.inBlock {
			i, more = l.closeOpen(s, i)
		} else {
			i, more = l.token(s, i, n)
		}
	}
}

// closeOpen skips to the end of the raw string or block comment open at
// s[i], returning where the rest of the line starts, and false when it
// does not end on this line.
func (l *lexer) closeOpen(s string, i int) (int, bool) {
	if l.inRaw {
		j := indexByteFrom(s, '`', i)
		if j < 0 {
			return len(s), false
		}
		l.inRaw = false
		l.endsStmt = true
		return j + 1, true
	}
	j := indexFrom(s, "*/", i)
	if j < 0 {
		return len(s), false
	}
	l.inBlock = false
	return j + 2, true
}

// token consumes the token (or space) at s[i] of line n, returning where
// the next one starts, and false when the rest of the line is to be
// skipped (a // comment, an unterminated literal).
func (l *lexer) token(s string, i, n int) (int, bool) {
	c := s[i]
	switch {
	case c == ' ' || c == '\t' || c == '\r':
		return i + 1, true
	case c == '/' && i+1 < len(s) && s[i+1] == '/':
		return len(s), false
	case c == '/' && i+1 < len(s) && s[i+1] == '*':
		l.inBlock = true
		return i + 2, true
	case c == '`':
		l.inRaw = true
		return i + 1, true
	case c == '"' || c == '\'':
		return l.quoted(s, i, n)
	case c == '(' || c == '[' || c == '{':
		l.stack = append(l.stack, c)
		l.endsStmt = false
		return i + 1, true
	case c == ')' || c == ']' || c == '}':
		if len(l.stack) == 0 || l.stack[len(l.stack)-1] != closing[c] {
			l.fail(n, i+1, "unexpected %c", c)
		} else {
			l.stack = l.stack[:len(l.stack)-1]
		}
		l.endsStmt = true
		return i + 1, true
	case isIdentByte(c):
		return l.word(s, i), true
	case c == '+' && i+1 < len(s) && s[i+1] == '+', c == '-' && i+1 < len(s) && s[i+1] == '-':
		l.endsStmt = true
		return i + 2, true
	case c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
		// A number such as .5: the identifier case does the rest.
		return i + 1, true
	default:
		// An operator or punctuation: a newline after it continues
		// the statement.
		l.endsStmt = false
		return i + 1, true
	}
}

// quoted consumes the interpreted string or rune literal starting at s[i]
// of line n, returning false when it is not terminated on the line.
func (l *lexer) quoted(s string, i, n int) (int, bool) {
	c := s[i]
	j := i + 1
	for j < len(s) && s[j] != c {
		if s[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(s) {
		what := "string literal"
		if c == '\'' {
			what = "rune literal"
		}
		l.fail(n, i+1, "%s not terminated", what)
		return len(s), false
	}
	l.endsStmt = true
	return j + 1, true
}

// word consumes the identifier, keyword or number starting at s[i],
// returning where it ends.
func (l *lexer) word(s string, i int) int {
	j := i
	for j < len(s) && isIdentByte(s[j]) {
		j++
	}
	switch s[i:j] {
	case "break", "continue", "fallthrough", "return":
		l.endsStmt = true
	default:
		// Identifiers and numbers end a statement; other keywords
		// (func, if, for, var, ...) ask for more.
		l.endsStmt = !isKeyword(s[i:j])
	}
	return j
}

// isIdentByte reports whether c can be part of an identifier or number
// (non-ASCII bytes are taken as letters).
func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func indexByteFrom(s string, c byte, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
