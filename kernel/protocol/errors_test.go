package protocol

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestNewError(t *testing.T) {
	tests := []struct {
		name      string
		err       *Error
		wantText  string
		wantLines []string
	}{
		{"default traceback", NewError(UsageError, "bad -n"), "UsageError: bad -n", []string{"UsageError: bad -n"}},
		{"no value", NewError(Interrupted, ""), "Interrupted", []string{"Interrupted"}},
		{"given traceback", NewError(Panic, "boom", "panic: boom", "    at In[2]:1"), "panic: boom", []string{"panic: boom", "    at In[2]:1"}},
		{"literal without traceback", &Error{Name: "Custom", Value: "x"}, "Custom: x", []string{"Custom: x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.wantText {
				t.Errorf("Error() = %q, want %q", got, tt.wantText)
			}
			if got := tt.err.Lines(); !slices.Equal(got, tt.wantLines) {
				t.Errorf("Lines() = %q, want %q", got, tt.wantLines)
			}
		})
	}
}

func TestKindIs(t *testing.T) {
	wrapped := fmt.Errorf("running the cell: %w", NewError(Interrupted, "stopped"))
	tests := []struct {
		name string
		err  error
		kind Kind
		want bool
	}{
		{"same kind", NewError(CompileError, "x"), CompileError, true},
		{"other kind", NewError(CompileError, "x"), Panic, false},
		{"wrapped", wrapped, Interrupted, true},
		{"wrapped, other kind", wrapped, Generic, false},
		{"plain error", errors.New("Interrupted"), Interrupted, false},
		{"magic's kind", NewError(Kind("TimeitError"), "x"), Kind("TimeitError"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.kind); got != tt.want {
				t.Errorf("errors.Is(%v, %s) = %v, want %v", tt.err, tt.kind, got, tt.want)
			}
		})
	}
	if k := NewError(Panic, "x").Kind(); k != Panic || k.Error() != "panic" {
		t.Errorf("Kind() = %q, want panic", k)
	}
}
