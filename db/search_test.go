package db

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestSearchAndUntagged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		uid, err := s.CreateUser(ctx, User{Name: "alice", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]int64{}
		for _, n := range []string{"foo", "foobar", "Bar", "x%y", "a_b"} {
			id, err := s.CreateBuild(ctx, NewBuild{PackageName: n, Version: "1", Release: "1", State: BuildComplete, OwnerID: uid})
			if err != nil {
				t.Fatal(err)
			}
			ids[n] = id
		}
		names := func(q SearchQuery) string {
			t.Helper()
			res, err := s.Search(ctx, q)
			if err != nil {
				t.Fatalf("Search(%+v): %v", q, err)
			}
			var out []string
			for _, r := range res {
				out = append(out, r.Name)
			}
			return strings.Join(out, " ")
		}
		for _, c := range []struct {
			q    SearchQuery
			want string
		}{
			{SearchQuery{Kind: SearchPackage, Match: MatchGlob, Terms: "foo%"}, "foo foobar"},
			{SearchQuery{Kind: SearchPackage, Match: MatchGlob, Terms: "FOO%"}, "foo foobar"},
			{SearchQuery{Kind: SearchPackage, Match: MatchGlob, Terms: `x\%y`}, "x%y"},
			{SearchQuery{Kind: SearchPackage, Match: MatchGlob, Terms: `a\_b`}, "a_b"},
			{SearchQuery{Kind: SearchPackage, Match: MatchGlob, Terms: `x\%`}, ""},
			{SearchQuery{Kind: SearchPackage, Match: MatchExact, Terms: "bar"}, ""},
			{SearchQuery{Kind: SearchPackage, Match: MatchExact, Terms: "Bar"}, "Bar"},
			{SearchQuery{Kind: SearchPackage, Match: MatchRegexp, Terms: "^ba"}, "Bar"},
			{SearchQuery{Kind: SearchPackage, Match: MatchRegexp, Terms: "o+b"}, "foobar"},
			{SearchQuery{Kind: SearchBuild, Match: MatchGlob, Terms: "foo-1-_"}, "foo-1-1"},
			{SearchQuery{Kind: SearchPackage, Match: MatchGlob, Terms: "%", Order: []string{"-name"}, Limit: 2}, "x%y foobar"},
			{SearchQuery{Kind: SearchPackage, Match: MatchGlob, Terms: "%", Order: []string{"id"}, Offset: 3}, "x%y a_b"},
			{SearchQuery{Kind: SearchUser, Match: MatchExact, Terms: "alice"}, "alice"},
			{SearchQuery{Kind: SearchRPM, Match: MatchGlob, Terms: "%"}, ""},
		} {
			if got := names(c.q); got != c.want {
				t.Errorf("Search(%+v) = %q, want %q", c.q, got, c.want)
			}
		}
		for _, q := range []SearchQuery{
			{Kind: "nosuch", Terms: "x"},
			{Kind: SearchPackage, Terms: "x", Order: []string{"bogus"}},
		} {
			if _, err := s.Search(ctx, q); err == nil {
				t.Errorf("Search(%+v) succeeded", q)
			}
		}
		if _, err := s.Search(ctx, SearchQuery{Kind: SearchPackage, Match: MatchRegexp, Terms: "("}); !errors.Is(err, ErrBadPattern) {
			t.Errorf("Search of a bad regexp = %v, want ErrBadPattern", err)
		}

		// untagged, and the tags that hold a build
		tag, _, err := s.CreateTag(ctx, Tag{Name: "f40"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TagBuild(ctx, tag, ids["foo"], &uid); err != nil {
			t.Fatal(err)
		}
		failed, err := s.CreateBuild(ctx, NewBuild{PackageName: "foo", Version: "2", Release: "1", State: BuildFailed, OwnerID: uid})
		if err != nil {
			t.Fatal(err)
		}
		un, err := s.UntaggedBuilds(ctx, nil, 0)
		if err != nil || len(un) != 4 {
			t.Fatalf("UntaggedBuilds = %+v, %v", un, err)
		}
		for _, b := range un {
			if b.ID == ids["foo"] || b.ID == failed {
				t.Errorf("UntaggedBuilds has %+v", b)
			}
		}
		name := "foobar"
		if un, err := s.UntaggedBuilds(ctx, &name, 0); err != nil || len(un) != 1 || un[0].Name != "foobar" || un[0].Version != "1" {
			t.Errorf("UntaggedBuilds(foobar) = %+v, %v", un, err)
		}
		if un, _ := s.UntaggedBuilds(ctx, nil, 2); len(un) != 2 {
			t.Errorf("UntaggedBuilds(limit 2) = %+v", un)
		}
		refs, err := s.BuildTagRefs(ctx, ids["foo"], 0)
		if err != nil || len(refs) != 1 || refs[0].TagID != tag || refs[0].Name != "f40" {
			t.Errorf("BuildTagRefs = %+v, %v", refs, err)
		}
		if _, err := s.UntagBuild(ctx, tag, ids["foo"]); err != nil {
			t.Fatal(err)
		}
		if refs, _ := s.BuildTagRefs(ctx, ids["foo"], 0); len(refs) != 0 {
			t.Errorf("BuildTagRefs after untag = %+v", refs)
		}
	})
}
