package sysmem

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{2000, "2,000 B"},
		{9999, "9,999 B"},
		{40.5, "40.5 B"},
		{40.02, "40 B"},
		{10000, "9.77 KiB"},
		{123456, "121 KiB"},
		{1023 << 10, "0.999 MiB"},
		{1 << 20, "1.00 MiB"},
		{5130000, "4.89 MiB"},
		{1.5 * (1 << 30), "1.50 GiB"},
		{4 << 30, "4.00 GiB"},
		{1234 * (1 << 40), "1,234 TiB"},
		{-20000, "-19.5 KiB"},
		{16, "16 B"},
		{10240, "10.0 KiB"},
		{1000 * 1024, "0.977 MiB"},
		{99.96 * 1024, "100 KiB"},
		{9.996 * 1024, "10.0 KiB"},
		{10.2 * (1 << 30), "10.2 GiB"},
		{1 << 40, "1.00 TiB"},
		{1.0235e4 * (1 << 40), "10,235 TiB"},
	}
	for _, tt := range tests {
		if got := FormatBytes(tt.x); got != tt.want {
			t.Errorf("FormatBytes(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

const meminfo = `MemTotal:        8000000 kB
MemFree:          100000 kB
MemAvailable:    6000000 kB
HugePages_Total:       0
`

func TestReadMemory(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  Memory
	}{
		{"no cgroup", map[string]string{"proc/meminfo": meminfo}, Memory{8000000 << 10, 6000000 << 10}},
		{"v2 unlimited", map[string]string{"proc/meminfo": meminfo, "sys/fs/cgroup/memory.max": "max\n"},
			Memory{8000000 << 10, 6000000 << 10}},
		{"v2 limit", map[string]string{"proc/meminfo": meminfo, "sys/fs/cgroup/memory.max": "2147483648\n",
			"sys/fs/cgroup/memory.current": "536870912\n"}, Memory{2 << 30, 1536 << 20}},
		{"v2 limit above the machine", map[string]string{"proc/meminfo": meminfo,
			"sys/fs/cgroup/memory.max": "1099511627776\n"}, Memory{8000000 << 10, 6000000 << 10}},
		{"v1 unlimited", map[string]string{"proc/meminfo": meminfo,
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, Memory{8000000 << 10, 6000000 << 10}},
		{"v1 limit", map[string]string{"proc/meminfo": meminfo,
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n",
			"sys/fs/cgroup/memory/memory.usage_in_bytes": "1073741824\n"}, Memory{1 << 30, 0}},
		{"cgroup only", map[string]string{"sys/fs/cgroup/memory.max": "1073741824"}, Memory{1 << 30, 1 << 30}},
		{"nothing", map[string]string{}, Memory{}},
		{"garbage", map[string]string{"proc/meminfo": "MemTotal: lots kB\n"}, Memory{}},
	}
	for _, tt := range tests {
		fsys := fstest.MapFS{}
		for name, text := range tt.files {
			fsys[name] = &fstest.MapFile{Data: []byte(text)}
		}
		if got := readMemory(fsys); got != tt.want {
			t.Errorf("%s: readMemory = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestReadMemoryOfThisMachine(t *testing.T) {
	m := ReadMemory()
	if m.Total <= 0 || m.Available <= 0 || m.Available > m.Total {
		t.Errorf("ReadMemory() = %+v, want 0 < Available <= Total", m)
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		status string
		want   Process
	}{
		{"Name:\tcat\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t1\n", Process{RSS: 1 << 20, HWM: 2 << 20}},
		{"Name:\tkthreadd\nThreads:\t1\n", Process{}},
		{"VmRSS:\n", Process{}},
	}
	for _, tt := range tests {
		if got := parseStatus([]byte(tt.status)); got != tt.want {
			t.Errorf("parseStatus(%q) = %+v, want %+v", tt.status, got, tt.want)
		}
	}
}

func TestReadProcess(t *testing.T) {
	p, err := ReadProcess(1)
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if p.HWM < p.RSS {
		t.Errorf("ReadProcess(1) = %+v, want HWM >= RSS", p)
	}
	if _, err := ReadProcess(-7); err == nil {
		t.Error("ReadProcess(-7) gave no error")
	}
}

func TestDefaultLimit(t *testing.T) {
	const env = "PERFNB_TEST_MEMORY_LIMIT"
	m := ReadMemory()
	tests := []struct {
		value  string
		basis  Basis
		want   int64
		err    bool
		approx bool // read from available memory, which moves while other tests run: within 5%
	}{
		{"", HalfOfTotal, halfOf(m, HalfOfTotal), false, false},
		{"  ", HalfOfAvailable, halfOf(m, HalfOfAvailable), false, true},
		{"512MiB", HalfOfTotal, 512 << 20, false, false},
		{"2GB", HalfOfAvailable, 2e9, false, false},
		{"OFF", HalfOfTotal, Off, false, false},
		{"lots", HalfOfTotal, 0, true, false},
		{"-1", HalfOfAvailable, 0, true, false},
	}
	for _, tt := range tests {
		t.Setenv(env, tt.value)
		got, err := DefaultLimit(env, tt.basis)
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), env) {
				t.Errorf("%s=%q: DefaultLimit = %d, %v; want an error naming %s", env, tt.value, got, err, env)
			}
			continue
		}
		ok := got == tt.want
		if tt.approx {
			ok = max(got-tt.want, tt.want-got) <= tt.want/20
		}
		if err != nil || !ok {
			t.Errorf("%s=%q: DefaultLimit = %d, %v; want %d", env, tt.value, got, err, tt.want)
		}
	}
}

func TestHalfOf(t *testing.T) {
	m := Memory{Total: 8 << 30, Available: 2 << 30}
	tests := []struct {
		m     Memory
		basis Basis
		want  int64
	}{
		{m, HalfOfTotal, 4 << 30},
		{m, HalfOfAvailable, 1 << 30},
		{Memory{}, HalfOfTotal, FallbackLimit},
		{Memory{Total: 8 << 30}, HalfOfAvailable, FallbackLimit},
	}
	for _, tt := range tests {
		if got := halfOf(tt.m, tt.basis); got != tt.want {
			t.Errorf("halfOf(%+v, %d) = %d, want %d", tt.m, tt.basis, got, tt.want)
		}
	}
}
