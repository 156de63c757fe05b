package harness

// The child of a compiled cell: a cell that the interpreter cannot run
// faithfully is built with the notebook's declarations into a program
// whose main is
//
//	func main() { harness.RunCell(perfnbState, perfnbCell, perfnbVars) }
//
// perfnbCell holds the cell's statements, each item preceded by a call of
// Reached with its number; perfnbVars returns the variables whose values
// may go back to the notebook, as name, pointer pairs. RunCell runs the
// cell, recovers a panic, and writes the values that changed (those that
// the kernel did not carry in, or whose digest differs from the carried
// one) to the directory named by CellOutEnv, with a CellReport, before the
// process ends: values come back by copy, whether the cell ended normally
// or by a panic.

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// Environment of a compiled cell's child.
const (
	// CellOutEnv names the directory where the child writes the values
	// the cell changed and its CellReport (CellReportFile).
	CellOutEnv = "PERFNB_CELL_OUT"
	// DisplayFDEnv names the file descriptor on which the child writes
	// its displays (DisplayMessage, one JSON object a line); without it,
	// displays are dropped, as in a magic's child.
	DisplayFDEnv = "PERFNB_DISPLAY_FD"
)

// CellReportFile is the name of the report in the CellOutEnv directory.
const CellReportFile = "cell.json"

// CellReport is what a compiled cell's child reports when it ends.
type CellReport struct {
	// Reached is the number of the last item the cell started.
	Reached int `json:"reached"`
	// Panicked says whether the cell ended by a panic; Interrupted,
	// whether it stopped at a check after an interrupt (SIGINT).
	Panicked    bool `json:"panicked,omitempty"`
	Interrupted bool `json:"interrupted,omitempty"`
	// Vars are the values written, each in a state file of the directory
	// (several variables share a file when they may share pointers).
	Vars []CellVar `json:"vars,omitempty"`
	// Failed names the variables that could not be written, with why.
	Failed map[string]string `json:"failed,omitempty"`
}

// CellVar is a variable written by a compiled cell's child.
type CellVar struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Digest string `json:"digest"`
}

// DisplayMessage is one display of a compiled cell, as the child writes it
// on the descriptor named by DisplayFDEnv.
type DisplayMessage struct {
	// Op is "display", "update", "clear", "result" (the value of the
	// cell's trailing expression) or DisplayStopping.
	Op   string         `json:"op"`
	Data map[string]any `json:"data,omitempty"`
	ID   string         `json:"id,omitempty"`
	Wait bool           `json:"wait,omitempty"`
}

// DisplayMark is what a compiled cell writes on its standard output
// before each display, update or clear message, so that the parent, which
// reads the two on different pipes, relays the display where the cell's
// output had reached.
const DisplayMark = "\x00perfnb:display\x00"

// DisplayStopping is the Op of the message an interrupted cell sends
// when it has stopped at a check, before it writes its values: the
// parent then waits for them rather than killing it.
const DisplayStopping = "stopping"

// MaxStack is the stack limit of a goroutine in a process that runs cells
// (the interpreter process, and a compiled cell's), lower than Go's 1 GiB
// default so that endless recursion fails in under two seconds instead of
// six and a half, and takes less memory doing it.
// Interpreted recursion still reaches 300,000 calls (measured: 128 MiB
// saves only 0.3 s and stops near 250,000).
const MaxStack = 256 << 20

// reached is the item the cell started last (see Reached).
var reached atomic.Int64

// interrupted is set when the child receives SIGINT (see Poll).
var interrupted atomic.Bool

// errInterrupted is what Poll panics with once the cell is interrupted.
var errInterrupted = errors.New("interrupted")

// Poll stops the cell when it was interrupted: the generated program
// calls it at the end of each loop body of the cell's own code, so that
// an interrupted cell ends as after a panic, with its values written.
func Poll() {
	if interrupted.Load() {
		panic(errInterrupted)
	}
}

// Reached records that the cell starts its item k.
func Reached(k int) { reached.Store(int64(k)) }

// RunCell runs cell, then writes the values vars returns that changed: all
// of them, except those that st carried in and that still have the digest
// they came with. A panic in cell is printed as the Go runtime prints it
// (so that the parent reads the cell lines of its trace) after the values
// are written, and the process exits with status 2. st may be nil when
// nothing was carried.
func RunCell(st *State, cell func(), vars func() []any) {
	// As in the interpreter's process: endless recursion fails in under
	// two seconds instead of six.
	debug.SetMaxStack(MaxStack)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	go func() {
		<-sigs
		interrupted.Store(true)
	}()
	defer func() {
		r := recover()
		if r == errInterrupted {
			Display(DisplayStopping, nil, "", false)
			report := CellReport{Reached: int(reached.Load()), Interrupted: true}
			writeValues(&report, st, vars())
			writeReport(report)
			flushDisplays()
			os.Exit(130)
		}
		var trace []byte
		if r != nil {
			trace = debug.Stack()
		}
		report := CellReport{Reached: int(reached.Load()), Panicked: r != nil}
		writeValues(&report, st, vars())
		writeReport(report)
		flushDisplays()
		if r != nil {
			fmt.Fprintf(os.Stderr, "panic: %s\n\ngoroutine 1 [running]:\n%s", panicText(r), trace)
			os.Exit(2)
		}
	}()
	cell()
}

