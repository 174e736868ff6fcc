package hubcore

// Uploads into topdir/work and reading task output back (Koji's
// get_upload_path, handle_upload, uploadFile, checkUpload, listTaskOutput
// and downloadTaskOutput).
//
// Every path is walked one component at a time with openat(O_NOFOLLOW), so
// a symbolic link anywhere below topdir/work is refused rather than
// followed, and nothing can be written or read outside it. Under
// tasks/<id%10000>/<id>/ only the host that has task <id> OPEN may write;
// any other directory belongs to the first user who uploaded into it (its
// id is kept in a ".user" file there, as Koji does).

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// Limits of the upload and task output API.
const (
	// maxUploadChunk caps one raw upload body (Koji's clients send 64 KiB
	// log chunks and 1 MiB file blocks). A larger MaxRequestLength raises it.
	maxUploadChunk = 64 << 20
	// maxDownloadChunk caps what one downloadTaskOutput call returns; a
	// larger (or -1) size is clamped, and readers loop until they get
	// nothing, as koji watch-logs does.
	maxDownloadChunk = 16 << 20
	// maxPathComponent and maxUploadDir bound names (Linux NAME_MAX, and a
	// path well inside PATH_MAX).
	maxPathComponent = 255
	maxUploadDir     = 1024
	// maxOutputFiles bounds the files listTaskOutput walks for one task.
	maxOutputFiles = 100000
	// maxOutputDepth bounds how deep listTaskOutput descends.
	maxOutputDepth = 16
)

// defaultVolume is the only volume kojigo has (Koji's DEFAULT).
const defaultVolume = "DEFAULT"

func uploadMethods() []method {
	return []method{
		{name: "uploadFile", argdesc: "(path, name, size, md5sum, offset, data, volume=None, checksum=None)", fn: mUploadFile},
		{name: "checkUpload", argdesc: "(path, name, verify=None, tail=None, volume=None)", fn: mCheckUpload},
		{name: "listTaskOutput", argdesc: "(taskID, stat=False, all_volumes=False, strict=False)", fn: mListTaskOutput},
		{name: "downloadTaskOutput", argdesc: "(taskID, fileName, offset=0, size=-1, volume=None)", fn: mDownloadTaskOutput},
	}
}

// rawUploadName is the method name raw uploads authenticate and are counted
// as. It is not in the method table: rawUpload is not callable over XML-RPC.
const rawUploadName = "rawUpload"

// taskRelDir is Koji's pathinfo.taskrelpath: tasks/<id%10000>/<id>.
func taskRelDir(id int64) []string {
	return []string{"tasks", strconv.FormatInt(id%10000, 10), strconv.FormatInt(id, 10)}
}

// badComponent reports why s cannot be one component of a path, or "".
func badComponent(s string) string {
	switch {
	case s == "":
		return "empty component"
	case s == "." || s == "..":
		return "component " + strconv.Quote(s)
	case len(s) > maxPathComponent:
		return fmt.Sprintf("component longer than %d bytes", maxPathComponent)
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' || r == utf8.RuneError {
			return fmt.Sprintf("character %q", r)
		}
	}
	return ""
}

// splitRelPath checks a relative path (an upload directory, or a file name
// under a task's output directory) and returns its components. A single
// trailing slash is allowed; anything that is not a plain relative path is
// refused rather than normalised.
func splitRelPath(p string) ([]string, string) {
	if p == "" {
		return nil, "empty path"
	}
	if len(p) > maxUploadDir {
		return nil, fmt.Sprintf("path longer than %d bytes", maxUploadDir)
	}
	if strings.HasPrefix(p, "/") {
		return nil, "absolute path"
	}
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for _, s := range parts {
		if why := badComponent(s); why != "" {
			return nil, why
		}
	}
	return parts, ""
}

// checkUploadName checks a file name as Koji's get_upload_path does: a plain
// name, not starting with a dot.
func checkUploadName(name string) error {
	if why := badComponent(name); why != "" || strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		return genericErr("Invalid upload filename: %s", quoteOdd(name))
	}
	return nil
}

