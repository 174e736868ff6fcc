package rpmhdr

import (
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TagInfo describes a header tag by rpm's name for it: its number and
// whether rpm's Python bindings return it as a list (array tags) or as
// one value (scalar tags).
type TagInfo struct {
	Name  string // upper case, without RPMTAG_
	Tag   uint32
	Array bool
}

// Extension tags that rpm computes from others.
const (
	TagFilenames = 5000
	TagNVR       = 1000016
	TagNEVR      = 1000017
	TagNVRA      = 1000018
	TagNEVRA     = 1000019
	TagEVR       = 1000020
)

// More tag numbers of the main header.
const (
	TagFileSizes      = 1028
	TagFileMtimes     = 1034
	TagFileDigests    = 1035 // FILEMD5S
	TagFileUserName   = 1039
	TagFileGroupName  = 1040
	TagLongFileSizes  = 5008
	TagFileDigestAlgo = 5011
	TagNoSource       = 1051
	TagNoPatch        = 1052
)

var tagTable = []TagInfo{
	{"HEADERI18NTABLE", 100, true},
	{"NAME", 1000, false}, {"VERSION", 1001, false}, {"RELEASE", 1002, false}, {"EPOCH", 1003, false},
	{"SERIAL", 1003, false}, {"SUMMARY", 1004, false}, {"DESCRIPTION", 1005, false},
	{"BUILDTIME", 1006, false}, {"BUILDHOST", 1007, false}, {"INSTALLTIME", 1008, false},
	{"SIZE", 1009, false}, {"DISTRIBUTION", 1010, false}, {"VENDOR", 1011, false},
	{"LICENSE", 1014, false}, {"COPYRIGHT", 1014, false}, {"PACKAGER", 1015, false}, {"GROUP", 1016, false},
	{"CHANGELOG", 1017, true}, {"SOURCE", 1018, true}, {"PATCH", 1019, true}, {"URL", 1020, false},
	{"OS", 1021, false}, {"ARCH", 1022, false}, {"PREIN", 1023, false}, {"POSTIN", 1024, false},
	{"PREUN", 1025, false}, {"POSTUN", 1026, false}, {"OLDFILENAMES", 1027, true},
	{"FILESIZES", 1028, true}, {"FILESTATES", 1029, true}, {"FILEMODES", 1030, true},
	{"FILERDEVS", 1033, true}, {"FILEMTIMES", 1034, true}, {"FILEMD5S", 1035, true},
	{"FILEDIGESTS", 1035, true}, {"FILELINKTOS", 1036, true}, {"FILEFLAGS", 1037, true},
	{"FILEUSERNAME", 1039, true}, {"FILEGROUPNAME", 1040, true}, {"ICON", 1043, false},
	{"SOURCERPM", 1044, false}, {"FILEVERIFYFLAGS", 1045, true}, {"ARCHIVESIZE", 1046, false},
	{"PROVIDENAME", 1047, true}, {"PROVIDES", 1047, true}, {"REQUIREFLAGS", 1048, true},
	{"REQUIRENAME", 1049, true}, {"REQUIRES", 1049, true}, {"REQUIREVERSION", 1050, true},
	{"NOSOURCE", 1051, true}, {"NOPATCH", 1052, true}, {"CONFLICTFLAGS", 1053, true},
	{"CONFLICTNAME", 1054, true}, {"CONFLICTS", 1054, true}, {"CONFLICTVERSION", 1055, true},
	{"EXCLUDEARCH", 1059, true}, {"EXCLUDEOS", 1060, true}, {"EXCLUSIVEARCH", 1061, true},
	{"EXCLUSIVEOS", 1062, true}, {"RPMVERSION", 1064, false}, {"TRIGGERSCRIPTS", 1065, true},
	{"TRIGGERNAME", 1066, true}, {"TRIGGERVERSION", 1067, true}, {"TRIGGERFLAGS", 1068, true},
	{"TRIGGERINDEX", 1069, true}, {"VERIFYSCRIPT", 1079, false},
	{"CHANGELOGTIME", 1080, true}, {"CHANGELOGNAME", 1081, true}, {"CHANGELOGTEXT", 1082, true},
	{"PREINPROG", 1085, true}, {"POSTINPROG", 1086, true}, {"PREUNPROG", 1087, true},
	{"POSTUNPROG", 1088, true}, {"BUILDARCHS", 1089, true}, {"OBSOLETENAME", 1090, true},
	{"OBSOLETES", 1090, true}, {"COOKIE", 1094, false}, {"FILEDEVICES", 1095, true},
	{"FILEINODES", 1096, true}, {"FILELANGS", 1097, true}, {"PREFIXES", 1098, true},
	{"SOURCEPACKAGE", 1106, false}, {"PROVIDEFLAGS", 1112, true}, {"PROVIDEVERSION", 1113, true},
	{"OBSOLETEFLAGS", 1114, true}, {"OBSOLETEVERSION", 1115, true}, {"DIRINDEXES", 1116, true},
	{"BASENAMES", 1117, true}, {"DIRNAMES", 1118, true}, {"OPTFLAGS", 1122, false},
	{"DISTURL", 1123, false}, {"PAYLOADFORMAT", 1124, false}, {"PAYLOADCOMPRESSOR", 1125, false},
	{"PAYLOADFLAGS", 1126, false}, {"PLATFORM", 1132, false}, {"FILECOLORS", 1140, true},
	{"FILECLASS", 1141, true}, {"CLASSDICT", 1142, true}, {"FILEDEPENDSX", 1143, true},
	{"FILEDEPENDSN", 1144, true}, {"DEPENDSDICT", 1145, true}, {"SOURCEPKGID", 1146, false},
	{"FILENAMES", TagFilenames, true}, {"LONGFILESIZES", 5008, true}, {"LONGSIZE", 5009, false},
	{"FILECAPS", 5010, true}, {"FILEDIGESTALGO", 5011, false}, {"BUGURL", 5012, false},
	{"VCS", 5034, false}, {"ORDERNAME", 5035, true}, {"ORDERVERSION", 5036, true}, {"ORDERFLAGS", 5037, true},
	{"RECOMMENDNAME", 5046, true}, {"RECOMMENDVERSION", 5047, true}, {"RECOMMENDFLAGS", 5048, true},
	{"SUGGESTNAME", 5049, true}, {"SUGGESTVERSION", 5050, true}, {"SUGGESTFLAGS", 5051, true},
	{"SUPPLEMENTNAME", 5052, true}, {"SUPPLEMENTVERSION", 5053, true}, {"SUPPLEMENTFLAGS", 5054, true},
	{"ENHANCENAME", 5055, true}, {"ENHANCEVERSION", 5056, true}, {"ENHANCEFLAGS", 5057, true},
	{"ENCODING", 5062, false}, {"PAYLOADDIGEST", 5092, true}, {"PAYLOADDIGESTALGO", 5093, false},
	{"MODULARITYLABEL", 5096, false}, {"LONGARCHIVESIZE", 271, false},
	{"NVR", TagNVR, false}, {"NEVR", TagNEVR, false}, {"NVRA", TagNVRA, false},
	{"NEVRA", TagNEVRA, false}, {"EVR", TagEVR, false},
}

var (
	tagsByName   = map[string]TagInfo{}
	tagsByNumber = map[uint32]TagInfo{}
)

func init() {
	for _, t := range tagTable {
		tagsByName[t.Name] = t
		if _, dup := tagsByNumber[t.Tag]; !dup {
			tagsByNumber[t.Tag] = t
		}
	}
}

// LookupTag finds a tag by rpm's name for it, in any case ("license",
// "REQUIRENAME").
func LookupTag(name string) (TagInfo, bool) {
	t, ok := tagsByName[strings.ToUpper(name)]
	return t, ok
}

// TagNameOf is rpm's short name of a known tag as its Python bindings'
// tagnames give it ("Name", "Requirename"), or "" for a tag this package
// does not know.
func TagNameOf(tag uint32) string {
	t, ok := tagsByNumber[tag]
	if !ok {
		return ""
	}
	return t.Name[:1] + strings.ToLower(t.Name[1:])
}

// Tags returns the tag numbers present in the header, in index order.
func (h *Header) Tags() []uint32 {
	n := h.Len()
	out := make([]uint32, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, binary.BigEndian.Uint32(h.index[i*entrySize:]))
	}
	return out
}

