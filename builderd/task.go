package builderd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kojigo/builderd/logstream"
	"kojigo/builderd/pgroup"
	"kojigo/internal/kojixml"
)

// pgidFile lists, one per line, the process groups a task started, so a
// restarted kojid can kill what a crashed one left.
const pgidFile = "pgids"

// taskEnvTag marks every process a task starts, so that a pid reused by an
// unrelated process is never killed during crash cleanup.
func taskEnvTag(id int64) string { return "KOJID_TASK=" + strconv.FormatInt(id, 10) }

// taskRelPath is Koji's pathinfo.taskrelpath: tasks/<id % 10000>/<id>,
// relative to the hub's work directory. It is the task's upload directory.
func taskRelPath(id int64) string {
	return fmt.Sprintf("tasks/%d/%d", id%10000, id)
}

// task is one running task as its handler sees it.
type task struct {
	d      *daemon
	rt     *runningTask
	id     int64
	method string
	info   map[string]any // host.openTask's answer
	params []any          // decoded request parameters
	dir    string         // local work directory
	log    *slog.Logger

	logs *logstream.Streamer
	stop context.CancelFunc // stops the log streamer's Run
	done chan struct{}

	// notesLog, when set, receives kojid's own root.log and state.log
	// notes: with mock, those names are mock's logs.
	notesLog string
}

func (d *daemon) newTask(id int64, info map[string]any) (*task, error) {
	t := &task{
		d:      d,
		id:     id,
		method: asString(info["method"]),
		info:   info,
		dir:    filepath.Join(d.cfg.WorkDir, filepath.FromSlash(taskRelPath(id))),
		log:    d.log.With("task_id", id, "method", asString(info["method"])),
	}
	req := asString(info["request"])
	if req == "" {
		return t, genericErrorf("task %d has no request", id)
	}
	call, err := kojixml.DecodeOptions{}.DecodeCallBytes([]byte(req))
	if err != nil {
		return t, genericErrorf("task %d: cannot decode its request: %v", id, err)
	}
	t.params = call.Params
	return t, nil
}

// uploadDir is where the task's files go on the hub.
func (t *task) uploadDir() string { return taskRelPath(t.id) }

// prepare creates the task's directories and its log streamer.
func (t *task) prepare() error {
	if err := os.RemoveAll(t.dir); err != nil {
		return fmt.Errorf("clean task directory: %w", err)
	}
	for _, sub := range []string{"", "logs"} {
		if err := os.MkdirAll(filepath.Join(t.dir, sub), 0o755); err != nil {
			return noSpace(fmt.Errorf("create task directory: %w", err), t.d.cfg.WorkDir)
		}
	}
	s, err := logstream.New(logstream.Options{
		Uploader: chunkUploader{t.d.hub},
		Dir:      t.uploadDir(),
		Logger:   t.log,
		OnError: func(string, error) {
			// The hub refuses uploads for a task that is no longer ours:
			// look at once instead of at the next poll.
			t.d.poke()
		},
	})
	if err != nil {
		return err
	}
	t.logs = s
	ctx, cancel := context.WithCancel(context.Background())
	t.stop = cancel
	t.done = make(chan struct{})
	go func() {
		defer close(t.done)
		_ = s.Run(ctx)
	}()
	return nil
}

// flushLogs stops the streamer after a last upload of every log; the logs
// can then be listed with uploadedLogs. Writing to a log afterwards is not
// streamed.
func (t *task) flushLogs() {
	if t.logs == nil || t.stop == nil {
		return
	}
	t.stop()
	<-t.done
	t.stop = nil
	// The logs are part of the result: wait out a hub outage for them
	// too; a shutdown (the daemon's base context) ends the wait.
	base := t.d.base
	if base == nil {
		base = context.Background()
	}
	ctx := patient(base)
	if err := t.logs.Sync(ctx); err != nil {
		t.log.Warn("last log upload failed", "err", err)
	}
}

// close flushes and closes the logs.
func (t *task) close() {
	if t.logs == nil {
		return
	}
	t.flushLogs()
	_ = t.logs.Close()
	t.logs = nil
}

// chunkUploader adapts the Hub to logstream: logs are always uploaded with
// overwrite, so a restarted log replaces the hub's copy.
type chunkUploader struct{ h Hub }

func (c chunkUploader) UploadChunk(ctx context.Context, dir, name string, offset int64, data []byte) error {
	return c.h.UploadChunk(ctx, dir, name, offset, data, true)
}

