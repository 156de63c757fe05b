// Package history keeps the cells a kernel has executed and answers
// Jupyter's history_request over them, as IPython's history does within
// one session.
package history

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// MaxOutput is how much of a cell's output text the history keeps: a cell
// whose value prints as 50 MB must not hold 50 MB for the kernel's life.
// Longer outputs are cut, with a note saying how much was dropped.
const MaxOutput = 4 << 10

// MaxInput is how much of a cell's source the history keeps; longer
// sources are cut likewise.
const MaxInput = 1 << 20

// MaxTotal bounds the history's text: beyond it, the oldest cells are
// forgotten.
const MaxTotal = 64 << 20

// Session is the session number reported in history replies. A
// range query for session 0 or 1 means this one; a negative session (an
// earlier one, counted back) or a larger one has no history.
const Session = 1

// entry is one executed cell.
type entry struct {
	count  int
	input  string
	output string // the text/plain of its value, if any
}

// History is the list of executed cells. The zero value is empty and
// ready to use. It is not safe for concurrent use.
type History struct {
	entries []entry
	total   int // bytes of text in entries
}

// Record adds the execution of req with its result, when the protocol
// says it belongs in the history: store_history set and not silent. The
// output kept is the text/plain of the cell's value, at most MaxOutput
// bytes of it.
func (h *History) Record(req protocol.ExecuteRequest, res protocol.ExecuteResult) {
	if !req.StoreHistory || req.Silent {
		return
	}
	out, _ := res.Data["text/plain"].(string)
	e := entry{count: req.ExecutionCount, input: capText(req.Code, MaxInput), output: capText(out, MaxOutput)}
	h.entries = append(h.entries, e)
	h.total += len(e.input) + len(e.output)
	drop := 0
	for ; h.total > MaxTotal && drop < len(h.entries)-1; drop++ {
		h.total -= len(h.entries[drop].input) + len(h.entries[drop].output)
	}
	if drop > 0 {
		h.entries = append(h.entries[:0:0], h.entries[drop:]...)
	}
}

// capText returns text cut to max bytes (at a rune boundary), with a
// note of what was dropped. The copy lets the full text be collected.
func capText(text string, max int) string {
	if len(text) <= max {
		return text
	}
	n := max
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return strings.Clone(text[:n]) + fmt.Sprintf("\n[… %d more bytes not kept in the history]", len(text)-n)
}

// Query answers a history_request over the cells of this kernel:
//
//   - "tail": the last N cells;
//   - "range": the cells whose count is in [Start, Stop) (Stop 0: to the
//     end) in the current session (Session 0 or 1);
//   - "search": the cells whose input matches the glob Pattern as a whole
//     (* any text, ? one character, [abc] a class, as SQLite's GLOB that
//     IPython uses), the last N of them when N > 0, each input once with
//     Unique (its latest run). A search costs at most a bounded number of
//     comparisons (maxSteps), in time linear in the inputs for patterns
//     whose parts between stars are plain text; one that reaches the
//     bound returns the matches found so far.
//
// Entries come oldest first.
func (h *History) Query(q protocol.HistoryQuery) []protocol.HistoryEntry {
	var picked []entry
	switch q.AccessType {
	case "tail":
		picked = h.entries
		if q.N > 0 && len(picked) > q.N {
			picked = picked[len(picked)-q.N:]
		}
	case "range":
		if q.Session < 0 || q.Session > Session {
			return nil
		}
		for _, h := range h.entries {
			if h.count >= q.Start && (q.Stop <= 0 || h.count < q.Stop) {
				picked = append(picked, h)
			}
		}
	case "search":
		g := compileGlob(q.Pattern)
		seen := make(map[string]bool)
		for i := len(h.entries) - 1; i >= 0 && !g.exhausted(); i-- {
			h := h.entries[i]
			if q.Unique && seen[h.input] || !g.match(h.input) {
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
	out := make([]protocol.HistoryEntry, 0, len(picked))
	for _, h := range picked {
		e := protocol.HistoryEntry{Session: Session, Line: h.count, Input: h.input}
		if q.Output {
			e.Output = h.output
		}
		out = append(out, e)
	}
	return out
}
