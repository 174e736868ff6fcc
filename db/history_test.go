package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestPyJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`"x"`, `"x"`},
		{`1`, `1`},
		{`1.5`, `1.5`},
		{`true`, `true`},
		{`null`, `null`},
		{`[1, "a", {"b": false}]`, `[1, "a", {"b": false}]`},
		{`{"z": 1, "a": [ ]}`, `{"a": [], "z": 1}`},
		{`"caf\u00e9 <&>"`, `"caf\u00e9 <&>"`},
		{`"\ud83d\ude00"`, `"\ud83d\ude00"`},
	} {
		var v any
		d := json.NewDecoder(strings.NewReader(tc.in))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := PyJSON(v); got != tc.want {
			t.Errorf("PyJSON(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestHistoryBackfill runs migration 11's backfill on a tag written the
// old way (a tags row only): it gets its tag_config row and one tag_extra
// row per key of its extra, at its creation event.
func TestHistoryBackfill(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ev, err := s.NewEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.insertID(ctx, "INSERT INTO tags (name, arches, locked, extra, create_event, deleted) VALUES (?, ?, TRUE, ?, ?, FALSE)",
			"old", "x86_64", `{"s": "x", "n": 1, "b": true, "z": null, "o": {"a": [1, 2]}}`, ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.exec(ctx, "DELETE FROM tag_config"); err != nil {
			t.Fatal(err)
		}
		ms, err := migrations(s.backend)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if !strings.Contains(m.name, "_history") {
				continue
			}
			for _, stmt := range splitSQL(s.expand(m.sql)) {
				if strings.HasPrefix(stmt, "INSERT INTO tag_config") || strings.HasPrefix(stmt, "INSERT INTO tag_extra") {
					if _, err := s.exec(ctx, stmt); err != nil {
						t.Fatalf("%s: %v", stmt, err)
					}
				}
			}
		}
		tg, err := s.TagAt(ctx, id, ev)
		if err != nil || tg.Arches == nil || *tg.Arches != "x86_64" || !tg.Locked {
			t.Fatalf("TagAt(old, %d) = %+v, %v", ev, tg, err)
		}
		extra, err := s.TagExtra(ctx, id, &ev)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"s": `"x"`, "n": "1", "b": "true", "z": "null"} {
			if v := extra[k]; v == nil || *v != want {
				t.Errorf("backfilled %s = %v, want %s", k, v, want)
			}
		}
		var o any
		if v := extra["o"]; v == nil || json.Unmarshal([]byte(*v), &o) != nil {
			t.Errorf("backfilled o = %v", v)
		}
	})
}

// TestQueryHistoryOrder: rows come in the order of their last write.
func TestQueryHistoryOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, _, err := s.CreateTag(ctx, Tag{Name: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateTag(ctx, Tag{Name: "b"}); err != nil {
			t.Fatal(err)
		}
		arch := "ppc64le"
		if _, err := s.EditTag(ctx, a, TagEdit{Arches: &arch}); err != nil {
			t.Fatal(err)
		}
		rows, err := s.QueryHistory(ctx, "tag_config", HistoryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			n := r["tag.name"].(string)
			if r["active"] == nil {
				n += "(revoked)"
			}
			got = append(got, n)
		}
		if want := "b a(revoked) a"; strings.Join(got, " ") != want {
			t.Errorf("tag_config history order = %v, want %s", got, want)
		}
		if _, err := s.QueryHistory(ctx, "nope", HistoryFilter{}); err == nil {
			t.Errorf("QueryHistory(nope) succeeded")
		}
		// a deleted tag keeps its name in history
		if _, err := s.DeleteTag(ctx, a); err != nil {
			t.Fatal(err)
		}
		rows, err = s.QueryHistory(ctx, "tag_config", HistoryFilter{Tag: &a})
		if err != nil || len(rows) != 2 || rows[1]["tag.name"] != "a" || rows[1]["active"] != nil {
			t.Errorf("history of deleted tag = %v, %v", rows, err)
		}
		if id, rev, err := s.DeletedTag(ctx, "a"); err != nil || id != a || rev == 0 {
			t.Errorf("DeletedTag(a) = %d, %d, %v", id, rev, err)
		}
	})
}

// TestPackageHistoryMerged: kojigo keeps a tag's package entry and its
// owner in one row; history shows them as Koji's two tables would.
func TestPackageHistoryMerged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u1, _ := s.CreateUser(ctx, User{Name: "one", PasswordHash: "h"})
		u2, _ := s.CreateUser(ctx, User{Name: "two", PasswordHash: "h"})
		tag, _, err := s.CreateTag(ctx, Tag{Name: "f40"})
		if err != nil {
			t.Fatal(err)
		}
		pkg, err := s.EnsurePackage(ctx, "hello")
		if err != nil {
			t.Fatal(err)
		}
		e1, _ := s.SetTagPackage(ctx, TagPackage{TagID: tag, PackageID: pkg, OwnerID: u1, By: u1})
		e2, _ := s.SetTagPackage(ctx, TagPackage{TagID: tag, PackageID: pkg, OwnerID: u2, By: u1})
		e3, _ := s.SetTagPackage(ctx, TagPackage{TagID: tag, PackageID: pkg, OwnerID: u2, Blocked: true, By: u2})
		span := func(table string, f HistoryFilter) string {
			rows, err := s.QueryHistory(ctx, table, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rows {
				out = append(out, fmt.Sprintf("%v-%v", r["create_event"], r["revoke_event"]))
			}
			return strings.Join(out, " ")
		}
		for _, tc := range []struct {
			table string
			f     HistoryFilter
			want  string
		}{
			{"tag_packages", HistoryFilter{}, fmt.Sprintf("%d-%d %d-<nil>", e1, e3, e3)},
			{"tag_package_owners", HistoryFilter{}, fmt.Sprintf("%d-%d %d-<nil>", e1, e2, e2)},
			{"tag_package_owners", HistoryFilter{Active: ptr(true)}, fmt.Sprintf("%d-<nil>", e2)},
			{"tag_package_owners", HistoryFilter{User: &u1}, fmt.Sprintf("%d-%d", e1, e2)},
			{"tag_packages", HistoryFilter{AfterEvent: &e2}, fmt.Sprintf("%d-%d %d-<nil>", e1, e3, e3)},
			{"tag_package_owners", HistoryFilter{AfterEvent: &e2}, ""},
			{"tag_packages", HistoryFilter{Editor: &u2}, fmt.Sprintf("%d-%d %d-<nil>", e1, e3, e3)}, // revoked by two
			{"tag_package_owners", HistoryFilter{Editor: &u2}, ""},
		} {
			if got := span(tc.table, tc.f); got != tc.want {
				t.Errorf("QueryHistory(%s, %+v) = %q, want %q", tc.table, tc.f, got, tc.want)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
