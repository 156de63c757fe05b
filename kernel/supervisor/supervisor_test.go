package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perfnb/perfnb/internal/pipe"
	"github.com/perfnb/perfnb/kernel/kerneltest"
	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
	workerside "github.com/perfnb/perfnb/runtime/worker"
)

// The test binary is also the fake worker: with workerEnv set, TestMain
// serves a fakeSession on fds 3 and 4 instead of running the tests.
const workerEnv = "PERFNB_SUPERVISOR_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		if err := workerside.ServeProcess(&fakeSession{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeSession runs a tiny language: each line of a cell is a command.
//
//	decl NAME     declares the variable NAME (restoring bomb ends the process)
//	func NAME     declares the function NAME (restoring bad fails)
//	print TEXT    prints TEXT on stdout
//	fatal TEXT    writes a Go-like crash report and exits with status 2
//	wait          waits until interrupted
//	waitcrash     waits until interrupted, then crashes
//	hang          ignores interrupts for a minute
//	stopslow      waits until interrupted, says it is stopping, and takes
//	              three times interruptGrace to stop (a compiled cell
//	              handing back large values)
//	read          reads a line of input and prints it
//	pid           the value is the process id
//	tmpdir        writes a file in its temporary directory; the value is
//	              the directory
//
// and, for the hostile tests (hostile_test.go), the commands of hostile.
type fakeSession struct {
	mu       sync.Mutex
	decls    []cell.Decl
	restored []string
	reported int  // how many of decls were reported
	all      bool // a restore happened: report all
}

func (f *fakeSession) Info() protocol.Info { return protocol.Info{Implementation: "fake"} }

func (f *fakeSession) Execute(ctx context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) protocol.ExecuteResult {
	var res protocol.ExecuteResult
	for _, line := range strings.Split(req.Code, "\n") {
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "decl", "func":
			d := cell.Decl{Kind: cell.VarDecl, Name: arg, Source: "var " + arg + " = 1", Cell: req.ExecutionCount, Line: 1}
			if cmd == "func" {
				d.Kind, d.Source = cell.FuncDecl, "func "+arg+"() {}"
			}
			f.mu.Lock()
			f.decls = append(f.decls, d)
			f.mu.Unlock()
		case "print":
			pub.Stream("stdout", arg+"\n")
		case "fatal":
			fmt.Fprintf(os.Stderr, "fatal error: %s\n\ngoroutine 1 [running]:\nmain.f()\n\tIn[%d]/_.go:7 +0x1\n", arg, req.ExecutionCount)
			os.Exit(2)
		case "wait":
			<-ctx.Done()
			return protocol.ExecuteResult{Error: &protocol.Error{Name: "Interrupted", Value: "interrupted"}}
		case "waitcrash":
			<-ctx.Done()
			fmt.Fprintln(os.Stderr, "fatal error: crashed while stopping")
			os.Exit(2)
		case "hang":
			time.Sleep(time.Minute)
		case "stopslow":
			<-ctx.Done()
			pub.(interface{ Stopping() }).Stopping()
			time.Sleep(3 * interruptGrace)
			return protocol.ExecuteResult{Error: &protocol.Error{Name: "Interrupted", Value: "stopped slowly"}}
		case "read":
			s, err := pub.Input(ctx, "? ", false)
			if err != nil {
				return protocol.ExecuteResult{Error: &protocol.Error{Name: "Error", Value: err.Error()}}
			}
			pub.Stream("stdout", "got "+s+"\n")
		case "pid":
			res.Data = protocol.Bundle{"text/plain": fmt.Sprint(os.Getpid())}
		case "tmpdir":
			dir := os.Getenv(pipe.TempDirEnv)
			if err := os.WriteFile(filepath.Join(dir, "workspace"), []byte("x"), 0o644); err != nil {
				return protocol.ExecuteResult{Error: &protocol.Error{Name: "Error", Value: err.Error()}}
			}
			res.Data = protocol.Bundle{"text/plain": dir}
		case "restored":
			f.mu.Lock()
			res.Data = protocol.Bundle{"text/plain": strings.Join(f.restored, ",")}
			f.mu.Unlock()
		default:
			if v := hostile(cmd, arg, pub); v != "" {
				res.Data = protocol.Bundle{"text/plain": v}
			}
		}
	}
	return res
}