// logFile creates (or opens for appending) a streamed log of the task.
func (t *task) logFile(name string) (*os.File, error) {
	p := filepath.Join(t.dir, "logs", name)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, noSpace(fmt.Errorf("open %s: %w", name, err), t.d.cfg.WorkDir)
	}
	if err := t.logs.Add(name, p); err != nil && !strings.Contains(err.Error(), "already added") {
		f.Close()
		return nil, err
	}
	return f, nil
}

// logPath is the local path of a streamed log.
func (t *task) logPath(name string) string { return filepath.Join(t.dir, "logs", name) }

// logf appends a timestamped line to a streamed log, as mock's state.log and
// root.log read.
func (t *task) logf(name, format string, args ...any) {
	if t.notesLog != "" && (name == "root.log" || name == "state.log") {
		name = t.notesLog
	}
	f, err := t.logFile(name)
	if err != nil {
		t.log.Warn("cannot write log", "log", name, "err", err)
		return
	}
	defer f.Close()
	line := fmt.Sprintf(format, args...)
	fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format("2006-01-02 15:04:05,000"), line)
}

// uploadedLogs returns the task's logs as result paths.
func (t *task) uploadedLogs() []any {
	var out []any
	if t.logs == nil {
		return out
	}
	for _, n := range t.logs.Uploaded() {
		out = append(out, t.uploadDir()+"/"+n)
	}
	return out
}

// upload sends a result file to the task's directory on the hub and returns
// its path relative to the work directory.
func (t *task) upload(ctx context.Context, local string) (string, error) {
	name := filepath.Base(local)
	if err := logstream.CheckName(name); err != nil {
		return "", buildErrorf("cannot upload %s: %v", local, err)
	}
	if err := t.d.hub.UploadFile(ctx, local, t.uploadDir(), name, nil); err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	return t.uploadDir() + "/" + name, nil
}

