package compare

import (
	"math"
	"slices"
	"sort"

	"golang.org/x/perf/benchmath"
)

// Paired statistics for interleaved rounds. benchmath's U test compares
// two independent samples, so the load that a round's old and new runs
// share would stay in its variance; the paired test looks only at each
// round's change. Wilcoxon's signed-rank test is the paired counterpart
// of the U test: it assumes no distribution, and one round disturbed on
// one side only (a burst of other work) moves it by one rank, where it
// would move a t-test's mean and variance. Times change by factors, so
// their change is the log of new/old; memory changes by amounts, so its
// change is new - old. The estimate and its confidence interval are
// Hodges and Lehmann's (the median of the Walsh averages, and the order
// statistics of those that the test's own distribution gives).

// signedRank returns the two-sided p-value of Wilcoxon's signed-rank
// test that the changes d are centred on 0: zeros are dropped, tied
// magnitudes share their mean rank, and the p-value is exact, from the
// distribution of the statistic over every assignment of signs.
func signedRank(d []float64) float64 {
	var nz []float64
	for _, x := range d {
		if x != 0 {
			nz = append(nz, x)
		}
	}
	if len(nz) == 0 {
		return 1
	}
	slices.SortFunc(nz, func(a, b float64) int { return cmpAbs(a, b) })
	// Ranks doubled, so that mean ranks of ties are whole numbers.
	ranks := make([]int, len(nz))
	for i := 0; i < len(nz); {
		j := i
		for j < len(nz) && math.Abs(nz[j]) == math.Abs(nz[i]) {
			j++
		}
		for k := i; k < j; k++ {
			ranks[k] = i + j + 1 // 2 × the mean of ranks i+1..j
		}
		i = j
	}
	total, obs := 0, 0
	for i, r := range ranks {
		total += r
		if nz[i] > 0 {
			obs += r
		}
	}
	dist := signDistribution(ranks, total)
	dev := math.Abs(float64(obs) - float64(total)/2)
	p := 0.0
	for s, pr := range dist {
		if math.Abs(float64(s)-float64(total)/2) >= dev-1e-9 {
			p += pr
		}
	}
	return min(p, 1)
}

func cmpAbs(a, b float64) int {
	switch x, y := math.Abs(a), math.Abs(b); {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// signDistribution is the distribution of the sum of the ranks given a
// plus sign, each sign being + or - with probability 1/2: dist[s] is
// the probability of the sum s (0 ≤ s ≤ total).
func signDistribution(ranks []int, total int) []float64 {
	dist := make([]float64, total+1)
	dist[0] = 1
	upTo := 0
	for _, r := range ranks {
		upTo += r
		for s := upTo; s >= 0; s-- {
			with := 0.0
			if s >= r {
				with = dist[s-r]
			}
			dist[s] = (dist[s] + with) / 2
		}
	}
	return dist
}

// minRounds is the fewest pairs with which the signed-rank test can
// reach alpha: n with 2/2^n ≤ alpha (6 at 0.05, 8 at 0.01).
func minRounds(alpha float64) int {
	n := 1
	for 2/math.Pow(2, float64(n)) > alpha {
		n++
	}
	return n
}

// hodgesLehmann returns the estimate of the centre of d (the median of
// its Walsh averages) and its confidence interval at level 1-alpha; the
// interval is infinite when d has too few values for that level.
func hodgesLehmann(d []float64, alpha float64) (est, lo, hi float64) {
	n := len(d)
	var walsh []float64
	for i := range n {
		for j := i; j < n; j++ {
			walsh = append(walsh, (d[i]+d[j])/2)
		}
	}
	sort.Float64s(walsh)
	m := len(walsh)
	if m == 0 {
		return 0, math.Inf(-1), math.Inf(1)
	}
	est = median(walsh)
	// k is the largest count with P(W < k) ≤ alpha/2 under the null
	// distribution of the statistic with ranks 1..n.
	ranks := make([]int, n)
	total := 0
	for i := range ranks {
		ranks[i] = i + 1
		total += i + 1
	}
	dist := signDistribution(ranks, total)
	k, below := 0, 0.0
	for k < len(dist) && below+dist[k] <= alpha/2 {
		below += dist[k]
		k++
	}
	if k == 0 {
		return est, math.Inf(-1), math.Inf(1)
	}
	return est, walsh[k-1], walsh[m-k]
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// comparePaired compares a figure measured in rounds: old[i] and new[i]
// are round i's values (see roundValue).
func comparePaired(name, unit string, old, new []float64, floor float64, o Options) Row {
	th := benchmath.Thresholds{CompareAlpha: o.Alpha}
	row := Row{Name: name, Unit: unit, Floor: floor,
		Old: benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(old), &th), 0.95),
		New: benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(new), &th), 0.95)}
	logs := isTime(unit) && !slices.ContainsFunc(append(slices.Clone(old), new...), func(x float64) bool { return x <= 0 })
	d := make([]float64, len(old))
	for i := range old {
		if logs {
			d[i] = math.Log(new[i] / old[i])
		} else {
			d[i] = new[i] - old[i]
		}
	}
	row.Test = Test{P: signedRank(d), Rounds: len(d), Alpha: o.Alpha}
	est, _, hi := hodgesLehmann(d, o.Alpha)
	// The largest change the rounds allow, beyond which a regression
	// would be: settled when it is within the threshold and the floor.
	var most float64
	if logs {
		row.Delta, most = math.Exp(est)-1, math.Exp(hi)-1
		row.Diff = row.Delta * row.Old.Center
	} else {
		row.Diff = est
		row.Delta = relative(est, row.Old.Center)
		most = relative(hi, row.Old.Center)
	}
	if len(d) < minRounds(o.Alpha) {
		row.Verdict = TooFew
		return row
	}
	row.Verdict = verdict(row, row.Test.P <= o.Alpha, o)
	withinFloor := !logs && hi <= floor
	row.settled = row.Verdict == Regression || withinFloor || !math.IsNaN(most) && most <= o.Threshold
	return row
}
