package harness

import "time"

// The metrics Times.Report adds to a benchmark's result line.
const (
	// CPUUnit is the process's CPU time (user and system) per loop, the
	// clock of %timeit -c (IPython's time.process_time).
	CPUUnit = "cpu-sec/op"
	// UserUnit and SysUnit are its user and system parts, per loop, for
	// %time's "CPU times: user ..., sys: ...".
	UserUnit = "user-sec/op"
	SysUnit  = "sys-sec/op"
)

// TimesBeforeLoop and TimesAfterLoop are the statements a generated
// benchmark runs around its loop to report the loop's CPU time.
const (
	TimesBeforeLoop = "perfnbTimes := harness.StartTimes()"
	TimesAfterLoop  = "perfnbTimes.Report(b, b.N)"
)

// Times is the process's CPU time when a timed loop started.
type Times struct {
	user, sys time.Duration
}

// StartTimes reads the process's CPU time; generated benchmarks call it
// just before their loop.
func StartTimes() Times {
	user, sys := processTimes()
	return Times{user: user, sys: sys}
}

// MetricReporter is what Report needs of a *testing.B (this package does
// not import testing, since the kernel imports it for its constants).
type MetricReporter interface {
	ReportMetric(n float64, unit string)
}

// Report adds to b's result the CPU time the process used since t, per
// loop of the loops (b.N) it ran, as the metrics CPUUnit, UserUnit and
// SysUnit. Generated benchmarks call it just after their loop, so that
// setup and the build are not counted. All the process's threads count,
// the garbage collector's included, as with time.process_time.
func (t Times) Report(b MetricReporter, loops int) {
	user, sys := processTimes()
	n := float64(max(loops, 1))
	u, s := (user - t.user).Seconds(), (sys - t.sys).Seconds()
	b.ReportMetric((u+s)/n, CPUUnit)
	b.ReportMetric(u/n, UserUnit)
	b.ReportMetric(s/n, SysUnit)
}
