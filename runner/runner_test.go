package runner

import (
	"github.com/perfnb/perfnb/internal/nbformat"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// fakeInterp is a protocol.Interpreter whose cells are scripts of one
// command a line:
//
//	out TEXT / err TEXT      stream TEXT and a newline on stdout / stderr
//	display ID TEXT          display_data with text/plain TEXT (ID "-": none)
//	html TEXT                display_data with text/html only
//	png                      display_data with image/png bytes
//	update ID TEXT           update_display_data
//	clear / clearwait        clear_output
//	input                    ask for input; stream the error it gets
//	value TEXT               the cell's value
//	fail NAME VALUE          the cell's error
//	sleep                    wait for cancellation, then fail as interrupted
//	hang                     ignore cancellation for a long time
type fakeInterp struct {
	mu   sync.Mutex
	reqs []protocol.ExecuteRequest
}

func (f *fakeInterp) Info() protocol.Info {
	return protocol.Info{Language: protocol.LanguageInfo{
		Name: "go", Version: "1.26", Mimetype: "text/x-go", FileExtension: ".go",
		PygmentsLexer: "go", CodemirrorMode: "go",
	}}
}

func (f *fakeInterp) Execute(ctx context.Context, req protocol.ExecuteRequest, pub protocol.Publisher) protocol.ExecuteResult {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	var res protocol.ExecuteResult
	for _, line := range strings.Split(req.Code, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "out":
			pub.Stream("stdout", arg+"\n")
		case "err":
			pub.Stream("stderr", arg+"\n")
		case "display", "update":
			id, text, _ := strings.Cut(arg, " ")
			if id == "-" {
				id = ""
			}
			if cmd == "display" {
				pub.Display(protocol.Bundle{"text/plain": text}, nil, id)
			} else {
				pub.UpdateDisplay(protocol.Bundle{"text/plain": text}, map[string]any{"updated": true}, id)
			}
		case "html":
			pub.Display(protocol.Bundle{"text/html": arg}, nil, "")
		case "png":
			pub.Display(protocol.Bundle{"image/png": []byte{0x89, 'P', 'N', 'G'}, "text/plain": "<image>"}, map[string]any{"width": 4}, "")
		case "json":
			pub.Display(protocol.Bundle{"application/json": `{"a": [1, 2]}`, "application/x-odd": unencodable{}}, nil, "")
		case "clear":
			pub.ClearOutput(false)
		case "clearwait":
			pub.ClearOutput(true)
		case "input":
			_, err := pub.Input(ctx, "? ", false)
			pub.Stream("stdout", err.Error()+"\n")
		case "value":
			res.Data = protocol.Bundle{"text/plain": arg, "text/html": "<b>" + arg + "</b>"}
		case "fail":
			name, value, _ := strings.Cut(arg, " ")
			res.Error = &protocol.Error{Name: name, Value: value, Traceback: []string{name + ": " + value, "  at line 1"}}
			return res
		case "sleep":
			<-ctx.Done()
			res.Error = &protocol.Error{Name: "Interrupted", Value: "the cell was interrupted", Traceback: []string{"Interrupted"}}
			return res
		case "hang":
			time.Sleep(2 * time.Second)
		}
	}
	return res
}

func (f *fakeInterp) Complete(string, int) protocol.Completion     { return protocol.Completion{} }
func (f *fakeInterp) Inspect(string, int, int) protocol.Inspection { return protocol.Inspection{} }
func (f *fakeInterp) IsComplete(string) protocol.Completeness {
	return protocol.Completeness{Status: "complete"}
}
func (f *fakeInterp) History(protocol.HistoryQuery) []protocol.HistoryEntry { return nil }
func (f *fakeInterp) Shutdown(bool) error                                   { return nil }

func (f *fakeInterp) codes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var codes []string
	for _, r := range f.reqs {
		codes = append(codes, r.Code)
	}
	return codes
}

