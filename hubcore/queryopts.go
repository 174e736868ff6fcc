package hubcore

import (
	"fmt"
	"sort"
	"strings"
)

// applyQueryOpts applies Koji's queryOpts (order, offset, limit, countOnly)
// to a result list of structs. Handlers whose store query can do the work
// translate queryOpts themselves; this serves the small listings.
func applyQueryOpts(rows []any, qo map[string]any) (any, error) {
	if qo == nil {
		return rows, nil
	}
	if order, ok := qo["order"].(string); ok && order != "" {
		keys := strings.Split(order, ",")
		sort.SliceStable(rows, func(i, j int) bool {
			for _, k := range keys {
				desc := strings.HasPrefix(k, "-")
				k = strings.TrimPrefix(k, "-")
				a, _ := rows[i].(map[string]any)
				b, _ := rows[j].(map[string]any)
				c := compareAny(a[k], b[k])
				if c != 0 {
					return (c < 0) != desc
				}
			}
			return false
		})
	}
	if off, ok := qo["offset"].(int64); ok && off > 0 {
		if int(off) >= len(rows) {
			rows = rows[:0]
		} else {
			rows = rows[off:]
		}
	}
	if lim, ok := qo["limit"].(int64); ok && lim >= 0 && int(lim) < len(rows) {
		rows = rows[:lim]
	}
	if c, ok := qo["countOnly"].(bool); ok && c {
		return int64(len(rows)), nil
	}
	return rows, nil
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case nil:
		if b == nil {
			return 0
		}
		return -1
	}
	if b == nil {
		return 1
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}
