package kerneltest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/perfnb/perfnb/kernel/protocol"
)

func TestPublisherRecordsInOrder(t *testing.T) {
	p := &Publisher{}
	p.Stream("stdout", "a")
	p.Display(protocol.Bundle{"text/plain": "1"}, nil, "d1")
	p.Stream("stderr", "e")
	p.UpdateDisplay(protocol.Bundle{"text/plain": "2"}, nil, "d1")
	p.Stream("stdout", "b")
	p.ClearOutput(true)

	kinds := []Kind{StreamKind, DisplayKind, StreamKind, UpdateKind, StreamKind, ClearKind}
	outs := p.Outputs()
	if len(outs) != len(kinds) {
		t.Fatalf("%d outputs, want %d", len(outs), len(kinds))
	}
	for i, k := range kinds {
		if outs[i].Kind != k {
			t.Errorf("output %d is %s, want %s", i, outs[i].Kind, k)
		}
	}
	if p.Text("stdout") != "ab" || p.Text("stderr") != "e" {
		t.Errorf("stdout %q, stderr %q", p.Text("stdout"), p.Text("stderr"))
	}
	if d := p.Displays(); len(d) != 1 || d[0]["text/plain"] != "1" || outs[1].DisplayID != "d1" {
		t.Errorf("displays %v", d)
	}
	if u := p.Updates(); len(u) != 1 || u[0]["text/plain"] != "2" {
		t.Errorf("updates %v", u)
	}
	if !outs[5].Wait {
		t.Error("clear_output lost wait")
	}
	p.Reset()
	if len(p.Outputs()) != 0 {
		t.Error("Reset kept outputs")
	}
}

func TestPublisherInput(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		answer  func(context.Context, string, bool) (string, error)
		ctx     context.Context
		want    []string
		wantErr []error
	}{
		{"refused by default", nil, context.Background(), []string{""}, []error{protocol.ErrStdinNotAllowed}},
		{"answers in order", Answers("x", "y"), context.Background(), []string{"x", "y", ""}, []error{nil, nil, protocol.ErrStdinNotAllowed}},
		{"cancelled", Answers("x"), cancelled, []string{""}, []error{context.Canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Publisher{Answer: tt.answer}
			for i := range tt.want {
				got, err := p.Input(tt.ctx, "name? ", false)
				if got != tt.want[i] || !errors.Is(err, tt.wantErr[i]) {
					t.Errorf("Input %d = %q, %v; want %q, %v", i, got, err, tt.want[i], tt.wantErr[i])
				}
			}
			if len(p.Prompts()) != len(tt.want) || p.Prompts()[0] != "name? " {
				t.Errorf("prompts %q", p.Prompts())
			}
		})
	}
}

func TestPublisherConcurrent(t *testing.T) {
	p := &Publisher{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				p.Stream("stdout", "x")
				p.Display(protocol.Bundle{}, nil, "")
				_ = p.Text("stdout")
			}
		})
	}
	wg.Wait()
	if n := len(p.Text("stdout")); n != 800 || len(p.Displays()) != 800 {
		t.Errorf("%d bytes and %d displays, want 800 of each", n, len(p.Displays()))
	}
}
