package harness

// Carrying the notebook's variables into the child. The kernel encodes the
// current value of each variable a magic's code uses (Encoder, reading
// yaegi's values) into a file of the workspace; the generated program
// decodes it into variables of the compiled types (LoadState, Carried)
// before anything else runs, then encodes what it decoded again and
// compares the digests, so that a value that did not come across intact is
// reported, never silently used.
//
// The encoding is a walk over reflect values that depends only on kinds and
// field order, never on type names, because the two sides do not share
// types: yaegi builds structs with reflect.StructOf, names an unexported
// field "name" "Xname", and its struct types are unnamed. Recursive types
// read through (yaegi patches the real type into the field behind its
// *unsafe2.dummy stand-in). Unexported fields are read and written through
// unsafe pointers. Pointers keep their sharing and cycles (each object is
// written once, later pointers to it refer back to it). Arrays and slices of
// plain memory (numbers, and structs and arrays of numbers without padding)
// are copied as bytes, so a 100 MB []float64 costs a copy, not a walk.
//
// Channels, funcs, open files, unsafe pointers, interfaces with methods
// holding a value, and interfaces holding a named or struct type cannot be
// carried: Encode says which, in words.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"unsafe"
)

// StateFileEnv names the environment variable that holds the paths of the
// state files a child decodes (a list, as filepath.SplitList reads it); StateReportEnv the file its report (a JSON
// StateReport) goes to.
const (
	StateFileEnv   = "PERFNB_STATE"
	StateReportEnv = "PERFNB_STATE_REPORT"
)

// StateReport is what the child found when decoding: the variables it
// carried and their digests, and why each of the others did not come
// across (the child then re-ran its initialiser).
type StateReport struct {
	Digests map[string]string `json:"digests"`
	Failed  map[string]string `json:"failed,omitempty"`
}

// Value tags.
const (
	tagNil  = 0
	tagNew  = 1 // a pointer to an object not seen before, followed by it
	tagBack = 2 // a pointer to an object already written, by number
)

// Encoder writes values in the state encoding. The pointer numbering is
// shared by every value it writes, so that variables that point to the
// same object still do after decoding.
type Encoder struct {
	// Limit is the most bytes of values that Encode writes in all, so
	// that a huge variable cannot exhaust the kernel's memory; 0: no
	// limit.
	Limit int64
	used  int64

	w     sink // the encoding's bytes; discard for a digest only
	d     digester
	ptrs  map[ptrKey]uint64
	roots map[ptrKey]bool // the variables encoded, by address
	flat  map[reflect.Type]bool
	refs  map[reflect.Type]bool // types whose values hold pointers or interfaces
	tmp   [binary.MaxVarintLen64]byte
}

// sink receives an encoding's bytes.
type sink interface {
	Write(p []byte) (int, error)
	WriteByte(c byte) error
	WriteString(s string) (int, error)
}

// discard is a sink that keeps nothing (Digest).
type discard struct{}

func (discard) Write(p []byte) (int, error)       { return len(p), nil }
func (discard) WriteByte(byte) error              { return nil }
func (discard) WriteString(s string) (int, error) { return len(s), nil }

// digester computes a value's digest as its encoding is written: the
// number of bytes and a CRC-32C of them, except that the entries of a map
// whose keys and values hold no pointers count as a set (each entry's
// CRC is mixed and the mixes added), so that the same map has the same
// digest whatever order its entries are visited in. Such a map is then
// written in iteration order, without sorting its keys, by the kernel
// and by the child alike.
type digester struct {
	n     int
	crc   uint32
	outer []mapDigest // the maps being written, innermost last
}

// mapDigest is the state of a map whose entries are being digested as a
// set: the CRC of what came before the map, and the sum of the entries'.
type mapDigest struct {
	crc uint32
	sum uint64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (d *digester) reset() { *d = digester{outer: d.outer[:0]} }

func (d *digester) write(p []byte) {
	d.n += len(p)
	d.crc = crc32.Update(d.crc, castagnoli, p)
}

// beginSet starts a map whose entries count as a set.
func (d *digester) beginSet() {
	d.outer = append(d.outer, mapDigest{crc: d.crc})
	d.crc = 0
}

// entry ends one entry of the innermost set.
func (d *digester) entry() {
	m := &d.outer[len(d.outer)-1]
	m.sum += mix(uint64(d.crc))
	d.crc = 0
}

// endSet ends the innermost set, folding its sum into the digest.
func (d *digester) endSet() {
	m := d.outer[len(d.outer)-1]
	d.outer = d.outer[:len(d.outer)-1]
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], m.sum)
	d.crc = crc32.Update(m.crc, castagnoli, b[:])
}

