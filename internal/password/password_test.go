package password

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
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

// Hashes stored with the earlier parameters (64 MiB, one pass, two lanes)
// still verify: the parameters travel in the hash.
func TestOldParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("s3cret"), salt, 1, 64*1024, 2, 32)
	h := "$argon2id$v=19$m=65536,t=1,p=2$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	if err := Check(h, "s3cret"); err != nil {
		t.Fatalf("Check(old hash) = %v", err)
	}
	if err := Check(h, "wrong"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Check(old hash, wrong) = %v", err)
	}
}

// A login storm waits for a hash slot instead of taking memory for every
// login at once.
func TestHashesWaitForASlot(t *testing.T) {
	h, _ := Hash("s3cret")
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	done := make(chan error)
	go func() { done <- Check(h, "s3cret") }()
	select {
	case err := <-done:
		t.Fatalf("Check ran with every slot taken (err %v)", err)
	case <-time.After(300 * time.Millisecond): // a hash takes ~50 ms here
	}
	for range cap(hashSlots) {
		<-hashSlots
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
