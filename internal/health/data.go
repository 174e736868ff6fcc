package health

// Keys of the host data map sent with host.updateHost(task_load, ready,
// data). This is a wire contract: the hub stores the map as JSON
// (Koji's scheduler_host_data) and the console reads it. Keys are flat,
// snake_case and stable; add keys, never rename or retype one.
//
//	disk              list of {role, path, mount, free, total[, error][, write_error]};
//	                  free and total in bytes (int64); error/write_error strings
//	mem_total         bytes (int64), /proc/meminfo MemTotal; 0 when unknown
//	mem_available     bytes (int64), /proc/meminfo MemAvailable
//	load1, load5, load15  load averages (float64); absent when unreadable
//	cpus              usable CPUs (int)
//	tools             {tool name: bool found}
//	cert_not_after    unix seconds (int64) of the certificate's expiry; absent without one
//	not_ready_reasons list of strings, empty when ready (Evaluate's wording)
//	ready             bool, the same value as updateHost's ready argument
//	jobs              tasks running now, not counting parents waiting on subtasks (int)
//	task_load         sum of running task weights (float64)
//	methods           task methods this host handles (Koji's key)
//	maxjobs           kojid.conf maxjobs (Koji's key)
//	arches            RPM arches this build of kojid runs natively
//	version           kojid version string
//	probe_ts          unix seconds (int64) of the measurement
const (
	KeyDisk            = "disk"
	KeyMemTotal        = "mem_total"
	KeyMemAvailable    = "mem_available"
	KeyLoad1           = "load1"
	KeyLoad5           = "load5"
	KeyLoad15          = "load15"
	KeyCPUs            = "cpus"
	KeyTools           = "tools"
	KeyCertNotAfter    = "cert_not_after"
	KeyNotReadyReasons = "not_ready_reasons"
	KeyReady           = "ready"
	KeyJobs            = "jobs"
	KeyTaskLoad        = "task_load"
	KeyMethods         = "methods"
	KeyMaxJobs         = "maxjobs"
	KeyArches          = "arches"
	KeyVersion         = "version"
	KeyProbeTS         = "probe_ts"
)

// HostInfo is what the daemon adds to a probe in Data.
type HostInfo struct {
	Methods []string
	MaxJobs int
	Arches  []string
	Version string
}

// Data returns the host data map for host.updateHost (see the Key
// constants). Values are only bool, int, int64, float64, string, []any and
// map[string]any, so any XML-RPC or JSON encoder carries them.
func Data(p Probe, reasons []string, info HostInfo) map[string]any {
	disks := make([]any, 0, len(p.Disks))
	for _, d := range p.Disks {
		m := map[string]any{
			"role":  d.Role,
			"path":  d.Path,
			"mount": d.Mount,
			"free":  clampInt64(d.Free),
			"total": clampInt64(d.Total),
		}
		if d.Err != nil {
			m["error"] = d.Err.Error()
		}
		if d.WriteErr != nil {
			m["write_error"] = d.WriteErr.Error()
		}
		disks = append(disks, m)
	}
	tools := make(map[string]any, len(p.Tools))
	for name, path := range p.Tools {
		tools[name] = path != ""
	}
	rs := make([]any, 0, len(reasons))
	for _, r := range reasons {
		rs = append(rs, r)
	}
	data := map[string]any{
		KeyDisk:            disks,
		KeyMemTotal:        clampInt64(p.MemTotal),
		KeyMemAvailable:    clampInt64(p.MemAvailable),
		KeyCPUs:            p.CPUs,
		KeyTools:           tools,
		KeyNotReadyReasons: rs,
		KeyReady:           len(reasons) == 0,
		KeyJobs:            p.Jobs,
		KeyTaskLoad:        p.TaskLoad,
		KeyMethods:         anyStrings(info.Methods),
		KeyMaxJobs:         info.MaxJobs,
		KeyArches:          anyStrings(info.Arches),
		KeyVersion:         info.Version,
		KeyProbeTS:         p.Time.Unix(),
	}
	if p.LoadErr == nil {
		data[KeyLoad1] = p.Load1
		data[KeyLoad5] = p.Load5
		data[KeyLoad15] = p.Load15
	}
	if !p.CertNotAfter.IsZero() {
		data[KeyCertNotAfter] = p.CertNotAfter.Unix()
	}
	return data
}

func anyStrings(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

func clampInt64(n uint64) int64 {
	if n > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(n)
}