// mix is SplitMix64's finaliser: it spreads an entry's CRC over 64 bits
// before entries are added.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (d *digester) digest() string { return fmt.Sprintf("%d:%08x", d.n, d.crc) }

func (e *Encoder) write(p []byte) {
	e.w.Write(p)
	e.d.write(p)
}

func (e *Encoder) writeByte(c byte) {
	e.w.WriteByte(c)
	e.d.write([]byte{c})
}

func (e *Encoder) writeString(s string) {
	e.w.WriteString(s)
	e.d.write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

type ptrKey struct {
	addr unsafe.Pointer
	t    reflect.Type
}

// NewEncoder returns an encoder.
func NewEncoder() *Encoder {
	return &Encoder{ptrs: map[ptrKey]uint64{}, flat: map[reflect.Type]bool{}, refs: map[reflect.Type]bool{}}
}

// Encode returns the encoding of v, in parts, and its digest. Values
// written before it may be referred to (shared pointers). The memory of
// large slices of numbers is not copied: the parts refer to it, so v must
// not change until they are written. An error names what cannot be
// carried, such as "a chan int".
func (e *Encoder) Encode(v reflect.Value) (parts [][]byte, digest string, err error) {
	c := &chunks{}
	if err := e.encode(c, v); err != nil {
		return nil, "", err
	}
	c.flush()
	return c.parts, e.d.digest(), nil
}

// bigWrite is the size from which chunks keeps a write by reference.
const bigWrite = 64 << 10

// chunks is a sink that copies small writes and keeps large ones (the
// memory of a slice of numbers) by reference.
type chunks struct {
	parts [][]byte
	buf   []byte
}

func (c *chunks) Write(p []byte) (int, error) {
	if len(p) >= bigWrite {
		c.flush()
		c.parts = append(c.parts, p)
		return len(p), nil
	}
	c.grow(len(p))
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *chunks) WriteByte(b byte) error {
	c.grow(1)
	c.buf = append(c.buf, b)
	return nil
}

func (c *chunks) WriteString(s string) (int, error) {
	c.grow(len(s))
	c.buf = append(c.buf, s...)
	return len(s), nil
}

// grow starts a new buffer of bigWrite bytes when n more do not fit, so
// that many small writes are never copied again as the buffer grows.
func (c *chunks) grow(n int) {
	if len(c.buf)+n > cap(c.buf) {
		c.flush()
		c.buf = make([]byte, 0, max(bigWrite, n))
	}
}

func (c *chunks) flush() {
	if len(c.buf) > 0 {
		c.parts, c.buf = append(c.parts, c.buf), nil
	}
}

// Digest returns the digest of v's encoding without keeping the
// encoding (the child's check of what it decoded).
func (e *Encoder) Digest(v reflect.Value) (string, error) {
	if err := e.encode(discard{}, v); err != nil {
		return "", err
	}
	return e.d.digest(), nil
}

// Root tells the encoder of a variable encoded elsewhere (by an encoder
// of its own), so that a pointer to it is refused as Encode refuses a
// pointer to a variable it encodes: the child would see it point to a
// copy.
func (e *Encoder) Root(v reflect.Value) {
	if v.CanAddr() {
		if e.roots == nil {
			e.roots = map[ptrKey]bool{}
		}
		e.roots[ptrKey{v.Addr().UnsafePointer(), v.Addr().Type()}] = true
	}
}

func (e *Encoder) encode(w sink, v reflect.Value) (err error) {
	e.w = w
	e.d.reset()
	// A pointer to a variable would arrive as a pointer to a copy (a
	// strings.Builder's check of itself would fail): refuse it.
	e.Root(v)
	mark, used := len(e.ptrs), e.used
	defer func() {
		if r := recover(); r != nil {
			// A value reflection cannot read (an interpreter's internal
			// representation): say so rather than end the process.
			err = fmt.Errorf("its value cannot be read (%v)", r)
		}
		if err != nil {
			// Forget the objects numbered in the failed value.
			e.used = used
			for k, n := range e.ptrs {
				if n >= uint64(mark) {
					delete(e.ptrs, k)
				}
			}
		}
	}()
	return e.value(readable(v))
}

// readable returns v, or an addressable copy of it that is not marked as
// read through an unexported field.
func readable(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	if v.CanInterface() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		return c
	}
	return v
}

