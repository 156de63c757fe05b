package session

import (
	"regexp"
	"strings"

	"github.com/perfnb/perfnb/kernel"
)

// historySession is the session number reported in history replies. A
// range query for session 0 or 1 means this one; a negative session (an
// earlier one, counted back) or a larger one has no history.
const historySession = 1

// historyEntry is one executed cell.
type historyEntry struct {
	count  int
	input  string
	output string // the text/plain of its value, if any
}

func (s *Session) addHistory(count int, input, output string) {
	s.history = append(s.history, historyEntry{count: count, input: input, output: output})
}

// History answers a history_request over the cells of this kernel:
//
//   - "tail": the last N cells;
//   - "range": the cells whose count is in [Start, Stop) (Stop 0: to the
//     end) in the current session (Session 0 or 1);
//   - "search": the cells whose input matches the glob Pattern as a whole
//     (* any text, ? one character, [abc] a class, as SQLite's GLOB that
//     IPython uses), the last N of them when N > 0, each input once with
//     Unique (its latest run).
//
// Entries come oldest first.
func (s *Session) History(q kernel.HistoryQuery) []kernel.HistoryEntry {
	var picked []historyEntry
	switch q.AccessType {
	case "tail":
		picked = s.history
		if q.N > 0 && len(picked) > q.N {
			picked = picked[len(picked)-q.N:]
		}
	case "range":
		if q.Session < 0 || q.Session > historySession {
			return nil
		}
		for _, h := range s.history {
			if h.count >= q.Start && (q.Stop <= 0 || h.count < q.Stop) {
				picked = append(picked, h)
			}
		}
	case "search":
		re, err := globRegexp(q.Pattern)
		if err != nil {
			return nil
		}
		seen := make(map[string]bool)
		for i := len(s.history) - 1; i >= 0; i-- {
			h := s.history[i]
			if !re.MatchString(h.input) || q.Unique && seen[h.input] {
				continue
			}
			seen[h.input] = true
			picked = append(picked, h)
			if q.N > 0 && len(picked) == q.N {
				break
			}
		}
		for i, j := 0, len(picked)-1; i < j; i, j = i+1, j-1 {
			picked[i], picked[j] = picked[j], picked[i]
		}
	}
	out := make([]kernel.HistoryEntry, 0, len(picked))
	for _, h := range picked {
		e := kernel.HistoryEntry{Session: historySession, Line: h.count, Input: h.input}
		if q.Output {
			e.Output = h.output
		}
		out = append(out, e)
	}
	return out
}

// globRegexp compiles a glob pattern (* ? [...]) into a regular expression
// that matches whole strings, newlines included. An empty pattern matches
// everything.
func globRegexp(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		pattern = "*"
	}
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	p := []rune(pattern)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			// A class: up to the next ], a ] right after [ (or [^) being
			// part of it.
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				b.WriteString(`\[`)
				continue
			}
			class := string(p[i+1 : j])
			b.WriteByte('[')
			if rest, ok := strings.CutPrefix(class, "^"); ok {
				b.WriteByte('^')
				class = rest
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`).Replace(class))
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return regexp.Compile(b.String())
}
