package farm

import (
	"math"
	"strconv"
	"time"
)

// The hub's answers decode to nil, bool, int64, float64, string, []byte,
// time.Time, []any and map[string]any. These readers take what they find
// and return the zero value otherwise: a console shows what it can.

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

func num(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0
		}
		return x
	case string: // Koji's stat sizes are strings
		f, _ := strconv.ParseFloat(x, 64)
		return f
	case time.Time:
		return float64(x.UnixMicro()) / 1e6
	}
	return 0
}

func flt(m map[string]any, k string) float64 { return num(m[k]) }

func integer(m map[string]any, k string) int64 {
	switch x := m[k].(type) {
	case int64:
		return x
	case float64:
		if x >= math.MinInt64 && x <= math.MaxInt64 {
			return int64(x)
		}
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// optInt returns an integer field and whether it was set (not nil).
func optInt(m map[string]any, k string) (int64, bool) {
	switch m[k].(type) {
	case int64, float64:
		return integer(m, k), true
	}
	return 0, false
}

func boolean(m map[string]any, k string) bool {
	switch x := m[k].(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	return false
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func maps(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// tsTime turns Koji's float seconds since the epoch into a time; 0 or
// missing is the zero time.
func tsTime(f float64) time.Time {
	if f <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