// quoteOdd returns s for a message, quoted when it holds anything that
// would not print plainly, and shortened when long.
func quoteOdd(s string) string {
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

func checkVolume(v any) error {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" || x == defaultVolume {
			return nil
		}
		return genericErr("No such volume: %s", quoteOdd(x))
	}
	return paramErr("volume: want a string, got %s", typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case string:
		return "string"
	case int64:
		return "int"
	case bool:
		return "boolean"
	case []byte:
		return "base64"
	case []any:
		return "array"
	case map[string]any:
		return "struct"
	}
	return fmt.Sprintf("%T", v)
}

// uploadTarget is a checked place to write or read an upload.
type uploadTarget struct {
	dir  []string // components under topdir/work
	name string
	rel  string // dir/name, for messages
}

// uploadPath is Koji's get_upload_path(reldir, name, create, volume): it
// checks the names and, when create is set, the caller's right to write
// there. The caller must be logged in when create is set.
func (c *call) uploadPath(reldir, name string, volume any, create bool) (uploadTarget, error) {
	if err := checkUploadName(name); err != nil {
		return uploadTarget{}, err
	}
	parts, why := splitRelPath(reldir)
	if why != "" {
		return uploadTarget{}, genericErr("Invalid upload directory: %s (%s)", quoteOdd(reldir), why)
	}
	if err := checkVolume(volume); err != nil {
		return uploadTarget{}, err
	}
	t := uploadTarget{dir: parts, name: name, rel: strings.Join(parts, "/") + "/" + name}
	if !create {
		return t, nil
	}
	if parts[0] == "tasks" {
		if len(parts) < 3 {
			return t, genericErr("Invalid task upload directory: %s", quoteOdd(reldir))
		}
		id, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || id <= 0 || strconv.FormatInt(id, 10) != parts[2] || parts[1] != strconv.FormatInt(id%10000, 10) {
			return t, genericErr("Invalid task upload directory: %s", quoteOdd(reldir))
		}
		host, err := c.requireHost()
		if err != nil {
			return t, err
		}
		task, err := c.hub.store.GetTask(c.ctx, id)
		if errors.Is(err, db.ErrNotFound) {
			return t, genericErr("No such task: %d", id)
		}
		if err != nil {
			return t, internalErr("read task", err)
		}
		if task.State != db.TaskOpen || task.HostID == nil || *task.HostID != host.ID {
			return t, notAllowed("host %d does not own task %d", host.ID, id)
		}
	}
	return t, nil
}

// workDir returns topdir/work, creating it when asked.
func (h *Hub) workDir(create bool) (string, error) {
	w := filepath.Join(h.cfg.TopDir, "work")
	if create {
		if err := os.Mkdir(w, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create work directory: %w", bareErr(err))
		}
	}
	return w, nil
}

// bareErr drops the absolute path from an os error, so that a fault does
// not tell clients where topdir is.
func bareErr(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// errNoDir is returned by openDir when a component does not exist.
var errNoDir = errors.New("no such directory")

// openDir opens topdir/work/<parts...> one component at a time without
// following symbolic links, creating missing directories (0755) when create
// is set. The caller closes the returned fd.
func (h *Hub) openDir(parts []string, create bool) (int, error) {
	w, err := h.workDir(create)
	if err != nil {
		return -1, err
	}
	fd, err := syscall.Open(w, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return -1, errNoDir
		}
		return -1, fmt.Errorf("open work directory: %w", bareErr(err))
	}
	for i, p := range parts {
		next, err := openatDir(fd, p)
		if errors.Is(err, syscall.ENOENT) && create {
			if err := syscall.Mkdirat(fd, p, 0o755); err != nil && !errors.Is(err, syscall.EEXIST) {
				syscall.Close(fd)
				return -1, fmt.Errorf("create %s: %w", strings.Join(parts[:i+1], "/"), err)
			}
			next, err = openatDir(fd, p)
		}
		syscall.Close(fd)
		switch {
		case err == nil:
			fd = next
		case errors.Is(err, syscall.ENOENT):
			return -1, errNoDir
		case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENOTDIR):
			return -1, genericErr("Invalid upload directory: %s is a symbolic link or not a directory", strings.Join(parts[:i+1], "/"))
		default:
			return -1, fmt.Errorf("open %s: %w", strings.Join(parts[:i+1], "/"), err)
		}
	}
	return fd, nil
}

