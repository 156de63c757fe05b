package history

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/protocol"
)

func TestRecord(t *testing.T) {
	var h History
	big := strings.Repeat("é", MaxOutput) // two bytes each
	for _, tt := range []struct {
		req  protocol.ExecuteRequest
		data string
	}{
		{protocol.ExecuteRequest{Code: "1", StoreHistory: true, ExecutionCount: 1}, "1"},
		{protocol.ExecuteRequest{Code: "silent", StoreHistory: true, Silent: true, ExecutionCount: 2}, "x"},
		{protocol.ExecuteRequest{Code: "nostore", ExecutionCount: 2}, "x"},
		{protocol.ExecuteRequest{Code: "big", StoreHistory: true, ExecutionCount: 2}, big},
	} {
		h.Record(tt.req, protocol.ExecuteResult{Data: protocol.Bundle{"text/plain": tt.data}})
	}
	got := h.Query(protocol.HistoryQuery{AccessType: "tail", Output: true})
	if len(got) != 2 || got[0].Output != "1" || got[1].Input != "big" {
		t.Fatalf("history %+v", got)
	}
	out := got[1].Output
	if len(out) > MaxOutput+100 || !strings.HasPrefix(out, "éé") || !strings.Contains(out, "more bytes not kept") {
		t.Errorf("a %d-byte output is kept as %d bytes: %.40q…", len(big), len(out), out)
	}
	if !strings.HasPrefix(out, big[:MaxOutput]) || strings.ContainsRune(out, '\uFFFD') {
		t.Errorf("the output was not cut at a character boundary")
	}
}

