package cell

import "strings"

// The statuses IsComplete returns, as is_complete_reply spells them.
const (
	StatusComplete   = "complete"
	StatusIncomplete = "incomplete"
	StatusInvalid    = "invalid"
)

// IsComplete says whether src is ready to run, for consoles that read a
// cell line by line (jupyter console):
//
//   - "incomplete" while a bracket, raw string or block comment is open, or
//     when the last line ends with an operator or comma (Go continues the
//     statement on the next line); indent is then four spaces per open
//     bracket. A cell magic (%%name) is incomplete until its last line is
//     blank, as in IPython.
//   - "invalid" for input that no further line can fix: a stray or
//     mismatched closing bracket, an unterminated string, or any other
//     syntax error Parse reports.
//   - "complete" otherwise; magic and help lines are complete.
func IsComplete(src string) (status, indent string) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	if strings.TrimSpace(src) == "" {
		return StatusComplete, ""
	}
	lines := strings.Split(src, "\n")
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	if strings.HasPrefix(strings.TrimSpace(lines[first]), "%%") {
		if first == len(lines)-1 || strings.TrimSpace(lines[len(lines)-1]) != "" {
			return StatusIncomplete, ""
		}
		return StatusComplete, ""
	}

	var lx lexer
	seen := false // a Go token was seen since the last magic line
	for i, text := range lines {
		if lx.atTop() {
			t := strings.TrimSpace(text)
			if strings.HasPrefix(t, "%") || isHelpLine(t) {
				seen = false
				continue
			}
		}
		before := lx.endsStmt
		lx.line(text, i+1)
		if lx.err != nil {
			return StatusInvalid, ""
		}
		if lx.endsStmt != before || lineHasToken(text) {
			seen = true
		}
	}
	if lx.open() {
		return StatusIncomplete, strings.Repeat("    ", len(lx.stack))
	}
	if seen && !lx.endsStmt {
		return StatusIncomplete, ""
	}
	if _, err := Parse(src); err != nil {
		return StatusInvalid, ""
	}
	return StatusComplete, ""
}

// isHelpLine reports whether t (a trimmed line) is a help request.
func isHelpLine(t string) bool {
	m := helpRE.FindStringSubmatch(t)
	return m != nil && (m[1] != "" || m[3] != "") && (m[1] == "" || m[3] == "")
}

// lineHasToken reports whether a line holds something other than blanks
// and a // comment (good enough to know that Go code was seen).
func lineHasToken(text string) bool {
	t := strings.TrimSpace(text)
	return t != "" && !strings.HasPrefix(t, "//")
}
