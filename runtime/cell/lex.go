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
	for i < len(s) {
		c := s[i]
		switch {
		case l.inRaw:
			j := indexByteFrom(s, '`', i)
			if j < 0 {
				return
			}
			l.inRaw = false
			l.endsStmt = true
			i = j + 1
			continue
		case l.inBlock:
			j := indexFrom(s, "*/", i)
			if j < 0 {
				return
			}
			l.inBlock = false
			i = j + 2
			continue
		}
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			return
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			l.inBlock = true
			i += 2
		case c == '`':
			l.inRaw = true
			i++
		case c == '"' || c == '\'':
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
				return
			}
			l.endsStmt = true
			i = j + 1
		case c == '(' || c == '[' || c == '{':
			l.stack = append(l.stack, c)
			l.endsStmt = false
			i++
		case c == ')' || c == ']' || c == '}':
			if len(l.stack) == 0 || l.stack[len(l.stack)-1] != closing[c] {
				l.fail(n, i+1, "unexpected %c", c)
			} else {
				l.stack = l.stack[:len(l.stack)-1]
			}
			l.endsStmt = true
			i++
		case isIdentByte(c):
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
			i = j
		case c == '+' && i+1 < len(s) && s[i+1] == '+', c == '-' && i+1 < len(s) && s[i+1] == '-':
			l.endsStmt = true
			i += 2
		case c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			// A number such as .5: the identifier case does the rest.
			i++
		default:
			// An operator or punctuation: a newline after it continues
			// the statement.
			l.endsStmt = false
			i++
		}
	}
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
