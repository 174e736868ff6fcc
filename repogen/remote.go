package repogen

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Limits of what Merge fetches from one external repository.
const (
	// DefaultFetchTimeout bounds one download (repomd.xml, or one
	// metadata file).
	DefaultFetchTimeout = 30 * time.Minute
	// DefaultMaxRepomdBytes bounds repomd.xml.
	DefaultMaxRepomdBytes = 16 << 20
	// DefaultMaxMetadataBytes bounds each downloaded (compressed)
	// primary, filelists or other file.
	DefaultMaxMetadataBytes = 2 << 30
	// DefaultMaxOpenBytes bounds each metadata file once decompressed.
	DefaultMaxOpenBytes = 32 << 30
	// maxRedirects is how many redirects one download follows.
	maxRedirects = 10
)

// ErrExternalRepo is wrapped by every error about an external repository:
// it cannot be reached, or its metadata is broken or hostile.
var ErrExternalRepo = errors.New("external repo")

// ExternalRepo is one repository merged by Merge.
type ExternalRepo struct {
	// Name is for messages (Koji's external_repo_name); may be empty.
	Name string
	// URL is the repository root (the directory holding repodata/):
	// http://, https:// or file://; "$arch" is replaced by the arch merged.
	URL string
}

// remoteRepo is an external repository whose metadata was fetched into a
// local directory, checksums verified.
type remoteRepo struct {
	url   string    // as given, $arch substituted: the origin in pkgorigins
	base  string    // xml:base of its packages: url without a trailing slash
	local bool      // a file:// repository
	files [3]string // local copies of primary, filelists and other
}

// remoteData is a <data> entry of an external repomd.xml.
type remoteData struct {
	Type     string `xml:"type,attr"`
	Checksum struct {
		Type  string `xml:"type,attr"`
		Value string `xml:",chardata"`
	} `xml:"checksum"`
	Location struct {
		Href string `xml:"href,attr"`
		Base string `xml:"base,attr"`
	} `xml:"location"`
	Size string `xml:"size"`
}

// fetcher downloads external metadata within the limits of MergeOptions.
type fetcher struct {
	client    *http.Client
	timeout   time.Duration
	maxRepomd int64
	maxFile   int64
}

// newHTTPClient follows at most maxRedirects redirects, and only to http
// or https: a redirect cannot turn a download into a local file read.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return fmt.Errorf("redirect to %q: only http and https are followed", req.URL.Redacted())
	}
	return nil
}

// parseRepoURL checks an external repository URL.
func parseRepoURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %v", err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, errors.New("the URL has no host")
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL with host %q: only local paths (file:///path) can be read", u.Host)
		}
		if !path.IsAbs(u.Path) {
			return nil, errors.New("the file URL has no absolute path")
		}
	default:
		return nil, fmt.Errorf("scheme %q is not supported: use http, https or file", u.Scheme)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("the URL has a query or fragment: give the repository's directory")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// safeHref checks a relative location inside a repository: no scheme, no
// absolute path, no way out with "..", no query or fragment.
func safeHref(href string) error {
	if href == "" {
		return errors.New("empty location")
	}
	first, _, _ := strings.Cut(href, "/")
	if strings.ContainsAny(href, "\\\x00?#") || strings.Contains(first, ":") {
		return fmt.Errorf("location %q is not a plain relative path", href)
	}
	if !filepath.IsLocal(href) {
		return fmt.Errorf("location %q leaves the repository", href)
	}
	return nil
}