func (e *Encoder) uvarint(n uint64) {
	k := binary.PutUvarint(e.tmp[:], n)
	e.write(e.tmp[:k])
}

// ErrOverLimit is the error (wrapped) of an Encode that would pass the
// encoder's Limit.
var ErrOverLimit = errors.New("over the encoder's limit")

// spend counts n more bytes against Limit.
func (e *Encoder) spend(n uint64) error {
	e.used += int64(n)
	if e.Limit > 0 && e.used > e.Limit {
		return fmt.Errorf("the values would take more than %d MiB, the most carried into a child (%w)", e.Limit>>20, ErrOverLimit)
	}
	return nil
}

// fileType is os.File: its descriptor means nothing in another process.
var fileType = reflect.TypeFor[os.File]()

func (e *Encoder) value(v reflect.Value) error {
	t := v.Type()
	if t == fileType {
		return errors.New("an open file (*os.File) cannot be carried")
	}
	if isFlat(t, e.flat) {
		if err := e.spend(uint64(t.Size())); err != nil {
			return err
		}
		e.raw(v)
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		s := v.String()
		if err := e.spend(uint64(len(s))); err != nil {
			return err
		}
		e.uvarint(uint64(len(s)))
		e.writeString(s)
	case reflect.Slice:
		if v.IsNil() {
			e.writeByte(tagNil)
			return nil
		}
		e.writeByte(tagNew)
		e.uvarint(uint64(v.Len()))
		if isFlat(t.Elem(), e.flat) {
			n := uintptr(v.Len()) * t.Elem().Size()
			if err := e.spend(uint64(n)); err != nil {
				return err
			}
			e.write(unsafe.Slice((*byte)(v.UnsafePointer()), n))
			return nil
		}
		for i := range v.Len() {
			if err := e.value(readable(v.Index(i))); err != nil {
				return err
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			if err := e.value(readable(v.Index(i))); err != nil {
				return err
			}
		}
	case reflect.Struct:
		e.uvarint(uint64(t.NumField()))
		for i := range t.NumField() {
			if err := e.value(readable(v.Field(i))); err != nil {
				return fmt.Errorf("field %s: %w", fieldName(t.Field(i).Name), err)
			}
		}
	case reflect.Pointer:
		return e.pointer(v)
	case reflect.Map:
		return e.mapValue(v)
	case reflect.Interface:
		return e.iface(v)
	default:
		return cannot(t)
	}
	return nil
}

// fieldName undoes yaegi's export of an unexported field (Xname).
func fieldName(n string) string {
	if len(n) > 1 && n[0] == 'X' {
		return n[1:]
	}
	return n
}

func cannot(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Chan:
		return fmt.Errorf("a channel (%s) cannot be carried", typeWords(t))
	case reflect.Func:
		return fmt.Errorf("a func value (%s) cannot be carried", typeWords(t))
	case reflect.UnsafePointer:
		return errors.New("an unsafe.Pointer cannot be carried")
	}
	return fmt.Errorf("a value of kind %s cannot be carried", t.Kind())
}

// typeWords is a type's text without yaegi's stand-ins.
func typeWords(t reflect.Type) string {
	s := t.String()
	if len(s) > 60 {
		s = t.Kind().String()
	}
	return s
}

// raw writes the memory of a flat value.
func (e *Encoder) raw(v reflect.Value) {
	if !v.CanAddr() {
		v = readable(v)
	}
	if !v.CanAddr() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	e.write(unsafe.Slice((*byte)(unsafe.Pointer(v.UnsafeAddr())), v.Type().Size()))
}