// writeReport writes the report into the CellOutEnv directory.
func writeReport(report CellReport) {
	if dir := os.Getenv(CellOutEnv); dir != "" {
		b, _ := json.Marshal(report)
		_ = os.WriteFile(filepath.Join(dir, CellReportFile), b, 0o644)
	}
}

// panicText words a panic's value as the runtime does.
func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case fmt.Stringer:
		return v.String()
	case string:
		return v
	}
	return fmt.Sprintf("%v", r)
}

// writeValues writes the changed variables of pairs (name, pointer) into
// the CellOutEnv directory: each variable whose type holds no pointers in
// a file of its own, the others together, so that pointers they share
// stay shared.
func writeValues(report *CellReport, st *State, pairs []any) {
	dir := os.Getenv(CellOutEnv)
	if dir == "" {
		return
	}
	report.Failed = map[string]string{}
	var groups [][]namedValue
	var shared []namedValue
	probe := NewEncoder()
	for i := 0; i+1 < len(pairs); i += 2 {
		name := pairs[i].(string)
		v := reflect.ValueOf(pairs[i+1]).Elem()
		if st != nil {
			if was, ok := st.report.Digests[name]; ok {
				now, err := NewEncoder().Digest(v)
				if err == nil && now == was {
					continue // unchanged: the notebook has it
				}
			}
		}
		nv := namedValue{name, v}
		if probe.holdsRefs(v.Type()) {
			shared = append(shared, nv)
		} else {
			groups = append(groups, []namedValue{nv})
		}
	}
	if len(shared) > 0 {
		groups = append(groups, shared)
	}
	for k, g := range groups {
		file := filepath.Join(dir, "values-"+strconv.Itoa(k)+".state")
		report.Vars = append(report.Vars, writeGroup(file, g, report.Failed)...)
	}
}

// namedValue is a variable to write: its name and addressable value.
type namedValue struct {
	name string
	v    reflect.Value
}

// writeGroup writes the variables of g to file with one encoder and
// returns those written; failed gets why the others were not.
func writeGroup(file string, g []namedValue, failed map[string]string) []CellVar {
	enc := NewEncoder()
	var names, digests []string
	var data [][][]byte
	for _, nv := range g {
		parts, digest, err := enc.Encode(nv.v)
		if err != nil {
			failed[nv.name] = err.Error()
			continue
		}
		names, data, digests = append(names, nv.name), append(data, parts), append(digests, digest)
	}
	if len(names) == 0 {
		return nil
	}
	f, err := os.Create(file)
	if err == nil {
		err = WriteState(f, names, data, digests)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		for _, n := range names {
			failed[n] = "writing its value: " + err.Error()
		}
		return nil
	}
	out := make([]CellVar, len(names))
	for i, n := range names {
		out[i] = CellVar{Name: n, File: filepath.Base(file), Digest: digests[i]}
	}
	return out
}

// displays writes a compiled cell's displays (DisplayFDEnv).
var displays struct {
	once sync.Once
	mu   sync.Mutex
	f    *os.File // nil: displays are dropped
}

// Display sends a display of a compiled cell to the notebook: op is
// "display", "update" or "clear" (see DisplayMessage). In a magic's child
// it does nothing.
func Display(op string, data map[string]any, id string, wait bool) {
	displays.once.Do(func() {
		fd, err := strconv.Atoi(os.Getenv(DisplayFDEnv))
		if err != nil || fd < 0 {
			return
		}
		displays.f = os.NewFile(uintptr(fd), "displays")
	})
	if displays.f == nil {
		return
	}
	msg, err := json.Marshal(DisplayMessage{Op: op, Data: data, ID: id, Wait: wait})
	if err != nil {
		fmt.Fprintf(os.Stderr, "display: %v\n", err)
		return
	}
	displays.mu.Lock()
	defer displays.mu.Unlock()
	if op != "result" && op != DisplayStopping {
		// Descriptor 1, whatever os.Stdout has become.
		syscall.Write(1, []byte(DisplayMark))
	}
	displays.f.Write(append(msg, '\n'))
}

// flushDisplays closes the display descriptor, so that the parent has
// read everything once the process ends.
func flushDisplays() {
	displays.mu.Lock()
	defer displays.mu.Unlock()
	if displays.f != nil {
		displays.f.Close()
		displays.f = nil
	}
}

// DisplayID returns a fresh display id. It needs to be unique, not
// unpredictable: math/rand/v2 spares every compiled cell the link of
// crypto's packages (a third of its dependencies).
func DisplayID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// Show sends the value of the cell's trailing expression, as the
// interpreter shows one: its text (fmt's %v), and its HTML when it has an
// HTML() string method. Several values (a call with several results) are
// shown on one line, separated by spaces.
func Show(vals ...any) {
	if len(vals) == 0 {
		return
	}
	data := map[string]any{"text/plain": fmt.Sprint(spaced(vals)...)}
	if len(vals) == 1 {
		if h, ok := vals[0].(interface{ HTML() string }); ok {
			if s := h.HTML(); s != "" {
				data["text/html"] = s
			}
		}
	}
	Display("result", data, "", false)
}

// spaced interleaves vals with spaces, so that fmt.Sprint separates
// strings too.
func spaced(vals []any) []any {
	out := make([]any, 0, 2*len(vals))
	for i, v := range vals {
		if i > 0 {
			out = append(out, " ")
		}
		out = append(out, v)
	}
	return out
}
