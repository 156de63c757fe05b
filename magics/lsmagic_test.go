package magics

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/perfnb/perfnb/kernel/protocol"
	"github.com/perfnb/perfnb/runtime/cell"
)

// plainMagic is a magic without a Modes method: line and cell.
type plainMagic struct{ name, doc string }

func (m plainMagic) Name() string { return m.name }
func (m plainMagic) Doc() string  { return m.doc }
func (m plainMagic) Run(context.Context, Call, Env) (any, error) {
	return m.name, nil
}

// modalMagic is a magic with the given modes.
type modalMagic struct {
	plainMagic
	line, cell bool
}

func (m modalMagic) Modes() (line, cell bool) { return m.line, m.cell }

func TestLsmagic(t *testing.T) {
	r := NewRegistry(
		plainMagic{name: "timeit", doc: "Time a statement"},
		plainMagic{name: "memit", doc: "Peak memory <of> a statement"},
		modalMagic{plainMagic{name: "onlycell", doc: "Cell only"}, false, true},
	)
	if got, want := r.Names(), []string{"lsmagic", "memit", "onlycell", "timeit"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	v, err := r.Run(context.Background(), Call{Magic: cell.Magic{Name: "lsmagic"}}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := v.(*Listing)
	if !ok {
		t.Fatalf("value %T, want *Listing", v)
	}
	text := l.String()
	for _, want := range []string{
		"Available line magics:\n%lsmagic  %memit  %timeit\n",
		"\nAvailable cell magics:\n%%memit  %%onlycell  %%timeit\n",
		"%timeit    Time a statement\n",
		"%lsmagic   List the available line and cell magics",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	h := l.HTML()
	for _, want := range []string{"<table", "<code>%memit %%memit</code>", "Peak memory &lt;of&gt; a statement", "<code>%%onlycell</code>", "<code>%lsmagic</code>"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q:\n%s", want, h)
		}
	}
}

func TestRegistryModes(t *testing.T) {
	r := NewRegistry(modalMagic{plainMagic{name: "onlycell"}, false, true})
	tests := []struct {
		call    Call
		wantErr string // "" for success
	}{
		{Call{Magic: cell.Magic{Name: "lsmagic"}}, ""},
		{Call{Magic: cell.Magic{Name: "lsmagic", Cell: true}}, "Cell magic `%%lsmagic` not found."},
		{Call{Magic: cell.Magic{Name: "lsmagic", Args: "-x"}}, "takes no arguments"},
		{Call{Magic: cell.Magic{Name: "onlycell", Cell: true}}, ""},
		{Call{Magic: cell.Magic{Name: "onlycell"}}, "Line magic function `%onlycell` not found."},
		{Call{Magic: cell.Magic{Name: "nosuch"}}, "Line magic function `%nosuch` not found."},
	}
	for _, tt := range tests {
		_, err := r.Run(context.Background(), tt.call, Env{})
		var ke *protocol.Error
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tt.call, err)
		case tt.wantErr != "" && (!errors.As(err, &ke) || ke.Name != "UsageError" || !strings.Contains(ke.Value, tt.wantErr)):
			t.Errorf("%+v: error %v, want UsageError containing %q", tt.call, err, tt.wantErr)
		}
	}
}
