// Package testrpm builds small, valid RPM packages for the repogen tests,
// including the corners createrepo_c treats specially (libc and rpmlib
// requires, pre flags, duplicate and self-satisfied requires, odd version
// strings, equal changelog dates, non-ASCII and ISO-8859-1 text, ghosts,
// source packages), so tests need no external corpus.
package testrpm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/google/rpmpack"
)

// Header tags rpmpack has no field for.
const (
	tagSourceRPM      = 1044
	tagProvideName    = 1047
	tagRequireFlags   = 1048
	tagRequireName    = 1049
	tagRequireVersion = 1050
	tagConflictFlags  = 1053
	tagConflictName   = 1054
	tagConflictVer    = 1055
	tagChangelogTime  = 1080
	tagChangelogName  = 1081
	tagChangelogText  = 1082
	tagObsoleteName   = 1090
	tagSourcePackage  = 1106
	tagProvideFlags   = 1112
	tagProvideVersion = 1113
	tagObsoleteFlags  = 1114
	tagObsoleteVer    = 1115
	tagRecommendName  = 5046
	tagSuggestName    = 5049
	tagSupplementName = 5052
	tagEnhanceName    = 5055
	sigPayloadSize    = 1007
)

// Dependency sense flags.
const (
	Less       = 1 << 1
	Greater    = 1 << 2
	Equal      = 1 << 3
	Prereq     = 1 << 6
	ScriptPre  = 1 << 9
	ScriptPost = 1 << 10
	RPMLib     = 1 << 24
)

// Dep is one dependency entry.
type Dep struct {
	Name, Version string
	Flags         uint32
}

// File is one file entry. Mode carries the type bits (040000 for a
// directory, 0120000 for a symlink whose target is Body).
type File struct {
	Path  string
	Mode  uint
	Body  string
	Ghost bool
}

// Change is one changelog entry; header order is newest first.
type Change struct {
	Time         uint32
	Author, Text string
}

// Spec describes a package.
type Spec struct {
	Name, Version, Release, Arch string
	Epoch                        uint32 // rpmpack.NoEpoch for none
	Summary, Description         string
	URL, Vendor, Packager, Group string
	License, BuildHost           string
	BuildTime                    int64
	MTime                        int64 // the .rpm file's mtime
	Source                       bool
	Files                        []File
	Provides, Requires           []Dep
	Conflicts, Obsoletes         []Dep
	Recommends, Suggests         []Dep
	Supplements, Enhances        []Dep
	Changelog                    []Change
}

// FileName is name-version-release.arch.rpm (src for source packages).
func (s *Spec) FileName() string {
	arch := s.Arch
	if s.Source {
		arch = "src"
	}
	return fmt.Sprintf("%s-%s-%s.%s.rpm", s.Name, s.Version, s.Release, arch)
}

