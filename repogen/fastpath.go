package repogen

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// reusable describes previous metadata files that can be published again
// unchanged, because they describe exactly the packages of this run.
type reusable struct {
	files [6]struct { // primary, filelists, other, and their databases
		path                   string
		checksum, openChecksum string
		size, openSize         int64
	}
}

// repomdFull is repomd.xml with the fields a verbatim reuse needs.
type repomdFull struct {
	Data []struct {
		Type     string `xml:"type,attr"`
		Checksum struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"checksum"`
		OpenChecksum string `xml:"open-checksum"`
		Location     struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
		Size     int64 `xml:"size"`
		OpenSize int64 `xml:"open-size"`
	} `xml:"data"`
}

// unchangedRepo checks, reading only the previous primary.xml and stat'ing
// each package, whether the previous metadata lists exactly list, in order,
// with unchanged sizes and modification times (paths alone with SkipStat),
// the same checksum type and the same compression. It returns nil when it
// does not, or when anything about the previous metadata is unexpected:
// the caller then runs the normal pipeline.
func (v *validated) unchangedRepo(list []string) *reusable {
	raw, err := os.ReadFile(filepath.Join(v.UpdateFrom, "repomd.xml"))
	if err != nil {
		return nil
	}
	var doc repomdFull
	if xml.Unmarshal(raw, &doc) != nil {
		return nil
	}
	var r reusable
	found := 0
	root := filepath.Dir(v.UpdateFrom)
	index := map[string]int{"primary": 0, "filelists": 1, "other": 2}
	want := 3
	if v.Database {
		index["primary_db"], index["filelists_db"], index["other_db"] = 3, 4, 5
		want = 6
	}
	for _, d := range doc.Data {
		i, ok := index[d.Type]
		if !ok {
			continue
		}
		suffix, comp := ".xml"+v.Compression.suffix(), v.Compression
		if i >= 3 {
			suffix, comp = ".sqlite"+v.DatabaseCompression.suffix(), v.DatabaseCompression
		}
		if d.Checksum.Type != v.hashName || !strings.HasSuffix(d.Location.Href, suffix) ||
			!filepath.IsLocal(d.Location.Href) || (comp != CompressNone && d.OpenChecksum == "") {
			return nil
		}
		f := &r.files[i]
		f.path = filepath.Join(root, d.Location.Href)
		f.checksum, f.openChecksum = d.Checksum.Value, d.OpenChecksum
		f.size, f.openSize = d.Size, d.OpenSize
		found++
	}
	if found != want {
		return nil
	}
	if !v.primaryMatches(r.files[0].path, list) {
		return nil
	}
	// The files must be what repomd.xml says they are.
	for _, f := range r.files[:want] {
		if sum, size, err := fileSum(f.path, v.newHash); err != nil || sum != f.checksum || size != f.size {
			return nil
		}
	}
	return &r
}

// primaryMatches streams a previous primary.xml and compares it with list.
func (v *validated) primaryMatches(path string, list []string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	dec, err := newDecompressor(f)
	if err != nil {
		return false
	}
	defer dec.Close()
	// The root element says how many packages follow: a different count
	// ends the check before the whole file is decompressed (a package
	// added or removed, the usual update).
	br := bufio.NewReaderSize(dec, 4096)
	if n, ok := declaredPackages(br); ok && n != len(list) {
		return false
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 256<<10), maxRecord)
	sc.Split(splitPackages)
	n := 0
	for sc.Scan() {
		if n >= len(list) {
			return false
		}
		rec := sc.Bytes()
		_, ctype, ok := primaryChecksum(rec)
		loc := elemAttrs(rec, "<location ")
		if !ok || ctype != v.hashName || loc == nil || attrValue(loc, "xml:base") != "" ||
			html.UnescapeString(attrValue(loc, "href")) != list[n] {
			return false
		}
		if !v.SkipStat {
			size, _ := strconv.ParseInt(attrValue(elemAttrs(rec, "<size "), "package"), 10, 64)
			mtime, _ := strconv.ParseInt(attrValue(elemAttrs(rec, "<time "), "file"), 10, 64)
			st, err := os.Stat(filepath.Join(v.BaseDir, filepath.FromSlash(list[n])))
			if err != nil || !st.Mode().IsRegular() || st.Size() != size || st.ModTime().Unix() != mtime {
				return false
			}
		}
		n++
	}
	return sc.Err() == nil && n == len(list)
}

// declaredPackages reads the packages="N" attribute of the <metadata>
// element at the start of a primary.xml, without consuming it.
func declaredPackages(br *bufio.Reader) (int, bool) {
	head, _ := br.Peek(br.Size())
	i := bytes.Index(head, []byte("<metadata "))
	if i < 0 {
		return 0, false
	}
	end := bytes.IndexByte(head[i:], '>')
	if end < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(attrValue(head[i:i+end+1], "packages"))
	return n, err == nil
}

func fileSum(path string, newHash hashFunc) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := newHash()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// publishReused puts the previous files into the work directory (hard links
// where possible) and describes them for repomd.xml: the XML files, and the
// databases with Database.
func (v *validated) publishReused(dir string, r *reusable) (xmlStats, dbStats [3]mdStat, err error) {
	for i, typ := range []string{"primary", "filelists", "other", "primary_db", "filelists_db", "other_db"} {
		if i >= 3 && !v.Database {
			break
		}
		f := r.files[i]
		dst := filepath.Join(dir, typ+".xml"+v.Compression.suffix())
		if i >= 3 {
			dst = filepath.Join(dir, strings.TrimSuffix(typ, "_db")+".sqlite"+v.DatabaseCompression.suffix())
		}
		if err := linkOrCopy(f.path, dst); err != nil {
			return xmlStats, dbStats, fmt.Errorf("reuse previous %s: %w", typ, err)
		}
		st := mdStat{path: dst, checksum: f.checksum, openChecksum: f.openChecksum, size: f.size, openSize: f.openSize}
		if i < 3 {
			xmlStats[i] = st
		} else {
			dbStats[i-3] = st
		}
	}
	return xmlStats, dbStats, nil
}

func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
