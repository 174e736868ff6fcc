package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// ErrBadPattern is returned by Search for a regular expression the database
// refuses, or one that ran out of time.
var ErrBadPattern = errors.New("invalid search pattern")

// Kinds of Search, as Koji's search types.
const (
	SearchPackage = "package"
	SearchBuild   = "build"
	SearchTag     = "tag"
	SearchTarget  = "target"
	SearchUser    = "user"
	SearchHost    = "host"
	SearchRPM     = "rpm"
)

// Match types of Search.
const (
	MatchExact  = "exact"
	MatchGlob   = "glob"   // terms is a LIKE pattern, backslash escapes; case-insensitive
	MatchRegexp = "regexp" // terms is a regular expression; case-insensitive
)

// SearchQuery is one Search: what to look in, how to match, and Koji's
// queryOpts (Order: "id", "name", "-id", "-name", comma separated).
type SearchQuery struct {
	Kind   string
	Match  string
	Terms  string
	Order  []string
	Offset int
	Limit  int // 0: no limit
}

// SearchResult is one match: its id and the name it matched on.
type SearchResult struct {
	ID   int64
	Name string
}

// searchSources: per kind, the FROM clause, the id and the name expression
// (Koji's search columns).
var searchSources = map[string][3]string{
	SearchPackage: {"packages", "id", "name"},
	SearchBuild:   {"builds b JOIN packages p ON b.pkg_id = p.id", "b.id", "p.name || '-' || b.version || '-' || b.release"},
	SearchTag:     {"tags", "id", "name"},
	SearchTarget:  {"build_targets", "id", "name"},
	SearchUser:    {"users", "id", "name"},
	SearchHost:    {"hosts", "id", "name"},
	SearchRPM:     {"rpms", "id", "name || '-' || version || '-' || release || '.' || arch || '.rpm'"},
}

// searchTimeout bounds a regexp search on PostgreSQL, whose regular
// expression engine may backtrack.
const searchTimeout = "10s"

// Search finds the ids and names of the objects of q.Kind whose name
// matches q.Terms.
func (s *Store) Search(ctx context.Context, q SearchQuery) ([]SearchResult, error) {
	src, ok := searchSources[q.Kind]
	if !ok {
		return nil, fmt.Errorf("search: unknown kind %q", q.Kind)
	}
	if q.Match == MatchRegexp && s.backend == SQLite {
		if _, err := regexp.Compile("(?i)" + q.Terms); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadPattern, err)
		}
	}
	expr := src[2]
	sqlq := "SELECT " + src[1] + ", " + expr + " FROM " + src[0] + " WHERE "
	if q.Kind == SearchTag {
		sqlq += "deleted = FALSE AND "
	}
	switch q.Match {
	case MatchGlob:
		if s.backend == Postgres {
			sqlq += expr + " ILIKE ? ESCAPE '\\'"
		} else {
			sqlq += expr + " LIKE ? ESCAPE '\\'"
		}
	case MatchRegexp:
		if s.backend == Postgres {
			sqlq += expr + " ~* ?"
		} else {
			sqlq += "regexp(?, " + expr + ")"
		}
	default:
		sqlq += expr + " = ?"
	}
	order := []string{}
	for _, o := range q.Order {
		col, dir := o, ""
		if strings.HasPrefix(o, "-") {
			col, dir = o[1:], " DESC"
		}
		switch col {
		case "id":
			order = append(order, "1"+dir)
		case "name":
			order = append(order, "2"+dir)
		default:
			return nil, fmt.Errorf("search: invalid order %q", o)
		}
	}
	order = append(order, "1")
	sqlq += " ORDER BY " + strings.Join(order, ", ")
	if q.Limit > 0 {
		sqlq += fmt.Sprintf(" LIMIT %d", q.Limit)
	} else if q.Offset > 0 && s.backend == SQLite {
		sqlq += " LIMIT -1"
	}
	if q.Offset > 0 {
		sqlq += fmt.Sprintf(" OFFSET %d", q.Offset)
	}
	var out []SearchResult
	run := func(st *Store) error {
		out = nil
		return scanAll(st.query(ctx, sqlq, q.Terms))(func(r *sql.Rows) error {
			var x SearchResult
			err := r.Scan(&x.ID, &x.Name)
			out = append(out, x)
			return err
		})
	}
	var err error
	if q.Match == MatchRegexp && s.backend == Postgres {
		err = s.WithTx(ctx, func(tx *Store) error {
			if _, err := tx.exec(ctx, "SET LOCAL statement_timeout = '"+searchTimeout+"'"); err != nil {
				return err
			}
			return run(tx)
		})
	} else {
		err = run(s)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (pg.Code == "2201B" || pg.Code == "57014") {
		return nil, fmt.Errorf("%w: %s", ErrBadPattern, pg.Message)
	}
	var re *regexpError
	if errors.As(err, &re) {
		return nil, fmt.Errorf("%w: %s", ErrBadPattern, re.msg)
	}
	return out, err
}

type regexpError struct{ msg string }

func (e *regexpError) Error() string { return e.msg }

// sqliteRegexps caches the last patterns SQLite's regexp() compiled: the
// function is called once per row with the same pattern.
var sqliteRegexps struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

// sqliteRegexp is SQLite's regexp(pattern, text) (what "text REGEXP
// pattern" calls), case-insensitive, with Go's linear-time engine.
func sqliteRegexp(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if len(args) != 2 || args[0] == nil || args[1] == nil {
		return nil, nil
	}
	pat, ok := args[0].(string)
	if !ok {
		return nil, &regexpError{"regexp: pattern must be text"}
	}
	var text string
	switch v := args[1].(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		text = fmt.Sprint(v)
	}
	c := &sqliteRegexps
	c.mu.Lock()
	re := c.m[pat]
	c.mu.Unlock()
	if re == nil {
		var err error
		re, err = regexp.Compile("(?i)" + pat)
		if err != nil {
			return nil, &regexpError{err.Error()}
		}
		c.mu.Lock()
		if c.m == nil || len(c.m) >= 64 {
			c.m = map[string]*regexp.Regexp{}
		}
		c.m[pat] = re
		c.mu.Unlock()
	}
	if re.MatchString(text) {
		return int64(1), nil
	}
	return int64(0), nil
}

func init() {
	// Registered with the driver for every SQLite connection opened after.
	sqlite.MustRegisterDeterministicScalarFunction("regexp", 2, sqliteRegexp)
}