func openatDir(dirfd int, name string) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		return fd, err
	}
}

// openMode says how openFileAt opens a file.
type openMode int

const (
	openRead   openMode = iota // read only; must exist
	openWrite                  // read-write; must exist
	openCreate                 // read-write; created when missing
)

// openFileAt opens name in dirfd without following a symbolic link, as a
// regular file only. existed reports whether it was there before.
func openFileAt(dirfd int, name, rel string, mode openMode) (f *os.File, existed bool, err error) {
	flags := syscall.O_NOFOLLOW | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	if mode == openRead {
		flags |= syscall.O_RDONLY
	} else {
		flags |= syscall.O_RDWR
	}
	fd, err := syscall.Openat(dirfd, name, flags, 0)
	existed = err == nil
	if errors.Is(err, syscall.ENOENT) && mode == openCreate {
		fd, err = syscall.Openat(dirfd, name, flags|syscall.O_CREAT|syscall.O_EXCL, 0o644)
		if errors.Is(err, syscall.EEXIST) { // created meanwhile
			fd, err = syscall.Openat(dirfd, name, flags, 0)
			existed = err == nil
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, syscall.ENOENT):
		return nil, false, fs.ErrNotExist
	case errors.Is(err, syscall.ELOOP):
		return nil, false, genericErr("destination is a symbolic link: %s", quoteOdd(rel))
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENXIO):
		return nil, false, genericErr("destination not a file: %s", quoteOdd(rel))
	default:
		return nil, false, fmt.Errorf("open %s: %w", rel, err)
	}
	f = os.NewFile(uintptr(fd), rel)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("stat %s: %w", rel, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, false, genericErr("destination not a file: %s", quoteOdd(rel))
	}
	return f, existed, nil
}

// ensureOwner applies Koji's rule for upload directories outside tasks/:
// the first user to upload there owns it (recorded in .user).
func (h *Hub) ensureOwner(dirfd int, t uploadTarget, userID int64) error {
	read := func() (int64, error) {
		f, _, err := openFileAt(dirfd, ".user", t.rel, openRead)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 32))
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	notOwner := genericErr("Invalid upload directory, not owner: %s", strings.Join(t.dir, "/"))
	owner, err := read()
	if err == nil {
		if owner != userID {
			return notOwner
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return notOwner
	}
	// Write the id under a temporary name, then link it into place, so a
	// reader never sees a half-written .user and two first uploads cannot
	// both win.
	dir := filepath.Join(append([]string{h.cfg.TopDir, "work"}, t.dir...)...)
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := ".user." + hex.EncodeToString(rnd[:])
	fd, err := syscall.Openat(dirfd, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("record upload directory owner: %w", err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, werr := f.WriteString(strconv.FormatInt(userID, 10))
	cerr := f.Close()
	defer syscall.Unlinkat(dirfd, tmp)
	if werr != nil || cerr != nil {
		return fmt.Errorf("record upload directory owner: %w", errors.Join(werr, cerr))
	}
	if err := os.Link(filepath.Join(dir, tmp), filepath.Join(dir, ".user")); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("record upload directory owner: %w", bareErr(err))
		}
		if owner, err := read(); err != nil || owner != userID {
			return notOwner
		}
	}
	return nil
}

// openUpload opens the target for writing, after checking the caller's
// rights; the directories are created as needed, the file only when offset
// says the upload starts it (0 or -1). Starting past the end of a file that
// is not there is refused without creating anything in it.
func (c *call) openUpload(t uploadTarget, offset int64) (*os.File, bool, error) {
	dirfd, err := c.hub.openDir(t.dir, true)
	if err != nil {
		return nil, false, err
	}
	defer syscall.Close(dirfd)
	if t.dir[0] != "tasks" {
		if err := c.hub.ensureOwner(dirfd, t, c.user.ID); err != nil {
			return nil, false, err
		}
	}
	mode := openCreate
	if offset > 0 {
		mode = openWrite
	}
	f, existed, err := openFileAt(dirfd, t.name, t.rel, mode)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, genericErr("upload offset %d is past the end of %s (no such file)", offset, quoteOdd(t.rel))
	}
	return f, existed, err
}

