package repogen

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
)

// errNoPrevious means there is no previous repomd.xml.
var errNoPrevious = errors.New("no previous metadata")

// maxRecord bounds one package record of previous metadata; a bigger one
// stops reuse (the packages are then read again) instead of growing memory.
const maxRecord = 64 << 20

// repomdDoc is the part of repomd.xml the engine reads back.
type repomdDoc struct {
	Data []struct {
		Type     string `xml:"type,attr"`
		Checksum struct {
			Type string `xml:"type,attr"`
		} `xml:"checksum"`
		Location struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
	} `xml:"data"`
}

// oldRecord is one package of the previous metadata.
type oldRecord struct {
	href                      string
	size, mtime               int64
	checksumType              string
	primary, filelists, other []byte // raw <package> elements, each ending in "\n"
}

// oldRepo streams the previous metadata in lock step, so that the engine
// can look packages up in its own (sorted) order without loading it.
type oldRepo struct {
	log      *slog.Logger
	closers  []io.Closer
	stop     chan struct{}
	pri      *recordStream
	fil, oth *recordStream
	next     *oldRecord
	done     bool
	rec      oldRecord // storage for next
}

// streamAhead is how many records each previous file is decompressed ahead.
const streamAhead = 32

// recordStream decompresses and splits one previous metadata file in its
// own goroutine, at most streamAhead records ahead of its reader, so the
// three files decompress in parallel with each other and the pipeline.
type recordStream struct {
	recs chan []byte
	free chan []byte
	err  error // valid once recs is closed
	done chan struct{}
}

func newRecordStream(sc *bufio.Scanner, stop <-chan struct{}) *recordStream {
	s := &recordStream{
		recs: make(chan []byte, streamAhead),
		free: make(chan []byte, streamAhead+2),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		defer close(s.recs)
		for sc.Scan() {
			var b []byte
			select {
			case b = <-s.free:
			default:
			}
			b = append(b[:0], sc.Bytes()...)
			select {
			case s.recs <- b:
			case <-stop:
				return
			}
		}
		s.err = sc.Err()
	}()
	return s
}

// next returns the next record, or false at the end (then s.err tells why).
func (s *recordStream) next() ([]byte, bool) {
	b, ok := <-s.recs
	return b, ok
}

// release hands a record's buffer back for reuse.
func (s *recordStream) release(b []byte) {
	if b == nil {
		return
	}
	select {
	case s.free <- b:
	default:
	}
}

// openOldRepo opens the previous metadata in repodataDir (whose repomd.xml
// hrefs are relative to its parent directory).
func openOldRepo(repodataDir string, log *slog.Logger) (*oldRepo, error) {
	raw, err := os.ReadFile(filepath.Join(repodataDir, "repomd.xml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoPrevious
	}
	if err != nil {
		return nil, fmt.Errorf("read previous repomd.xml: %w", err)
	}
	var doc repomdDoc
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse previous repomd.xml: %w", err)
	}
	hrefs := map[string]string{}
	for _, d := range doc.Data {
		hrefs[d.Type] = d.Location.Href
	}
	o := &oldRepo{log: log, stop: make(chan struct{})}
	root := filepath.Dir(repodataDir)
	var scanners []*bufio.Scanner
	for _, typ := range []string{"primary", "filelists", "other"} {
		href := hrefs[typ]
		if href == "" {
			o.Close()
			return nil, fmt.Errorf("previous repomd.xml has no %s entry", typ)
		}
		// Only follow hrefs that stay inside the old repository.
		if !filepath.IsLocal(href) {
			o.Close()
			return nil, fmt.Errorf("previous repomd.xml: %s location %q leaves the repository", typ, href)
		}
		f, err := os.Open(filepath.Join(root, href))
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("open previous %s: %w", typ, err)
		}
		o.closers = append(o.closers, f)
		dec, err := newDecompressor(f)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("previous %s: %w", typ, err)
		}
		o.closers = append(o.closers, dec)
		sc := bufio.NewScanner(dec)
		sc.Buffer(make([]byte, 0, 256<<10), maxRecord)
		sc.Split(splitPackages)
		scanners = append(scanners, sc)
	}
	o.pri = newRecordStream(scanners[0], o.stop)
	o.fil = newRecordStream(scanners[1], o.stop)
	o.oth = newRecordStream(scanners[2], o.stop)
	return o, nil
}

// Close stops the readers and releases the files.
func (o *oldRepo) Close() error {
	close(o.stop)
	for _, s := range []*recordStream{o.pri, o.fil, o.oth} {
		if s != nil {
			<-s.done
		}
	}
	for i := len(o.closers) - 1; i >= 0; i-- {
		o.closers[i].Close()
	}
	o.closers = nil
	return nil
}

var (
	tagPackageOpen  = []byte("<package")
	tagPackageClose = []byte("</package>")
)

