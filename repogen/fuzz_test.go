package repogen

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"

	"kojigo/internal/rpmhdr"
	"kojigo/repogen/internal/testrpm"
)

// wellFormed reports an error unless frag is well-formed XML once wrapped in
// a root element declaring the rpm namespace.
func wellFormed(frag []byte) error {
	doc := append([]byte(`<r xmlns:rpm="http://linux.duke.edu/metadata/rpm">`), frag...)
	doc = append(doc, "</r>"...)
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		if _, err := d.Token(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// FuzzEncode reads arbitrary bytes as a package and, when the header is
// accepted, checks that all three metadata fragments are well-formed XML:
// whatever a header contains, the engine never writes a broken repository.
func FuzzEncode(f *testing.F) {
	for _, s := range testrpm.Corpus(5, 11) {
		b, err := testrpm.Build(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := rpmhdr.NewReader(rpmhdr.Limits{MaxHeaderBytes: 1 << 20})
		p, err := rd.Read(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			return
		}
		enc := newEncoder(DefaultChangelogLimit, true)
		var out pkgXML
		fi := &fileInfo{href: "p.rpm", size: int64(len(in)), checksum: "00", checksumType: "sha256"}
		if err := enc.encode(p, fi, &out); err != nil {
			return
		}
		for name, frag := range map[string][]byte{"primary": out.primary, "filelists": out.filelists, "other": out.other} {
			if err := wellFormed(frag); err != nil {
				t.Fatalf("%s fragment is not well-formed XML: %v\n%q", name, err, frag)
			}
		}
	})
}

// FuzzSplitPackages feeds arbitrary previous metadata to the record
// splitter: it must not panic or loop, and every record it yields must be
// one <package> element ending in a newline.
func FuzzSplitPackages(f *testing.F) {
	f.Add([]byte("<?xml version=\"1.0\"?>\n<metadata packages=\"2\">\n<package type=\"rpm\"><name>a</name></package>\n<package type=\"rpm\">\n<packager>x</packager></package>\n</metadata>"))
	f.Add([]byte("<package><package </package>"))
	f.Add([]byte("<packager></packager><package>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sc := bufio.NewScanner(bytes.NewReader(in))
		sc.Buffer(make([]byte, 0, 16), 1<<16)
		sc.Split(splitPackages)
		n := 0
		for sc.Scan() {
			rec := sc.Bytes()
			if !bytes.HasPrefix(rec, tagPackageOpen) || !bytes.HasSuffix(rec, []byte("</package>\n")) {
				t.Fatalf("record %q", rec)
			}
			if n++; n > len(in) {
				t.Fatal("more records than input bytes")
			}
		}
	})
}