// unencodable is a value that JSON cannot encode.
type unencodable struct{}

func (unencodable) MarshalJSON() ([]byte, error) { return nil, errors.New("no JSON for this") }
func (unencodable) String() string               { return "unencodable" }

// writeNB writes a notebook whose cells are given as (type, source) pairs
// and returns its path.
func writeNB(t *testing.T, cells ...[2]string) string {
	t.Helper()
	var cs []map[string]any
	for _, c := range cells {
		m := map[string]any{"cell_type": c[0], "metadata": map[string]any{}, "source": c[1]}
		if c[0] == "code" {
			m["outputs"] = []any{}
			m["execution_count"] = nil
		}
		cs = append(cs, m)
	}
	b, err := json.Marshal(map[string]any{"cells": cs, "metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 4})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nb.ipynb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readJSON reads a written notebook as plain JSON values.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb map[string]any
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatalf("written notebook is not JSON: %v", err)
	}
	return nb
}

func cellsOf(nb map[string]any) []map[string]any {
	var cs []map[string]any
	for _, c := range nb["cells"].([]any) {
		cs = append(cs, c.(map[string]any))
	}
	return cs
}

// asJSON round-trips v through JSON so that it compares with decoded data.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	return x
}

// outputTests are the cells TestOutputs runs, each with the outputs the
// written notebook should hold for it.
var outputTests = []struct {
	name string
	code string
	want []map[string]any
}{
	{
		name: "streams merge while the name is the same",
		code: "out a\nout b\nerr c\nerr d\nout e",
		want: []map[string]any{
			{"output_type": "stream", "name": "stdout", "text": []string{"a\n", "b\n"}},
			{"output_type": "stream", "name": "stderr", "text": []string{"c\n", "d\n"}},
			{"output_type": "stream", "name": "stdout", "text": []string{"e\n"}},
		},
	},
	{
		name: "display data and value",
		code: "display - shown\nvalue 42",
		want: []map[string]any{
			{"output_type": "display_data", "data": map[string]any{"text/plain": []string{"shown"}}, "metadata": map[string]any{}},
			{"output_type": "execute_result", "execution_count": 1, "metadata": map[string]any{},
				"data": map[string]any{"text/plain": []string{"42"}, "text/html": []string{"<b>42</b>"}}},
		},
	},
	{
		name: "png is base64 and text is split into lines",
		code: "png\nhtml <p>one</p>\n<p>two</p>",
		want: []map[string]any{
			{"output_type": "display_data", "metadata": map[string]any{"width": 4},
				"data": map[string]any{"image/png": "iVBORw==", "text/plain": []string{"<image>"}}},
			{"output_type": "display_data", "metadata": map[string]any{},
				"data": map[string]any{"text/html": []string{"<p>one</p>"}}},
		},
	},
	{
		name: "JSON stays a value; what JSON cannot hold becomes text",
		code: "json",
		want: []map[string]any{
			{"output_type": "display_data", "metadata": map[string]any{},
				"data": map[string]any{"application/json": map[string]any{"a": []int{1, 2}}, "application/x-odd": "unencodable"}},
		},
	},
	{
		name: "error comes after the outputs",
		code: "out before\nfail NameError x is undefined",
		want: []map[string]any{
			{"output_type": "stream", "name": "stdout", "text": []string{"before\n"}},
			{"output_type": "error", "ename": "NameError", "evalue": "x is undefined",
				"traceback": []string{"NameError: x is undefined", "  at line 1"}},
		},
	},
	{
		name: "display update in the same cell",
		code: "display p 10%\nout working\nupdate p 100%",
		want: []map[string]any{
			{"output_type": "display_data", "data": map[string]any{"text/plain": []string{"100%"}}, "metadata": map[string]any{"updated": true}},
			{"output_type": "stream", "name": "stdout", "text": []string{"working\n"}},
		},
	},
	{
		name: "clear at once",
		code: "out gone\nclear\nout kept",
		want: []map[string]any{
			{"output_type": "stream", "name": "stdout", "text": []string{"kept\n"}},
		},
	},
	{
		name: "clear with wait clears on the next output",
		code: "out gone\nclearwait\ndisplay - next\nclearwait",
		want: []map[string]any{
			{"output_type": "display_data", "data": map[string]any{"text/plain": []string{"next"}}, "metadata": map[string]any{}},
		},
	},
	{
		name: "clear with wait before the value",
		code: "out gone\nclearwait\nvalue v",
		want: []map[string]any{
			{"output_type": "execute_result", "execution_count": 1, "metadata": map[string]any{},
				"data": map[string]any{"text/plain": []string{"v"}, "text/html": []string{"<b>v</b>"}}},
		},
	},
	{
		name: "input is refused",
		code: "input",
		want: []map[string]any{
			{"output_type": "stream", "name": "stdout", "text": []string{protocol.ErrStdinNotAllowed.Error() + "\n"}},
		},
	},
}

