package builderd

import (
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	rpmutils "github.com/sassoftware/go-rpmutils"
)

// archRE is what an arch name may hold.
var archRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// canonArch is Koji's koji.canonArch for the arches kojigo meets: the arch
// family a package arch is built on.
func canonArch(a string) string {
	switch a {
	case "i386", "i486", "i586", "i686", "athlon", "geode", "pentium3", "pentium4":
		return "i386"
	case "amd64", "ia32e", "x86_64", "x86_64_v2", "x86_64_v3", "x86_64_v4":
		return "x86_64"
	case "armv7hl", "armv7hnl", "armv6hl", "armhfp":
		return "armhfp"
	case "armv3l", "armv4b", "armv4l", "armv4tl", "armv5tl", "armv5tel", "armv5tejl", "armv6l", "armv7l", "arm":
		return "arm"
	case "ppc64iseries", "ppc64pseries", "ppc64p7":
		return "ppc64"
	}
	return a
}

// nativeArches are the RPM arches a kojid built for goarch builds without
// emulation, noarch included.
func nativeArches(goarch string) []string {
	switch goarch {
	case "amd64":
		return []string{"x86_64", "noarch"}
	case "arm64":
		return []string{"aarch64", "noarch"}
	case "arm":
		return []string{"armv7hl", "noarch"}
	case "386":
		return []string{"i686", "noarch"}
	case "ppc64le", "s390x", "riscv64":
		return []string{goarch, "noarch"}
	}
	return []string{"noarch"}
}

// canBuild reports whether this host builds arch natively.
func canBuild(native []string, arch string) bool {
	if arch == "noarch" {
		return true
	}
	for _, a := range native {
		if a != "noarch" && canonArch(a) == canonArch(arch) {
			return true
		}
	}
	return false
}

// RPM header tags read from SRPMs.
const (
	tagName          = 1000
	tagVersion       = 1001
	tagRelease       = 1002
	tagEpoch         = 1003
	tagRequireName   = 1049
	tagExcludeArch   = 1059
	tagExclusiveArch = 1061
	tagBuildArchs    = 1089
	tagSourcePackage = 1106
	tagSourceRPM     = 1044
	tagArch          = 1022
)

// srpmHeader is what kojid reads from a source package.
type srpmHeader struct {
	Name, Version, Release string
	Epoch                  *int64
	BuildArchs             []string
	ExclusiveArch          []string
	ExcludeArch            []string
	Requires               []string
}

// NVR is name-version-release.
func (h *srpmHeader) NVR() string { return h.Name + "-" + h.Version + "-" + h.Release }

// readRPMHeader reads an RPM's header; the error is a BuildError naming the file.
func readRPMHeader(path string) (*rpmutils.RpmHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, buildErrorf("cannot read %s: %v", path, err)
	}
	defer f.Close()
	h, err := rpmutils.ReadHeader(io.LimitReader(f, 256<<20))
	if err != nil {
		return nil, buildErrorf("%s is not a readable RPM: %v", path, err)
	}
	return h, nil
}

// readSRPM reads the header fields of a source package, failing when the
// file is not one.
func readSRPM(path string) (*srpmHeader, error) {
	h, err := readRPMHeader(path)
	if err != nil {
		return nil, err
	}
	if !h.HasTag(tagSourcePackage) && h.HasTag(tagSourceRPM) {
		return nil, buildErrorf("%s is not a source package", baseName(path))
	}
	str := func(tag int) string {
		s, _ := h.GetString(tag)
		return s
	}
	strs := func(tag int) []string {
		s, _ := h.GetStrings(tag)
		return s
	}
	out := &srpmHeader{
		Name: str(tagName), Version: str(tagVersion), Release: str(tagRelease),
		BuildArchs: strs(tagBuildArchs), ExclusiveArch: strs(tagExclusiveArch), ExcludeArch: strs(tagExcludeArch),
		Requires: strs(tagRequireName),
	}
	if e, err := h.GetInts(tagEpoch); err == nil && len(e) > 0 {
		v := int64(e[0])
		out.Epoch = &v
	}
	if out.Name == "" || out.Version == "" || out.Release == "" {
		return nil, buildErrorf("%s has no name, version or release in its header", baseName(path))
	}
	return out, nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// archList is Koji's getArchList: the tag's arches, narrowed by the
// package's BuildArch/ExclusiveArch and ExcludeArch, noarch once when the
// package builds it, arch_override for scratch builds; arches whose family
// the tag does not build are dropped.
func archList(tagArches []string, h *srpmHeader, override []string, scratch bool) ([]string, error) {
	if len(tagArches) == 0 {
		return nil, buildErrorf("no arches for the build tag: set them with edit-tag --arches")
	}
	tagCanon := map[string]bool{}
	for _, a := range tagArches {
		tagCanon[canonArch(a)] = true
	}
	list := append([]string{}, tagArches...)
	if len(h.BuildArchs) > 0 {
		list = append([]string{}, h.BuildArchs...)
	}
	if len(h.ExclusiveArch) > 0 {
		list = filter(list, func(a string) bool { return contains(h.ExclusiveArch, a) })
	}
	if len(h.ExcludeArch) > 0 {
		list = filter(list, func(a string) bool { return !contains(h.ExcludeArch, a) })
	}
	if !contains(h.ExcludeArch, "noarch") && (contains(h.BuildArchs, "noarch") || contains(h.ExclusiveArch, "noarch")) {
		list = append(list, "noarch")
	}
	if scratch && len(override) > 0 {
		list = append([]string{}, override...)
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range list {
		if seen[a] {
			continue
		}
		if a == "noarch" || tagCanon[canonArch(a)] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, buildErrorf("no matching arches were found: tag builds %s; package %s", strings.Join(tagArches, " "), describeArches(h))
	}
	sort.Strings(out)
	return out, nil
}

func describeArches(h *srpmHeader) string {
	var parts []string
	if len(h.BuildArchs) > 0 {
		parts = append(parts, "BuildArch "+strings.Join(h.BuildArchs, " "))
	}
	if len(h.ExclusiveArch) > 0 {
		parts = append(parts, "ExclusiveArch "+strings.Join(h.ExclusiveArch, " "))
	}
	if len(h.ExcludeArch) > 0 {
		parts = append(parts, "ExcludeArch "+strings.Join(h.ExcludeArch, " "))
	}
	if len(parts) == 0 {
		return "has no arch restriction"
	}
	return "has " + strings.Join(parts, ", ")
}

func filter(l []string, keep func(string) bool) []string {
	var out []string
	for _, a := range l {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, a := range l {
		if a == s {
			return true
		}
	}
	return false
}

// taskArch is the arch a buildArch subtask gets for scheduling: canonical
// unless literal_task_arches matches (Koji's choose_taskarch, simplified).
func taskArch(arch string, literal []string) string {
	for _, p := range literal {
		if fnmatch(p, arch) {
			return arch
		}
	}
	return canonArch(arch)
}