// lockFile takes a non-blocking flock; contention is Koji's LockError.
func lockFile(f *os.File, exclusive bool, rel string) error {
	how := syscall.LOCK_SH | syscall.LOCK_NB
	if exclusive {
		how = syscall.LOCK_EX | syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch {
		case err == nil:
			return nil
		case err == syscall.EINTR:
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return fault(kojixml.LockError, "file %s is being written by another request", quoteOdd(rel))
		}
		return fmt.Errorf("lock %s: %w", rel, err)
	}
}

// newVerify is Koji's get_verify_class: nil for no verification.
func newVerify(verify string) (hash.Hash, error) {
	switch verify {
	case "":
		return nil, nil
	case "md5":
		return md5.New(), nil
	case "adler32":
		return adler32.New(), nil
	case "sha256":
		return sha256.New(), nil
	}
	return nil, genericErr("Unsupported verify type: %s", quoteOdd(verify))
}

// hexDigest formats a digest as Koji does (adler32 as %08x).
func hexDigest(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// serveUpload answers a raw upload (Koji's rawUpload, handle_upload): the
// body is one chunk, the target and offset are in the query string, and the
// answer is an XML-RPC response {size, fileverify, offset, hexdigest}.
func (h *Hub) serveUpload(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := h.newCall(r, rawUploadName)
	res, f := h.rawUpload(c, w, r)
	h.metrics.observe(rawUploadName, f, time.Since(start))
	if f != nil && (f.Code == kojixml.GenericError || f.Code == kojixml.UnknownError) {
		h.log.Debug("raw upload failed", "err", f.String)
	}
	h.writeResult(w, res, f)
}

// uploadLimit is the largest raw upload body accepted.
func (h *Hub) uploadLimit() int64 { return max(h.cfg.MaxRequestLength, maxUploadChunk) }

func (h *Hub) rawUpload(c *call, w http.ResponseWriter, r *http.Request) (result any, ferr *kojixml.Fault) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic in raw upload", "panic", fmt.Sprint(p))
			result, ferr = nil, genericErr("internal error in rawUpload; the hub log has the details")
		}
	}()
	callnum, f := h.authenticate(c, r, &method{name: rawUploadName})
	if f != nil {
		return nil, f
	}
	if c.lockErr {
		return nil, fault(kojixml.AuthLockError, "User locked by another session")
	}
	if c.user == nil {
		return nil, notAllowed("you must be logged-in to upload a file")
	}
	res, err := h.writeRawUpload(c, w, r)
	if err != nil {
		return nil, h.toFault(rawUploadName, err)
	}
	if c.session != nil && callnum != nil {
		if err := h.store.SetCallnum(c.ctx, c.session.ID, *callnum); err != nil {
			h.log.Warn("store callnum", "session", c.session.ID, "err", err)
		}
	}
	return res, nil
}

// rawUploadArgs are the query arguments of a raw upload.
type rawUploadArgs struct {
	name, dir, verify string
	offset            int64
	overwrite         bool
	volume            any
}

func parseRawUploadQuery(raw string) (rawUploadArgs, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return rawUploadArgs{}, paramErr("invalid upload query string: %v", err)
	}
	get := func(k, def string) string {
		if v, ok := q[k]; ok && len(v) > 0 {
			return v[0]
		}
		return def
	}
	a := rawUploadArgs{name: get("filename", ""), dir: get("filepath", ""), verify: get("fileverify", "")}
	if !q.Has("filename") {
		return a, paramErr("rawUpload: the filename query argument is required")
	}
	a.offset, err = strconv.ParseInt(get("offset", "0"), 10, 64)
	if err != nil || a.offset < -1 {
		return a, paramErr("rawUpload: invalid offset %s", quoteOdd(get("offset", "")))
	}
	switch ow := get("overwrite", ""); ow {
	case "", "0", "false", "False":
	default:
		a.overwrite = true
	}
	if q.Has("volume") {
		a.volume = get("volume", "")
	}
	return a, nil
}

