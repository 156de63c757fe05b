package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

type stateNode struct {
	v    int
	name string
	next *stateNode
}

type statePair struct {
	A, B *int
}

// roundTrip encodes vals (name, value pairs) as the kernel does, writes
// the state file, and loads it as a child would into the types of
// targets (name, pointer pairs); it returns the child's report and state.
func roundTrip(t testing.TB, vals []any, targets ...any) (*State, StateReport) {
	t.Helper()
	enc := NewEncoder()
	var names, digests []string
	var data [][][]byte
	for i := 0; i < len(vals); i += 2 {
		v := reflect.New(reflect.TypeOf(vals[i+1])).Elem()
		v.Set(reflect.ValueOf(vals[i+1]))
		b, d, err := enc.Encode(v)
		if err != nil {
			t.Fatalf("encoding %s: %v", vals[i], err)
		}
		names, data, digests = append(names, vals[i].(string)), append(data, b), append(digests, d)
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteState(f, names, data, digests); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Setenv(StateFileEnv, f.Name())
	t.Setenv(StateReportEnv, "")
	s := LoadState(targets...)
	return s, s.report
}

func TestStateRoundTrip(t *testing.T) {
	head := &stateNode{v: 1, name: "a"}
	head.next = &stateNode{v: 2, name: "b", next: head}
	n := 7
	tests := []struct {
		name  string
		value any
		check func(t *testing.T, got any)
	}{
		{"map", map[string][]int{"a": {1}, "b": nil}, nil},
		{"slice of floats", []float64{1.5, -2, 3}, nil},
		{"array of structs", [2]struct{ X, Y int32 }{{1, 2}, {3, 4}}, nil},
		{"string", "héllo", nil},
		{"nil slice", []int(nil), nil},
		{"any holding a map", any(map[string]int{"x": 1}), nil},
		{"cycle with unexported fields", head, func(t *testing.T, got any) {
			h := got.(*stateNode)
			if h.next.next != h || h.next.name != "b" {
				t.Errorf("cycle lost: %+v", h)
			}
		}},
		{"shared pointer", statePair{&n, &n}, func(t *testing.T, got any) {
			p := got.(statePair)
			if p.A != p.B || *p.A != 7 {
				t.Errorf("sharing lost: %v %v", p.A, p.B)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ptr := reflect.New(reflect.TypeOf(tt.value)).Interface()
			s, rep := roundTrip(t, []any{"x", tt.value}, "x", ptr)
			if rep.Failed["x"] != "" {
				t.Fatalf("failed: %s", rep.Failed["x"])
			}
			got := s.vals["x"].Interface()
			if tt.check != nil {
				tt.check(t, got)
			} else if !reflect.DeepEqual(got, tt.value) {
				t.Errorf("got %#v, want %#v", got, tt.value)
			}
		})
	}
}

func TestStateCannotCarry(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"chan", make(chan int), "a channel (chan int) cannot be carried"},
		{"func", func() {}, "a func value"},
		{"file", os.Stdout, "an open file (*os.File) cannot be carried"},
		{"struct with a chan", struct{ C chan int }{}, "field C: a channel"},
		{"error value", struct{ E error }{os.ErrNotExist}, "an interface with methods (error) holding a value cannot be carried"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := reflect.New(reflect.TypeOf(tt.value)).Elem()
			v.Set(reflect.ValueOf(tt.value))
			_, _, err := NewEncoder().Encode(v)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCarriedInterfaces checks Carried with interface types, nil
// included.
func TestCarriedInterfaces(t *testing.T) {
	var empty any
	s, rep := roundTrip(t, []any{"a", &empty, "b", any([]int{1})}, "a", new(*any), "b", new([]int))
	if len(rep.Failed) > 0 {
		t.Fatalf("failed: %v", rep.Failed)
	}
	if got := Carried(s, "a", func() *any { return nil }); got == nil || *got != nil {
		t.Errorf("a pointer to a nil any came back as %v", got)
	}
	s, rep = roundTrip(t, []any{"n", []any{nil, 2}}, "n", new([]any))
	if got := Carried(s, "n", func() []any { return nil }); len(rep.Failed) > 0 || len(got) != 2 || got[0] != nil || got[1] != 2 {
		t.Errorf("[]any{nil, 2} came back as %v (%v)", got, rep.Failed)
	}
}

// TestStateLimit checks that Encoder.Limit refuses a value too large, and
// counts only what was carried.
func TestStateLimit(t *testing.T) {
	enc := NewEncoder()
	enc.Limit = 1 << 20
	big := reflect.ValueOf(make([]byte, 2<<20))
	if _, _, err := enc.Encode(big); err == nil || !bytes.Contains([]byte(err.Error()), []byte("more than 1 MiB")) {
		t.Errorf("a 2 MiB value under a 1 MiB limit: error %v", err)
	}
	if _, _, err := enc.Encode(reflect.ValueOf(make([]byte, 512<<10))); err != nil {
		t.Errorf("a 512 KiB value after the refused one: %v", err)
	}
}

// TestStatePointerToVariable checks that a pointer to a variable, its own
// (strings.Builder) or another's, is refused rather than carried as a
// pointer to a copy.
func TestStatePointerToVariable(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("x")
	enc := NewEncoder()
	if _, _, err := enc.Encode(reflect.ValueOf(&sb).Elem()); err == nil || !strings.Contains(err.Error(), "points to a package-level variable") {
		t.Errorf("a strings.Builder: error %v", err)
	}
	x := 5
	p := &x
	enc = NewEncoder()
	if _, _, err := enc.Encode(reflect.ValueOf(&x).Elem()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := enc.Encode(reflect.ValueOf(&p).Elem()); err == nil {
		t.Error("a pointer to an encoded variable was carried")
	}
}

// TestStateTypeChanged checks that a value of another shape is refused,
// not decoded wrongly.
func TestStateTypeChanged(t *testing.T) {
	type before struct{ A, B string }
	type after struct{ A string }
	_, rep := roundTrip(t, []any{"x", before{"a", "b"}}, "x", new(after))
	if rep.Failed["x"] == "" {
		t.Error("a struct with another number of fields was decoded")
	}
}

// BenchmarkStateCarry measures what carrying a fixture costs, end to end:
// the kernel's encoding, the state file, and the child's decoding and
// digest check. cpu-sec/op is the process's CPU time, which a loaded
// machine inflates less than the wall clock.
func BenchmarkStateCarry(b *testing.B) {
	type rec struct {
		ID    int64
		Score float64
	}
	fixtures := map[string]func(bytes int) any{
		"floats":  func(n int) any { return make([]float64, n/8) },
		"records": func(n int) any { return make([]rec, n/16) },
		"strings": func(n int) any {
			s := make([]string, n/32) // 16 bytes of header, 16 of text
			for i := range s {
				s[i] = "0123456789abcdef"
			}
			return s
		},
		"map": func(n int) any {
			m := make(map[int]int, n/16)
			for i := range n / 16 {
				m[i] = i
			}
			return m
		},
	}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1MB", 1 << 20}, {"100MB", 100 << 20}} {
		for _, kind := range []string{"floats", "records", "strings", "map"} {
			b.Run(size.name+"/"+kind, func(b *testing.B) {
				v := fixtures[kind](size.bytes)
				ptr := reflect.New(reflect.TypeOf(v)).Interface()
				cpu0 := cpuTime()
				for b.Loop() {
					roundTrip(b, []any{"x", v}, "x", ptr)
				}
				b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-sec/op")
			})
		}
	}
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	user, sys := processTimes()
	return user + sys
}

// BenchmarkMapCarry measures the two halves of carrying a map of 1e6
// string keys (the fixture of issue 18): the kernel's encoding, and the
// child's decoding with its digest check.
func BenchmarkMapCarry(b *testing.B) {
	m := make(map[string]int, 1_000_000)
	for i := range 1_000_000 {
		m["key-"+strconv.Itoa(i)] = i
	}
	v := reflect.ValueOf(&m).Elem()
	parts, digest, err := NewEncoder().Encode(v)
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Join(parts, nil)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := NewEncoder().Encode(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewDecoder().Decode(data, v.Type(), digest); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMapDigestOrder checks that a map's digest depends on its entries,
// not on the order they were inserted or are visited in, for maps written
// as sets (no pointers) and maps written sorted (pointers in the values).
func TestMapDigestOrder(t *testing.T) {
	x, y := 1, 2
	tests := []struct {
		name       string
		build      func(reverse bool) any
		sameAsDiff any // a map with one entry changed
	}{
		{"strings", func(rev bool) any { return fill(rev, func(m map[string]int, i int) { m["k"+strconv.Itoa(i)] = i }) }, map[string]int{"k0": 1}},
		{"nested", func(rev bool) any {
			return fill(rev, func(m map[int]map[string]float64, i int) { m[i] = map[string]float64{"a": float64(i), "b": 1} })
		}, map[int]map[string]float64{0: {"a": 1}}},
		{"pointers", func(rev bool) any {
			return fill(rev, func(m map[int]*int, i int) { m[i] = []*int{&x, &y}[i%2] })
		}, map[int]*int{0: &y}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d1 := digestOf(t, tt.build(false))
			d2 := digestOf(t, tt.build(true))
			if d1 != d2 {
				t.Errorf("the same entries inserted in another order: digest %s, then %s", d1, d2)
			}
			if d3 := digestOf(t, tt.sameAsDiff); d3 == d1 {
				t.Errorf("a different map has the same digest %s", d3)
			}
			// What a child decodes has the digest the kernel sent.
			v := reflect.ValueOf(tt.build(false))
			parts, digest, err := NewEncoder().Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewDecoder().Decode(bytes.Join(parts, nil), v.Type(), digest); err != nil {
				t.Errorf("decoding: %v", err)
			}
		})
	}
}

// fill makes a map of 200 entries set by put, in increasing or decreasing
// order of i.
func fill[M ~map[K]V, K comparable, V any](reverse bool, put func(M, int)) M {
	m := M{}
	for k := range 200 {
		if reverse {
			k = 199 - k
		}
		put(m, k)
	}
	return m
}

func digestOf(t *testing.T, x any) string {
	t.Helper()
	d, err := NewEncoder().Digest(reflect.ValueOf(x))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