func (e *Encoder) pointer(v reflect.Value) error {
	if v.IsNil() {
		e.writeByte(tagNil)
		return nil
	}
	k := ptrKey{v.UnsafePointer(), v.Type()}
	if e.roots[k] {
		return errors.New("it points to a package-level variable (itself or another), which the child would see as a copy")
	}
	if n, ok := e.ptrs[k]; ok {
		e.writeByte(tagBack)
		e.uvarint(n)
		return nil
	}
	e.ptrs[k] = uint64(len(e.ptrs))
	e.writeByte(tagNew)
	return e.value(reflect.NewAt(v.Type().Elem(), v.UnsafePointer()).Elem())
}

// mapValue writes a map's entries. When neither keys nor values hold
// pointers or interfaces, the entries are written in iteration order and
// digested as a set (see digester): nothing is sorted, and each entry is
// read once. Otherwise they are written in an order that depends only on
// the keys, so that pointers are numbered the same way every time: by
// their bits for keys of plain memory up to 8 bytes, by their text for
// strings, and by their encoding otherwise. Keys must not hold pointers
// (their numbering would depend on the order).
func (e *Encoder) mapValue(v reflect.Value) error {
	if v.IsNil() {
		e.writeByte(tagNil)
		return nil
	}
	e.writeByte(tagNew)
	e.uvarint(uint64(v.Len()))
	t := v.Type()
	if !e.holdsRefs(t.Key()) && !e.holdsRefs(t.Elem()) {
		return e.mapSet(v)
	}
	kt := t.Key()
	switch {
	case isFlat(kt, e.flat) && kt.Size() <= 8:
		keys := make([]uint64, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			var u uint64
			k := readable(it.Key())
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&u)), 8), unsafe.Slice((*byte)(unsafe.Pointer(k.UnsafeAddr())), kt.Size()))
			keys = append(keys, u)
		}
		slices.Sort(keys)
		for i := range keys {
			k := reflect.NewAt(kt, unsafe.Pointer(&keys[i])).Elem()
			e.raw(k)
			if err := e.value(readable(v.MapIndex(k))); err != nil {
				return err
			}
		}
		return nil
	case kt.Kind() == reflect.String:
		keys := make([]string, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			keys = append(keys, it.Key().String())
		}
		slices.Sort(keys)
		k := reflect.New(kt).Elem()
		for _, s := range keys {
			k.SetString(s)
			e.value(k)
			if err := e.value(readable(v.MapIndex(k))); err != nil {
				return err
			}
		}
		return nil
	}
	type entry struct {
		key []byte
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	buf := &bytes.Buffer{}
	keys := &Encoder{w: buf, flat: e.flat, refs: e.refs}
	for it := v.MapRange(); it.Next(); {
		buf.Reset()
		keys.ptrs = map[ptrKey]uint64{}
		if err := keys.value(readable(it.Key())); err != nil {
			return fmt.Errorf("map key: %w", err)
		}
		if len(keys.ptrs) > 0 {
			return errors.New("a map whose keys hold pointers cannot be carried")
		}
		entries = append(entries, entry{bytes.Clone(buf.Bytes()), it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	for _, en := range entries {
		e.write(en.key)
		if err := e.value(readable(en.val)); err != nil {
			return err
		}
	}
	return nil
}

// mapSet writes the entries of a map without pointers in iteration
// order, digesting them as a set.
func (e *Encoder) mapSet(v reflect.Value) error {
	t := v.Type()
	k, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
	kScalar, vScalar := e.scalar(t.Key()), e.scalar(t.Elem())
	e.d.beginSet()
	defer e.d.endSet()
	if kScalar && vScalar {
		// The common fixture (map[string]int and the like): each entry
		// is built in a scratch buffer and written, and digested, at once.
		var entry []byte
		for it := v.MapRange(); it.Next(); {
			k.SetIterKey(it)
			val.SetIterValue(it)
			entry = e.appendScalar(e.appendScalar(entry[:0], k), val)
			if err := e.spend(uint64(len(entry))); err != nil {
				return err
			}
			e.write(entry)
			e.d.entry()
		}
		return nil
	}
	for it := v.MapRange(); it.Next(); {
		k.SetIterKey(it)
		val.SetIterValue(it)
		if err := e.value(k); err != nil {
			return fmt.Errorf("map key: %w", err)
		}
		if err := e.value(val); err != nil {
			return err
		}
		e.d.entry()
	}
	return nil
}

// scalar reports whether values of t are written whole by appendScalar:
// strings and plain memory.
func (e *Encoder) scalar(t reflect.Type) bool {
	return t.Kind() == reflect.String || isFlat(t, e.flat)
}

// appendScalar appends the encoding of v, addressable and of a scalar
// type, to b.
func (e *Encoder) appendScalar(b []byte, v reflect.Value) []byte {
	if v.Kind() == reflect.String {
		s := v.String()
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	return append(b, unsafe.Slice((*byte)(unsafe.Pointer(v.UnsafeAddr())), v.Type().Size())...)
}

// HoldsPointers reports whether values of t hold pointers or interfaces:
// a variable of another type shares nothing with the others, and can be
// encoded by an encoder of its own.
func HoldsPointers(t reflect.Type) bool { return NewEncoder().holdsRefs(t) }

// holdsRefs reports whether values of t hold pointers or interfaces,
// whose encoding depends on the order they are met in.
func (e *Encoder) holdsRefs(t reflect.Type) bool {
	if r, ok := e.refs[t]; ok {
		return r
	}
	e.refs[t] = true // while deciding: a recursive type holds pointers
	r := false
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.UnsafePointer, reflect.Chan, reflect.Func:
		r = true
	case reflect.Array, reflect.Slice:
		r = e.holdsRefs(t.Elem())
	case reflect.Map:
		r = e.holdsRefs(t.Key()) || e.holdsRefs(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			r = r || e.holdsRefs(t.Field(i).Type)
		}
	}
	e.refs[t] = r
	return r
}

// iface writes an interface value: nil, or the dynamic type (only
// unnamed types built from basic ones, which the child can rebuild) and
// the value.
func (e *Encoder) iface(v reflect.Value) error {
	if v.IsNil() {
		e.writeByte(tagNil)
		return nil
	}
	if v.Type().NumMethod() > 0 {
		return fmt.Errorf("an interface with methods (%s) holding a value cannot be carried", typeWords(v.Type()))
	}
	inner := v.Elem()
	e.writeByte(tagNew)
	if err := e.typeCode(inner.Type()); err != nil {
		return err
	}
	return e.value(readable(inner))
}

// Type codes of dynamic types in interfaces.
const (
	codeSlice = 'S'
	codeArray = 'A'
	codeMap   = 'M'
	codePtr   = 'P'
	codeIface = 'I' // interface{}
)

var basicTypes = map[reflect.Kind]reflect.Type{}

func init() {
	for _, v := range []any{false, 0, int8(0), int16(0), int32(0), int64(0), uint(0), uint8(0), uint16(0),
		uint32(0), uint64(0), uintptr(0), float32(0), float64(0), complex64(0), complex128(0), ""} {
		t := reflect.TypeOf(v)
		basicTypes[t.Kind()] = t
	}
}

func (e *Encoder) typeCode(t reflect.Type) error {
	if t.Name() != "" && t.PkgPath() == "" && basicTypes[t.Kind()] == t {
		e.writeByte(byte(t.Kind()))
		return nil
	}
	if t.Name() != "" {
		return fmt.Errorf("an interface holding a %s cannot be carried (only types built from basic ones are)", typeWords(t))
	}
	switch t.Kind() {
	case reflect.Slice:
		e.writeByte(codeSlice)
		return e.typeCode(t.Elem())
	case reflect.Array:
		e.writeByte(codeArray)
		e.uvarint(uint64(t.Len()))
		return e.typeCode(t.Elem())
	case reflect.Pointer:
		e.writeByte(codePtr)
		return e.typeCode(t.Elem())
	case reflect.Map:
		e.writeByte(codeMap)
		if err := e.typeCode(t.Key()); err != nil {
			return err
		}
		return e.typeCode(t.Elem())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			e.writeByte(codeIface)
			return nil
		}
	}
	return fmt.Errorf("an interface holding a %s cannot be carried (only types built from basic ones are)", typeWords(t))
}

// isFlat reports whether values of t are plain memory that means the same
// in another process: numbers, and arrays and structs of them without
// padding. memo also stops the walk of recursive types.
func isFlat(t reflect.Type, memo map[reflect.Type]bool) bool {
	if f, ok := memo[t]; ok {
		return f
	}
	memo[t] = false // while deciding: a recursive type is not flat
	f := false
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		f = true
	case reflect.Array:
		f = isFlat(t.Elem(), memo)
	case reflect.Struct:
		var sum uintptr
		f = true
		for i := range t.NumField() {
			ft := t.Field(i).Type
			sum += ft.Size()
			f = f && isFlat(ft, memo)
		}
		f = f && sum == t.Size()
	}
	memo[t] = f
	return f
}

// A decoder reads the state encoding into values of the compiled types.
type decoder struct {
	data []byte          // what is left to decode
	objs []reflect.Value // decoded pointers, by number
	flat map[reflect.Type]bool
}

var errShort = errors.New("the state file ends early")

func (d *decoder) byte() (byte, error) {
	if len(d.data) == 0 {
		return 0, errShort
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.data)
	if k <= 0 {
		return 0, errShort
	}
	d.data = d.data[k:]
	return n, nil
}

// bytes returns the next n bytes, without copying them.
func (d *decoder) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.data)) {
		return nil, errShort
	}
	b := d.data[:n]
	d.data = d.data[n:]
	return b, nil
}

