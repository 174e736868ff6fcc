package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashCheck(t *testing.T) {
	h, err := Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "s3cret") || !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("Hash = %q", h)
	}
	if err := Check(h, "s3cret"); err != nil {
		t.Fatalf("Check(right) = %v", err)
	}
	if err := Check(h, "wrong"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Check(wrong) = %v, want ErrMismatch", err)
	}
	h2, _ := Hash("s3cret")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Hash(""); err == nil {
		t.Error("Hash(\"\") succeeded")
	}
	if _, err := Hash(strings.Repeat("x", MaxLen+1)); err == nil {
		t.Error("Hash(oversized) succeeded")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=1,t=1,p=1$$", "$bcrypt$x$y$z$w", "$argon2id$v=19$m=99999999,t=1,p=1$YWFh$YWFh", "$argon2id$v=19$m=64,t=1,p=1$!!$YWFh"} {
		if err := Check(bad, "x"); err == nil {
			t.Errorf("Check(%q) = %v, want an error", bad, err)
		}
	}
}