// run runs a command for the task in its own process group, with its output
// appended to the log named logName, and records the group for crash
// cleanup. The environment is env plus the task's tag.
func (t *task) run(ctx context.Context, logName string, argv []string, dir string, env []string, cred *syscall.Credential, timeout time.Duration) (pgroup.Result, error) {
	f, err := t.logFile(logName)
	if err != nil {
		return pgroup.Result{}, err
	}
	defer f.Close()
	env = append(append([]string{}, env...), taskEnvTag(t.id))
	return pgroup.Run(ctx, pgroup.Cmd{
		Path: argv[0], Args: argv[1:], Dir: dir, Env: env,
		Stdout: f, Stderr: f, Credential: cred, Timeout: timeout,
		Started: func(pgid int) {
			pf, err := os.OpenFile(filepath.Join(t.dir, pgidFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err == nil {
				fmt.Fprintln(pf, pgid)
				pf.Close()
			}
		},
	})
}

// subtask creates a child task (Koji's host.subtask); the label makes it
// idempotent when the parent runs again after a restart.
func (t *task) subtask(ctx context.Context, method string, args []any, label, arch string) (int64, error) {
	opts := kw("label", label)
	if arch != "" {
		opts["arch"] = arch
	}
	id, err := callInt(ctx, t.d.hub, "host.subtask", method, args, t.id, opts)
	if err != nil {
		return 0, err
	}
	t.log.Info("created subtask", "subtask", id, "subtask_method", method, "label", label)
	return id, nil
}

// wait waits for all children to finish and returns their results, as
// Koji's wait(all=True, failany=...). With failany, the first failed child
// cancels the others and its fault is returned unchanged, so the parent
// fails with the child's reason.
func (t *task) wait(ctx context.Context, children []int64, failany bool) (map[int64]any, error) {
	ids := make([]any, len(children))
	for i, c := range children {
		ids[i] = c
	}
	if _, err := t.d.hub.Call(ctx, "host.taskSetWait", t.id, ids); err != nil {
		return nil, fmt.Errorf("host.taskSetWait: %w", err)
	}
	t.rt.waiting.Store(true)
	defer t.rt.waiting.Store(false)
	checked := map[int64]bool{}
	poll := t.d.cfg.CancelPoll
	for {
		ended := t.d.endedChan() // before asking, so no end is missed
		v, err := t.d.hub.Call(ctx, "host.taskWait", t.id)
		if err != nil {
			return nil, fmt.Errorf("host.taskWait: %w", err)
		}
		pair := asList(v)
		if len(pair) != 2 {
			return nil, fmt.Errorf("host.taskWait: unexpected answer %v", v)
		}
		finished, unfinished := asList(pair[0]), asList(pair[1])
		if len(unfinished) == 0 {
			break
		}
		if failany {
			for _, f := range finished {
				id, _ := asInt(f)
				if checked[id] {
					continue
				}
				if _, err := t.d.hub.Call(ctx, "getTaskResult", id); err != nil {
					if fault, ok := isFault(err); ok {
						t.log.Info("subtask failed, cancelling the others", "subtask", id)
						if _, cerr := t.d.hub.Call(ctx, "cancelTaskChildren", t.id); cerr != nil {
							t.log.Warn("cancelTaskChildren failed", "err", cerr)
						}
						return nil, fault
					}
					return nil, fmt.Errorf("getTaskResult %d: %w", id, err)
				}
				checked[id] = true
			}
		}
		tm := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil, context.Cause(ctx)
		case <-ended:
			tm.Stop()
		case <-tm.C:
		}
	}
	v, err := t.d.hub.Call(ctx, "host.taskWaitResults", t.id, ids)
	if err != nil {
		if f, ok := isFault(err); ok {
			return nil, f // a child's fault, as it is: the parent's reason
		}
		return nil, fmt.Errorf("host.taskWaitResults: %w", err)
	}
	out := map[int64]any{}
	for _, e := range asList(v) {
		pair := asList(e)
		if len(pair) != 2 {
			continue
		}
		id, ok := asInt(pair[0])
		if ok {
			out[id] = pair[1]
		}
	}
	return out, nil
}

// fetch makes work/<rel> available locally: from topdir when it is mounted
// here, else downloaded from topurl into the task directory.
func (t *task) fetch(ctx context.Context, rel string) (string, error) {
	if err := checkRel(rel); err != nil {
		return "", err
	}
	return t.fetchTop(ctx, "work/"+rel)
}

// fetchTop is a file of the hub's tree: under topdir when it is mounted
// here, else downloaded from topurl into the task directory.
func (t *task) fetchTop(ctx context.Context, rel string) (string, error) {
	if err := checkRel(rel); err != nil {
		return "", err
	}
	if t.d.cfg.TopDir != "" {
		p := filepath.Join(t.d.cfg.TopDir, filepath.FromSlash(rel))
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if len(t.d.cfg.TopURL) == 0 {
		return "", buildErrorf("%s not found under topdir %s and no topurl is configured", rel, t.d.cfg.TopDir)
	}
	dst := filepath.Join(t.dir, "local", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", noSpace(fmt.Errorf("download %s: %w", rel, err), t.d.cfg.WorkDir)
	}
	var lastErr error
	for _, top := range t.d.cfg.TopURL {
		u := strings.TrimRight(top, "/") + "/" + (&url.URL{Path: rel}).EscapedPath()
		if lastErr = t.download(ctx, u, dst); lastErr == nil {
			return dst, nil
		}
		t.log.Warn("download failed", "url", u, "err", lastErr)
	}
	return "", lastErr
}

func (t *task) download(ctx context.Context, u, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", u, err)
	}
	resp, err := t.d.http.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return buildErrorf("download %s: HTTP %s", u, resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return noSpace(fmt.Errorf("download %s: %w", u, err), t.d.cfg.WorkDir)
	}
	n, err := io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return noSpace(fmt.Errorf("download %s: %w", u, err), t.d.cfg.WorkDir)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("download %s: got %d bytes, want %d", u, n, resp.ContentLength)
	}
	return nil
}

// checkRel accepts a path relative to the hub's work directory that stays
// inside it.
func checkRel(rel string) error {
	if rel == "" || len(rel) > 4096 || path.IsAbs(rel) || path.Clean(rel) != rel || rel == "." || rel == ".." ||
		strings.HasPrefix(rel, "../") || strings.ContainsAny(rel, "\x00\n") {
		return buildErrorf("bad path %q: want a file path relative to the hub's work directory", rel)
	}
	return nil
}

// httpClient trusts serverca (when the file exists) for topurl downloads.
func httpClient(serverCA string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if serverCA != "" {
		pem, err := os.ReadFile(serverCA)
		switch {
		case err == nil:
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kojid: serverca %s holds no PEM certificate", serverCA)
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, fmt.Errorf("kojid: serverca: %w", err)
		}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Minute}, nil
}

// noSpace turns an ENOSPC error into the fault operators need: which
// filesystem is full.
func noSpace(err error, dir string) error {
	if err == nil || !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	return buildErrorf("no space left on %s: %v", dir, err)
}

// encodeResult is the methodResponse document host.closeTask stores.
func encodeResult(v any) (string, error) {
	var b bytes.Buffer
	if err := kojixml.EncodeResponse(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// encodeFault is the fault document host.failTask stores.
func encodeFault(f *kojixml.Fault) (string, error) {
	var b bytes.Buffer
	if err := kojixml.EncodeFault(&b, f); err != nil {
		return "", err
	}
	return b.String(), nil
}