func (f *fakeSession) Complete(code string, cursor int) protocol.Completion {
	if code == "sleep" {
		time.Sleep(time.Second)
	}
	return protocol.Completion{Matches: []string{code + "!"}, CursorStart: 0, CursorEnd: cursor}
}
func (f *fakeSession) Inspect(string, int, int) protocol.Inspection { return protocol.Inspection{} }
func (f *fakeSession) IsComplete(string) protocol.Completeness {
	return protocol.Completeness{Status: "complete"}
}
func (f *fakeSession) History(protocol.HistoryQuery) []protocol.HistoryEntry { return nil }
func (f *fakeSession) Shutdown(bool) error                                   { return nil }
func (f *fakeSession) Decls() []cell.Decl {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cell.Decl(nil), f.decls...)
}

func (f *fakeSession) DeclChanges() ([]cell.Decl, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from, all := f.reported, f.all
	if all {
		from = 0
	}
	f.reported, f.all = len(f.decls), false
	return append([]cell.Decl(nil), f.decls[from:]...), all
}

func (f *fakeSession) Restore(ctx context.Context, decls []cell.Decl) []error {
	f.mu.Lock()
	f.all = true
	f.mu.Unlock()
	var errs []error
	for _, d := range decls {
		switch d.Name {
		case "bomb":
			fmt.Fprintln(os.Stderr, "fatal error: bomb")
			os.Exit(2)
		case "bad":
			errs = append(errs, fmt.Errorf("bad: does not compile"))
			continue
		}
		f.mu.Lock()
		f.decls = append(f.decls, d)
		f.restored = append(f.restored, d.Name)
		f.mu.Unlock()
	}
	return errs
}

// workerCommand starts this test binary as a worker.
func workerCommand() *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	return cmd
}

// newTest starts a supervisor whose worker is this test binary.
func newTest(t testing.TB) *Supervisor {
	t.Helper()
	s, err := New(Options{Command: workerCommand, MemoryLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(false) })
	return s
}

// run executes code as cell count.
func run(s *Supervisor, count int, code string) (protocol.ExecuteResult, *kerneltest.Publisher) {
	pub := &kerneltest.Publisher{}
	res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: code, ExecutionCount: count, StoreHistory: true}, pub)
	return res, pub
}

func plain(res protocol.ExecuteResult) string {
	s, _ := res.Data["text/plain"].(string)
	return s
}

func TestRelay(t *testing.T) {
	s := newTest(t)
	res, pub := run(s, 1, "print hello\nprint world\npid")
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if got := pub.Text("stdout"); got != "hello\nworld\n" {
		t.Errorf("stdout %q", got)
	}
	if plain(res) == fmt.Sprint(os.Getpid()) || plain(res) == "" {
		t.Errorf("the cell ran in process %q, want a worker", plain(res))
	}
	if c := s.Complete("fm", 2); len(c.Matches) != 1 || c.Matches[0] != "fm!" {
		t.Errorf("Complete = %+v", c)
	}
	if h := s.History(protocol.HistoryQuery{AccessType: "tail", N: 5, Output: true}); len(h) != 1 || h[0].Output != plain(res) {
		t.Errorf("History = %+v", h)
	}
}

func TestInput(t *testing.T) {
	s := newTest(t)
	pub := &kerneltest.Publisher{Answer: kerneltest.Answers("forty-two")}
	res := s.Execute(context.Background(), protocol.ExecuteRequest{Code: "read", ExecutionCount: 1, AllowStdin: true}, pub)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if got := pub.Text("stdout"); got != "got forty-two\n" {
		t.Errorf("stdout %q", got)
	}
}

