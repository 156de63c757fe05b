package memit

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/magics/magicstest"
	"github.com/perfnb/perfnb/magics/record"
	"github.com/perfnb/perfnb/runtime/cell"
)

const touchBody = "s := make([]byte, %d<<20)\nfor i := 0; i < len(s); i += 4096 {\n\ts[i] = 1\n}\n"

// endToEndTests are cells that TestEndToEnd measures, with the increment
// each should show and any further checks of its result and displays.
var endToEndTests = []struct {
	name  string
	call  magics.Call
	decls []cell.Decl
	want  float64 // MiB of increment, within 5%
	check func(t *testing.T, r *Result, pub *kerneltest.Publisher)
}{
	{
		name: "touch 64 MiB",
		call: magics.Call{Magic: cell.Magic{Cell: true, Args: "-o", Body: strings.ReplaceAll(touchBody, "%d", "64")}},
		want: 64,
		check: func(t *testing.T, r *Result, pub *kerneltest.Publisher) {
			if len(pub.Displays()) != 1 {
				t.Fatalf("%d displays, want 1", len(pub.Displays()))
			}
			d := pub.Displays()[0]
			if d["text/plain"] != r.String() || !strings.HasPrefix(r.String(), "peak memory: ") {
				t.Errorf("text/plain = %q, result %q", d["text/plain"], r.String())
			}
			if h, _ := d["text/html"].(string); !strings.Contains(h, "<table") {
				t.Errorf("text/html = %q", h)
			}
			if r.Method != "hwm" || r.Allocated < 64<<20 || r.HeapPeak-r.HeapBaseline < 64<<20 {
				t.Errorf("result %+v", r)
			}
			rec, ok := d[record.MIMEType].(*record.Record)
			if !ok || rec.Magic != "memit" || !strings.HasPrefix(rec.Source, "%%memit -o\n") || len(rec.Results) != 1 || rec.Environment.Go == "" {
				t.Fatalf("record %+v", d[record.MIMEType])
			}
			if inc, _ := rec.Results[0].Metric(incrementUnit); len(inc) != 1 || inc[0] != float64(r.Increment) {
				t.Errorf("record's increment %v, result's %d", inc, r.Increment)
			}
		},
	},
	{
		// Setup keeps 100 MiB live; only the body's 16 MiB count.
		name:  "setup excluded",
		call:  magics.Call{Magic: cell.Magic{Cell: true, Args: "-o -q keep = make([]byte, 100<<20); for i := range keep { keep[i] = 1 }", Body: strings.ReplaceAll(touchBody, "%d", "16")}},
		decls: []cell.Decl{{Kind: cell.VarDecl, Name: "keep", Source: "var keep []byte", Cell: 1, Line: 1}},
		want:  16,
		check: func(t *testing.T, r *Result, pub *kerneltest.Publisher) {
			if len(pub.Displays()) != 0 {
				t.Errorf("-q published %d displays", len(pub.Displays()))
			}
			if r.Baseline < 100<<20 {
				t.Errorf("baseline %d: setup's memory is not resident", r.Baseline)
			}
		},
	},
	{
		// Allocated, never written: in the Go heap but not resident.
		name: "untouched",
		call: magics.Call{Magic: cell.Magic{Args: "-o s := make([]byte, 64<<20)"}},
		want: 0,
		check: func(t *testing.T, r *Result, pub *kerneltest.Publisher) {
			if r.HeapPeak-r.HeapBaseline < 63<<20 {
				t.Errorf("heap grew by %d bytes, want 64 MiB", r.HeapPeak-r.HeapBaseline)
			}
			if h, _ := pub.Displays()[0]["text/html"].(string); !strings.Contains(h, "never written is not resident") {
				t.Errorf("no explanation in the HTML:\n%s", h)
			}
		},
	},
	{
		// One allocation, in a body that lasts 300 ms: the samplers that
		// run beside it every millisecond (under -m) must not add theirs.
		name: "objects are the body's own",
		call: magics.Call{Magic: cell.Magic{Cell: true, Args: "-o -q -m 1GiB", Body: "s := make([]byte, 16<<20)\nfor i := 0; i < len(s); i += 4096 {\n\ts[i] = 1\n}\ntime.Sleep(300 * time.Millisecond)\n"}},
		want: 16,
		check: func(t *testing.T, r *Result, pub *kerneltest.Publisher) {
			// The make, the sleep's timer and the harness's own few.
			if r.Objects > 50 {
				t.Errorf("%d objects allocated, want the body's few (300 ms of 1 ms sampling added ~9 each)", r.Objects)
			}
		},
	},
	{
		name: "line mode, repeats, output",
		call: magics.Call{Magic: cell.Magic{Args: `-r 3 -o -q s := make([]byte, 8<<20); for i := range s { s[i] = 1 }; println("hello from the body")`}},
		want: 8,
		check: func(t *testing.T, r *Result, pub *kerneltest.Publisher) {
			if len(r.Peaks) != 3 || r.Repeat != 3 {
				t.Errorf("peaks %v, repeat %d", r.Peaks, r.Repeat)
			}
			if n := strings.Count(pub.Text("stdout"), "hello from the body"); n != 3 {
				t.Errorf("body printed %d times, want 3: %q", n, pub.Text("stdout"))
			}
		},
	},
}