// splitPackages is a bufio.SplitFunc yielding each <package>...</package>
// element with its trailing newline. '<' never occurs unescaped in text or
// attributes, so the closing tag cannot occur inside a record.
func splitPackages(data []byte, atEOF bool) (int, []byte, error) {
	start := -1
	for off := 0; ; {
		i := bytes.Index(data[off:], tagPackageOpen)
		if i < 0 {
			break
		}
		i += off
		if j := i + len(tagPackageOpen); j < len(data) && (data[j] == ' ' || data[j] == '>') {
			start = i
			break
		} else if j >= len(data) && !atEOF {
			return i, nil, nil
		}
		off = i + 1
	}
	if start < 0 {
		if atEOF {
			return len(data), nil, nil
		}
		if keep := len(tagPackageOpen); len(data) > keep {
			return len(data) - keep, nil, nil
		}
		return 0, nil, nil
	}
	end := bytes.Index(data[start:], tagPackageClose)
	if end < 0 {
		if atEOF {
			return 0, nil, errors.New("previous metadata ends inside a package")
		}
		return start, nil, nil
	}
	stop := start + end + len(tagPackageClose)
	if stop == len(data) && !atEOF {
		return start, nil, nil // see whether a newline follows
	}
	if stop < len(data) && data[stop] == '\n' {
		stop++
	}
	rec := data[start:stop]
	if rec[len(rec)-1] != '\n' {
		rec = append(rec[:len(rec):len(rec)], '\n')
	}
	return stop, rec, nil
}

// advance reads the next record of all three files. It stops reuse on any
// inconsistency: reuse is an optimisation, never a source of wrong data.
func (o *oldRepo) advance() {
	o.next = nil
	if o.done {
		return
	}
	stop := func(why string, args ...any) {
		o.done = true
		if why != "" {
			o.log.Warn("previous metadata not reused from here on: "+why, args...)
		}
	}
	r := &o.rec
	o.pri.release(r.primary)
	o.fil.release(r.filelists)
	o.oth.release(r.other)
	r.primary, r.filelists, r.other = nil, nil, nil
	pri, ok := o.pri.next()
	if !ok {
		if o.pri.err != nil {
			stop("cannot read primary", "err", o.pri.err)
		} else {
			stop("")
		}
		return
	}
	r.primary = pri
	fil, ok1 := o.fil.next()
	oth, ok2 := o.oth.next()
	r.filelists, r.other = fil, oth
	if !ok1 || !ok2 {
		stop("filelists or other ends before primary")
		return
	}

	pkgid, ctype, ok := primaryChecksum(r.primary)
	if !ok {
		stop("primary record without checksum")
		return
	}
	if string(attrBytes(r.filelists, "pkgid")) != pkgid || string(attrBytes(r.other, "pkgid")) != pkgid {
		stop("primary, filelists and other are not in the same order", "pkgid", pkgid)
		return
	}
	loc := elemAttrs(r.primary, "<location ")
	if loc == nil || len(attrBytes(loc, "xml:base")) > 0 {
		// A record with a base URL cannot be reproduced by this run: read
		// the package again instead.
		r.href = ""
	} else {
		r.href = html.UnescapeString(attrValue(loc, "href"))
	}
	r.size, _ = strconv.ParseInt(attrValue(elemAttrs(r.primary, "<size "), "package"), 10, 64)
	r.mtime, _ = strconv.ParseInt(attrValue(elemAttrs(r.primary, "<time "), "file"), 10, 64)
	r.checksumType = ctype
	o.next = r
}

// lookup returns the previous record for href, assuming lookups come in the
// engine's package order. Records of packages that are gone are skipped. The
// record is valid until the next lookup.
func (o *oldRepo) lookup(href string) *oldRecord {
	for {
		if o.next == nil {
			o.advance()
			if o.next == nil {
				return nil
			}
		}
		switch c := comparePaths(o.next.href, href); {
		case c < 0:
			o.next = nil // a package no longer in the repository
		case c == 0:
			r := o.next
			o.next = nil
			return r
		default:
			return nil // a new package
		}
	}
}

// swapInto moves the record's three elements into out without copying; the
// buffers out held go back to the readers for reuse.
func (r *oldRecord) swapInto(out *pkgXML) {
	out.primary, r.primary = r.primary, out.primary[:0]
	out.filelists, r.filelists = r.filelists, out.filelists[:0]
	out.other, r.other = r.other, out.other[:0]
}

// elemAttrs returns the attribute text of the first element starting with
// open ("<location "), up to its closing '>'.
func elemAttrs(rec []byte, open string) []byte {
	i := bytes.Index(rec, []byte(open))
	if i < 0 {
		return nil
	}
	rest := rec[i+len(open)-1:]
	j := bytes.IndexByte(rest, '>')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// attrValue returns the raw value of attribute name in the first start tag
// of b (or in an attribute list from elemAttrs).
func attrValue(b []byte, name string) string { return string(attrBytes(b, name)) }

// attrBytes is attrValue's bytes, a slice of b.
func attrBytes(b []byte, name string) []byte {
	if end := bytes.IndexByte(b, '>'); end >= 0 {
		b = b[:end]
	}
	i := bytes.Index(b, []byte(" "+name+`="`))
	if i < 0 {
		return nil
	}
	rest := b[i+len(name)+3:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// primaryChecksum returns the pkgid and checksum type of a primary record.
func primaryChecksum(rec []byte) (pkgid, typ string, ok bool) {
	id, t, ok := primaryChecksumBytes(rec)
	return string(id), string(t), ok
}

// primaryChecksumBytes is primaryChecksum's bytes, slices of rec.
func primaryChecksumBytes(rec []byte) (pkgid, typ []byte, ok bool) {
	attrs := elemAttrs(rec, "<checksum ")
	if attrs == nil {
		return nil, nil, false
	}
	typ = attrBytes(attrs, "type")
	i := bytes.Index(rec, []byte("<checksum "))
	rest := rec[i:]
	gt := bytes.IndexByte(rest, '>')
	lt := bytes.Index(rest, []byte("</checksum>"))
	if gt < 0 || lt < gt {
		return nil, nil, false
	}
	return rest[gt+1 : lt], typ, true
}