func TestDeathMidCell(t *testing.T) {
	s := newTest(t)
	first, _ := run(s, 1, "decl a\ndecl b\npid")
	res, _ := run(s, 2, "fatal stack overflow")
	if res.Error == nil || res.Error.Kind() != protocol.FatalError || res.Error.Value != "fatal error: stack overflow" {
		t.Fatalf("error %+v", res.Error)
	}
	tb := strings.Join(res.Error.Traceback, "\n")
	if !strings.Contains(tb, "In[2]:7") || !strings.Contains(tb, "restored") {
		t.Errorf("traceback %q: want the cell position and a note on what was restored", tb)
	}
	if pid, _ := run(s, 3, "pid"); plain(pid) == plain(first) {
		t.Error("the same worker answered after its death")
	}
	again, _ := run(s, 4, "restored")
	if got := plain(again); got != "a,b" {
		t.Errorf("restored %q, want a and b", got)
	}
}

// TestTempDirRemoved: each worker has a directory of its own for its
// temporary files, removed once it has ended, whether it crashed or was
// shut down.
func TestTempDirRemoved(t *testing.T) {
	s, err := New(Options{Command: workerCommand, MemoryLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := run(s, 1, "tmpdir")
	if _, err := os.Stat(filepath.Join(plain(first), "workspace")); plain(first) == "" || err != nil {
		t.Fatalf("the worker's temporary directory %q: %v", plain(first), err)
	}
	run(s, 2, "fatal out of luck")
	second, _ := run(s, 3, "tmpdir")
	if plain(second) == plain(first) || plain(second) == "" {
		t.Errorf("the fresh worker's temporary directory is %q, its predecessor's %q", plain(second), plain(first))
	}
	s.Shutdown(false)
	for _, dir := range []string{plain(first), plain(second)} {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left after its worker ended: %v", dir, err)
		}
	}
}

// TestDeathsInARow: cells that crash one after the other are each that
// cell's doing: every restart restores everything.
func TestDeathsInARow(t *testing.T) {
	s := newTest(t)
	run(s, 1, "decl a\nfunc f")
	for count := 2; count < 5; count++ {
		if res, _ := run(s, count, "fatal again"); res.Error == nil || res.Error.Kind() != protocol.FatalError {
			t.Fatalf("In[%d]: %+v", count, res.Error)
		}
	}
	if got, _ := run(s, 5, "restored"); plain(got) != "a,f" {
		t.Errorf("restored %q after three crashes, want a,f", plain(got))
	}
}

func TestDeathMidRestore(t *testing.T) {
	s := newTest(t)
	run(s, 1, "func a\ndecl bomb\nfunc bad\nfunc c")
	res, _ := run(s, 2, "fatal boom")
	if res.Error == nil || res.Error.Value != "fatal error: boom" {
		t.Fatalf("error %+v", res.Error)
	}
	tb := strings.Join(res.Error.Traceback, "\n")
	for _, want := range []string{"not restored: the variables", "not restored: bad"} {
		if !strings.Contains(tb, want) {
			t.Errorf("traceback %q lacks %q", tb, want)
		}
	}
	again, _ := run(s, 3, "restored")
	if got := plain(again); got != "a,c" {
		t.Errorf("restored %q, want a,c", got)
	}
}

func TestInterrupt(t *testing.T) {
	s := newTest(t)
	for _, tt := range []struct {
		code, name string
		value      string // a part of the error's value
	}{
		{"wait", "Interrupted", "interrupted"},                          // stops when asked
		{"hang", "Interrupted", "its interpreter process was replaced"}, // does not
		{"waitcrash", "FatalError", "crashed while stopping"},           // dies stopping: the cause is told
		{"stopslow", "Interrupted", "stopped slowly"},                   // said it stops: waited for
	} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		res := s.Execute(ctx, protocol.ExecuteRequest{Code: tt.code, ExecutionCount: 1}, &kerneltest.Publisher{})
		if res.Error == nil || res.Error.Name != tt.name || !strings.Contains(res.Error.Value, tt.value) {
			t.Errorf("%s: error %+v, want %s: …%s…", tt.code, res.Error, tt.name, tt.value)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: interrupt took %s", tt.code, d)
		}
		if res, _ := run(s, 2, "print ok"); res.Error != nil {
			t.Errorf("after %s: %+v", tt.code, res.Error)
		}
	}
}

