package hubcore

import (
	"math"
	"time"
)

// kojiTime formats a time column as Koji's *_time strings
// ("2026-11-26 20:44:57.625418+00:00"), nil for NULL.
func kojiTime(t *float64) any {
	if t == nil {
		return nil
	}
	return tsToTime(*t).Format("2006-01-02 15:04:05.000000-07:00")
}

// kojiTS is the matching *_ts float, nil for NULL.
func kojiTS(t *float64) any {
	if t == nil {
		return nil
	}
	return *t
}

func tsToTime(t float64) time.Time {
	sec, frac := math.Modf(t)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
}

func ptr[T any](v T) *T { return &v }

// optStr returns nil for a nil string pointer, the string otherwise.
func optStr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func optInt(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

func optBool(v *bool) any {
	if v == nil {
		return nil
	}
	return *v
}
