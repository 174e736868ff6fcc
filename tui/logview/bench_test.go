package logview

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// buildLog returns about n bytes of build.log: compiler command lines,
// warnings with UTF-8 quotes and gcc's colour codes, make and configure
// chatter, shell traces and tabs.
func buildLog(n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "gcc -DHAVE_CONFIG_H -I. -I..    -O2 -flto=auto -ffat-lto-objects -fexceptions -g -grecord-gcc-switches -pipe -Wall -Werror=format-security -Wp,-U_FORTIFY_SOURCE,-D_FORTIFY_SOURCE=3 -Wp,-D_GLIBCXX_ASSERTIONS -fstack-protector-strong -m64 -mtune=generic -fasynchronous-unwind-tables -fstack-clash-protection -fcf-protection -c -o obj%d.o ../src/file%d.c\n", i, i)
		case 1:
			fmt.Fprintf(&b, "../src/file%d.c: In function ‘parse_%d’:\n", i, i)
		case 2:
			fmt.Fprintf(&b, "\x1b[01m\x1b[K../src/file%d.c:%d:13:\x1b[m\x1b[K \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kunused variable ‘tmp%d’ [\x1b[01;35m\x1b[K-Wunused-variable\x1b[m\x1b[K]\n", i, i%900, i)
		case 3:
			fmt.Fprintf(&b, "  %4d |\t\tint tmp%d = 0;\n", i%900, i)
		case 4:
			fmt.Fprintf(&b, "make[2]: Entering directory '/builddir/build/BUILD/tinyparse-1.4.2/src/sub%d'\n", i%50)
		case 5:
			fmt.Fprintf(&b, "checking for function_%d... yes\n", i)
		case 6:
			fmt.Fprintf(&b, "+ install -p -m 0644 doc/page%d.3 /builddir/build/BUILDROOT/tinyparse-1.4.2-1.fc40.x86_64/usr/share/man/man3/\r\n", i)
		case 7:
			b.WriteString("  CC       libtinyparse_la-parse.lo\n")
		}
	}
	return []byte(b.String())
}

// BenchmarkAppend200MB appends 200 MB of build log in 64 KiB chunks with
// the default bounds and reports the heap in use afterwards.
func BenchmarkAppend200MB(b *testing.B) {
	const total, chunk = 200 << 20, 64 << 10
	src := buildLog(4 << 20)
	b.SetBytes(total)
	b.ReportAllocs()
	var m Model
	for b.Loop() {
		m = New(Options{})
		m.SetSize(120, 40)
		for off := 0; off < total; off += chunk {
			start := off % (len(src) - chunk)
			m.Append(src[start : start+chunk])
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
	b.ReportMetric(float64(m.Bytes())/(1<<20), "held-MiB")
	b.ReportMetric(float64(m.Lines()), "held-lines")
	runtime.KeepAlive(m)
}

// BenchmarkView draws one 120x40 frame from a buffer of 1,000 lines and
// from a full one (8 MiB): the cost must not depend on the buffer.
func BenchmarkView(b *testing.B) {
	src := buildLog(16 << 20)
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1k-lines", 130_000}, {"full-8MiB", len(src)}} {
		base := New(Options{})
		base.SetSize(120, 40)
		base.Append(src[:size.bytes])
		modes := []struct {
			name string
			keys []string
		}{
			{"follow", nil},
			{"follow-wrap", []string{"w"}},
			{"paused-search", []string{"/", "t", "m", "p", "enter", "k"}},
		}
		for _, mode := range modes {
			m := send(b, base, mode.keys...)
			b.Run(size.name+"/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = m.View()
				}
				b.ReportMetric(float64(m.Lines()), "lines-held")
			})
		}
	}
}

// BenchmarkSearch runs a search over a full buffer: the one O(buffer) step.
func BenchmarkSearch(b *testing.B) {
	m := New(Options{})
	m.SetSize(120, 40)
	m.Append(buildLog(16 << 20))
	b.SetBytes(int64(m.Bytes()))
	for b.Loop() {
		m.runSearch("Unused Variable")
	}
	b.ReportMetric(float64(m.total), "matches")
}

// BenchmarkFirstError scans a full buffer's lines for the first error.
func BenchmarkFirstError(b *testing.B) {
	m := New(Options{})
	m.Append(buildLog(16 << 20))
	m.Append([]byte(gccFailure))
	lines := held(m)
	b.SetBytes(int64(m.Bytes()))
	for b.Loop() {
		if _, ok := FirstError(lines); !ok {
			b.Fatal("no error found")
		}
	}
}