func TestOutputs(t *testing.T) {
	for _, tt := range outputTests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeNB(t, [2]string{"code", tt.code})
			err := Run(context.Background(), &fakeInterp{}, Options{Path: path, AllowErrors: true})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := cellsOf(readJSON(t, path))[0]["outputs"]
			if want := asJSON(t, tt.want); !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", " ")
				wb, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("outputs:\n%s\nwant:\n%s", gb, wb)
			}
		})
	}
}

func TestDisplayUpdateAcrossCells(t *testing.T) {
	path := writeNB(t,
		[2]string{"code", "display bar 0/3"},
		[2]string{"code", "display - other\nupdate bar 1/3"},
		[2]string{"code", "update bar 3/3\ndisplay bar again"},
	)
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path}); err != nil {
		t.Fatal(err)
	}
	cells := cellsOf(readJSON(t, path))
	text := func(cell, out int) any {
		return cells[cell]["outputs"].([]any)[out].(map[string]any)["data"].(map[string]any)["text/plain"]
	}
	// The display in the last cell with the same id updates the first too.
	if got, want := text(0, 0), asJSON(t, []string{"again"}); !reflect.DeepEqual(got, want) {
		t.Errorf("first display = %v, want %v", got, want)
	}
	if got, want := text(1, 0), asJSON(t, []string{"other"}); !reflect.DeepEqual(got, want) {
		t.Errorf("unrelated display = %v, want %v", got, want)
	}
	if got, want := text(2, 0), asJSON(t, []string{"again"}); !reflect.DeepEqual(got, want) {
		t.Errorf("second display = %v, want %v", got, want)
	}
}

