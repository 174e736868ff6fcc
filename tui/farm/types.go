package farm

import (
	"time"
)

// Task states, Koji's numbers.
const (
	Free     = 0
	Open     = 1
	Closed   = 2
	Canceled = 3
	Assigned = 4
	Failed   = 5
)

// StateName is Koji's name of a task state.
func StateName(s int) string {
	switch s {
	case Free:
		return "FREE"
	case Open:
		return "OPEN"
	case Closed:
		return "CLOSED"
	case Canceled:
		return "CANCELED"
	case Assigned:
		return "ASSIGNED"
	case Failed:
		return "FAILED"
	}
	return "UNKNOWN"
}

// Finished reports whether a task state is final.
func Finished(s int) bool { return s == Closed || s == Canceled || s == Failed }

// Host is one builder as listHosts and, on kojigo's hub,
// kojigo.listHostHealth describe it.
type Host struct {
	ID          int64
	Name        string
	Arches      []string
	Enabled     bool
	Ready       bool
	TaskLoad    float64
	Capacity    float64
	Comment     string
	Description string
	// Update is the last check-in; zero when the host never checked in.
	Update time.Time
	// Channels are the host's channel names; nil when the hub did not say
	// (a stock hub: they are read per host for the detail pane only).
	Channels []string
	// Health is the host's last health report; nil when the hub has none
	// (a stock hub, or a host that never reported).
	Health *Health
}

// Health is what a kojigo builder reports with each check-in
// (internal/health's keys).
type Health struct {
	At           time.Time
	Disks        []Disk
	MemTotal     int64
	MemAvailable int64
	Load1        float64
	HasLoad      bool
	CPUs         int
	Jobs         int
	MaxJobs      int
	NotReady     []string
	CertNotAfter time.Time
	Version      string
	MissingTools []string
}

// Disk is one watched path of a builder.
type Disk struct {
	Role, Path, Mount string
	Free, Total       int64
	Err               string
}

// UsedFraction is the used share of the disk, 0 to 1.
func (d Disk) UsedFraction() float64 {
	if d.Total <= 0 {
		return 0
	}
	f := 1 - float64(d.Free)/float64(d.Total)
	return min(max(f, 0), 1)
}

// Task is one task as listTasks returns it, with the names resolved.
type Task struct {
	ID       int64
	Parent   int64 // 0: top level
	State    int
	Method   string
	Arch     string
	Label    string // what the task works on: "hello-1.0-1.src.rpm", "f40-candidate"
	Owner    string
	HostID   int64
	Host     string
	Channel  int64
	Priority int
	Weight   float64
	Created  time.Time
	Started  time.Time
	Finished time.Time
	// WaitReason is why a FREE task waits (kojigo's scheduler); empty when
	// unknown.
	WaitReason string
}

// TLSFailure is one refused handshake or login the hub recorded
// (kojigo.getTLSFailures).
type TLSFailure struct {
	At         time.Time
	Peer       string
	Problem    string
	Message    string
	Subject    string
	CommonName string
	NotAfter   time.Time
}

// Part names a piece of the snapshot that may be unavailable.
type Part string

// The snapshot's optional parts, each from one kojigo extension.
const (
	PartHealth   Part = "kojigo.listHostHealth"
	PartReasons  Part = "kojigo.listFreeTasks"
	PartTLS      Part = "kojigo.getTLSFailures"
	PartChannels Part = "channels" // part of kojigo.listHostHealth
	// PartRepoProgress is read for the task detail pane only.
	PartRepoProgress Part = "kojigo.getRepoProgress"
)

// Snapshot is the farm as one refresh saw it.
type Snapshot struct {
	At    time.Time
	Hosts []Host
	// Active are FREE, ASSIGNED and OPEN tasks, at most Limits.Active,
	// oldest first; ActiveTotal counts them all.
	Active      []Task
	ActiveTotal int
	Free, Open  int // FREE and (ASSIGNED or OPEN) counts
	// Recent are tasks finished within Limits.RecentAge, newest first.
	Recent []Task
	// FailedLastHour counts tasks that failed in the last hour.
	FailedLastHour int
	TLS            []TLSFailure
	// Missing says, for each optional part the hub did not give, why
	// (usually "not on this hub": a stock Koji).
	Missing map[Part]string
}

// Has reports whether the snapshot holds an optional part.
func (s *Snapshot) Has(p Part) bool { _, missing := s.Missing[p]; return !missing }

// HostDetail is what the hosts view's detail pane shows of one host.
type HostDetail struct {
	HostID   int64
	At       time.Time
	History  []HealthSample
	Channels []Channel
	Tasks    []Task
	Refusals []Refusal
	Messages []LogMessage
	Missing  map[Part]string
}

// HealthSample is one past check-in (kojigo.getHostHealthHistory).
type HealthSample struct {
	At       time.Time
	Ready    bool
	TaskLoad float64
	Disks    []Disk
	MemAvail int64
	MemTotal int64
}

// Channel is a channel a host is in.
type Channel struct {
	ID      int64
	Name    string
	Enabled bool
}

// Refusal is a scheduler refusal of a task by a host.
type Refusal struct {
	At     time.Time
	TaskID int64
	Soft   bool
	Msg    string
}

// LogMessage is one scheduler log line about a host or task.
type LogMessage struct {
	At     time.Time
	TaskID int64
	Msg    string
}

// TaskDetail is what the tasks view's detail pane shows of one task.
type TaskDetail struct {
	Task     Task
	Request  string // the request as Koji prints it: method(args)
	Result   string // result or fault in words; empty while running
	Children []Task
	Output   []OutputFile
	Messages []LogMessage
	// ProgressAsked says the hub was asked for the repo's progress: the
	// task is a newRepo or createrepo task not finished, and the hub has
	// kojigo.getRepoProgress (a stock Koji hub has not).
	ProgressAsked bool
	// Progress is how far the repo is made; nil when not asked, or when the
	// hub has no report (yet, or since it restarted: it keeps them in
	// memory), or when the task has finished.
	Progress *RepoProgress
}

// IsRepoTask reports whether a task method makes a repo: Koji's newRepo
// (the parent) and createrepo (one per arch).
func IsRepoTask(method string) bool { return method == "newRepo" || method == "createrepo" }

// RepoProgress is how far a repo's generation is, as its createrepo tasks
// last reported (kojigo.getRepoProgress): packages done of total, summed
// over the arches, and per arch.
type RepoProgress struct {
	RepoID      int64
	Done, Total int64
	At          time.Time // the latest report; zero when the hub did not say
	Arches      []ArchProgress
}

// ArchProgress is one createrepo task's report.
type ArchProgress struct {
	TaskID      int64
	Arch        string
	Done, Total int64
	At          time.Time
}

// Fraction is done of total, 0 to 1 (0 while the total is unknown).
func (p RepoProgress) Fraction() float64 { return fraction(p.Done, p.Total) }

// Fraction is done of total, 0 to 1 (0 while the total is unknown).
func (a ArchProgress) Fraction() float64 { return fraction(a.Done, a.Total) }

func fraction(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return min(max(float64(done)/float64(total), 0), 1)
}

// OutputFile is one file a task wrote.
type OutputFile struct {
	Name string
	Size int64 // -1 when unknown
}

// Me is the user the console runs as.
type Me struct {
	Name      string // empty: anonymous
	ID        int64
	Perms     []string
	Admin     bool
	HostPerm  bool // may enable, disable and edit hosts
	Anonymous bool
}
