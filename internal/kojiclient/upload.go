package kojiclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// checkUploadTarget rejects what the hub would refuse anyway (Koji's
// get_upload_path), before any byte is sent.
func checkUploadTarget(serverDir, name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("invalid upload file name %q", name)
	}
	clean := path.Clean(serverDir)
	if serverDir == "" || strings.ContainsRune(serverDir, 0) || path.IsAbs(clean) ||
		clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("invalid upload directory %q", serverDir)
	}
	return nil
}

// uploadResult is the hub's answer to a raw upload.
type uploadResult struct {
	size      int64
	hexdigest string
}

// rawUpload POSTs one chunk as Koji's fast upload: the body is the raw data
// (application/octet-stream), the target in the query string, and the hub
// answers {size, fileverify, offset, hexdigest}. The size and the adler32
// of the chunk are checked.
func (c *Client) rawUpload(ctx context.Context, serverDir, name string, offset int64, data []byte, overwrite bool) error {
	if !c.LoggedIn() {
		return errors.New("not logged in")
	}
	q := url.Values{}
	q.Set("filename", name)
	q.Set("filepath", serverDir)
	q.Set("fileverify", "adler32")
	q.Set("offset", strconv.FormatInt(offset, 10))
	if overwrite {
		q.Set("overwrite", "1")
	}
	v, err := c.doRenewing(ctx, &rpcRequest{
		method:      "rawUpload",
		url:         c.hub,
		query:       q,
		body:        data,
		contentType: "application/octet-stream",
	})
	if err != nil {
		return err
	}
	r, err := newFields(v)
	if err != nil {
		return err
	}
	res := uploadResult{size: r.int("size"), hexdigest: r.str("hexdigest")}
	if r.err != nil {
		return r.err
	}
	if res.size != int64(len(data)) {
		return fmt.Errorf("hub stored %d bytes of a %d-byte chunk", res.size, len(data))
	}
	if want := adlerHex(adler32.Checksum(data)); res.hexdigest != want {
		return fmt.Errorf("upload checksum failed: hub has adler32 %q, sent %s", res.hexdigest, want)
	}
	return nil
}

func adlerHex(sum uint32) string { return fmt.Sprintf("%08x", sum) }

// UploadChunk writes data at offset of serverDir/name under the hub's work
// directory, as kojid streams a growing log: overwrite truncates the file at
// offset first (Koji's overwrite=1; use it for logs). The hub's size and
// adler32 of the chunk are checked.
func (c *Client) UploadChunk(ctx context.Context, serverDir, name string, offset int64, data []byte, overwrite bool) error {
	if err := checkUploadTarget(serverDir, name); err != nil {
		return fmt.Errorf("upload chunk: %w", err)
	}
	if offset < 0 {
		return fmt.Errorf("upload %s/%s: negative offset %d", serverDir, name, offset)
	}
	if len(data) > c.opts.UploadBlockSize*16 {
		return fmt.Errorf("upload %s/%s: chunk of %d bytes is larger than %d", serverDir, name, len(data), c.opts.UploadBlockSize*16)
	}
	if err := c.rawUpload(ctx, serverDir, name, offset, data, overwrite); err != nil {
		return fmt.Errorf("upload %s/%s at offset %d: %w", serverDir, name, offset, err)
	}
	return nil
}

// UploadFile uploads localPath to serverDir/name under the hub's work
// directory (name "" is the local base name) in UploadBlockSize chunks, each
// checked by size and adler32, then verifies the whole file with
// checkUpload(serverDir, name, verify="adler32"). An existing file is
// replaced, as Koji's uploadWrapper does. progress, if not nil, is called
// with the bytes done and the file size after each chunk.
func (c *Client) UploadFile(ctx context.Context, localPath, serverDir, name string, progress func(done, total int64)) error {
	if name == "" {
		name = filepath.Base(localPath)
	}
	if err := checkUploadTarget(serverDir, name); err != nil {
		return fmt.Errorf("upload %s: %w", localPath, err)
	}
	if !c.LoggedIn() {
		return fmt.Errorf("upload %s: not logged in", localPath)
	}
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("upload %s: not a regular file", localPath)
	}
	total := st.Size()
	target := serverDir + "/" + name
	if progress != nil {
		progress(0, total)
	}
	// A small file gets a buffer of its size (and one byte, to see its
	// end in one read), not a block's: a createrepo task uploads a dozen
	// files of a few KB among its big ones.
	buf := make([]byte, min(int64(c.opts.UploadBlockSize), total+1))
	var whole hash.Hash32 = adler32.New()
	var offset int64
	for first := true; ; first = false {
		n, rerr := io.ReadFull(f, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return fmt.Errorf("upload %s: %w", localPath, rerr)
		}
		if n == 0 && !first {
			break
		}
		chunk := buf[:n]
		// The first chunk always truncates, so an old file of the same
		// name cannot leave a tail.
		if err := c.rawUpload(ctx, serverDir, name, offset, chunk, true); err != nil {
			return fmt.Errorf("upload %s to %s at offset %d: %w", localPath, target, offset, err)
		}
		whole.Write(chunk)
		offset += int64(n)
		if progress != nil {
			progress(offset, total)
		}
		if n < len(buf) {
			break
		}
	}
	if offset != total {
		return fmt.Errorf("upload %s: file changed size during upload (%d, now %d bytes)", localPath, total, offset)
	}
	v, err := c.Call(ctx, "checkUpload", serverDir, name, Kw{"verify": "adler32"})
	if err != nil {
		return fmt.Errorf("upload %s: check %s: %w", localPath, target, err)
	}
	if v == nil {
		return fmt.Errorf("upload %s: hub has no file %s after upload", localPath, target)
	}
	r, err := newFields(v)
	if err != nil {
		return fmt.Errorf("upload %s: check %s: %w", localPath, target, err)
	}
	size, digest := r.int("size"), r.str("hexdigest")
	if r.err != nil {
		return fmt.Errorf("upload %s: check %s: %w", localPath, target, r.err)
	}
	if size != offset {
		return fmt.Errorf("upload %s: uploaded file %s is wrong length: %d != %d", localPath, target, size, offset)
	}
	if want := adlerHex(whole.Sum32()); digest != want {
		return fmt.Errorf("upload %s: uploaded file %s has wrong checksum: %q != %s", localPath, target, digest, want)
	}
	return nil
}

// DownloadTaskOutput reads up to size bytes at offset of a task output file
// (downloadTaskOutput(taskID, fileName, offset=, size=)). A negative offset
// counts from the end; size -1 reads to the end. An empty result means
// nothing more has been written yet.
func (c *Client) DownloadTaskOutput(ctx context.Context, taskID int64, fileName string, offset, size int64) ([]byte, error) {
	if fileName == "" {
		return nil, fmt.Errorf("download output of task %d: empty file name", taskID)
	}
	if size < -1 {
		return nil, fmt.Errorf("download %s of task %d: bad size %d", fileName, taskID, size)
	}
	v, err := c.Call(ctx, "downloadTaskOutput", taskID, fileName, Kw{"offset": offset, "size": size})
	if err != nil {
		return nil, fmt.Errorf("download %s of task %d: %w", fileName, taskID, err)
	}
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		// Koji returns the data base64-encoded in a plain <string>.
		b, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			return nil, fmt.Errorf("download %s of task %d: bad base64 from hub: %w", fileName, taskID, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("download %s of task %d: hub returned %T", fileName, taskID, v)
}
