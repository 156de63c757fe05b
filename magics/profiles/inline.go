package profiles

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/pprof/profile"
	"github.com/perfnb/perfnb/runtime/native"
)

// RestoreInlined gives back the frames of inlined code that the
// runtime's profile writer loses, using the line table of the binary that
// wrote p.
//
// A profile names each function's file once (pprof's format has no file
// per line), and runtime/pprof takes it from the first frame it records
// of the function. Where the compiler placed an instruction of an
// inlined callee outside the ranges its inline tree marks (code it moved
// between the inlined bodies), the frame of that PC is the caller's
// function with the callee's line: "(*sortedIndex).Get In[1]:65", where
// 65 is a line of sort/search.go and cell 1 has 28 lines. RestoreInlined
// reads the true file of each location's innermost line from the
// binary's line table (debug/gosym) and, where it is not the function's,
// puts the callee's frame back: the profile's function of that file that
// starts nearest before the line (a new one, named after the file, when
// there is none), called from the line where the profile's other
// locations show the caller calling it, nearest in address (else the
// caller's first line). Code of the generated file and the cells it
// interleaves (//line directives) is left as it is.
//
// It returns how many locations it repaired. A binary that cannot be
// read (not ELF, no line table) repairs nothing.
func RestoreInlined(p *profile.Profile, binary string) (int, error) {
	lt, err := openLineTable(binary)
	if err != nil {
		return 0, err
	}
	defer lt.close()
	r := &inlineRepair{p: p, lt: lt}
	n := 0
	for _, loc := range p.Location {
		if r.repair(loc) {
			n++
		}
	}
	return n, nil
}

// lineTable is a binary's table of lines by address.
type lineTable struct {
	f     *elf.File
	table *gosym.Table
}

func openLineTable(binary string) (*lineTable, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the line table of %s: %w", binary, err)
	}
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		f.Close()
		return nil, fmt.Errorf("reading the line table of %s: no .gopclntab or .text section", binary)
	}
	data, err := pcln.Data()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading the line table of %s: %w", binary, err)
	}
	t, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading the line table of %s: %w", binary, err)
	}
	return &lineTable{f: f, table: t}, nil
}

func (lt *lineTable) close() { lt.f.Close() }

// file returns the source file of the instruction at the profile address
// addr of mapping m (the binary's own mapping).
func (lt *lineTable) file(addr uint64, m *profile.Mapping) string {
	pc := addr
	if lt.f.Type == elf.ET_DYN && m != nil {
		// A position-independent binary: from the address to the file
		// offset, then to the address the line table uses.
		off := addr - m.Start + m.Offset
		pc = 0
		for _, prog := range lt.f.Progs {
			if prog.Type == elf.PT_LOAD && off >= prog.Off && off < prog.Off+prog.Filesz {
				pc = off - prog.Off + prog.Vaddr
			}
		}
		if pc == 0 {
			return ""
		}
	}
	file, _, fn := lt.table.PCToLine(pc)
	if fn == nil {
		return ""
	}
	return file
}

// inlineRepair repairs the locations of one profile.
type inlineRepair struct {
	p     *profile.Profile
	lt    *lineTable
	added map[string]*profile.Function // functions made for files without one
}

// repair restores loc's lost inlined frame, if it lost one.
func (r *inlineRepair) repair(loc *profile.Location) bool {
	if len(loc.Line) == 0 || loc.Line[0].Function == nil || loc.Mapping != nil && len(r.p.Mapping) > 0 && loc.Mapping != r.p.Mapping[0] {
		return false
	}
	outer := loc.Line[0].Function
	file := r.lt.file(loc.Address, loc.Mapping)
	if file == "" || file == outer.Filename || generated(file) || generated(outer.Filename) {
		return false
	}
	line := loc.Line[0].Line
	callee := r.function(file, line)
	loc.Line = append([]profile.Line{{Function: callee, Line: line}, {Function: outer, Line: r.callSite(loc, callee, outer)}}, loc.Line[1:]...)
	return true
}

// generated reports whether file is perfnb's generated test file, whose
// functions mix its lines with the cells' (//line directives).
func generated(file string) bool {
	return filepath.Base(file) == native.GeneratedFile
}

// function returns the profile's function of file that starts nearest
// before line, or one made for the file.
func (r *inlineRepair) function(file string, line int64) *profile.Function {
	var best *profile.Function
	for _, fn := range r.p.Function {
		if fn.Filename == file && fn.StartLine <= line && (best == nil || fn.StartLine > best.StartLine) {
			best = fn
		}
	}
	if best != nil {
		return best
	}
	if fn := r.added[file]; fn != nil {
		return fn
	}
	name := "(inlined code of " + shortFile(file) + ")"
	fn := &profile.Function{ID: uint64(len(r.p.Function) + 1), Name: name, SystemName: name, Filename: file}
	r.p.Function = append(r.p.Function, fn)
	if r.added == nil {
		r.added = map[string]*profile.Function{}
	}
	r.added[file] = fn
	return fn
}

// shortFile is a source file's path from GOROOT's src or the module
// root, as far as it can tell: sort/search.go.
func shortFile(file string) string {
	if _, rest, ok := strings.Cut(file, "/src/"); ok {
		return rest
	}
	return filepath.Base(file)
}

// callSite is the line of outer that calls callee at loc: the one the
// profile's other locations show, nearest in address, else outer's
// first line.
func (r *inlineRepair) callSite(loc *profile.Location, callee, outer *profile.Function) int64 {
	var site int64
	var dist uint64
	for _, other := range r.p.Location {
		if other == loc || other.Mapping != loc.Mapping {
			continue
		}
		for i := 0; i+1 < len(other.Line); i++ {
			if other.Line[i].Function != callee || other.Line[i+1].Function != outer {
				continue
			}
			d := max(other.Address, loc.Address) - min(other.Address, loc.Address)
			if site == 0 || d < dist {
				site, dist = other.Line[i+1].Line, d
			}
		}
	}
	if site == 0 {
		site = outer.StartLine
	}
	return site
}
