// Package profiles keeps the pprof profiles the magics save: where they
// live (pprof's own directory, $PPROF_TMPDIR or ~/pprof), how they are
// named, and how many are kept. They outlive the kernel, so the paths a
// saved notebook shows stay valid for go tool pprof, until pruning
// removes the oldest.
package profiles

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// DirEnv is the environment variable that names the directory of saved
// profiles: pprof's own, where it saves the profiles it fetches.
const DirEnv = "PPROF_TMPDIR"

// KeepEnv is the environment variable that sets how many of perfnb's
// profiles a directory keeps (the newest); 0 keeps them all.
const KeepEnv = "PERFNB_PROFILES_KEEP"

// DefaultKeep is how many of perfnb's profiles a directory keeps when
// KeepEnv is not set.
const DefaultKeep = 200

// Dir returns the directory where the profiles are saved, created if need
// be: flag (--profile-dir) when given, else $PPROF_TMPDIR, else ~/pprof,
// as pprof does.
func Dir(flag string) (string, error) {
	dir := flag
	if dir == "" {
		dir = os.Getenv(DirEnv)
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find a directory for the profiles (%w); set %s or use --profile-dir", err, DirEnv)
		}
		dir = filepath.Join(home, "pprof")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the profile directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("cannot resolve the profile directory %s: %w", dir, err)
	}
	return abs, nil
}

// Namer returns the file names of one run's profiles, in the style of
// pprof's: perfnb.cell5.cpu.20261121-130501.pb.gz for the CPU profile of
// In[5] taken at that time (local time). The names avoid characters
// shells treat specially, so they can be pasted into a command.
func Namer(cell int, at time.Time) func(kind string) string {
	stamp := at.Format("20060102-150405")
	return func(kind string) string {
		return fmt.Sprintf("perfnb.cell%d.%s.%s.pb.gz", cell, kind, stamp)
	}
}

// ours matches the names Namer and UniquePath give, and nothing of
// pprof's own.
var ours = regexp.MustCompile(`^perfnb\.cell\d+\.[A-Za-z0-9_.]+\.\d{8}-\d{6}(\.\d{3})?\.pb\.gz$`)

// UniquePath returns dir/name, or, when that file exists (the same cell
// profiled twice in one second), dir/name with a counter before .pb.gz.
func UniquePath(dir, name string) string {
	p := filepath.Join(dir, name)
	base := strings.TrimSuffix(name, ".pb.gz")
	for i := 2; ; i++ {
		if _, err := os.Lstat(p); err != nil {
			return p // free, or unreadable: writing it will tell
		}
		p = filepath.Join(dir, fmt.Sprintf("%s.%03d.pb.gz", base, i))
	}
}

// Read reads a profile the child wrote.
func Read(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the child wrote no profile: %w", err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read the profile %s: %w", path, err)
	}
	return p, nil
}

// Keep returns how many profiles a directory keeps: KeepEnv when set to a
// whole number (0 for all), else DefaultKeep.
func Keep() (int, error) {
	v := strings.TrimSpace(os.Getenv(KeepEnv))
	if v == "" {
		return DefaultKeep, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number of profiles to keep, 0 for all", KeepEnv, v)
	}
	return n, nil
}

// Prune removes the oldest of perfnb's profiles in dir so that keep
// remain (keep 0: none is removed). Only regular files named as Namer
// names them are considered; pprof's own files and anything else stay.
func Prune(dir string, keep int) error {
	if keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pruning the profiles: %w", err)
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if !e.Type().IsRegular() || !ours.MatchString(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{e.Name(), info.ModTime()})
		}
	}
	if len(files) <= keep {
		return nil
	}
	slices.SortFunc(files, func(a, b file) int { return cmp.Or(a.mod.Compare(b.mod), cmp.Compare(a.name, b.name)) })
	for _, f := range files[:len(files)-keep] {
		if err := os.Remove(filepath.Join(dir, f.name)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("pruning the profiles: %w", err)
		}
	}
	return nil
}