// decode decodes into v, turning a panic of reflection (a value that does
// not fit its type) into an error.
func (d *decoder) decode(v reflect.Value) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoding: %v", r)
		}
	}()
	return d.value(v)
}

// value decodes into v, which must be addressable and settable.
func (d *decoder) value(v reflect.Value) error {
	t := v.Type()
	if d.scalar(t) {
		return d.scalarValue(v)
	}
	switch t.Kind() {
	case reflect.Slice:
		return d.slice(v)
	case reflect.Array:
		for i := range v.Len() {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if n != uint64(t.NumField()) {
			return fmt.Errorf("the notebook's value has %d fields where the compiled %s has %d (was the type changed after the value was made?)", n, t, t.NumField())
		}
		for i := range t.NumField() {
			f := v.Field(i)
			if err := d.value(reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		return d.pointer(v)
	case reflect.Map:
		return d.mapValue(v)
	case reflect.Interface:
		return d.iface(v)
	default:
		return cannot(t)
	}
	return nil
}

// header reads the tag and length of a slice or map; ok is false for nil
// (and on error).
func (d *decoder) header() (n uint64, ok bool, err error) {
	tag, err := d.byte()
	if err != nil || tag == tagNil {
		return 0, false, err
	}
	n, err = d.uvarint()
	return n, err == nil, err
}

func (d *decoder) slice(v reflect.Value) error {
	n, ok, err := d.header()
	if !ok {
		return err
	}
	t := v.Type()
	if n > uint64(len(d.data)) && t.Elem().Size() > 0 {
		return errShort // every element takes at least a byte
	}
	s := reflect.MakeSlice(t, int(n), int(n))
	if isFlat(t.Elem(), d.flat) {
		b, err := d.bytes(n * uint64(t.Elem().Size()))
		if err != nil {
			return err
		}
		copy(unsafe.Slice((*byte)(s.UnsafePointer()), len(b)), b)
	} else {
		for i := range int(n) {
			if err := d.value(s.Index(i)); err != nil {
				return err
			}
		}
	}
	v.Set(s)
	return nil
}

func (d *decoder) pointer(v reflect.Value) error {
	tag, err := d.byte()
	if err != nil {
		return err
	}
	switch tag {
	case tagNil:
		return nil
	case tagBack:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if n >= uint64(len(d.objs)) || d.objs[n].Type() != v.Type() {
			return errors.New("a pointer of the state file refers to nothing of its type")
		}
		v.Set(d.objs[n])
		return nil
	case tagNew:
		p := reflect.New(v.Type().Elem())
		d.objs = append(d.objs, p)
		v.Set(p)
		return d.value(p.Elem())
	}
	return fmt.Errorf("bad pointer tag %d in the state file", tag)
}

func (d *decoder) mapValue(v reflect.Value) error {
	n, ok, err := d.header()
	if !ok {
		return err
	}
	if n > uint64(len(d.data)) {
		return errShort
	}
	t := v.Type()
	m := reflect.MakeMapWithSize(t, int(n))
	key, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
	read := d.value
	if d.scalar(t.Key()) && d.scalar(t.Elem()) {
		read = d.scalarValue
	}
	for range n {
		key.SetZero()
		val.SetZero()
		if err := read(key); err != nil {
			return err
		}
		if err := read(val); err != nil {
			return err
		}
		m.SetMapIndex(key, val)
	}
	v.Set(m)
	return nil
}

// scalar reports whether values of t are read whole by scalarValue:
// strings and plain memory.
func (d *decoder) scalar(t reflect.Type) bool {
	return t.Kind() == reflect.String || isFlat(t, d.flat)
}

// scalarValue decodes a string or plain memory into v, addressable.
func (d *decoder) scalarValue(v reflect.Value) error {
	if v.Kind() == reflect.String {
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		b, err := d.bytes(n)
		if err != nil {
			return err
		}
		v.SetString(string(b))
		return nil
	}
	size := v.Type().Size()
	b, err := d.bytes(uint64(size))
	if err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(v.UnsafeAddr())), size), b)
	return nil
}