func (h *Hub) writeRawUpload(c *call, w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := parseRawUploadQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if _, err := newVerify(a.verify); err != nil {
		return nil, err
	}
	size := r.ContentLength
	if size < 0 {
		return nil, paramErr("rawUpload: a Content-Length is required")
	}
	if size > h.uploadLimit() {
		return nil, paramErr("rawUpload: chunk of %d bytes exceeds the limit of %d", size, h.uploadLimit())
	}
	t, err := c.uploadPath(a.dir, a.name, a.volume, true)
	if err != nil {
		return nil, err
	}
	f, existed, err := c.openUpload(t, a.offset)
	if err != nil {
		return nil, err
	}
	defer f.Close() // also releases the lock
	if existed && a.offset == 0 && !a.overwrite {
		return nil, genericErr("upload path exists: %s", quoteOdd(t.rel))
	}
	if err := lockFile(f, true, t.rel); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", t.rel, err)
	}
	oldLen, offset := st.Size(), a.offset
	if offset == -1 {
		offset = oldLen
	}
	if offset > oldLen {
		return nil, genericErr("upload offset %d is past the end of %s (%d bytes)", offset, quoteOdd(t.rel), oldLen)
	}
	if !a.overwrite && oldLen > offset+size {
		// Koji checks after writing; checking first leaves the file alone.
		return nil, genericErr("Incorrect upload length for %s - Expected %d, actual %d", quoteOdd(t.rel), offset+size, oldLen)
	}
	restore := oldLen
	if a.overwrite {
		if err := f.Truncate(offset); err != nil {
			return nil, fmt.Errorf("truncate %s: %w", t.rel, err)
		}
		restore = offset
	}
	sum, _ := newVerify(a.verify)
	n, err := writeChunk(f, offset, http.MaxBytesReader(w, r.Body, size), sum)
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		var we *writeErr
		if errors.As(err, &we) {
			return nil, c.uploadWriteFailed(t, f, we.err)
		}
		// The client may send the chunk again: keep what came before it.
		if st, serr := f.Stat(); serr == nil && st.Size() > restore {
			f.Truncate(restore)
		}
		c.hub.log.Warn("upload interrupted: the request body ended early; the client may send the chunk again",
			"task", uploadTask(t), "path", t.rel, "user", c.user.Name, "peer", c.remote, "offset", offset, "got", n, "want", size, "err", err)
		return nil, genericErr("upload of %s: body ended after %d of %d bytes (%v)", quoteOdd(t.rel), n, size, err)
	}
	c.wrote = true
	res := map[string]any{"size": n, "fileverify": a.verify, "offset": offset}
	if sum != nil {
		res["hexdigest"] = hexDigest(sum)
	}
	return res, nil
}

// uploadTask is the task id of an upload under tasks/, "" for others.
func uploadTask(t uploadTarget) string {
	if len(t.dir) >= 3 && t.dir[0] == "tasks" {
		return t.dir[2]
	}
	return ""
}

// uploadWriteFailed handles the hub failing to write an upload (a full
// topdir, an I/O error): the whole file is removed, since a partial one
// only takes space and the client must start over anyway, the failure is
// logged with the task and path, and topdir is measured again so that a
// full disk is also reported as such. f must be locked by the caller.
func (c *call) uploadWriteFailed(t uploadTarget, f *os.File, werr error) error {
	h := c.hub
	removed := "removed"
	if err := h.removeUpload(t); err != nil {
		removed = "not removed: " + err.Error()
		f.Truncate(0)
	}
	hint := "the hub could not write it; see the hub log"
	if errors.Is(werr, syscall.ENOSPC) || errors.Is(werr, syscall.EDQUOT) {
		hint = "the hub's topdir is full: free space in KojiDir"
	}
	h.log.Error("upload failed: "+hint, "task", uploadTask(t), "path", t.rel, "user", c.user.Name, "peer", c.remote,
		"err", werr, "partial_file", removed)
	h.metrics.topdir.check()
	return genericErr("upload of %s failed: %v; %s, then upload the file again from the start (the partial file was %s)",
		quoteOdd(t.rel), bareErr(werr), hint, removed)
}

