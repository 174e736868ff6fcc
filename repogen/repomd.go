package repogen

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// finishFiles fixes package counts when packages were skipped, gives the
// metadata files their final names, finishes and compresses the databases
// (or places the reused ones) and adds the group file; it returns the
// repomd entries in createrepo_c's order.
func (v *validated) finishFiles(ctx context.Context, dir string, stats [3]mdStat, dbs [3]*dbWriter, prev [3]*prevDB, dbStats [3]mdStat,
	written, announced int) ([]MetadataFile, error) {
	var files []MetadataFile
	for i, typ := range []string{"primary", "filelists", "other"} {
		st := stats[i]
		if written != announced {
			var err error
			if st, err = rewriteCount(st, written, v.Compression, v.CompressionLevel, v.newHash); err != nil {
				return nil, err
			}
		}
		mf, err := v.place(dir, st, typ+".xml"+v.Compression.suffix(), v.Compression)
		if err != nil {
			return nil, err
		}
		mf.Type = typ
		files = append(files, mf)
	}
	if v.Database {
		var dbFiles [3]MetadataFile
		g, _ := errgroup.WithContext(ctx)
		// Each compression holds a few block buffers (about 8 MiB for
		// bzip2): no more at once than can run at once.
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i, typ := range []string{"primary", "filelists", "other"} {
			g.Go(func() error {
				st := dbStats[i]
				if dbs[i] != nil {
					var err error
					if st, err = v.compressDB(dbs[i], files[i].Checksum, prev[i]); err != nil {
						return err
					}
				}
				mf, err := v.place(dir, st, typ+".sqlite"+v.DatabaseCompression.suffix(), v.DatabaseCompression)
				if err != nil {
					return err
				}
				mf.Type, mf.DatabaseVersion = typ+"_db", dbVersion
				dbFiles[i] = mf
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			for _, d := range dbs {
				if d != nil {
					d.abort()
				}
			}
			return nil, err
		}
		files = append(files, dbFiles[:]...)
	}
	if v.GroupFile != "" {
		group, err := v.addGroupFile(dir)
		if err != nil {
			return nil, err
		}
		files = append(files, group...)
	}
	return files, nil
}

// compressDB finishes a database, recording the checksum of the XML file it
// mirrors, and compresses it; the raw database is removed.
func (v *validated) compressDB(d *dbWriter, xmlChecksum string, prev *prevDB) (mdStat, error) {
	if err := d.finish(xmlChecksum); err != nil {
		return mdStat{}, err
	}
	if v.UpdateCache && v.DatabaseCompression == CompressBzip2 {
		return v.compressDBBlocks(d, xmlChecksum, prev)
	}
	defer os.Remove(d.path)
	in, err := os.Open(d.path)
	if err != nil {
		return mdStat{}, fmt.Errorf("reopen %s database: %w", d.typ, err)
	}
	defer in.Close()
	w, err := createMD(filepath.Join(filepath.Dir(d.path), d.typ+".sqlite"+v.DatabaseCompression.suffix()),
		v.DatabaseCompression, 0, v.newHash)
	if err != nil {
		return mdStat{}, err
	}
	if _, err := io.Copy(w, in); err != nil {
		w.abort()
		return mdStat{}, fmt.Errorf("compress %s database: %w", d.typ, err)
	}
	st, err := w.finish()
	if err == nil && v.UpdateCache {
		err = v.keepRawDB(d.path, d.typ, xmlChecksum, st)
	}
	return st, err
}

// place renames a finished file to its published name and describes it.
func (v *validated) place(dir string, st mdStat, name string, comp Compression) (MetadataFile, error) {
	if !v.SimpleNames {
		name = st.checksum + "-" + name
	}
	final := filepath.Join(dir, name)
	if st.path != final {
		if err := os.Rename(st.path, final); err != nil {
			return MetadataFile{}, fmt.Errorf("name metadata file: %w", err)
		}
	}
	fi, err := os.Stat(final)
	if err != nil {
		return MetadataFile{}, fmt.Errorf("stat metadata file: %w", err)
	}
	mf := MetadataFile{
		Href:      "repodata/" + name,
		Checksum:  st.checksum,
		Size:      st.size,
		Timestamp: fi.ModTime().Unix(),
	}
	if st.openChecksum != "" && comp != CompressNone {
		mf.OpenChecksum, mf.OpenSize = st.openChecksum, st.openSize
	}
	v.finished(final)
	return mf, nil
}

// finished reports a complete file of the new repodata (Options.Finished).
func (v *validated) finished(path string) {
	if v.Finished != nil {
		v.Finished(path)
	}
}

// addGroupFile copies the comps file as is ("group") and compressed
// ("group_gz", "group_zst" or "group_xz").
func (v *validated) addGroupFile(dir string) ([]MetadataFile, error) {
	base := filepath.Base(v.GroupFile)
	src, err := os.Open(v.GroupFile)
	if err != nil {
		return nil, fmt.Errorf("open group file: %w", err)
	}
	defer src.Close()

	plainPath := filepath.Join(dir, base)
	plain, err := os.OpenFile(plainPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("copy group file: %w", err)
	}
	h := v.newHash()
	n, err := io.Copy(io.MultiWriter(plain, h), src)
	if err == nil {
		err = plain.Sync()
	}
	if cerr := plain.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("copy group file: %w", err)
	}
	plainSt := mdStat{path: plainPath, checksum: hex.EncodeToString(h.Sum(nil)), size: n}

	files := []MetadataFile{}
	mf, err := v.place(dir, plainSt, base, CompressNone)
	if err != nil {
		return nil, err
	}
	mf.Type = "group"
	files = append(files, mf)
	if v.GroupCompression == CompressNone {
		return files, nil
	}

	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("reread group file: %w", err)
	}
	suffix := v.GroupCompression.suffix()
	w, err := createMD(filepath.Join(dir, base+suffix+".tmp"), v.GroupCompression, 0, v.newHash)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, src); err != nil {
		w.abort()
		return nil, fmt.Errorf("compress group file: %w", err)
	}
	st, err := w.finish()
	if err != nil {
		return nil, err
	}
	mf, err = v.place(dir, st, base+suffix, v.GroupCompression)
	if err != nil {
		return nil, err
	}
	mf.Type = "group_" + suffix[1:]
	return append(files, mf), nil
}

