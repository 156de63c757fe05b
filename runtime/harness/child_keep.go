package harness

// Keep makes v observable so that the compiler cannot delete the
// computation of v. Generated benchmarks pass expression statements to it.
//
//go:noinline
func Keep[T any](v T) {
	_ = v
}