func TestStopAtFirstError(t *testing.T) {
	cells := [][2]string{
		{"markdown", "# title"},
		{"code", "out one"},
		{"code", "fail Boom it broke"},
		{"code", "out three"},
	}
	t.Run("stop", func(t *testing.T) {
		path := writeNB(t, cells...)
		// Give the last cell a stale output that must not survive.
		nb, err := nbformat.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		nb.Cells[3].ExecutionCount = 9
		nb.Cells[3].Outputs = []json.RawMessage{json.RawMessage(`{"output_type":"stream","name":"stdout","text":"stale"}`)}
		if err := nb.WriteFile(path); err != nil {
			t.Fatal(err)
		}

		fake := &fakeInterp{}
		var progress bytes.Buffer
		err = Run(context.Background(), fake, Options{Path: path, Progress: &progress})
		var ce *CellError
		if !errors.As(err, &ce) {
			t.Fatalf("Run = %v, want a *CellError", err)
		}
		if ce.Cell != 3 || ce.Count != 2 || ce.Err.Name != "Boom" {
			t.Errorf("CellError = %+v, want cell 3, In[2], Boom", ce)
		}
		if !strings.Contains(err.Error(), "In[2]") || !strings.Contains(err.Error(), "it broke") {
			t.Errorf("error %q does not say which cell failed and why", err)
		}
		if got := fake.codes(); len(got) != 2 {
			t.Errorf("executed %q, want the first two code cells only", got)
		}
		out := cellsOf(readJSON(t, path))
		if n := len(out[2]["outputs"].([]any)); n != 1 {
			t.Errorf("failing cell has %d outputs, want its error", n)
		}
		if got := out[3]["outputs"].([]any); len(got) != 0 || out[3]["execution_count"] != nil {
			t.Errorf("cell after the failure kept outputs %v, count %v", got, out[3]["execution_count"])
		}
		if !strings.Contains(progress.String(), "Boom: it broke") {
			t.Errorf("progress does not show the traceback:\n%s", progress.String())
		}
	})
	t.Run("allow errors", func(t *testing.T) {
		path := writeNB(t, cells...)
		fake := &fakeInterp{}
		var progress bytes.Buffer
		if err := Run(context.Background(), fake, Options{Path: path, AllowErrors: true, Progress: &progress}); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := fake.codes(); len(got) != 3 {
			t.Errorf("executed %q, want all three code cells", got)
		}
		out := cellsOf(readJSON(t, path))
		if got := out[3]["execution_count"]; got != 3.0 {
			t.Errorf("last cell execution_count = %v, want 3", got)
		}
		if !strings.Contains(progress.String(), "1 failed (In[2])") {
			t.Errorf("progress has no summary of failures:\n%s", progress.String())
		}
	})
}

func TestTimeout(t *testing.T) {
	path := writeNB(t, [2]string{"code", "out start\nsleep"}, [2]string{"code", "out next"})
	fake := &fakeInterp{}
	start := time.Now()
	err := Run(context.Background(), fake, Options{Path: path, Timeout: 100 * time.Millisecond})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Run took %v with a 100ms timeout", elapsed)
	}
	var ce *CellError
	if !errors.As(err, &ce) || ce.Err.Name != "TimeoutError" {
		t.Fatalf("Run = %v, want a TimeoutError", err)
	}
	outs := cellsOf(readJSON(t, path))[0]["outputs"].([]any)
	last := outs[len(outs)-1].(map[string]any)
	if last["output_type"] != "error" || last["ename"] != "TimeoutError" ||
		!strings.Contains(last["evalue"].(string), "100ms") {
		t.Errorf("last output = %v, want a TimeoutError naming the limit", last)
	}
	if len(fake.codes()) != 1 {
		t.Errorf("the cell after the timeout ran")
	}
}

func TestInterpreterThatDoesNotStop(t *testing.T) {
	path := writeNB(t, [2]string{"code", "hang"}, [2]string{"code", "out next"})
	fake := &fakeInterp{}
	err := runWith(context.Background(), fake, Options{Path: path, Timeout: 50 * time.Millisecond, AllowErrors: true}, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("Run = %v, want an error saying the cell did not stop", err)
	}
	if len(fake.codes()) != 1 {
		t.Errorf("a cell ran after the interpreter hung, even with AllowErrors")
	}
}

