// Package kerneltest provides a recording protocol.Publisher for tests of
// code that publishes outputs: magics, the display API, interpreters.
package kerneltest

import (
	"context"
	"strings"
	"sync"

	"github.com/perfnb/perfnb/kernel/protocol"
)

// Kind says which Publisher method produced an Output.
type Kind string

// The kinds of output a Publisher records.
const (
	StreamKind  Kind = "stream"  // Stream
	DisplayKind Kind = "display" // Display
	UpdateKind  Kind = "update"  // UpdateDisplay
	ClearKind   Kind = "clear"   // ClearOutput
)

// Output is one recorded call of a Publisher method.
type Output struct {
	Kind      Kind
	Name      string          // StreamKind: "stdout" or "stderr"
	Text      string          // StreamKind: the text
	Data      protocol.Bundle // DisplayKind, UpdateKind
	Metadata  map[string]any  // DisplayKind, UpdateKind
	DisplayID string          // DisplayKind, UpdateKind
	Wait      bool            // ClearKind
}

// Publisher is a protocol.Publisher that records everything published to
// it, in order. Its zero value is ready to use, refuses input as a client
// without stdin does, and it is safe for concurrent use.
type Publisher struct {
	// Answer, when not nil, answers Input requests; it is called without
	// the Publisher's lock held. When nil, Input returns
	// protocol.ErrStdinNotAllowed. Set it before the Publisher is used.
	Answer func(ctx context.Context, prompt string, password bool) (string, error)

	mu      sync.Mutex
	outputs []Output
	prompts []string
}

var _ protocol.Publisher = (*Publisher)(nil)

// Answers returns an Answer function that gives the answers in order, then
// protocol.ErrStdinNotAllowed when they run out. It is safe for concurrent
// use.
func Answers(answers ...string) func(ctx context.Context, prompt string, password bool) (string, error) {
	var mu sync.Mutex
	return func(ctx context.Context, _ string, _ bool) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		mu.Lock()
		defer mu.Unlock()
		if len(answers) == 0 {
			return "", protocol.ErrStdinNotAllowed
		}
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
}

func (p *Publisher) record(o Output) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outputs = append(p.outputs, o)
}

// Stream records text published on the stream name.
func (p *Publisher) Stream(name, text string) {
	p.record(Output{Kind: StreamKind, Name: name, Text: text})
}

// Display records a display_data.
func (p *Publisher) Display(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.record(Output{Kind: DisplayKind, Data: data, Metadata: metadata, DisplayID: displayID})
}

// UpdateDisplay records an update_display_data.
func (p *Publisher) UpdateDisplay(data protocol.Bundle, metadata map[string]any, displayID string) {
	p.record(Output{Kind: UpdateKind, Data: data, Metadata: metadata, DisplayID: displayID})
}

// ClearOutput records a clear_output.
func (p *Publisher) ClearOutput(wait bool) {
	p.record(Output{Kind: ClearKind, Wait: wait})
}

// Input records the prompt and answers with Answer, or refuses with
// protocol.ErrStdinNotAllowed when Answer is nil. It returns ctx.Err() when
// ctx is already done.
func (p *Publisher) Input(ctx context.Context, prompt string, password bool) (string, error) {
	p.mu.Lock()
	p.prompts = append(p.prompts, prompt)
	answer := p.Answer
	p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if answer == nil {
		return "", protocol.ErrStdinNotAllowed
	}
	return answer(ctx, prompt, password)
}

// Outputs returns a copy of everything recorded so far, in order.
func (p *Publisher) Outputs() []Output {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Output(nil), p.outputs...)
}

// Text returns the concatenated text published on the stream name
// ("stdout" or "stderr").
func (p *Publisher) Text(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, o := range p.outputs {
		if o.Kind == StreamKind && o.Name == name {
			b.WriteString(o.Text)
		}
	}
	return b.String()
}

// Displays returns the bundles of the Display calls, in order.
func (p *Publisher) Displays() []protocol.Bundle {
	return p.bundles(DisplayKind)
}

// Updates returns the bundles of the UpdateDisplay calls, in order.
func (p *Publisher) Updates() []protocol.Bundle {
	return p.bundles(UpdateKind)
}

func (p *Publisher) bundles(k Kind) []protocol.Bundle {
	p.mu.Lock()
	defer p.mu.Unlock()
	var bs []protocol.Bundle
	for _, o := range p.outputs {
		if o.Kind == k {
			bs = append(bs, o.Data)
		}
	}
	return bs
}

// Prompts returns the prompts of the Input calls, in order.
func (p *Publisher) Prompts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.prompts...)
}

// Reset forgets everything recorded so far.
func (p *Publisher) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outputs, p.prompts = nil, nil
}
