package supervisor

// TODO(supervisor): replace by runtime/sysmem once it lands on main.

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

func defaultMemoryLimit() int64 {
	total := int64(0)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				total = n << 10
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total <= 0 || n < total) {
			total = n
		}
	}
	if total <= 0 {
		return 4 << 30
	}
	return total / 2
}

func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	shift := map[string]int{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20,
		"g": 30, "gb": 30, "gib": 30, "t": 40, "tb": 40, "tib": 40}
	sh, ok := shift[unit]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || !ok || f <= 0 || f*float64(int64(1)<<sh) >= math.MaxInt64 {
		return 0, fmt.Errorf("not a size: write bytes, or a number with MiB or GiB, or off")
	}
	return int64(f * float64(int64(1)<<sh)), nil
}
