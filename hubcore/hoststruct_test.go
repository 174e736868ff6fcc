package hubcore

import (
	"bytes"
	"testing"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// TestHostStructMatchesHostMap: listHosts's fast form encodes byte for byte
// as the map every other host method returns.
func TestHostStructMatchesHostMap(t *testing.T) {
	upd, desc := 1795725982.5, "reference builder"
	for _, h := range []db.Host{
		{ID: 1, UserID: 3, Name: "builder1", Arches: "x86_64 i686", Capacity: 4, Enabled: true},
		{ID: 2, UserID: 4, Name: "b2", UpdateTime: &upd, TaskLoad: 1.5, Ready: true, Arches: "aarch64", Capacity: 2, Description: &desc, Comment: &desc},
	} {
		var a, b bytes.Buffer
		if err := kojixml.EncodeResponse(&a, hostMap(h)); err != nil {
			t.Fatal(err)
		}
		if err := kojixml.EncodeResponse(&b, hostStruct(h)); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Errorf("hostStruct(%s) encodes as\n%s\nhostMap as\n%s", h.Name, b.String(), a.String())
		}
	}
}