// Value returns a tag's value as rpm's Python bindings do: for a scalar
// tag a string, an int64 or a []byte (nil when absent); for an array tag
// a []string or []int64 ([]any{} when absent). Strings are made printable
// UTF-8 (Printable). Extension tags (FILENAMES, NVR, NEVRA, ...) are
// computed.
func (h *Header) Value(t TagInfo) any {
	switch t.Tag {
	case TagFilenames:
		return stringsAny(h.Filenames())
	case TagNVR, TagNEVR, TagNVRA, TagNEVRA, TagEVR:
		return Printable(h.nevra(t.Tag))
	}
	typ, _, _, ok := h.entry(t.Tag)
	if !ok {
		if t.Array {
			return []any{}
		}
		return nil
	}
	var vals []any
	switch typ {
	case TypeString, TypeI18NString, TypeStringArray:
		if !t.Array {
			return Printable(h.String(t.Tag))
		}
		vals = stringsAny(bytesToStrings(h.Strings(t.Tag)))
	case TypeBin:
		b := append([]byte(nil), h.Bin(t.Tag)...)
		if t.Array {
			return []any{b}
		}
		return b
	case TypeChar, TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		for _, v := range h.Ints(t.Tag) {
			vals = append(vals, v)
		}
	default:
		if t.Array {
			return []any{}
		}
		return nil
	}
	if t.Array {
		if vals == nil {
			vals = []any{}
		}
		return vals
	}
	if len(vals) == 0 {
		return nil
	}
	return vals[0]
}

