package hubcore

// The hub's own disk: topdir's free space in /healthz, in /metrics and in
// the log, measured and judged as kojid does for its workdir
// (internal/health), so that a full topdir is seen before uploads fail.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kojigo/internal/health"
)

// DefaultTopdirMinSpace is Config.TopdirMinSpace's default: kojid's minspace.
const DefaultTopdirMinSpace = health.DefaultMinSpace

// topdirCheckInterval is how often RunServer measures topdir between
// /healthz and /metrics requests, so that the warning is logged even when
// nobody asks.
const topdirCheckInterval = 30 * time.Second

// topdirWatch measures topdir's filesystem and logs when it crosses the
// minimum (once each way), not on every measurement.
type topdirWatch struct {
	path     string
	minSpace int64 // bytes; <= 0: not checked
	log      *slog.Logger

	mu   sync.Mutex
	last string // the reasons of the previous check, "" when fine
}

func newTopdirWatch(path string, minSpace int64, log *slog.Logger) *topdirWatch {
	if minSpace == 0 {
		minSpace = DefaultTopdirMinSpace
	}
	return &topdirWatch{path: path, minSpace: minSpace, log: log}
}

// check measures topdir now and returns the measurement and what is wrong
// with it ("" when nothing), logging a change of state.
func (w *topdirWatch) check() (health.Disk, string) {
	d := health.MeasureDisk(health.Watch{Role: health.RoleTopdir, Path: w.path})
	why := strings.Join(health.DiskReasons(d, w.minSpace), "; ")
	w.mu.Lock()
	prev := w.last
	w.last = why
	w.mu.Unlock()
	switch {
	case why == prev:
	case why == "":
		w.log.Info("topdir has space again", "topdir", w.path, "free", health.FormatBytes(d.Free))
	case d.Err != nil:
		w.log.Error("topdir cannot be measured: uploads and repos will fail; check that KojiDir is mounted", "topdir", w.path, "err", d.Err)
	default:
		w.log.Warn("topdir is low on space: uploads will fail when it is full; free space or raise the filesystem, or lower TopdirMinSpace", "topdir", w.path,
			"free_bytes", d.Free, "min_bytes", w.minSpace, "reason", why)
	}
	return d, why
}

// run checks topdir every interval until ctx ends.
func (w *topdirWatch) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.check()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var (
	descTopdirFree = prometheus.NewDesc("kojihub_topdir_free_bytes", "Bytes free for the hub in topdir's filesystem (absent when it cannot be measured).", nil, nil)
	descTopdirSize = prometheus.NewDesc("kojihub_topdir_size_bytes", "Bytes in topdir's filesystem.", nil, nil)
	descTopdirMin  = prometheus.NewDesc("kojihub_topdir_min_free_bytes", "TopdirMinSpace: below this /healthz says degraded (absent when not checked).", nil, nil)
	descTopdirOK   = prometheus.NewDesc("kojihub_topdir_ok", "1 when topdir can be measured and has TopdirMinSpace free.", nil, nil)
)

func (w *topdirWatch) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTopdirFree
	ch <- descTopdirSize
	ch <- descTopdirMin
	ch <- descTopdirOK
}

func (w *topdirWatch) Collect(ch chan<- prometheus.Metric) {
	d, why := w.check()
	ok := 0.0
	if why == "" {
		ok = 1
	}
	if d.Err == nil {
		ch <- prometheus.MustNewConstMetric(descTopdirFree, prometheus.GaugeValue, float64(d.Free))
		ch <- prometheus.MustNewConstMetric(descTopdirSize, prometheus.GaugeValue, float64(d.Total))
	}
	if w.minSpace > 0 {
		ch <- prometheus.MustNewConstMetric(descTopdirMin, prometheus.GaugeValue, float64(w.minSpace))
	}
	ch <- prometheus.MustNewConstMetric(descTopdirOK, prometheus.GaugeValue, ok)
}

// healthz answers /healthz: 503 when the database or topdir cannot be
// used, 200 "degraded: REASON" when topdir is below TopdirMinSpace (the hub
// still serves; uploads may soon fail), 200 "ok" otherwise. A load balancer
// keeps a degraded hub; monitoring alerts on the word.
func (h *Hub) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.store.CheckSchema(ctx); err != nil {
		http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	d, why := h.metrics.topdir.check()
	switch {
	case d.Err != nil:
		http.Error(w, why, http.StatusServiceUnavailable)
	case why != "":
		io.WriteString(w, "degraded: "+why+"\n")
	default:
		io.WriteString(w, "ok\n")
	}
}