func TestSearch(t *testing.T) {
	var h History
	for i, code := range []string{"x := 1", "y := 2", "x = 3", "fmt.Println(x)", "x", "é", "[a]", "a-b\nc", "x := 1"} {
		h.Record(protocol.ExecuteRequest{Code: code, StoreHistory: true, ExecutionCount: i + 1}, protocol.ExecuteResult{})
	}
	tests := []struct {
		pattern string
		unique  bool
		n       int
		want    []int
	}{
		{"x*", false, 0, []int{1, 3, 5, 9}},
		{"x*", true, 0, []int{3, 5, 9}},
		{"*x*", false, 2, []int{5, 9}},
		{"?", false, 0, []int{5, 6}},
		{"[xy] :=*", false, 0, []int{1, 2, 9}},
		{"[^x]*", false, 0, []int{2, 4, 6, 7, 8}},
		{"[a-f]*", false, 0, []int{4, 8}},
		{"[]a]*", false, 0, []int{8}},
		{"\\[a]", false, 0, nil}, // no escapes in a glob
		{"[[]a]", false, 0, []int{7}},
		{"a-b?c", false, 0, []int{8}},
		{"fmt.*(x)", false, 0, []int{4}},
		{"*(*)*", false, 0, []int{4}},
		{"***x***", false, 0, []int{1, 3, 4, 5, 9}},
		{"x*1", false, 0, []int{1, 9}},
		{"fmt", false, 0, nil},
		{"", false, 0, []int{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"[x", false, 0, nil},
	}
	for _, tt := range tests {
		got := h.Query(protocol.HistoryQuery{AccessType: "search", Pattern: tt.pattern, Unique: tt.unique, N: tt.n})
		var lines []int
		for _, e := range got {
			lines = append(lines, e.Line)
		}
		if fmt.Sprint(lines) != fmt.Sprint(tt.want) {
			t.Errorf("search %q (unique %v, n %d): %v, want %v", tt.pattern, tt.unique, tt.n, lines, tt.want)
		}
	}
}

// TestHostileSearchesEnd: patterns that cost a backtracking or
// automaton matcher the product of their length and the input's end,
// with the right answer where the work is linear.
func TestHostileSearchesEnd(t *testing.T) {
	var h History
	big := strings.Repeat("a", 1<<20)
	h.Record(protocol.ExecuteRequest{Code: big, StoreHistory: true, ExecutionCount: 1}, protocol.ExecuteResult{})
	h.Record(protocol.ExecuteRequest{Code: "b", StoreHistory: true, ExecutionCount: 2}, protocol.ExecuteResult{})
	for _, tt := range []struct {
		pattern string
		want    int // matches; -1: not said (the search may stop early)
	}{
		{strings.Repeat("*", 20000), 2},
		{strings.Repeat("*a", 20000) + "*", 1},
		{strings.Repeat("*a", 20000) + "*b", 0},
		{"*" + strings.Repeat("?", 20000) + "b", -1},
		{"*" + strings.Repeat("[a]", 5000) + "b*", -1},
	} {
		g := compileGlob(tt.pattern)
		n := 0
		for _, e := range h.entries {
			if g.match(e.input) {
				n++
			}
		}
		if tt.want >= 0 && n != tt.want {
			t.Errorf("%.20q…: %d matches, want %d", tt.pattern, n, tt.want)
		}
		if g.steps > maxSteps+len(big) {
			t.Errorf("%.20q…: %d steps, beyond the bound of %d", tt.pattern, g.steps, maxSteps)
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	var h History
	cell := strings.Repeat("c", 3<<20) // kept as 1 MiB and a note
	for i := range 100 {
		h.Record(protocol.ExecuteRequest{Code: cell, StoreHistory: true, ExecutionCount: i + 1}, protocol.ExecuteResult{})
	}
	got := h.Query(protocol.HistoryQuery{AccessType: "tail"})
	total := 0
	for _, e := range got {
		total += len(e.Input)
	}
	if total > MaxTotal || len(got) == 0 || got[len(got)-1].Line != 100 {
		t.Errorf("%d cells of %d bytes in all kept, the last %d; want at most %d bytes, the newest kept", len(got), total, got[len(got)-1].Line, MaxTotal)
	}
	if !strings.Contains(got[0].Input, "more bytes not kept") {
		t.Error("a 3 MiB cell was kept whole")
	}
}

// TestQuery checks history_request's three kinds of query over cells
// recorded as a session records them (silent and store_history false
// cells left out).
func TestQuery(t *testing.T) {
	var h History
	cells := []struct{ code, out string }{{"x := 1", ""}, {"1 + 2 + 3", "6"}, {"x", "1"}, {"fmt.Println(x)", ""}, {"x", "1"}, {"y := 2", ""}}
	for i, c := range cells {
		res := protocol.ExecuteResult{}
		if c.out != "" {
			res.Data = protocol.Bundle{"text/plain": c.out}
		}
		h.Record(protocol.ExecuteRequest{Code: c.code, StoreHistory: true, ExecutionCount: i + 1}, res)
	}
	h.Record(protocol.ExecuteRequest{Code: "silent", Silent: true, StoreHistory: true, ExecutionCount: 7}, protocol.ExecuteResult{})
	h.Record(protocol.ExecuteRequest{Code: "nostore", ExecutionCount: 7}, protocol.ExecuteResult{})
	lines := func(es []protocol.HistoryEntry) []int {
		var out []int
		for _, e := range es {
			out = append(out, e.Line)
		}
		return out
	}
	tests := []struct {
		q    protocol.HistoryQuery
		want []int
	}{
		{protocol.HistoryQuery{AccessType: "tail", N: 2}, []int{5, 6}},
		{protocol.HistoryQuery{AccessType: "tail", N: 100}, []int{1, 2, 3, 4, 5, 6}},
		{protocol.HistoryQuery{AccessType: "range", Session: 0, Start: 2, Stop: 4}, []int{2, 3}},
		{protocol.HistoryQuery{AccessType: "range", Session: 0, Start: 5}, []int{5, 6}},
		{protocol.HistoryQuery{AccessType: "range", Session: 5, Start: 1}, nil},
		{protocol.HistoryQuery{AccessType: "range", Session: -1, Start: 1}, nil},
		{protocol.HistoryQuery{AccessType: "range", Session: 1, Start: 3, Stop: 4}, []int{3}},
		{protocol.HistoryQuery{AccessType: "search", Pattern: "x*"}, []int{1, 3, 5}},
		{protocol.HistoryQuery{AccessType: "search", Pattern: "x*", Unique: true}, []int{1, 5}},
		{protocol.HistoryQuery{AccessType: "search", Pattern: "*x*", N: 2}, []int{4, 5}},
		{protocol.HistoryQuery{AccessType: "search", Pattern: "?", Unique: true}, []int{5}},
		{protocol.HistoryQuery{AccessType: "search", Pattern: "[xy] :=*"}, []int{1, 6}},
		{protocol.HistoryQuery{AccessType: "search", Pattern: "fmt.*(x)"}, []int{4}},
		{protocol.HistoryQuery{AccessType: "search", Pattern: "fmt"}, nil},
	}
	for _, tt := range tests {
		if got := lines(h.Query(tt.q)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("History(%+v) lines = %v, want %v", tt.q, got, tt.want)
		}
	}
	out := h.Query(protocol.HistoryQuery{AccessType: "range", Start: 2, Stop: 3, Output: true})
	if len(out) != 1 || out[0].Input != "1 + 2 + 3" || out[0].Output != "6" || out[0].Session != Session {
		t.Errorf("range with output = %+v", out)
	}
}