// Ints returns an integer tag of any width as int64s (INT64 values beyond
// int64 wrap, as rpm's do not occur).
func (h *Header) Ints(tag uint32) []int64 {
	typ, _, _, ok := h.entry(tag)
	if !ok {
		return nil
	}
	var size int
	switch typ {
	case TypeChar, TypeInt8:
		size = 1
	case TypeInt16:
		size = 2
	case TypeInt32:
		size = 4
	case TypeInt64:
		size = 8
	default:
		h.fail(tag, "type %d, want an integer", typ)
		return nil
	}
	b, n, ok := h.fixed(tag, size, typ)
	if !ok {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		switch size {
		case 1:
			out[i] = int64(b[i])
		case 2:
			out[i] = int64(binary.BigEndian.Uint16(b[2*i:]))
		case 4:
			out[i] = int64(binary.BigEndian.Uint32(b[4*i:]))
		case 8:
			out[i] = int64(binary.BigEndian.Uint64(b[8*i:]))
		}
	}
	return out
}

func (h *Header) nevra(tag uint32) string {
	evr := h.String(TagVersion) + "-" + h.String(TagRelease)
	if e, ok := h.Number(TagEpoch); ok && (tag == TagNEVR || tag == TagNEVRA || tag == TagEVR) {
		evr = itoa(int64(e)) + ":" + evr
	}
	switch tag {
	case TagEVR:
		return evr
	case TagNVRA, TagNEVRA:
		return h.String(TagName) + "-" + evr + "." + h.String(TagArch)
	}
	return h.String(TagName) + "-" + evr
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func bytesToStrings(l [][]byte) []string {
	out := make([]string, len(l))
	for i, b := range l {
		out[i] = Printable(string(b))
	}
	return out
}

func stringsAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// Printable returns s as valid UTF-8 without control characters other than
// tab, newline and carriage return (Koji's fixEncoding with
// remove_nonprintable): invalid bytes become U+FFFD.
func Printable(s string) string {
	ok := utf8.ValidString(s)
	if ok {
		for _, r := range s {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' && r < 0x80 {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Filenames returns the package's file paths (dirname + basename, or the
// old flat list).
func (h *Header) Filenames() []string {
	if old := h.Strings(TagOldFilenames); old != nil {
		return bytesToStrings(old)
	}
	base := h.Strings(TagBaseNames)
	dirs := h.Strings(TagDirNames)
	idx := h.Uint32s(TagDirIndexes)
	out := make([]string, 0, len(base))
	for i, b := range base {
		var d []byte
		if i < len(idx) && int(idx[i]) < len(dirs) {
			d = dirs[idx[i]]
		} else {
			h.fail(TagDirIndexes, "file %d has no directory", i)
		}
		out = append(out, Printable(string(d)+string(b)))
	}
	return out
}

// ChangelogEntry is one %changelog entry.
type ChangelogEntry struct {
	Time   int64
	Author string
	Text   string
}

// Changelog returns the changelog entries, newest first as rpm keeps them.
func (h *Header) Changelog() []ChangelogEntry {
	times := h.Ints(TagChangelogTime)
	names := h.Strings(TagChangelogName)
	texts := h.Strings(TagChangelogText)
	n := min(len(times), len(names), len(texts))
	out := make([]ChangelogEntry, n)
	for i := range out {
		out[i] = ChangelogEntry{Time: times[i], Author: Printable(string(names[i])), Text: Printable(string(texts[i]))}
	}
	return out
}

// Dependency kinds, with Koji's numbers (koji.DEP_*).
const (
	DepRequire    = 0
	DepProvide    = 1
	DepObsolete   = 2
	DepConflict   = 3
	DepSuggest    = 4
	DepEnhance    = 5
	DepSupplement = 6
	DepRecommend  = 7
)

// Dependency is one entry of a dependency list.
type Dependency struct {
	Name, Version string
	Flags         int64
	Type          int
}

// depTags: per kind in Koji's order of getRPMDeps, the name, version and
// flags tags.
var depTags = []struct {
	kind                int
	name, version, flag uint32
}{
	{DepRequire, TagRequireName, TagRequireVersion, TagRequireFlags},
	{DepProvide, TagProvideName, TagProvideVersion, TagProvideFlags},
	{DepConflict, TagConflictName, TagConflictVersion, TagConflictFlags},
	{DepObsolete, TagObsoleteName, TagObsoleteVersion, TagObsoleteFlags},
	{DepSuggest, TagSuggestName, TagSuggestVersion, TagSuggestFlags},
	{DepEnhance, TagEnhanceName, TagEnhanceVersion, TagEnhanceFlags},
	{DepSupplement, TagSupplementName, TagSupplementVersion, TagSupplementFlags},
	{DepRecommend, TagRecommendName, TagRecommendVersion, TagRecommendFlags},
}

// Dependencies returns the dependencies of one kind, or of every kind when
// kind is negative, in Koji's order.
func (h *Header) Dependencies(kind int) []Dependency {
	var out []Dependency
	for _, d := range depTags {
		if kind >= 0 && kind != d.kind {
			continue
		}
		names := h.Strings(d.name)
		vers := h.Strings(d.version)
		flags := h.Ints(d.flag)
		n := min(len(names), len(vers), len(flags))
		for i := 0; i < n; i++ {
			out = append(out, Dependency{Name: Printable(string(names[i])), Version: Printable(string(vers[i])), Flags: flags[i], Type: d.kind})
		}
	}
	return out
}

// File is one file of the package.
type File struct {
	Name, Digest, User, Group string
	Size, Flags, Mtime, Mode  int64
}

// Files returns the package's files with their attributes.
func (h *Header) Files() []File {
	names := h.Filenames()
	digests := h.Strings(TagFileDigests)
	sizes := h.Ints(TagFileSizes)
	if sizes == nil {
		sizes = h.Ints(TagLongFileSizes)
	}
	flags := h.Ints(TagFileFlags)
	users := h.Strings(TagFileUserName)
	groups := h.Strings(TagFileGroupName)
	mtimes := h.Ints(TagFileMtimes)
	modes := h.Ints(TagFileModes)
	n := min(len(names), len(digests), len(sizes), len(flags), len(users), len(groups), len(mtimes), len(modes))
	out := make([]File, n)
	for i := range out {
		out[i] = File{Name: names[i], Digest: string(digests[i]), User: Printable(string(users[i])), Group: Printable(string(groups[i])),
			Size: sizes[i], Flags: flags[i], Mtime: mtimes[i], Mode: modes[i]}
	}
	return out
}

// DigestAlgo is the name of the file digest algorithm (Koji's
// filedigestAlgo: "md5" when the header does not say).
func (h *Header) DigestAlgo() string {
	v, ok := h.Number(TagFileDigestAlgo)
	if !ok {
		return "md5"
	}
	switch v {
	case 1:
		return "md5"
	case 2:
		return "sha1"
	case 3:
		return "ripemd160"
	case 8:
		return "sha256"
	case 9:
		return "sha384"
	case 10:
		return "sha512"
	case 11:
		return "sha224"
	}
	return "unknown"
}