// Build renders s as an RPM file.
func Build(s *Spec) ([]byte, error) {
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name: s.Name, Version: s.Version, Release: s.Release, Arch: s.Arch, Epoch: s.Epoch,
		Summary: s.Summary, Description: s.Description, URL: s.URL, Vendor: s.Vendor,
		Packager: s.Packager, Group: s.Group, Licence: s.License, BuildHost: s.BuildHost,
		BuildTime: time.Unix(s.BuildTime, 0), Compressor: "gzip",
	})
	if err != nil {
		return nil, err
	}
	archive := 0
	pad4 := func(n int) int { return (n + 3) &^ 3 }
	for _, f := range s.Files {
		typ := rpmpack.GenericFile
		if f.Ghost {
			typ = rpmpack.GhostFile
		}
		r.AddFile(rpmpack.RPMFile{Name: f.Path, Body: []byte(f.Body), Mode: f.Mode,
			Owner: "root", Group: "root", MTime: uint32(s.BuildTime), Type: typ})
		if !f.Ghost {
			archive += pad4(110+len(f.Path)+1) + pad4(len(f.Body))
		}
	}
	archive += pad4(110 + len("TRAILER!!!") + 1)
	deps := func(list []Dep, name, ver, flags int) {
		if len(list) == 0 {
			return
		}
		n := make([]string, len(list))
		v := make([]string, len(list))
		fl := make([]uint32, len(list))
		for i, d := range list {
			n[i], v[i], fl[i] = d.Name, d.Version, d.Flags
		}
		r.AddCustomTag(name, rpmpack.EntryStringSlice(n))
		r.AddCustomTag(ver, rpmpack.EntryStringSlice(v))
		r.AddCustomTag(flags, rpmpack.EntryUint32(fl))
	}
	deps(s.Provides, tagProvideName, tagProvideVersion, tagProvideFlags)
	deps(s.Requires, tagRequireName, tagRequireVersion, tagRequireFlags)
	deps(s.Conflicts, tagConflictName, tagConflictVer, tagConflictFlags)
	deps(s.Obsoletes, tagObsoleteName, tagObsoleteVer, tagObsoleteFlags)
	deps(s.Recommends, tagRecommendName, tagRecommendName+1, tagRecommendName+2)
	deps(s.Suggests, tagSuggestName, tagSuggestName+1, tagSuggestName+2)
	deps(s.Supplements, tagSupplementName, tagSupplementName+1, tagSupplementName+2)
	deps(s.Enhances, tagEnhanceName, tagEnhanceName+1, tagEnhanceName+2)
	if n := len(s.Changelog); n > 0 {
		times := make([]uint32, n)
		names := make([]string, n)
		texts := make([]string, n)
		for i, c := range s.Changelog {
			times[i], names[i], texts[i] = c.Time, c.Author, c.Text
		}
		r.AddCustomTag(tagChangelogTime, rpmpack.EntryUint32(times))
		r.AddCustomTag(tagChangelogName, rpmpack.EntryStringSlice(names))
		r.AddCustomTag(tagChangelogText, rpmpack.EntryStringSlice(texts))
	}
	if s.Source {
		r.AddCustomTag(tagSourcePackage, rpmpack.EntryUint32([]uint32{1}))
	} else {
		r.AddCustomTag(tagSourceRPM, rpmpack.EntryString(fmt.Sprintf("%s-%s-%s.src.rpm", s.Name, s.Version, s.Release)))
	}
	r.AddCustomSig(sigPayloadSize, rpmpack.EntryUint32([]uint32{uint32(archive)}))
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, fmt.Errorf("build %s: %w", s.FileName(), err)
	}
	return buf.Bytes(), nil
}

// Write builds s into dir/FileName() and sets the file's mtime; it returns
// the file's path.
func Write(dir string, s *Spec) (string, error) {
	b, err := Build(s)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, s.FileName())
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return "", err
	}
	mt := time.Unix(s.MTime, 0)
	if err := os.Chtimes(p, mt, mt); err != nil {
		return "", err
	}
	return p, nil
}

var words = []string{"amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbor",
	"indigo", "jasper", "kelp", "lumen", "mistral", "nectar", "onyx", "prairie", "quartz", "raven",
	"sierra", "tundra", "umber", "vortex", "willow", "xenon", "yarrow", "zephyr"}

var authors = []string{
	"Ana Souza <asouza@example.org>",
	"Zoë Müller <zmuller@example.org>",
	"Łukasz Kowalski <lkowalski@example.org>",
	"Kenji Sato <ksato@example.org>   ", // trailing spaces are trimmed
	"Tab\tPerson <tab@example.org>",     // a TAB in an attribute
	"R&D <rd@example.org>",
}

// Corpus returns n deterministic package specs of varied shapes. The same n
// and seed give the same specs; the first k specs of a corpus of n > k are
// the corpus of k.
func Corpus(n int, seed uint64) []*Spec {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	specs := make([]*Spec, 0, n)
	for i := range n {
		specs = append(specs, corpusSpec(i, rng))
	}
	return specs
}

// WriteCorpus writes Corpus(n, seed) into dir and returns the file names.
func WriteCorpus(dir string, n int, seed uint64) ([]string, error) {
	var names []string
	for _, s := range Corpus(n, seed) {
		if _, err := Write(dir, s); err != nil {
			return nil, err
		}
		names = append(names, s.FileName())
	}
	return names, nil
}