// fetchRepo downloads repomd.xml of the repository at raw and the
// primary, filelists and other files it names into dir, checking each
// against the checksum (and size, when given) repomd.xml records.
func (f *fetcher) fetchRepo(ctx context.Context, raw, dir string) (*remoteRepo, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrExternalRepo, raw, fmt.Sprintf(format, args...))
	}
	u, err := parseRepoURL(raw)
	if err != nil {
		return nil, fail("%v (fix it with koji edit-external-repo --url)", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create download directory: %w", err)
	}
	repomdPath := filepath.Join(dir, "repomd.xml")
	if _, err := f.get(ctx, u.JoinPath("repodata", "repomd.xml"), repomdPath, f.maxRepomd, "", "", -1); err != nil {
		return nil, fail("repodata/repomd.xml: %v", err)
	}
	rawMD, err := os.ReadFile(repomdPath)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Data []remoteData `xml:"data"`
	}
	if err := xml.Unmarshal(rawMD, &doc); err != nil {
		return nil, fail("repodata/repomd.xml is not valid XML (%v): is the URL a yum repository?", err)
	}
	base := strings.TrimSuffix(u.String(), "/")
	r := &remoteRepo{url: raw, base: base, local: u.Scheme == "file"}
	for i, typ := range []string{"primary", "filelists", "other"} {
		var d *remoteData
		for j := range doc.Data {
			if doc.Data[j].Type == typ {
				if d != nil {
					return nil, fail("repomd.xml lists %s twice", typ)
				}
				d = &doc.Data[j]
			}
		}
		if d == nil {
			return nil, fail("repomd.xml has no %s entry: the repository is incomplete", typ)
		}
		href := d.Location.Href
		if d.Location.Base != "" {
			return nil, fail("repomd.xml: %s has an xml:base (%q); only metadata inside the repository is read", typ, d.Location.Base)
		}
		if err := safeHref(href); err != nil {
			return nil, fail("repomd.xml: %s: %v", typ, err)
		}
		sum := strings.TrimSpace(d.Checksum.Value)
		if sum == "" {
			return nil, fail("repomd.xml: %s has no checksum", typ)
		}
		size := int64(-1)
		if s := strings.TrimSpace(d.Size); s != "" {
			if size, err = strconv.ParseInt(s, 10, 64); err != nil || size < 0 {
				return nil, fail("repomd.xml: %s has a bad size %q", typ, s)
			}
			if size > f.maxFile {
				return nil, fail("%s is %d bytes, more than the limit of %d", href, size, f.maxFile)
			}
		}
		local := filepath.Join(dir, typ+".xml"+path.Ext(href))
		if _, err := f.get(ctx, u.JoinPath(strings.Split(href, "/")...), local, f.maxFile, d.Checksum.Type, sum, size); err != nil {
			return nil, fail("%s: %v", href, err)
		}
		r.files[i] = local
	}
	return r, nil
}