func TestDeathWhileIdle(t *testing.T) {
	s := newTest(t)
	res, pub := run(s, 1, "decl a\npid")
	old := s.cur.Load()
	// The worker dies while no cell runs, as when a callback panics.
	old.kill()
	<-old.dead
	deadline := time.Now().Add(10 * time.Second)
	for s.cur.Load() == old && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(pub.Text("stderr"), "while no cell was running") {
		t.Errorf("the last cell's stderr %q does not report the death", pub.Text("stderr"))
	}
	next, pub2 := run(s, 2, "pid")
	if next.Error != nil || plain(next) == "" || plain(next) == plain(res) {
		t.Errorf("next cell: %+v", next)
	}
	if !strings.Contains(pub2.Text("stderr"), "killed") {
		t.Errorf("the next cell's stderr %q does not report the death", pub2.Text("stderr"))
	}
}

func TestDeathDuringShutdown(t *testing.T) {
	s := newTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan protocol.ExecuteResult, 1)
	go func() {
		done <- s.Execute(ctx, protocol.ExecuteRequest{Code: "hang", ExecutionCount: 1}, &kerneltest.Publisher{})
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := s.Shutdown(false); err != nil {
		t.Error(err)
	}
	<-done
	if d := time.Since(start); d > 2*shutdownGrace+time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if w := s.cur.Load(); w.alive() {
		t.Error("the worker outlived the shutdown")
	}
	if res, _ := run(s, 2, "print x"); res.Error == nil {
		t.Error("a cell ran after shutdown")
	}
}

// BenchmarkRelay measures what the process boundary adds to a trivial
// cell: an execute request and its reply through a worker whose session
// does nothing.
func BenchmarkRelay(b *testing.B) {
	s := newTest(b)
	pub := &kerneltest.Publisher{}
	req := protocol.ExecuteRequest{Code: "noop", StoreHistory: true}
	for i := 0; b.Loop(); i++ {
		req.ExecutionCount = i + 1
		if res := s.Execute(context.Background(), req, pub); res.Error != nil {
			b.Fatal(res.Error)
		}
	}
}

func TestRestoreNotes(t *testing.T) {
	vars := func(names ...string) []cell.Decl {
		var ds []cell.Decl
		for _, n := range names {
			ds = append(ds, cell.Decl{Kind: cell.VarDecl, Name: n}, cell.Decl{Kind: cell.FuncDecl, Name: "f" + n})
		}
		return ds
	}
	tests := []struct {
		name string
		rep  restoreReport
		want []string // in the notes, in order; "!" before one that must not be there
	}{
		{"no declarations", restoreReport{}, []string{"restarted in a fresh process", "!Variables"}},
		{"functions only", restoreReport{decls: []cell.Decl{{Kind: cell.FuncDecl, Name: "f"}}}, []string{"!Variables"}},
		{"no values saved", restoreReport{decls: vars("m", "xs")}, []string{"!Variables with", "Variables back at their initial values: m, xs."}},
		{"values restored", restoreReport{decls: vars("m", "xs", "ch"), values: []string{"m", "xs"}, valuesCell: 7,
			skipped: []string{"ch: a channel (chan int) cannot be carried"}},
			[]string{"Variables with the values they had when In[7] ended: m, xs.", "Variables back at their initial values: ch.",
				"note: value not restored: ch: a channel"}},
		{"many variables", restoreReport{decls: vars("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n")},
			[]string{"Variables back at their initial values: a, b, c, d, e, f, g, h, i, j, k, l and 2 more."}},
		{"a declaration lost", restoreReport{failed: []string{"bad (In[2]:1): undefined: x"}}, []string{"note: not restored: bad (In[2]:1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notes := strings.Join(restoreNotes(tt.rep), "\n")
			at := 0
			for _, w := range tt.want {
				if absent, ok := strings.CutPrefix(w, "!"); ok {
					if strings.Contains(notes, absent) {
						t.Errorf("notes %q: want no %q", notes, absent)
					}
					continue
				}
				k := strings.Index(notes[at:], w)
				if k < 0 {
					t.Errorf("notes %q: want %q (after position %d)", notes, w, at)
					continue
				}
				at += k + len(w)
			}
		})
	}
}
