package hubcore

import (
	"errors"
	"strings"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// searchMethods: Koji's search, by name, over packages, builds (NVR), tags,
// targets, users, hosts and RPMs (N-V-R.A.rpm).
func searchMethods() []method {
	return []method{
		{name: "search", argdesc: "(terms, type, matchType, queryOpts=None)", fn: mSearch},
	}
}

// maxSearchTerms bounds the length of search terms.
const maxSearchTerms = 1024

// search(terms, type, matchType, queryOpts=None): [{id, name}] of the
// objects of type whose name matches terms. matchType "glob" (* and ?,
// case-insensitive; SQL's % and _ match themselves), "regexp"
// (case-insensitive; PostgreSQL's regular expressions there, Go's on
// SQLite), anything else an exact match. "maven" and "win" search archives,
// which this hub has none of; "file" answers [] as in Koji.
func mSearch(c *call, a *kojixml.Args) (any, error) {
	terms := a.Any(0, "terms")
	typ := a.Any(1, "type")
	matchType := a.Any(2, "matchType")
	qo := a.OptMap(3, "queryOpts")
	if err := a.Done(); err != nil {
		return nil, err
	}
	if !pyTruthy(terms) {
		return nil, genericErr("empty search terms")
	}
	if typ == "file" || typ == "maven" || typ == "win" {
		return applyQueryOpts([]any{}, qo)
	}
	kind, _ := typ.(string)
	switch kind {
	case db.SearchPackage, db.SearchBuild, db.SearchTag, db.SearchTarget, db.SearchUser, db.SearchHost, db.SearchRPM:
	default:
		return nil, genericErr("No such search type: %s", pyStr(typ))
	}
	s, ok := terms.(string)
	if !ok {
		return nil, genericErr("Invalid type for terms: %s", pyClass(terms))
	}
	if len(s) > maxSearchTerms {
		return nil, genericErr("search terms of %d characters exceed the limit of %d", len(s), maxSearchTerms)
	}
	if strings.ContainsRune(s, 0) {
		return nil, genericErr("search terms may not contain NUL")
	}
	q := db.SearchQuery{Kind: kind, Match: db.MatchExact, Terms: s}
	switch matchType {
	case "glob":
		q.Match, q.Terms = db.MatchGlob, globLike(s)
	case "regexp":
		q.Match = db.MatchRegexp
	}
	count := pyTruthy(qo["countOnly"])
	asList := pyTruthy(qo["asList"])
	for k, v := range qo {
		switch k {
		case "order":
			o, isStr := v.(string)
			if v != nil && !isStr {
				return nil, genericErr("Invalid order: %s", pyStr(v))
			}
			if o == "" || count {
				continue
			}
			for _, term := range strings.Split(o, ",") {
				switch strings.TrimPrefix(term, "-") {
				case "id", "name":
					q.Order = append(q.Order, term)
				default:
					return nil, genericErr("Invalid order: %s", strings.TrimPrefix(term, "-"))
				}
			}
		case "offset", "limit":
			if v == nil {
				continue
			}
			n, isInt := v.(int64)
			if !isInt || n < 0 {
				return nil, paramErr("queryOpts: %s must be a non-negative integer", k)
			}
			if k == "offset" {
				q.Offset = int(min(n, 1<<40))
			} else {
				q.Limit = int(min(n, 1<<40))
			}
		case "countOnly", "asList":
		default:
			return nil, paramErr("queryOpts: unsupported option %s", pyRepr(k))
		}
	}
	res, err := c.hub.store.Search(c.ctx, q)
	if errors.Is(err, db.ErrBadPattern) {
		return nil, genericErr("Invalid regular expression %s: %s", pyRepr(s), strings.TrimPrefix(err.Error(), db.ErrBadPattern.Error()+": "))
	}
	if err != nil {
		return nil, err
	}
	if count {
		return int64(len(res)), nil
	}
	out := make([]any, 0, len(res))
	for _, r := range res {
		if asList {
			out = append(out, []any{r.ID, r.Name})
			continue
		}
		out = append(out, map[string]any{"id": r.ID, "name": r.Name})
	}
	return out, nil
}