func (d *decoder) iface(v reflect.Value) error {
	tag, err := d.byte()
	if err != nil || tag == tagNil {
		return err
	}
	dyn, err := d.typeCode()
	if err != nil {
		return err
	}
	if !dyn.AssignableTo(v.Type()) {
		return fmt.Errorf("a %s cannot be stored in a %s", dyn, v.Type())
	}
	x := reflect.New(dyn).Elem()
	if err := d.value(x); err != nil {
		return err
	}
	v.Set(x)
	return nil
}

func (d *decoder) typeCode() (reflect.Type, error) {
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	if t, ok := basicTypes[reflect.Kind(c)]; ok {
		return t, nil
	}
	switch c {
	case codeIface:
		return reflect.TypeFor[any](), nil
	case codeSlice, codePtr:
		elem, err := d.typeCode()
		if err != nil {
			return nil, err
		}
		if c == codeSlice {
			return reflect.SliceOf(elem), nil
		}
		return reflect.PointerTo(elem), nil
	case codeArray:
		n, err := d.uvarint()
		if err != nil || n > math.MaxInt32 {
			return nil, errShort
		}
		elem, err := d.typeCode()
		if err != nil {
			return nil, err
		}
		return reflect.ArrayOf(int(n), elem), nil
	case codeMap:
		key, err := d.typeCode()
		if err != nil {
			return nil, err
		}
		elem, err := d.typeCode()
		if err != nil {
			return nil, err
		}
		if !key.Comparable() {
			return nil, errors.New("a map key type of the state file is not comparable")
		}
		return reflect.MapOf(key, elem), nil
	}
	return nil, fmt.Errorf("bad type code %d in the state file", c)
}

