package kojiclient

import (
	"context"
	"testing"
)

// BenchmarkCallLoggedIn measures one logged-in call through the loopback
// fake hub (encode, HTTP, decode, session checks on both sides).
func BenchmarkCallLoggedIn(b *testing.B) {
	h := newFakeHub(b)
	h.handle = pingHandler
	c := newTestClient(b, h, nil)
	login(b, c)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Call(ctx, "ping"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadFile measures a 4 MiB upload in 1 MiB chunks with the
// per-chunk and final adler32 checks.
func BenchmarkUploadFile(b *testing.B) {
	h := newFakeHub(b)
	c := newTestClient(b, h, nil)
	login(b, c)
	data := make([]byte, 4<<20)
	local := writeFile(b, b.TempDir(), "big.rpm", data)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.UploadFile(ctx, local, "tasks/1/1", "", nil); err != nil {
			b.Fatal(err)
		}
	}
}