func TestInterrupt(t *testing.T) {
	path := writeNB(t, [2]string{"code", "sleep"}, [2]string{"code", "out next"})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	fake := &fakeInterp{}
	err := Run(ctx, fake, Options{Path: path, AllowErrors: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want it to report the interruption", err)
	}
	if len(fake.codes()) != 1 {
		t.Errorf("a cell ran after the interruption")
	}
	outs := cellsOf(readJSON(t, path))[0]["outputs"].([]any)
	if len(outs) != 1 || outs[0].(map[string]any)["ename"] != "Interrupted" {
		t.Errorf("interrupted cell outputs = %v", outs)
	}
}

func TestRequests(t *testing.T) {
	path := writeNB(t,
		[2]string{"code", "out a"},
		[2]string{"markdown", "text"},
		[2]string{"code", "  \n"},
		[2]string{"code", "out b"},
		[2]string{"raw", "raw"},
		[2]string{"code", "out c"},
	)
	fake := &fakeInterp{}
	if err := Run(context.Background(), fake, Options{Path: path}); err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, r := range fake.reqs {
		if !r.StoreHistory || r.AllowStdin || !r.StopOnError || r.Silent {
			t.Errorf("request %+v: want StoreHistory, StopOnError, no stdin, not silent", r)
		}
		counts = append(counts, r.ExecutionCount)
	}
	if !reflect.DeepEqual(counts, []int{1, 2, 3}) {
		t.Errorf("execution counts %v, want 1 2 3 (blank cells are skipped)", counts)
	}
	cells := cellsOf(readJSON(t, path))
	var saved []any
	for _, c := range cells {
		if c["cell_type"] == "code" {
			saved = append(saved, c["execution_count"])
		}
	}
	if want := []any{1.0, nil, 2.0, 3.0}; !reflect.DeepEqual(saved, want) {
		t.Errorf("saved execution counts %v, want %v", saved, want)
	}
}

func TestProgress(t *testing.T) {
	path := writeNB(t, [2]string{"code", "// first\nout hello\nvalue 7"}, [2]string{"code", "display - shown"})
	var progress bytes.Buffer
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	got := progress.String()
	for _, want := range []string{"[1/2] In[1] // first\n", "hello\n", "Out[1]: 7\n", "[1/2] In[1] ok in ", "[2/2] In[2]", "shown\n", "Ran 2 of 2 code cells"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%s", want, got)
		}
	}
}

func TestOutputFile(t *testing.T) {
	path := writeNB(t, [2]string{"code", "out a"})
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.ipynb")
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path, Output: out}); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the input changed although an output file was given")
	}
	if len(cellsOf(readJSON(t, out))[0]["outputs"].([]any)) != 1 {
		t.Errorf("the output file has no outputs")
	}
}

// TestOutputTargets: a target that is not a regular file is refused before
// any cell runs, and left as it was; a link to a notebook keeps linking.
func TestOutputTargets(t *testing.T) {
	path := writeNB(t, [2]string{"code", "out a"})
	dir := t.TempDir()
	for _, target := range []string{"/dev/full", "/dev/null", dir} {
		fi, err := os.Stat(target)
		if err != nil {
			continue
		}
		f := &fakeInterp{}
		err = Run(context.Background(), f, Options{Path: path, Output: target})
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("-o %s: error %v, want a refusal", target, err)
		}
		if after, err := os.Stat(target); err != nil || after.Mode() != fi.Mode() {
			t.Errorf("-o %s: the target changed (%v)", target, err)
		}
	}
	real := filepath.Join(dir, "real.ipynb")
	link := filepath.Join(dir, "link.ipynb")
	if err := os.WriteFile(real, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path, Output: link}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
	if len(cellsOf(readJSON(t, real))[0]["outputs"].([]any)) != 1 {
		t.Errorf("the linked notebook has no outputs")
	}
}

func TestBadNotebooks(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"not json", "{", "invalid JSON"},
		{"version 3", `{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}`, "nbformat 3"},
		{"bad cell", `{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": 3}]}`, "cell 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.ipynb")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Run(context.Background(), &fakeInterp{}, Options{Path: path})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: filepath.Join(t.TempDir(), "missing.ipynb")}); err == nil {
		t.Errorf("Run of a missing file succeeded")
	}
}