func TestEndToEnd(t *testing.T) {
	wsf := magicstest.WorkspaceFunc(t)
	for _, tt := range endToEndTests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &kerneltest.Publisher{}
			tt.call.Name, tt.call.Count, tt.call.Line, tt.call.BodyLine = "memit", 2, 1, 2
			v, err := New().Run(context.Background(), tt.call, magics.Env{Decls: tt.decls, Publisher: pub, Workspace: wsf})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := v.(*Result)
			if !ok {
				t.Fatalf("value %T, want *Result", v)
			}
			inc := float64(r.Increment) / mib
			t.Logf("%s", r)
			if tt.want == 0 {
				if inc > 2 {
					t.Errorf("increment %.2f MiB, want about 0", inc)
				}
			} else if math.Abs(inc-tt.want)/tt.want > 0.05 {
				t.Errorf("increment %.2f MiB, want %.0f MiB ± 5%%", inc, tt.want)
			}
			if tt.check != nil {
				tt.check(t, r, pub)
			}
		})
	}
}

func TestEndToEndErrors(t *testing.T) {
	wsf := magicstest.WorkspaceFunc(t)
	tests := []struct {
		name     string
		call     magics.Call
		timeout  time.Duration // cancel the context after this long (interrupt)
		wantName string
		wantText string
	}{
		{name: "runaway", call: magics.Call{Magic: cell.Magic{Args: "-m 128MiB var xs [][]byte; for { b := make([]byte, 1<<20); for i := range b { b[i] = 1 }; xs = append(xs, b) }"}},
			wantName: "MemoryLimitExceeded", wantText: "memory limit exceeded"},
		// Never touched: not resident, but the Go heap crosses the limit.
		{name: "runaway heap", call: magics.Call{Magic: cell.Magic{Args: "--limit=128MiB var xs [][]byte; for { xs = append(xs, make([]byte, 1<<20)) }"}},
			wantName: "MemoryLimitExceeded", wantText: "Go heap reached"},
		{name: "compile error", call: magics.Call{Magic: cell.Magic{Args: "undefinedName + 1"}},
			wantName: "CompileError", wantText: "In[2]"},
		{name: "panic", call: magics.Call{Magic: cell.Magic{Args: `panic("boom")`}},
			wantName: "panic", wantText: "boom"},
		{name: "os.Exit(0)", call: magics.Call{Magic: cell.Magic{Args: "os.Exit(0)"}},
			wantName: "Exit", wantText: "os.Exit(0)"},
		{name: "os.Exit(2)", call: magics.Call{Magic: cell.Magic{Args: "os.Exit(2)"}},
			wantName: "Exit", wantText: "status 2"},
		{name: "timeout", call: magics.Call{Magic: cell.Magic{Args: "-t 0.5 for {}"}},
			wantName: "Timeout"},
		{name: "interrupt", call: magics.Call{Magic: cell.Magic{Args: "for {}"}}, timeout: 2 * time.Second,
			wantName: "Interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tt.call.Name, tt.call.Count, tt.call.Line = "memit", 2, 1
			if tt.timeout > 0 {
				// Build first so that the interrupt lands while the child runs.
				if ws, _ := wsf(); ws != nil {
					o, _ := parseOptions(tt.call)
					if _, err := ws.Build(ctx, program(tt.call, magics.Env{}, o)); err != nil {
						t.Fatal(err)
					}
				}
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := New().Run(ctx, tt.call, magics.Env{Publisher: &kerneltest.Publisher{}, Workspace: wsf})
			var ke *protocol.Error
			if !errors.As(err, &ke) {
				t.Fatalf("error %v (%T), want a *protocol.Error", err, err)
			}
			t.Logf("%s after %v", ke, time.Since(start).Round(time.Millisecond))
			if ke.Name != tt.wantName || !strings.Contains(ke.Error()+strings.Join(ke.Traceback, "\n"), tt.wantText) {
				t.Errorf("error %s: %s\n%s\nwant %s containing %q", ke.Name, ke.Value, ke.TracebackText(), tt.wantName, tt.wantText)
			}
		})
	}
}
