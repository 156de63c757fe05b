package history

import (
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