// existing is a notebook as Jupyter might have saved it, with fields the
// runner does not know about.
const existing = `{
 "cells": [
  {
   "attachments": {"a.png": {"image/png": "iVBORw=="}},
   "cell_type": "markdown",
   "id": "intro-1",
   "metadata": {"tags": ["intro"]},
   "source": ["# Title\n", "<b>bold</b> & more"]
  },
  {
   "cell_type": "code",
   "execution_count": 12,
   "metadata": {"collapsed": false, "scrolled": true, "tags": ["keep"]},
   "outputs": [{"output_type": "stream", "name": "stdout", "text": "old\n"}],
   "source": "out new\nvalue é",
   "x_custom_field": {"kept": [1, 2]}
  },
  {
   "cell_type": "raw",
   "metadata": {"format": "text/plain"},
   "source": "raw text"
  }
 ],
 "metadata": {
  "authors": [{"name": "Ada"}],
  "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
  "language_info": {"name": "python", "custom": "kept"},
  "x_tool": {"settings": {"b": 2, "a": 1}}
 },
 "nbformat": 4,
 "nbformat_minor": 4,
 "x_top": "kept"
}`

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "existing.ipynb")
	if err := os.WriteFile(path, []byte(existing), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTripFields(t, readJSON(t, path))
	checkWrittenLikeJupyter(t, string(raw))
	checkSecondRunUnchanged(t, path, raw)
	checkValidWithoutForbiddenFields(t, path)
}