func corpusSpec(i int, rng *rand.Rand) *Spec {
	w := words[i%len(words)]
	base := fmt.Sprintf("%s%d", w, i)
	s := &Spec{
		Version:     fmt.Sprintf("%d.%d.%d", 1+rng.IntN(5), rng.IntN(20), rng.IntN(10)),
		Release:     fmt.Sprintf("%d.fc40", 1+rng.IntN(9)),
		Arch:        "x86_64",
		Epoch:       rpmpack.NoEpoch,
		Summary:     fmt.Sprintf("The %s package & friends <%d>", w, i),
		Description: fmt.Sprintf("It handles %s streams & buffers (<1 ms).\nSecond line: \"quoted\" and naïve — café.", w),
		URL:         "https://" + base + ".example.org/",
		Vendor:      "testrpm",
		Packager:    "Test Builder <build@example.invalid>",
		Group:       "Unspecified",
		License:     "MIT",
		BuildHost:   "builder.example.invalid",
		BuildTime:   1600000000 + int64(i)*3600,
		MTime:       1600000100 + int64(i)*3600,
	}
	evr := s.Version + "-" + s.Release
	if i%7 == 3 {
		s.Epoch = uint32(1 + i%3)
		evr = fmt.Sprintf("%d:%s", s.Epoch, evr)
	}
	libc := []Dep{
		{Name: "libc.so.6()(64bit)"},
		{Name: "libc.so.6(GLIBC_2.4)(64bit)"},
		{Name: "libc.so.6(GLIBC_2.38)(64bit)"},
		{Name: "libc.so.6(GLIBC_2.17)(64bit)"},
	}
	rpmlib := Dep{Name: "rpmlib(CompressedFileNames)", Version: "3.0.4-1", Flags: Less | Equal | RPMLib}
	switch i % 5 {
	case 0: // library
		s.Name = "lib" + base
		so := fmt.Sprintf("lib%s.so.%d", base, 1+i%3)
		s.Files = []File{
			{Path: "/usr/lib64/" + so + ".2", Mode: 0o100755, Body: "\x7fELF" + base},
			{Path: "/usr/lib64/" + so, Mode: 0o120777, Body: so + ".2"},
			{Path: "/usr/share/doc/lib" + base, Mode: 0o40755},
			{Path: "/usr/share/doc/lib" + base + "/README", Mode: 0o100644, Body: "readme " + base},
		}
		s.Provides = []Dep{{Name: so + "()(64bit)"}, {Name: s.Name, Version: evr, Flags: Equal},
			{Name: s.Name + "(x86-64)", Version: evr, Flags: Equal}}
		s.Requires = append([]Dep{rpmlib, {Name: "rtld(GNU_HASH)"}}, libc[i%4:]...)
		s.Requires = append(s.Requires, libc[:i%4]...)
		if i >= 5 {
			prev := fmt.Sprintf("lib%s%d.so.%d()(64bit)", words[(i-5)%len(words)], i-5, 1+(i-5)%3)
			s.Requires = append(s.Requires, Dep{Name: prev})
		}
	case 1: // application
		s.Name = base
		s.Files = []File{
			{Path: "/etc/" + base, Mode: 0o40755},
			{Path: "/etc/" + base + "/" + base + ".conf", Mode: 0o100644, Body: "key = value\n"},
			{Path: "/usr/bin/" + base, Mode: 0o100755, Body: "#!/bin/sh\n"},
			{Path: "/usr/sbin/" + base + "d", Mode: 0o100755, Body: "\x7fELF"},
			{Path: "/usr/lib/systemd/system/" + base + ".service", Mode: 0o100644, Body: "[Unit]\n"},
			{Path: "/var/log/" + base + ".log", Mode: 0o100644, Ghost: true},
			{Path: "/etc/" + base + "/ghost.conf", Mode: 0o100644, Ghost: true},
		}
		s.Provides = []Dep{{Name: "config(" + base + ")", Version: evr, Flags: Equal},
			{Name: s.Name, Version: evr, Flags: Equal}, {Name: s.Name + "(x86-64)", Version: evr, Flags: Equal}}
		s.Requires = []Dep{
			{Name: "/bin/sh", Flags: ScriptPost},
			{Name: "/bin/sh", Flags: ScriptPre | Prereq},
			{Name: "/bin/sh"},
			{Name: "/bin/sh"},                          // a repeat, dropped
			{Name: "/usr/bin/" + base},                 // an own primary file, dropped
			{Name: s.Name, Version: evr, Flags: Equal}, // equals an own provide
			{Name: "systemd", Flags: ScriptPost},
			{Name: "systemd", Flags: 1 << 11}, // preun: a plain entry
			rpmlib,
		}
		s.Requires = append(s.Requires, libc[1], libc[0])
		s.Conflicts = []Dep{{Name: base + "-legacy", Version: "1.0", Flags: Less}}
		s.Obsoletes = []Dep{{Name: base + "-compat", Version: evr, Flags: Less}}
		s.Recommends = []Dep{{Name: "lib" + base + "-doc"}}
	case 2: // python, noarch
		s.Name = "python3-" + base
		s.Arch = "noarch"
		dir := "/usr/lib/python3.12/site-packages/" + base
		s.Files = []File{{Path: dir, Mode: 0o40755}}
		for j := range 1 + rng.IntN(12) {
			s.Files = append(s.Files, File{Path: fmt.Sprintf("%s/mod%d.py", dir, j), Mode: 0o100644, Body: "pass\n"})
		}
		s.Provides = []Dep{{Name: s.Name, Version: evr, Flags: Equal}, {Name: "python3.12dist(" + base + ")", Version: s.Version, Flags: Equal}}
		s.Requires = []Dep{{Name: "python(abi)", Version: "3.12", Flags: Equal}, {Name: "/usr/bin/python3"},
			{Name: "(python3-" + w + " >= 1.0 with python3-" + w + " < 2~)", Flags: 0}}
		s.Suggests = []Dep{{Name: "python3-" + w + "-doc"}}
		s.Supplements = []Dep{{Name: "(python3 and " + base + ")"}}
		s.Enhances = []Dep{{Name: "python3", Version: "3.12", Flags: Greater | Equal}}
	case 3: // data, noarch, with many entries
		s.Name = base + "-data"
		s.Arch = "noarch"
		dir := "/usr/share/" + base
		s.Files = []File{{Path: dir, Mode: 0o40755}, {Path: dir + "/sub", Mode: 0o40755}}
		for j := range 5 + rng.IntN(40) {
			s.Files = append(s.Files, File{Path: fmt.Sprintf("%s/sub/item%03d.dat", dir, j), Mode: 0o100644, Body: "data"})
		}
		s.Provides = []Dep{{Name: s.Name, Version: evr, Flags: Equal}}
	default: // odd corners
		s.Name = base + "-odd"
		s.Files = []File{
			{Path: "/opt/" + base + "/xbin/tool", Mode: 0o100755, Body: "x"}, // "bin/" anywhere is primary
			{Path: "/usr/lib/sendmail", Mode: 0o100755, Body: "x"},
			{Path: "/etc/" + base + "-ñ&<>.conf", Mode: 0o100644, Body: "x"},
		}
		s.Provides = []Dep{{Name: s.Name, Version: evr, Flags: Equal}, {Name: "odd(" + base + ")", Version: "2:", Flags: Equal}}
		s.Requires = []Dep{
			{Name: "needs-version-only", Version: "1.0", Flags: Greater | Equal},
			{Name: "needs-bad-epoch", Version: "a:1.0-1", Flags: Equal},
			{Name: "needs-empty-epoch", Version: ":1.0-1", Flags: Equal},
			{Name: "needs-empty-release", Version: "1.0-", Flags: Equal},
			{Name: "needs-flags-only", Flags: Equal},
			{Name: "needs-version-no-flags", Version: "3.0"},
			{Name: "/etc/" + base + "-ñ&<>.conf"}, // own primary file
			{Name: "/usr/lib/sendmail"},
			{Name: "with \"quotes\" & <angles>"},
		}
		if i%10 == 9 {
			s.URL, s.Vendor, s.Packager, s.Group = "", "", "", ""
			s.Files = nil // a meta package
		}
		s.Description = "ISO-8859-1 text: caf\xe9 na\xefve \x85 end"
		s.Summary = "odd & <summary> with\rcarriage return"
	}
	// changelog: newest first
	nc := 1 + rng.IntN(4)
	if i%6 == 0 {
		nc = 15 // more than the default limit of 10
	}
	t := uint32(1700000000 - (i%50)*86400)
	for j := range nc {
		c := Change{
			Time:   t,
			Author: fmt.Sprintf("%s - %s-%d", authors[(i+j)%len(authors)], s.Version, nc-j),
			Text:   fmt.Sprintf("- Change %d for %s: fix <issue> & more", j, base),
		}
		if j%5 == 2 {
			c.Text += "\n- multi-line\r\n  entry"
		}
		s.Changelog = append(s.Changelog, c)
		if i%4 == 1 && j < 3 {
			continue // entries 0..3 share one date
		}
		t -= uint32(86400 * (1 + rng.IntN(30)))
	}
	if i%23 == 22 {
		s.Source = true
		s.Files = []File{{Path: base + ".spec", Mode: 0o100644, Body: "Name: x\n"},
			{Path: base + ".tar.gz", Mode: 0o100644, Body: "tarball"}}
		s.Provides = nil
		s.Requires = []Dep{{Name: "gcc"}, {Name: "make"}}
	}
	return s
}