// State file layout: for each variable, its name and its encoding, each
// preceded by its length (uvarint), then its digest likewise. An entry
// with an empty name starts a new group: the variables after it were
// written by another Encoder (their pointers are numbered afresh), so
// they are read by another Decoder.

// WriteState writes the encodings of variables (the parts Encode
// returns), in order, to w. An empty name (with no data) separates the
// values of two encoders.
func WriteState(w io.Writer, names []string, data [][][]byte, digests []string) error {
	bw := bufio.NewWriter(w)
	var tmp [binary.MaxVarintLen64]byte
	put := func(parts ...[]byte) {
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		bw.Write(tmp[:binary.PutUvarint(tmp[:], uint64(n))])
		for _, p := range parts {
			bw.Write(p)
		}
	}
	for i, n := range names {
		put([]byte(n))
		put(data[i]...)
		put([]byte(digests[i]))
	}
	return bw.Flush()
}

// State is the decoded state of a child: the generated program's carried
// variables take their values from it.
type State struct {
	vals   map[string]reflect.Value
	report StateReport
}

// LoadState decodes the state file named by StateFileEnv into new values
// of the types of ptrs, given as name, pointer pairs (ptrs[2i] a string,
// ptrs[2i+1] a *T for the variable's type T), checks each against the
// kernel's digest by encoding it again, and writes the report to the file
// named by StateReportEnv. Generated programs call it in the initialiser
// of a package-level variable, so that it runs before the initialisers
// and init functions that use the carried variables. A variable it cannot
// decode is left out (Carried then runs its initialiser).
func LoadState(ptrs ...any) *State {
	s := &State{vals: map[string]reflect.Value{}, report: StateReport{Digests: map[string]string{}, Failed: map[string]string{}}}
	types := map[string]reflect.Type{}
	for i := 0; i+1 < len(ptrs); i += 2 {
		types[ptrs[i].(string)] = reflect.TypeOf(ptrs[i+1]).Elem()
	}
	for _, path := range filepath.SplitList(os.Getenv(StateFileEnv)) {
		s.decodeFile(path, types)
	}
	for name := range types {
		if _, ok := s.vals[name]; !ok && s.report.Failed[name] == "" {
			s.report.Failed[name] = "the kernel sent no value"
		}
	}
	if out := os.Getenv(StateReportEnv); out != "" {
		b, _ := json.Marshal(s.report)
		os.WriteFile(out, b, 0o644)
	}
	return s
}

