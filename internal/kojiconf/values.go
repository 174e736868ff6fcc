package kojiconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ByteSize is a size in bytes. In a config file it is written as a number with
// an optional suffix: K, M, G, T (or KB/KiB, MB/MiB, GB/GiB, TB/TiB; all are
// powers of 1024, as Koji's "MB" are) or B. A number without a suffix is in the
// field's unit tag (`unit:"MiB"` for Koji's minspace), bytes when there is none.
type ByteSize int64

// Sizes in bytes.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

// String renders the size exactly, in the largest unit that divides it: "8GiB", "1536KiB", "100B".
func (b ByteSize) String() string {
	for _, u := range []struct {
		n    ByteSize
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if b != 0 && b%u.n == 0 {
			return strconv.FormatInt(int64(b/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

var sizeSuffixes = map[string]ByteSize{
	"b": 1,
	"k": KiB, "kb": KiB, "kib": KiB,
	"m": MiB, "mb": MiB, "mib": MiB,
	"g": GiB, "gb": GiB, "gib": GiB,
	"t": TiB, "tb": TiB, "tib": TiB,
}

// ParseByteSize parses s as described for ByteSize; plain numbers are in unit bytes.
func ParseByteSize(s string, unit ByteSize) (ByteSize, error) {
	if unit <= 0 {
		unit = 1
	}
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, suffix := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	if num == "" {
		return 0, fmt.Errorf("no number in %q", s)
	}
	mult := unit
	if suffix != "" {
		m, ok := sizeSuffixes[suffix]
		if !ok {
			return 0, fmt.Errorf("unknown size suffix %q", s[i:])
		}
		mult = m
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n > math.MaxInt64/int64(mult) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return ByteSize(n * int64(mult)), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", num)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(math.Round(v)), nil
}

var durationUnits = map[string]time.Duration{
	"": time.Second, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
}

// parseDuration accepts Go durations ("90s", "1h30m") or a plain number in unit.
func parseDuration(s string, unit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return time.Duration(n) * unit, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		v := f * float64(unit)
		if math.Abs(v) >= math.MaxInt64 {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return time.Duration(math.Round(v)), nil
	}
	return time.ParseDuration(s)
}

// ParseBool accepts configparser's boolean forms, in any case:
// 1/yes/true/on and 0/no/false/off.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", s)
}
