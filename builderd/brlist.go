package builderd

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	rpmutils "github.com/sassoftware/go-rpmutils"

	"kojigo/internal/rpmhdr"
)

// What a buildroot held, reported to the hub as Koji's kojid does
// (host.setBuildRootList while INIT, host.updateBuildRootList while
// BUILDING): one entry per package with Koji's getPackageList fields,
// name, version, release, epoch, arch, payloadhash (the package's SIGMD5),
// size and buildtime. The hub matches each to the rpm it built by name,
// version, release, arch and payloadhash.
//
//   - mock mode: the packages of the chroot's rpm database after mock
//     --init, and again after the build (what the build installed);
//   - rpmbuild mode: the packages of the build tag's repo unpacked into the
//     overlay, and the packages of this host's rpm database that met a
//     BuildRequires the repo did not. Those are marked external=True: they
//     are not the tag's, and the hub lists them as external unless they
//     are the very rpms it built. The rest of the host (its compiler when no
//     BuildRequires names it, files and commands that met a requirement) is
//     not a package of the buildroot: root.log says what met each
//     requirement.

// rpmQueryFormat prints an installed package's fields, tab-separated.
const rpmQueryFormat = `%{NAME}\t%{VERSION}\t%{RELEASE}\t%{EPOCH}\t%{ARCH}\t%{SIGMD5}\t%{SIZE}\t%{BUILDTIME}\n`

// maxListedPackages bounds a reported list (the hub's limit is larger).
const maxListedPackages = 20000

// errNoRPMDB: the buildroot has no rpm database to list.
var errNoRPMDB = errors.New("no rpm database")

// parseRPMQuery reads rpm -q --qf rpmQueryFormat output. Koji's kojid
// leaves out gpg-pubkey and buildsys-build, which are no packages.
func parseRPMQuery(out []byte) ([]any, error) {
	var list []any
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			return nil, fmt.Errorf("unexpected rpm query line %q", line)
		}
		if f[0] == "gpg-pubkey" || f[0] == "buildsys-build" {
			continue
		}
		var epoch any
		if f[3] != "(none)" {
			n, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("epoch of %s: %q", f[0], f[3])
			}
			epoch = n
		}
		// a package built without them (rpmpack's) has no SIGMD5 or
		// BUILDTIME: an empty payloadhash is matched by name alone
		num := func(s string) (int64, error) {
			if s == "(none)" {
				return 0, nil
			}
			return strconv.ParseInt(s, 10, 64)
		}
		size, err1 := num(f[6])
		btime, err2 := num(f[7])
		hash := strings.ToLower(f[5])
		if hash == "(none)" {
			hash = ""
		}
		if err1 != nil || err2 != nil || strings.Trim(hash, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("unexpected rpm query line %q", line)
		}
		list = append(list, map[string]any{
			"name": f[0], "version": f[1], "release": f[2], "epoch": epoch, "arch": f[4],
			"payloadhash": hash, "size": size, "buildtime": btime,
		})
		if len(list) > maxListedPackages {
			return nil, fmt.Errorf("more than %d packages", maxListedPackages)
		}
	}
	return list, nil
}

// queryRPMDB runs rpm -q with args and the query format.
func (t *task) queryRPMDB(ctx context.Context, args ...string) ([]any, error) {
	rpm, err := t.d.lookPath("rpm")
	if err != nil {
		return nil, errNoRPMDB
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, rpm, append(args, "--qf", rpmQueryFormat)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("rpm %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return parseRPMQuery(out)
}

// chrootPackages lists the packages installed in a mock chroot, read from
// its rpm database as Koji's BuildRoot.getPackageList does.
func (t *task) chrootPackages(ctx context.Context, root string) ([]any, error) {
	dbpath := filepath.Join(root, "usr/lib/sysimage/rpm")
	if _, err := os.Stat(dbpath); err != nil {
		dbpath = filepath.Join(root, "var/lib/rpm") // before rpm 4.16's move
		if _, err := os.Stat(dbpath); err != nil {
			return nil, errNoRPMDB
		}
	}
	return t.queryRPMDB(ctx, "--dbpath", dbpath, "-qa")
}

// hostPackages lists installed packages of this host by NEVRA, marked
// external: they come from the host, not from the build tag.
func (t *task) hostPackages(ctx context.Context, nevras []string) ([]any, error) {
	if len(nevras) == 0 {
		return nil, nil
	}
	list, err := t.queryRPMDB(ctx, append([]string{"-q"}, nevras...)...)
	for _, e := range list {
		e.(map[string]any)["external"] = true
	}
	return list, err
}

// packageFileEntry is the listing entry of a package file.
func packageFileEntry(file string) (map[string]any, error) {
	h, err := readRPMHeader(file)
	if err != nil {
		return nil, err
	}
	nevra, err := h.GetNEVRA()
	if err != nil {
		return nil, buildErrorf("%s: %v", filepath.Base(file), err)
	}
	md5, err := h.GetBytes(rpmutils.SIG_MD5)
	if err != nil || len(md5) == 0 {
		if md5, err = payloadMD5(file); err != nil {
			return nil, buildErrorf("%s: %v", filepath.Base(file), err)
		}
	}
	var epoch any
	if e, err := h.GetInt(tagEpoch); err == nil {
		epoch = int64(e)
	}
	size, _ := h.GetUint64Fallback(rpmutils.SIZE, rpmutils.LONGSIZE)
	btime, _ := h.GetInt(rpmutils.BUILDTIME)
	return map[string]any{
		"name": nevra.Name, "version": nevra.Version, "release": nevra.Release, "epoch": epoch, "arch": nevra.Arch,
		"payloadhash": hex.EncodeToString(md5), "size": int64(size), "buildtime": int64(btime),
	}, nil
}

// payloadMD5 is what SIGMD5 holds, for a package whose signature header
// lacks it: the md5 of the main header and the payload.
func payloadMD5(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pkg, err := rpmhdr.NewReader(rpmhdr.Limits{}).Read(f, fi.Size())
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(pkg.HeaderStart, io.SeekStart); err != nil {
		return nil, err
	}
	sum := md5.New()
	if _, err := io.Copy(sum, f); err != nil {
		return nil, err
	}
	return sum.Sum(nil), nil
}

// reportBuildroot sends a buildroot's packages to the hub: the list of an
// INIT buildroot, or (update) what a BUILDING one gained.
func (t *task) reportBuildroot(ctx context.Context, brid int64, list []any, update bool) error {
	method := "host.setBuildRootList"
	if update {
		method = "host.updateBuildRootList"
	}
	if list == nil {
		list = []any{}
	}
	if _, err := t.d.hub.Call(ctx, method, brid, list, kw("task_id", t.id)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

// hostNEVRA is the package named by hostProvides' "rpm database: NEVRA".
func hostNEVRA(what string) (string, bool) {
	s, ok := strings.CutPrefix(what, "rpm database: ")
	return s, ok && s != "" && !strings.ContainsAny(s, " /")
}

// mockRootDir is the chroot of mock buildroot name.
func mockRootDir(resultDir string) string {
	return path.Join(path.Dir(resultDir), "root")
}