// removeUpload unlinks an upload's file without following links.
func (h *Hub) removeUpload(t uploadTarget) error {
	dirfd, err := h.openDir(t.dir, false)
	if err != nil {
		return err
	}
	defer syscall.Close(dirfd)
	if err := syscall.Unlinkat(dirfd, t.name); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("remove %s: %w", t.rel, err)
	}
	return nil
}

// writeErr marks a failure to write (as opposed to reading the body).
type writeErr struct{ err error }

func (e *writeErr) Error() string { return e.err.Error() }

// writeChunk copies body into f at offset, hashing what it writes.
func writeChunk(f *os.File, offset int64, body io.Reader, sum hash.Hash) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, rerr := body.Read(buf)
		if k > 0 {
			if _, err := f.WriteAt(buf[:k], offset+n); err != nil {
				return n, &writeErr{err}
			}
			if sum != nil {
				sum.Write(buf[:k])
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// mUploadFile is Koji's legacy uploadFile(path, name, size, md5sum, offset,
// data, volume=None, checksum=None): data is base64; checksum is a bare md5
// hex string or [type, hexdigest]; a chunk whose size or digest does not
// match returns False so the client retries; offset -1 finalizes (the file
// is cut to size and its whole digest checked).
func mUploadFile(c *call, a *kojixml.Args) (any, error) {
	reldir := a.String(0, "path")
	name := a.String(1, "name")
	sizeArg := a.OptAny(2, "size", nil)
	md5sum := a.OptAny(3, "md5sum", nil)
	offset := a.Int(4, "offset")
	data := a.Any(5, "data")
	volume := a.OptAny(6, "volume", nil)
	checksum := a.OptAny(7, "checksum", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requireLogin(); err != nil {
		return nil, err
	}
	var contents []byte
	switch x := data.(type) {
	case string:
		b, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, x))
		if err != nil {
			return nil, paramErr("uploadFile: data is not valid base64: %v", err)
		}
		contents = b
	case []byte:
		contents = x
	default:
		return nil, paramErr("uploadFile: data: want base64 string, got %s", typeName(data))
	}
	var size *int64
	switch x := sizeArg.(type) {
	case nil:
	case int64:
		size = &x
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, paramErr("uploadFile: invalid size %s", quoteOdd(x))
		}
		size = &n
	default:
		return nil, paramErr("uploadFile: size: want int, got %s", typeName(sizeArg))
	}
	if size != nil && *size < 0 {
		return nil, paramErr("uploadFile: invalid size %d", *size)
	}
	if offset < -1 {
		return nil, paramErr("uploadFile: invalid offset %d", offset)
	}
	if checksum == nil {
		checksum = md5sum
	}
	verify, digest := "", ""
	switch x := checksum.(type) {
	case nil:
	case string:
		verify, digest = "md5", x
	case []any:
		if len(x) != 2 {
			return nil, paramErr("uploadFile: checksum: want [type, hexdigest]")
		}
		v, ok1 := x[0].(string)
		d, ok2 := x[1].(string)
		if !ok1 || !ok2 {
			return nil, paramErr("uploadFile: checksum: want [type, hexdigest]")
		}
		verify, digest = v, d
	default:
		return nil, paramErr("uploadFile: checksum: want a string or [type, hexdigest], got %s", typeName(checksum))
	}
	sum, err := newVerify(verify)
	if err != nil {
		return nil, err
	}
	if offset != -1 {
		if size != nil && *size != int64(len(contents)) {
			return false, nil
		}
		if sum != nil {
			sum.Write(contents)
			if hexDigest(sum) != digest {
				return false, nil
			}
		}
	}
	t, err := c.uploadPath(reldir, name, volume, true)
	if err != nil {
		return nil, err
	}
	f, existed, err := c.openUpload(t, offset)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if existed && offset == 0 && !strings.HasSuffix(name, ".log") {
		// Only logs may be uploaded again, so they can be viewed while
		// they grow.
		return nil, genericErr("file already exists: %s", quoteOdd(t.rel))
	}
	if err := lockFile(f, true, t.rel); err != nil {
		return nil, err
	}
	c.wrote = true
	if offset == 0 || (offset == -1 && size != nil && *size == int64(len(contents))) {
		if err := f.Truncate(0); err != nil {
			return nil, fmt.Errorf("truncate %s: %w", t.rel, err)
		}
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", t.rel, err)
	}
	at := offset
	if offset == -1 {
		at = st.Size()
	} else if offset > st.Size() {
		return nil, genericErr("upload offset %d is past the end of %s (%d bytes)", offset, quoteOdd(t.rel), st.Size())
	}
	if _, err := f.WriteAt(contents, at); err != nil {
		return nil, c.uploadWriteFailed(t, f, err)
	}
	if offset != -1 {
		return true, nil
	}
	if size != nil {
		if *size > at+int64(len(contents)) {
			return nil, genericErr("uploadFile: final size %d is larger than the %d bytes uploaded to %s", *size, at+int64(len(contents)), quoteOdd(t.rel))
		}
		if err := f.Truncate(*size); err != nil {
			return nil, fmt.Errorf("truncate %s: %w", t.rel, err)
		}
	}
	if sum != nil {
		if _, err := io.Copy(sum, io.NewSectionReader(f, 0, 1<<62)); err != nil {
			return nil, fmt.Errorf("read %s: %w", t.rel, err)
		}
		if hexDigest(sum) != digest {
			return false, nil
		}
	}
	return true, nil
}

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\n', '\r', '\t':
		return -1
	}
	return r
}