func (s *State) decodeFile(path string, types map[string]reflect.Type) {
	groups, err := ReadState(path)
	if err != nil {
		for name := range types {
			s.report.Failed[name] = "reading the state file: " + err.Error()
		}
		return
	}
	for _, g := range groups {
		dec := NewDecoder()
		for _, e := range g {
			t, ok := types[e.Name]
			if !ok {
				continue
			}
			v, err := dec.Decode(e.Data, t, e.Digest)
			if err != nil {
				s.report.Failed[e.Name] = err.Error()
				continue
			}
			s.vals[e.Name] = v
			s.report.Digests[e.Name] = e.Digest
		}
	}
}

// StateEntry is a variable of a state file: its name, encoding and digest.
// Entries of one group (see WriteState) are decoded in order by one
// Decoder.
type StateEntry struct {
	Name   string
	Data   []byte
	Digest string
}

// ReadState reads the variables of a state file, in groups.
func ReadState(path string) ([][]StateEntry, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(raw)
	next := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return nil, errShort
		}
		off := len(raw) - r.Len()
		r.Seek(int64(n), io.SeekCurrent)
		return raw[off : off+int(n)], nil
	}
	groups := [][]StateEntry{nil}
	for r.Len() > 0 {
		var f [3][]byte
		for k := range f {
			if f[k], err = next(); err != nil {
				return nil, fmt.Errorf("reading %s: %w", path, err)
			}
		}
		if len(f[0]) == 0 {
			groups = append(groups, nil)
			continue
		}
		last := len(groups) - 1
		groups[last] = append(groups[last], StateEntry{Name: string(f[0]), Data: f[1], Digest: string(f[2])})
	}
	return groups, nil
}

// A Decoder reads, in order, the values that one Encoder wrote, so that
// pointers shared between them are shared again.
type Decoder struct {
	dec decoder
	enc *Encoder
}

// NewDecoder returns a decoder.
func NewDecoder() *Decoder {
	return &Decoder{dec: decoder{flat: map[reflect.Type]bool{}}, enc: NewEncoder()}
}

// Decode decodes data, the encoding of the next value, into a new value of
// type t, and checks it by encoding it again: a value whose digest differs
// from digest did not come across intact, and is an error.
func (d *Decoder) Decode(data []byte, t reflect.Type, digest string) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	d.dec.data = data
	if err := d.dec.decode(v); err != nil {
		return reflect.Value{}, err
	}
	got, err := d.enc.Digest(v)
	if err == nil && got != digest {
		err = fmt.Errorf("its value differs after decoding (digest %s, the notebook's %s)", got, digest)
	}
	if err != nil {
		return reflect.Value{}, err
	}
	return v, nil
}

// SavedVar is a variable's value in the state encoding, with its digest:
// what the kernel process keeps of a variable so that a fresh interpreter
// can have its value back. The values of one snapshot are written by one
// Encoder, in order.
type SavedVar struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Data   []byte `json:"data"`
}

// Carried returns the decoded value of the variable name, or, when it did
// not come across, the result of init (the variable's initialiser).
func Carried[T any](s *State, name string, init func() T) T {
	if v, ok := s.vals[name]; ok {
		// Through a pointer: a nil interface value has no dynamic type to
		// assert.
		return *v.Addr().Interface().(*T)
	}
	return init()
}
