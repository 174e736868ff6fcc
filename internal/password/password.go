// Package password hashes and checks login passwords. Hashes are argon2id
// in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so
// parameters can be raised later without breaking stored hashes.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters of new hashes: OWASP's first argon2id option (19 MiB, 2
// passes, 1 lane). Each hash in flight holds its memory, so a hub that 1,000
// builders log in to at once must not run them all together: see hashSlots.
const (
	memoryKiB = 19 * 1024
	timeCost  = 2
	threads   = 1
	keyLen    = 32
	saltLen   = 16
	// MaxLen bounds a password so that hashing cannot be used to burn CPU.
	MaxLen = 1024
)

var b64 = base64.RawStdEncoding

// hashSlots bounds the hashes computed at once to the CPUs Go may use:
// hashing is CPU-bound, so more at once only adds memory (m KiB each; 64 MiB
// for hashes made with the earlier parameters), and a login storm after a
// hub restart would otherwise take memory in proportion to the builders.
var hashSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

func idKey(pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(pw, salt, t, m, p, n)
}

// ErrMismatch means the password does not match the hash.
var ErrMismatch = errors.New("password does not match")

// Hash returns the PHC string of a new argon2id hash of pw.
func Hash(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("empty password")
	}
	if len(pw) > MaxLen {
		return "", fmt.Errorf("password longer than %d bytes", MaxLen)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey([]byte(pw), salt, timeCost, memoryKiB, threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, timeCost, threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Check compares pw with a stored hash: nil when they match, ErrMismatch
// when not, another error when the stored hash is unusable.
func Check(hash, pw string) error {
	if len(pw) > MaxLen {
		return ErrMismatch
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("stored password hash is not argon2id")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return errors.New("stored password hash has an unknown version")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<22 || t == 0 || t > 16 || p == 0 {
		return errors.New("stored password hash has bad parameters")
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return errors.New("stored password hash has a bad salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return errors.New("stored password hash has a bad key")
	}
	got := idKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}
