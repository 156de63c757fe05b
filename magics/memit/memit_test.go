package memit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/cell"
	"github.com/perfnb/perfnb/runtime/harness"
	"github.com/perfnb/perfnb/runtime/native"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		call    magics.Call
		want    options
		wantErr string // UsageError text fragment
	}{
		{name: "defaults", call: magics.Call{Magic: cell.Magic{Args: "x := make([]byte, 1<<20)"}},
			want: options{repeat: 1, interval: 100 * time.Millisecond, body: "x := make([]byte, 1<<20)"}},
		{name: "all short", call: magics.Call{Magic: cell.Magic{Args: "-r3 -t 2.5 -i 0.01 -c -qo f()"}},
			want: options{repeat: 3, timeout: 2500 * time.Millisecond, interval: 10 * time.Millisecond, children: true, quiet: true, output: true, body: "f()"}},
		{name: "limit short", call: magics.Call{Magic: cell.Magic{Args: "-m 512MiB f()"}},
			want: options{repeat: 1, interval: 100 * time.Millisecond, limit: 512 << 20, body: "f()"}},
		{name: "limit long", call: magics.Call{Magic: cell.Magic{Args: "--limit=2GiB f()"}},
			want: options{repeat: 1, interval: 100 * time.Millisecond, limit: 2 << 30, body: "f()"}},
		{name: "cell with setup", call: magics.Call{Magic: cell.Magic{Cell: true, Args: "-r 2 xs := make([]int, 10)", Body: "ys := append(xs, 1)\n"}},
			want: options{repeat: 2, interval: 100 * time.Millisecond, setup: "xs := make([]int, 10)", body: "ys := append(xs, 1)\n"}},
		{name: "negative statement", call: magics.Call{Magic: cell.Magic{Args: "-1 + f()"}},
			want: options{repeat: 1, interval: 100 * time.Millisecond, body: "-1 + f()"}},
		{name: "no statement", call: magics.Call{Magic: cell.Magic{Args: "-r 2"}}, wantErr: "needs a statement"},
		{name: "empty cell", call: magics.Call{Magic: cell.Magic{Cell: true, Args: "setup()", Body: "\n"}}, wantErr: "needs a body"},
		{name: "zero repeat", call: magics.Call{Magic: cell.Magic{Args: "-r 0 f()"}}, wantErr: "at least 1"},
		{name: "bad repeat", call: magics.Call{Magic: cell.Magic{Args: "-r x f()"}}, wantErr: "whole number"},
		{name: "bad interval", call: magics.Call{Magic: cell.Magic{Args: "-i 0 f()"}}, wantErr: "above 0"},
		{name: "bad limit", call: magics.Call{Magic: cell.Magic{Args: "-m lots f()"}}, wantErr: "512MiB or 2GiB"},
		{name: "unknown option", call: magics.Call{Magic: cell.Magic{Args: "-n 3 f()"}}, wantErr: "-n not recognized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.call)
			if tt.wantErr != "" {
				var ke *protocol.Error
				if !errors.As(err, &ke) || ke.Name != "UsageError" || !strings.Contains(ke.Value, tt.wantErr) {
					t.Fatalf("error = %v, want UsageError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: error
	}{
		{"512MiB", 512 << 20},
		{"512mib", 512 << 20},
		{"2GiB", 2 << 30},
		{"1.5G", 3 << 29},
		{"300MB", 300e6},
		{"134217728", 128 << 20},
		{"128", 0}, // bytes: below 1 MiB
		{"1048576B", 1 << 20},
		{"64 KiB", 0}, // below 1 MiB
		{"2 GiB", 2 << 30},
		{"GiB", 0},
		{"-5MiB", 0},
		{"5XB", 0},
		{"1e9TB", 0},
	}
	for _, tt := range tests {
		o, err := parseOptions(magics.Call{Magic: cell.Magic{Args: "-m '" + tt.in + "' f()"}})
		got := o.limit
		if tt.want == 0 {
			if err == nil {
				t.Errorf("-m %q = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("-m %q = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestResultString(t *testing.T) {
	tests := []struct {
		r    *Result
		want string
	}{
		{&Result{Peak: 54630154, Increment: 32589905}, "peak memory: 52.10 MiB, increment: 31.08 MiB"},
		{&Result{Peak: 1 << 20, Increment: 0}, "peak memory: 1.00 MiB, increment: 0.00 MiB"},
		{&Result{Peak: 3 << 30, Increment: -(1 << 19)}, "peak memory: 3072.00 MiB, increment: -0.50 MiB"},
		{&Result{}, failureLine},
		{nil, failureLine},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestNewResult(t *testing.T) {
	o := options{repeat: 3, interval: 100 * time.Millisecond}
	reports := []harness.MemReport{
		{Method: "hwm", Baseline: 10 * mib, Peak: 40 * mib, Allocated: 1},
		{Method: "hwm", Baseline: 12 * mib, Peak: 50 * mib, Allocated: 2, GCPause: 1500},
		{Method: "hwm", Baseline: 11 * mib, Peak: 45 * mib, Allocated: 3},
	}
	r := newResult(reports, o)
	if r == nil {
		t.Fatal("nil result")
	}
	if r.Peak != 50*mib || r.Increment != 38*mib || r.Baseline != 12*mib || r.Allocated != 2 || r.GCPause != 1500*time.Nanosecond {
		t.Errorf("got %+v, want the second run", r)
	}
	if len(r.Peaks) != 3 || r.Repeat != 3 {
		t.Errorf("peaks %v repeat %d", r.Peaks, r.Repeat)
	}
	if newResult(nil, o) != nil || newResult([]harness.MemReport{{Peak: 0}}, o) != nil {
		t.Error("want nil when no run read the memory")
	}
}

func TestHTML(t *testing.T) {
	tests := []struct {
		name    string
		r       *Result
		want    []string
		notWant []string
	}{
		{name: "agree", r: &Result{Peak: 80 * mib, Increment: 64 * mib, Baseline: 16 * mib, HeapPeak: 66 * mib, HeapBaseline: 2 * mib, Allocated: 64 * mib, Objects: 1234567, GCCycles: 2, Method: "hwm", Repeat: 1},
			want:    []string{"<table", "peak memory: 80.00 MiB, increment: 64.00 MiB", "64.00 MiB", "1,234,567 objects", "kernel high-water mark"},
			notWant: []string{"<p "}},
		{name: "untouched", r: &Result{Peak: 17 * mib, Increment: 1 * mib, Baseline: 16 * mib, HeapPeak: 66 * mib, HeapBaseline: 2 * mib, Method: "hwm", Repeat: 1},
			want: []string{"never written is not resident"}},
		{name: "outside heap", r: &Result{Peak: 116 * mib, Increment: 100 * mib, Baseline: 16 * mib, HeapPeak: 3 * mib, HeapBaseline: 2 * mib, Method: "hwm", Repeat: 1},
			want: []string{"outside the Go heap"}},
		{name: "fallback", r: &Result{Peak: 17 * mib, Increment: 1 * mib, Method: "sample", Interval: 100 * time.Millisecond, Note: "could not be reset <x>", Repeat: 2},
			want: []string{"sampled every 100 ms", "could not be reset &lt;x&gt;", "largest peak shown"}},
		{name: "children", r: &Result{Peak: 120 * mib, Increment: 110 * mib, Children: 100 * mib, IncludeChildren: true, HeapPeak: 12 * mib, HeapBaseline: 2 * mib, Method: "hwm", Interval: 10 * time.Millisecond, Repeat: 1, Wall: 768269 * time.Microsecond},
			want: []string{"Child processes account for 100.00 MiB", "children sampled every 10 ms", "768.3 ms"}},
		{name: "micro sign", r: &Result{Peak: 17 * mib, Method: "hwm", Repeat: 1, GCCycles: 3, GCPause: 251234 * time.Nanosecond, Wall: 1500 * time.Microsecond},
			want: []string{"3, 251.2 \u00b5s paused", "1.5 ms"}, notWant: []string{"\u03bc"}},
		{name: "failure", r: &Result{}, want: []string{failureLine}, notWant: []string{"<table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := strings.ReplaceAll(tt.r.HTML(), "\u00a0", " ") // the no-break spaces in figures
			for _, w := range tt.want {
				if !strings.Contains(h, w) {
					t.Errorf("HTML lacks %q:\n%s", w, h)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(h, w) {
					t.Errorf("HTML has %q:\n%s", w, h)
				}
			}
		})
	}
}

func TestRunError(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		ctx  context.Context
		err  error
		want string
	}{
		// The engine gives the child's failures their kinds; an error's
		// text does not.
		{context.Background(), errors.New("panic: the child timed out over its memory limit"), "MemitError"},
		{context.Background(), errors.New("exit status 3"), "MemitError"},
		{context.Background(), &native.Error{Kind: native.Panicked, Summary: "the cell panicked: boom"}, "panic"},
		{context.Background(), &native.Error{Kind: native.OutOfMemory, Summary: "memory limit exceeded"}, "MemoryLimitExceeded"},
		{context.Background(), &native.Error{Kind: native.TimedOut, Summary: "too long"}, "Timeout"},
		{context.Background(), fmt.Errorf("run: %w", &native.Error{Kind: native.Exited, Summary: "exit 3"}), "Exit"},
		{cancelled, errors.New("signal: killed"), "Interrupted"},
		{context.Background(), &protocol.Error{Name: "Custom", Value: "x"}, "Custom"},
	}
	for _, tt := range tests {
		got := runError(tt.ctx, tt.err, 128*mib, false)
		if got.Name != tt.want {
			t.Errorf("runError(%q) = %s, want %s", tt.err, got.Name, tt.want)
		}
	}
}

func TestLimitError(t *testing.T) {
	e := limitError(harness.MemReport{LimitExceeded: true, Peak: 130 * mib, Limit: 128 * mib}, false)
	if e.Name != "MemoryLimitExceeded" || !strings.Contains(e.Value, "memory limit exceeded") ||
		!strings.Contains(e.Value, "130.00 MiB") || !strings.Contains(e.Value, "-m") {
		t.Errorf("got %+v", e)
	}
}