// mCheckUpload is Koji's checkUpload(path, name, verify=None, tail=None,
// volume=None): {size, mtime[, sumlength, hexdigest]} of an uploaded file,
// or None when there is none.
func mCheckUpload(c *call, a *kojixml.Args) (any, error) {
	reldir := a.String(0, "path")
	name := a.String(1, "name")
	verify := a.OptString(2, "verify", "")
	tail := a.IntOrNil(3, "tail")
	volume := a.OptAny(4, "volume", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	t, err := c.uploadPath(reldir, name, volume, false)
	if err != nil {
		return nil, err
	}
	sum, err := newVerify(verify)
	if err != nil {
		return nil, err
	}
	if tail != nil && *tail < 0 {
		return nil, genericErr("Invalid tail value: %d", *tail)
	}
	dirfd, err := c.hub.openDir(t.dir, false)
	if errors.Is(err, errNoDir) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dirfd)
	f, _, err := openFileAt(dirfd, t.name, t.rel, openRead)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := lockFile(f, false, t.rel); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", t.rel, err)
	}
	res := map[string]any{"size": st.Size(), "mtime": float64(st.ModTime().UnixNano()) / 1e9}
	if sum != nil {
		var from int64
		if tail != nil {
			from = max(st.Size()-*tail, 0)
		}
		n, err := io.Copy(sum, io.NewSectionReader(f, from, 1<<62))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.rel, err)
		}
		res["sumlength"] = n
		res["hexdigest"] = hexDigest(sum)
	}
	return res, nil
}

// mListTaskOutput is Koji's listTaskOutput(taskID, stat=False,
// all_volumes=False, strict=False): the files under the task's output
// directory, by relative name. With stat, each maps to {st_size (a string,
// as Koji sends it), st_atime, st_mtime, st_ctime}; with all_volumes, to
// the volumes holding it (or volume -> stat). Symbolic links and special
// files are not listed.
func mListTaskOutput(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "taskID")
	withStat := a.OptBool(1, "stat", false)
	allVolumes := a.OptBool(2, "all_volumes", false)
	strict := a.OptBool(3, "strict", false)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if strict {
		if _, err := c.hub.store.GetTask(c.ctx, id); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return nil, genericErr("Task doesn't exist")
			}
			return nil, internalErr("read task", err)
		}
	}
	files, err := c.hub.taskOutputFiles(id, withStat)
	if err != nil {
		return nil, err
	}
	if !withStat && !allVolumes {
		out := make([]any, len(files))
		for i, f := range files {
			out[i] = f.name
		}
		return out, nil
	}
	out := make(map[string]any, len(files))
	for _, f := range files {
		switch {
		case withStat && allVolumes:
			out[f.name] = map[string]any{defaultVolume: f.stat}
		case withStat:
			out[f.name] = f.stat
		default:
			out[f.name] = []any{defaultVolume}
		}
	}
	return out, nil
}

