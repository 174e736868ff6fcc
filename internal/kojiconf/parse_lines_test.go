package kojiconf

import (
	"reflect"
	"strings"
	"testing"
)

// TestValueLines: a multi-line value (a hub.conf policy) keeps the file line
// of each of its lines, across blank and comment lines.
func TestValueLines(t *testing.T) {
	data := "[policy]\n" + // 1
		"tag =\n" + // 2
		"    has_perm admin :: allow\n" + // 3
		"    # a comment\n" + // 4
		"\n" + // 5
		"    tag *-candidate :: allow\n" + // 6
		"    all :: deny\n" + // 7
		"channel = all :: use default\n" // 8
	f, err := Parse("hub.conf", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	k := f.Section("policy").Key("tag")
	wantText := "\nhas_perm admin :: allow\n\ntag *-candidate :: allow\nall :: deny"
	if k.Value != wantText || !reflect.DeepEqual(k.Lines, []int{2, 3, 5, 6, 7}) {
		t.Errorf("tag = %q lines %v, want %q lines [2 3 5 6 7]", k.Value, k.Lines, wantText)
	}
	if n := strings.Count(k.Value, "\n") + 1; n != len(k.Lines) {
		t.Errorf("%d lines of text, %d line numbers", n, len(k.Lines))
	}
	k = f.Section("policy").Key("channel")
	if k.Value != "all :: use default" || !reflect.DeepEqual(k.Lines, []int{8}) {
		t.Errorf("channel = %q lines %v", k.Value, k.Lines)
	}
}
