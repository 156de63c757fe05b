// Package popcount counts the bits set in a 64-bit word, two ways, for the
// notebook beside it to measure: a loop that clears the lowest set bit
// (as many iterations as bits set) and a lookup table of the counts of
// every byte (eight lookups whatever the word).
package popcount

// Loop counts the bits set in x by clearing the lowest one until none is
// left (Kernighan's method).
func Loop(x uint64) int {
	n := 0
	for x != 0 {
		x &= x - 1
		n++
	}
	return n
}

// table holds the number of bits set in every byte.
var table = func() (t [256]uint8) {
	for i := range t {
		t[i] = t[i/2] + uint8(i&1)
	}
	return t
}()

// Table counts the bits set in x with one table lookup per byte.
func Table(x uint64) int {
	return int(table[byte(x)] + table[byte(x>>8)] + table[byte(x>>16)] + table[byte(x>>24)] +
		table[byte(x>>32)] + table[byte(x>>40)] + table[byte(x>>48)] + table[byte(x>>56)])
}
