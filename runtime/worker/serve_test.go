package worker

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/internal/pipe"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// echoSession prints each cell's code and declares x in the first.
type echoSession struct{ executed int }

func (s *echoSession) Info() protocol.Info { return protocol.Info{} }
func (s *echoSession) Execute(_ context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) protocol.ExecuteResult {
	s.executed++
	pub.Stream("stdout", req.Code+"\n")
	return protocol.ExecuteResult{}
}
func (s *echoSession) Complete(string, int) protocol.Completion     { return protocol.Completion{} }
func (s *echoSession) Inspect(string, int, int) protocol.Inspection { return protocol.Inspection{} }
func (s *echoSession) IsComplete(string) protocol.Completeness {
	return protocol.Completeness{Status: "complete"}
}
func (s *echoSession) History(protocol.HistoryQuery) []protocol.HistoryEntry { return nil }
func (s *echoSession) Shutdown(bool) error                                   { return nil }
func (s *echoSession) Decls() []cell.Decl                                    { return s.changes() }
func (s *echoSession) Restore(context.Context, []cell.Decl) []error          { return nil }
func (s *echoSession) DeclChanges() ([]cell.Decl, bool)                      { return s.changes(), false }

func (s *echoSession) changes() []cell.Decl {
	if s.executed == 1 {
		return []cell.Decl{{Name: "x", Source: "var x int", Cell: 1}}
	}
	return nil
}

// TestServe sends requests as the kernel process does and reads what the
// worker answers, in order.
func TestServe(t *testing.T) {
	tests := []struct {
		name string
		send func(*pipe.Encoder)
		want []string // the kinds of message answered, in order
		last string   // in the body of the last
	}{
		{"execute", func(e *pipe.Encoder) {
			e.Send(pipe.OpExecute, 1, pipe.ExecuteRequest{Request: protocol.ExecuteRequest{Code: "1+1"}}, false)
		}, []string{pipe.OpStream, pipe.OpReply}, `"decls":[{"Kind":0,"Name":"x"`},
		{"is_complete", func(e *pipe.Encoder) {
			e.Send(pipe.OpIsComplete, 2, pipe.CodeRequest{Code: "x"}, false)
		}, []string{pipe.OpReply}, `"complete"`},
		{"unknown request", func(e *pipe.Encoder) { e.Send("frobnicate", 3, pipe.CodeRequest{}, false) },
			[]string{pipe.OpReply}, `unknown request \"frobnicate\"`},
		{"malformed body", func(e *pipe.Encoder) { e.Send(pipe.OpExecute, 4, "not an object", false) },
			[]string{pipe.OpReply}, "malformed body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqR, reqW := io.Pipe()
			ansR, ansW := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- Serve(&echoSession{}, reqR, ansW) }()
			dec := pipe.NewDecoder(ansR)
			if f, err := dec.Next(); err != nil || f.Op != pipe.OpReady {
				t.Fatalf("first message %+v, %v; want ready", f, err)
			}
			tt.send(pipe.NewEncoder(reqW))
			var f *pipe.Frame
			for _, want := range tt.want {
				var err error
				if f, err = dec.Next(); err != nil || f.Op != want {
					t.Fatalf("got %+v, %v; want a %s message", f, err, want)
				}
			}
			if !strings.Contains(string(f.Body), tt.last) {
				t.Errorf("the last message %s, want %s in it", f.Body, tt.last)
			}
			reqW.Close()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

// TestServeReportsDeclarations checks that an execution's reply carries
// the declarations the cell added, and the next one does not repeat them.
func TestServeReportsDeclarations(t *testing.T) {
	reqR, reqW := io.Pipe()
	ansR, ansW := io.Pipe()
	go Serve(&echoSession{}, reqR, ansW)
	dec, enc := pipe.NewDecoder(ansR), pipe.NewEncoder(reqW)
	defer reqW.Close()
	dec.Next() // ready
	for seq, want := range []string{"x", ""} {
		enc.Send(pipe.OpExecute, uint64(seq+1), pipe.ExecuteRequest{}, false)
		dec.Next() // stream
		f, err := dec.Next()
		var r pipe.ExecuteReply
		if err != nil || f.Decode(&r) != nil {
			t.Fatalf("reply %+v, %v", f, err)
		}
		var got []string
		for _, d := range r.Decls {
			got = append(got, d.Name)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("cell %d: reply declares %v, want %q", seq+1, got, want)
		}
	}
}
