package interp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// TestInterruptSparesEarlierGoroutines: an interrupt stops the cell that
// runs, and the goroutine an earlier cell started goes on counting, unless
// the cell was blocked where no poll comes (select {}), when every
// goroutine stops and the error says so.
func TestInterruptSparesEarlierGoroutines(t *testing.T) {
	if raceEnabled {
		t.Skip("goroutines of interpreted code race with later evaluations inside yaegi (see race_test.go)")
	}
	tests := []struct {
		name, body string
		all        bool // the interrupt stops every goroutine
	}{
		{"loop", "for {}", false},
		{"loop calling a function", "for { _ = strings.Repeat(\"x\", 3) }", false},
		{"nested loops", "for j := 0; ; j++ {\n\tfor k := 0; k < 1000; k++ {\n\t\t_ = j * k\n\t}\n}", false},
		{"sleep", "time.Sleep(time.Hour)", false},
		{"loop that sleeps", "for { time.Sleep(time.Millisecond) }", false},
		{"blocked in select", "select {}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := newInterp(t)
			runSteps(t, i, []step{
				st("var ticks int64"),
				st("go func() {\n\tfor {\n\t\tatomic.AddInt64(&ticks, 1)\n\t\ttime.Sleep(time.Millisecond)\n\t}\n}()"),
			})
			err := interruptAfter(t, i, tt.body, 100*time.Millisecond)
			var ke *protocol.Error
			if !errors.As(err, &ke) || ke.Kind() != protocol.Interrupted {
				t.Fatalf("err = %v, want Interrupted", err)
			}
			if got := strings.Contains(strings.Join(ke.Traceback, "\n"), "every goroutine"); got != tt.all {
				t.Errorf("traceback %q: says every goroutine stopped: %v, want %v", ke.Traceback, got, tt.all)
			}
			v, _, err := i.Eval(context.Background(), cell.Item{Kind: cell.Expression,
				Source: "func() bool { a := atomic.LoadInt64(&ticks); time.Sleep(100 * time.Millisecond); return atomic.LoadInt64(&ticks) > a }()", Line: 1}, 3, newPub())
			if err != nil {
				t.Fatal(err)
			}
			if counting := v.Bool(); counting == tt.all {
				t.Errorf("the earlier cell's goroutine still counts: %v, want %v", counting, !tt.all)
			}
		})
	}
}

// interruptAfter evaluates body as cell 2 and cancels it after d. It fails
// the test if the cell has not stopped within a second of that.
func interruptAfter(t *testing.T, i *Interp, body string, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(d, cancel)
	done := make(chan error, 1)
	go func() {
		_, _, err := i.Eval(ctx, cell.Item{Kind: cell.Statement, Source: body, Line: 1}, 2, newPub())
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d + time.Second):
		t.Fatalf("%q: not interrupted within a second", body)
		return nil
	}
}

// TestValueFollowsTheVariable: Value keeps its pointer to a variable
// between calls, and must still give what the variable holds after it is
// assigned, declared again with another type, or rebuilt with a type.
func TestValueFollowsTheVariable(t *testing.T) {
	i := newInterp(t)
	steps := []struct {
		step step
		want string
	}{
		{st("x := 1"), "1"},
		{st("x = 8"), "8"},
		{st("x++"), "9"},
		{st(`x := "now a string"`), "now a string"},
		{dc("type T struct{ A int }"), "now a string"},
		{dc("var y = T{A: 2}"), "now a string"},
		{dc("type T struct{ A, B int }"), "now a string"}, // a rebuild
		{st(`x = "after the rebuild"`), "after the rebuild"},
	}
	for _, tt := range steps {
		runSteps(t, i, []step{tt.step})
		v, ok := i.Value("x")
		if !ok || fmt.Sprint(v.Interface()) != tt.want {
			t.Errorf("after %q: Value(x) = %v, %v; want %s", tt.step.src, v, ok, tt.want)
		}
	}
}