// writeRepomd writes repomd.xml as createrepo_c formats it, and syncs it.
func writeRepomd(path, revision, checksumType string, files []MetadataFile) error {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	b.WriteString("<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n")
	b.WriteString("  <revision>")
	b.Write(appendText(nil, []byte(revision)))
	b.WriteString("</revision>\n")
	for _, f := range files {
		fmt.Fprintf(&b, "  <data type=\"%s\">\n", appendAttr(nil, []byte(f.Type)))
		fmt.Fprintf(&b, "    <checksum type=\"%s\">%s</checksum>\n", checksumType, f.Checksum)
		if f.OpenChecksum != "" {
			fmt.Fprintf(&b, "    <open-checksum type=\"%s\">%s</open-checksum>\n", checksumType, f.OpenChecksum)
		}
		fmt.Fprintf(&b, "    <location href=\"%s\"/>\n", appendAttr(nil, []byte(f.Href)))
		b.WriteString("    <timestamp>" + strconv.FormatInt(f.Timestamp, 10) + "</timestamp>\n")
		b.WriteString("    <size>" + strconv.FormatInt(f.Size, 10) + "</size>\n")
		if f.OpenChecksum != "" {
			b.WriteString("    <open-size>" + strconv.FormatInt(f.OpenSize, 10) + "</open-size>\n")
		}
		if f.DatabaseVersion != 0 {
			b.WriteString("    <database_version>" + strconv.Itoa(f.DatabaseVersion) + "</database_version>\n")
		}
		b.WriteString("  </data>\n")
	}
	b.WriteString("</repomd>\n")
	return writeFileSync(path, b.Bytes())
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
