package hubcore

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// metrics is the hub's Prometheus registry. Counts of calls are kept in
// the process; gauges of tasks and hosts are read from the database at
// scrape time, so every hub reports the farm's state.
type metrics struct {
	reg            *prometheus.Registry
	calls          *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	loginFailures  *prometheus.CounterVec
	passwordChecks prometheus.Counter
	TLSFailures    *prometheus.CounterVec
	schedRuns      prometheus.Counter
	schedAssigned  prometheus.Counter
	topdir         *topdirWatch
	// known reports whether a method name may be a label: only names of
	// the method table, so that made-up names cannot grow /metrics.
	known func(method string) bool
}

// unknownMethod is the label of calls to methods the hub does not have.
const unknownMethod = "unknown"

func newMetrics(h *Hub) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), topdir: newTopdirWatch(h.cfg.TopDir, h.cfg.TopdirMinSpace, h.log)}
	m.known = func(name string) bool {
		_, ok := h.methods[name]
		return ok || name == rawUploadName
	}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kojihub_calls_total", Help: "XML-RPC calls by method and outcome (ok or the fault code).",
	}, []string{"method", "outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kojihub_call_duration_seconds", Help: "XML-RPC call latency by method.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"method"})
	m.loginFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kojihub_login_failures_total", Help: "Refused logins by kind (password, ssl).",
	}, []string{"kind"})
	m.passwordChecks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kojihub_password_checks_total", Help: "Password verifications run by login (argon2id), those of unknown users against a dummy hash included.",
	})
	m.TLSFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kojihub_tls_handshake_failures_total", Help: "Failed TLS handshakes by diagnosis.",
	}, []string{"reason"})
	m.schedRuns = prometheus.NewCounter(prometheus.CounterOpts{Name: "kojihub_scheduler_runs_total", Help: "Scheduler passes run by this hub."})
	m.schedAssigned = prometheus.NewCounter(prometheus.CounterOpts{Name: "kojihub_scheduler_assignments_total", Help: "Tasks assigned by this hub's scheduler."})
	m.reg.MustRegister(m.calls, m.latency, m.loginFailures, m.passwordChecks, m.TLSFailures, m.schedRuns, m.schedAssigned, m.topdir,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &farmCollector{h: h})
	return m
}

// TLSFailureCounter lets the TLS listener count refused handshakes.
func (h *Hub) TLSFailureCounter(reason string) { h.metrics.TLSFailures.WithLabelValues(reason).Inc() }

// observe counts a call under its method, or under "unknown" when the hub
// has no such method.
func (m *metrics) observe(method string, f *kojixml.Fault, d time.Duration) {
	if !m.known(method) {
		method = unknownMethod
	}
	outcome := "ok"
	if f != nil {
		outcome = strconv.Itoa(f.Code)
	}
	m.calls.WithLabelValues(method, outcome).Inc()
	m.latency.WithLabelValues(method).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// farmCollector reads tasks by state, hosts and sessions from the store.
type farmCollector struct{ h *Hub }

var (
	descTasks    = prometheus.NewDesc("kojihub_tasks", "Tasks by state.", []string{"state"}, nil)
	descHosts    = prometheus.NewDesc("kojihub_hosts", "Hosts by enabled and ready.", []string{"enabled", "ready"}, nil)
	descDBUp     = prometheus.NewDesc("kojihub_database_up", "1 when the last scrape could read the database.", nil, nil)
	descSessions = prometheus.NewDesc("kojihub_sessions_open", "Open sessions.", nil, nil)
)

func (f *farmCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTasks
	ch <- descHosts
	ch <- descDBUp
	ch <- descSessions
}

func (f *farmCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	counts, err := f.h.store.TaskCountsByState(ctx)
	if err != nil {
		up = 0
	}
	for _, st := range []int{db.TaskFree, db.TaskOpen, db.TaskClosed, db.TaskCanceled, db.TaskAssigned, db.TaskFailed} {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(counts[st]), db.TaskStateName(st))
	}
	hosts, err := f.h.store.ListHostsCached(ctx, db.HostFilter{})
	if err != nil {
		up = 0
	}
	n := map[[2]bool]int{}
	for _, h := range hosts {
		n[[2]bool{h.Enabled, h.Ready}]++
	}
	for _, e := range []bool{false, true} {
		for _, r := range []bool{false, true} {
			ch <- prometheus.MustNewConstMetric(descHosts, prometheus.GaugeValue, float64(n[[2]bool{e, r}]), strconv.FormatBool(e), strconv.FormatBool(r))
		}
	}
	open, err := f.h.store.OpenSessionCount(ctx)
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(open))
	ch <- prometheus.MustNewConstMetric(descDBUp, prometheus.GaugeValue, up)
}