// checkRoundTripFields checks that the run notebook nb kept the fields of
// existing it does not own and set the ones it does.
func checkRoundTripFields(t *testing.T, nb map[string]any) {
	t.Helper()
	md := nb["metadata"].(map[string]any)
	checks := []struct {
		name      string
		got, want any
	}{
		{"top-level unknown field", nb["x_top"], "kept"},
		{"nbformat_minor", nb["nbformat_minor"], 5.0},
		{"authors", md["authors"], asJSON(t, []map[string]string{{"name": "Ada"}})},
		{"tool metadata", md["x_tool"], asJSON(t, map[string]any{"settings": map[string]int{"a": 1, "b": 2}})},
		{"kernelspec", md["kernelspec"], asJSON(t, kernelspec)},
		{"language_info", md["language_info"], asJSON(t, map[string]string{
			"name": "go", "version": "1.26", "mimetype": "text/x-go", "file_extension": ".go",
			"pygments_lexer": "go", "codemirror_mode": "go", "custom": "kept"})},
	}
	cells := cellsOf(nb)
	checks = append(checks, []struct {
		name      string
		got, want any
	}{
		{"markdown id", cells[0]["id"], "intro-1"},
		{"markdown source", cells[0]["source"], asJSON(t, []string{"# Title\n", "<b>bold</b> & more"})},
		{"markdown attachments", cells[0]["attachments"], asJSON(t, map[string]any{"a.png": map[string]string{"image/png": "iVBORw=="}})},
		{"markdown metadata", cells[0]["metadata"], asJSON(t, map[string]any{"tags": []string{"intro"}})},
		{"code metadata", cells[1]["metadata"], asJSON(t, map[string]any{"collapsed": false, "scrolled": true, "tags": []string{"keep"}})},
		{"code unknown field", cells[1]["x_custom_field"], asJSON(t, map[string]any{"kept": []int{1, 2}})},
		{"code source as lines", cells[1]["source"], asJSON(t, []string{"out new\n", "value é"})},
		{"execution count", cells[1]["execution_count"], 1.0},
		{"raw metadata", cells[2]["metadata"], asJSON(t, map[string]string{"format": "text/plain"})},
		{"raw source", cells[2]["source"], asJSON(t, []string{"raw text"})},
	}...)
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for i, c := range cells {
		id, _ := c["id"].(string)
		if !regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`).MatchString(id) {
			t.Errorf("cell %d has id %q", i, id)
		}
	}
	if cells[1]["id"] == cells[2]["id"] {
		t.Errorf("added ids are not unique")
	}
	outs := cells[1]["outputs"].([]any)
	if len(outs) != 2 {
		t.Errorf("code cell outputs = %v, want the new stream and value", outs)
	}
}

// checkWrittenLikeJupyter checks that the file s is written as Jupyter
// writes it.
func checkWrittenLikeJupyter(t *testing.T, s string) {
	t.Helper()
	for _, want := range []string{"{\n \"cells\": [\n  {\n", "\"<b>bold</b> & more\"", "\"value é\""} {
		if !strings.Contains(s, want) {
			t.Errorf("written file lacks %q", want)
		}
	}
	if !strings.HasSuffix(s, "}\n") {
		t.Errorf("written file does not end with a newline")
	}
}

// checkSecondRunUnchanged runs path again and checks that its bytes stay
// raw: the random parts are gone after the first run.
func checkSecondRunUnchanged(t *testing.T, path string, raw []byte) {
	t.Helper()
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path}); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again) {
		t.Errorf("a second run changed the notebook:\n%s\n---\n%s", raw, again)
	}
}

// checkValidWithoutForbiddenFields runs existing, without the fields
// nbformat's schema forbids, at path and checks that the result is valid.
func checkValidWithoutForbiddenFields(t *testing.T, path string) {
	t.Helper()
	valid := strings.NewReplacer(",\n   \"x_custom_field\": {\"kept\": [1, 2]}", "", ",\n \"x_top\": \"kept\"", "").Replace(existing)
	if valid == existing {
		t.Fatal("test notebook unchanged by the replacer")
	}
	if err := os.WriteFile(path, []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path}); err != nil {
		t.Fatal(err)
	}
	validate(t, path)
}

// validate checks path with the nbformat Python package, when it is
// installed.
func validate(t *testing.T, path string) {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import nbformat").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nbformat is not importable by %s: %v", py, err)
		}
		t.Logf("skipping nbformat validation: %v", err)
		return
	}
	out, err := exec.Command(py, "-c", "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))", path).CombinedOutput()
	if err != nil {
		t.Errorf("nbformat rejects the notebook: %v\n%s", err, out)
	}
}

func TestValidNbformat(t *testing.T) {
	path := writeNB(t,
		[2]string{"markdown", "# md"},
		[2]string{"code", "out a\nerr b\ndisplay d x\npng\nhtml <i>x</i>\nvalue v"},
		[2]string{"code", ""},
		[2]string{"code", "fail E bad"},
	)
	if err := Run(context.Background(), &fakeInterp{}, Options{Path: path, AllowErrors: true}); err != nil {
		t.Fatal(err)
	}
	validate(t, path)
}

// TestRerun: a cell run again keeps its execution count, is not stored in
// the history again, and shows only its new outputs; a cell that never
// ran cannot be run again.
func TestRerun(t *testing.T) {
	path := writeNB(t, [2]string{"code", "out a"}, [2]string{"code", "display bar 1\nout b"}, [2]string{"code", "fail Boom x"})
	fake := &fakeInterp{}
	x, err := Start(fake, Options{Path: path, AllowErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.RunAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	cells := x.Document().Cells
	for range 2 {
		if err := x.Rerun(context.Background(), cells[1]); err != nil {
			t.Fatal(err)
		}
	}
	if len(cells[1].Outputs) != 2 || cells[1].ExecutionCount != 2 {
		t.Errorf("after two reruns: %d outputs, count %d", len(cells[1].Outputs), cells[1].ExecutionCount)
	}
	last := fake.reqs[len(fake.reqs)-1]
	if last.ExecutionCount != 2 || last.StoreHistory || !fake.reqs[1].StoreHistory {
		t.Errorf("requests %+v", fake.reqs)
	}
	var ce *CellError
	if err := x.Rerun(context.Background(), cells[2]); !errors.As(err, &ce) || ce.Count != 3 {
		t.Errorf("a failing cell run again: %v", err)
	}
	other := writeNB(t, [2]string{"code", "out z"})
	y, _ := Start(fake, Options{Path: other})
	if err := x.Rerun(context.Background(), y.Document().Cells[0]); err == nil {
		t.Errorf("a cell of another notebook ran")
	}
}