// get downloads src into dst, at most max bytes; with sumType, the
// content must have that checksum, and with size >= 0 that size.
func (f *fetcher) get(ctx context.Context, src *url.URL, dst string, max int64, sumType, sum string, size int64) (int64, error) {
	var h hash.Hash
	if sumType != "" {
		nh, _, err := newHash(sumType)
		if err != nil {
			return 0, fmt.Errorf("checksum type %q is not supported", sumType)
		}
		h = nh()
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	body, length, err := f.open(ctx, src)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if length > max {
		return 0, fmt.Errorf("%d bytes, more than the limit of %d", length, max)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("save download: %w", err)
	}
	var w io.Writer = out
	if h != nil {
		w = io.MultiWriter(out, h)
	}
	n, err := io.Copy(w, io.LimitReader(ctxReader{ctx, body}, max+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		return n, fmt.Errorf("not downloaded within %v (after %d bytes)", f.timeout, n)
	case err != nil:
		return n, fmt.Errorf("download: %w", err)
	case n > max:
		return n, fmt.Errorf("more than the limit of %d bytes", max)
	case size >= 0 && n != size:
		return n, fmt.Errorf("%d bytes, repomd.xml says %d: the repository is being updated or broken; try again later", n, size)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sum) {
			return n, fmt.Errorf("%s checksum %s, repomd.xml says %s: the repository is being updated or broken; try again later", sumType, got, sum)
		}
	}
	return n, nil
}

// open starts reading src; length is -1 when unknown.
func (f *fetcher) open(ctx context.Context, src *url.URL) (io.ReadCloser, int64, error) {
	if src.Scheme == "file" {
		p := filepath.FromSlash(src.Path)
		fh, err := os.Open(p)
		if err != nil {
			return nil, 0, err
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, 0, err
		}
		if !st.Mode().IsRegular() {
			fh.Close()
			return nil, 0, fmt.Errorf("%s is not a regular file", p)
		}
		return fh, st.Size(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("no answer within %v", f.timeout)
		}
		return nil, 0, fmt.Errorf("%v (is the repository reachable from this host?)", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, &statusError{url: src.Redacted(), status: resp.Status, code: resp.StatusCode}
	}
	return resp.Body, resp.ContentLength, nil
}

// ctxReader stops a read of a local file when ctx ends (an HTTP body
// stops on its own).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// statusError is an HTTP answer other than 200; a 404 is fs.ErrNotExist.
type statusError struct {
	url, status string
	code        int
}

func (e *statusError) Error() string { return fmt.Sprintf("%s answered %s", e.url, e.status) }

func (e *statusError) Unwrap() error {
	if e.code == http.StatusNotFound {
		return fs.ErrNotExist
	}
	return nil
}

// repomdNS is the namespace of repomd.xml.
const repomdNS = "http://linux.duke.edu/metadata/repo"

// RepomdTimestamp reads repodata/repomd.xml of the external repository at
// repoURL (no $arch left in it) with Merge's rules: http, https (redirects
// only to http or https) or file://, at most DefaultMaxRepomdBytes, within
// timeout (0: DefaultFetchTimeout). It returns the newest <timestamp> in
// it, rounded to a whole second: what Koji's kojira records as the repo's
// max_ts (check_external_repos). client nil: Merge's default client. A
// missing repomd.xml (HTTP 404, no such file) wraps fs.ErrNotExist; every
// error wraps ErrExternalRepo.
func RepomdTimestamp(ctx context.Context, client *http.Client, repoURL string, timeout time.Duration) (int64, error) {
	fail := func(err error) error { return fmt.Errorf("%w %s: %w", ErrExternalRepo, repoURL, err) }
	u, err := parseRepoURL(repoURL)
	if err != nil {
		return 0, fail(err)
	}
	if client == nil {
		client = newHTTPClient()
		defer client.CloseIdleConnections()
	}
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	f := &fetcher{client: client, timeout: timeout, maxRepomd: DefaultMaxRepomdBytes}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, length, err := f.open(ctx, u.JoinPath("repodata", "repomd.xml"))
	if err != nil {
		return 0, fail(fmt.Errorf("repodata/repomd.xml: %w", err))
	}
	defer body.Close()
	if length > f.maxRepomd {
		return 0, fail(fmt.Errorf("repodata/repomd.xml is %d bytes, more than the limit of %d", length, f.maxRepomd))
	}
	raw, err := io.ReadAll(io.LimitReader(ctxReader{ctx, body}, f.maxRepomd+1))
	switch {
	case err != nil && ctx.Err() != nil:
		return 0, fail(fmt.Errorf("repodata/repomd.xml not read within %v", timeout))
	case err != nil:
		return 0, fail(fmt.Errorf("repodata/repomd.xml: %w", err))
	case int64(len(raw)) > f.maxRepomd:
		return 0, fail(fmt.Errorf("repodata/repomd.xml is more than the limit of %d bytes", f.maxRepomd))
	}
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	var newest float64
	found := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fail(fmt.Errorf("repodata/repomd.xml is not valid XML (%v): is the URL a yum repository?", err))
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "timestamp" || se.Name.Space != repomdNS {
			continue
		}
		var text string
		if err := d.DecodeElement(&text, &se); err != nil {
			return 0, fail(fmt.Errorf("repodata/repomd.xml: <timestamp>: %v", err))
		}
		ts, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(ts) || math.Abs(ts) > 1<<53 {
			return 0, fail(fmt.Errorf("repodata/repomd.xml: bad <timestamp> %q", text))
		}
		if !found || ts > newest {
			newest, found = ts, true
		}
	}
	if !found {
		return 0, fail(errors.New("repodata/repomd.xml has no <timestamp>"))
	}
	return int64(math.RoundToEven(newest)), nil
}