type outputFile struct {
	name string
	stat map[string]any
}

// taskOutputFiles walks a task's output directory; no directory means no
// files.
func (h *Hub) taskOutputFiles(id int64, withStat bool) ([]outputFile, error) {
	if id <= 0 {
		return nil, nil
	}
	rel := taskRelDir(id)
	dirfd, err := h.openDir(rel, false)
	if errors.Is(err, errNoDir) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	syscall.Close(dirfd) // the components are real directories; walk by path
	root := filepath.Join(append([]string{h.cfg.TopDir, "work"}, rel...)...)
	var files []outputFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // vanished or unreadable: skip
		}
		if p == root {
			return nil
		}
		relName, _ := filepath.Rel(root, p)
		relName = filepath.ToSlash(relName)
		if d.IsDir() {
			if strings.Count(relName, "/")+1 >= maxOutputDepth {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(files) >= maxOutputFiles {
			return fmt.Errorf("task %d has more than %d output files", id, maxOutputFiles)
		}
		of := outputFile{name: relName}
		if withStat {
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			of.stat = statMap(fi)
		}
		files = append(files, of)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list output of task %d: %w", id, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files, nil
}

// statMap is Koji's stat map: st_size as a string (XML-RPC ints are 32-bit
// for Python clients), times as floats.
func statMap(fi fs.FileInfo) map[string]any {
	m := map[string]any{
		"st_size":  strconv.FormatInt(fi.Size(), 10),
		"st_mtime": float64(fi.ModTime().UnixNano()) / 1e9,
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m["st_atime"] = float64(st.Atim.Sec) + float64(st.Atim.Nsec)/1e9
		m["st_ctime"] = float64(st.Ctim.Sec) + float64(st.Ctim.Nsec)/1e9
	}
	return m
}

// mDownloadTaskOutput is Koji's downloadTaskOutput(taskID, fileName,
// offset=0, size=-1, volume=None): up to size bytes of a task output file
// from offset (negative: from the end), base64-encoded in a string as Koji
// sends it. At most maxDownloadChunk bytes are returned per call.
func mDownloadTaskOutput(c *call, a *kojixml.Args) (any, error) {
	id := a.Int(0, "taskID")
	fileName := a.String(1, "fileName")
	offset := a.OptInt(2, "offset", 0)
	size := a.OptInt(3, "size", -1)
	volume := a.OptAny(4, "volume", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := checkVolume(volume); err != nil {
		return nil, err
	}
	parts, why := splitRelPath(fileName)
	if why != "" || strings.HasSuffix(fileName, "/") {
		return nil, genericErr("Invalid file name: %s", quoteOdd(fileName))
	}
	noFile := genericErr("no file \"%s\" output by task %d", quoteOdd(fileName), id)
	if id <= 0 {
		return nil, noFile
	}
	dirParts := append(taskRelDir(id), parts[:len(parts)-1]...)
	dirfd, err := c.hub.openDir(dirParts, false)
	if errors.Is(err, errNoDir) {
		return nil, noFile
	}
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dirfd)
	f, _, err := openFileAt(dirfd, parts[len(parts)-1], path.Join(dirParts...)+"/"+parts[len(parts)-1], openRead)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, noFile
	}
	var ff *kojixml.Fault
	if errors.As(err, &ff) {
		return nil, noFile // a symbolic link or not a regular file
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", fileName, err)
	}
	if offset < 0 {
		offset = max(st.Size()+offset, 0)
	}
	if size < 0 || size > maxDownloadChunk {
		size = maxDownloadChunk
	}
	n := max(min(size, st.Size()-offset), 0)
	buf := make([]byte, n)
	k, err := f.ReadAt(buf, offset)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", fileName, err)
	}
	return base64.StdEncoding.EncodeToString(buf[:k]), nil
}
