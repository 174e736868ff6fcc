// Command chaos runs a real farm on this machine under scheduled faults and
// reports what was lost: a private PostgreSQL cluster (initdb/pg_ctl as user
// postgres, never the machine's shared server), two kojihub processes on it
// sharing one topdir (a tmpfs), four kojid (each its workdir on its own
// tmpfs, all in the default and createrepo channels, two per hub) and
// kojira. Hub A serves plain HTTP on loopback, and builders 1 and 3 log in
// to it with a password; hub B serves HTTPS with client certificates from
// the farm's own CA (kojictl certs' layout in DIR/pki), and builders 2 and 4
// log in to it with host certificates, as in a real farm. Builder 4 runs in
// its own network namespace (kgchaos<pid>, made with ip netns and deleted at
// exit; one left by a killed run is deleted at the next start), joined to
// the root namespace by a veth pair with a free /30 out of 10.213.0.0/16;
// hub B listens on the root end's address. Only loopback and that pair are
// ever addressed. It submits builds of small generated noarch packages (a
// unique version each, a %build that sleeps a second or two, built by the
// real rpmbuild) at a steady rate, round-robin between the hubs, follows
// every task to its end, and meanwhile injects, one after another:
//
//	kill-kojid       SIGKILL of a kojid running a buildArch; restarted with --force-lock after 3 s
//	link-cut         builder4's link cut (packets dropped) while it runs a buildArch, for
//	                 the hubs' host timeout (30 s) and 5 s, then restored; a burst of one
//	                 45 s build per builder first when builder4 has no buildArch
//	expired-cert     builder2's certificate file replaced by an expired one from the same
//	                 CA and kojid restarted; a valid one put back after 10 s, which kojid
//	                 reads at its next login attempt
//	fill-topdir      the hubs' topdir filled to 1 MiB free for 15 s, then freed
//	fill-workdir     a builder's workdir filled below its minspace for 15 s, then freed
//	kill-kojira      SIGKILL of kojira while a newRepo task is OPEN; restarted after 2 s
//	kill-hub         SIGKILL of hub A; restarted on the same address after 3 s
//	pg-restart       pg_ctl restart -m fast
//	pg-sigstop       SIGSTOP of the postmaster and its backends for 10 s, then SIGCONT
//	idle-flood       300 TCP connections to hub A that never send a byte, for 20 s
//	slow-body-flood  300 requests to hub A whose body comes a byte a second, for 20 s
//
// For each fault it prints how long the farm took to notice it (the probe of
// each fault: the task freed, /healthz failing or degraded, the host not
// ready, the hub closing the flood's sockets, the hub recording an expired
// certificate), to be back (the probe well again) and to recover (the next
// build closing). At the end it prints builds submitted, completed, failed
// (by reason class), lost (never finished), tasks opened twice (a kojid took
// a task that an earlier kojid had taken while that one was still running
// and reachable; a re-take after the earlier kojid exited, or after its
// builder was cut off past the host timeout and the hub freed the task, is
// Koji's recovery and counted apart), RPMs built and thrown away (a
// buildArch that closed under a build that did not), and whether every READY
// repo's repodata lists exactly the packages of its pkglist. It exits 1 when
// a build was lost, a task opened twice, an RPM thrown away or a repo is
// inconsistent.
//
// It needs root (tmpfs mounts, runuser postgres, network namespaces), ip
// from iproute2, rpmbuild, createrepo_c and PostgreSQL's server programs.
// The short form (CI; about 30 builds, each fault once, under 5 minutes on
// 2 cores):
//
//	go run ./bench/chaos -short
//
// The long form (about an hour, 500 builds, a fault every 3 minutes,
// cycling through the list):
//
//	go run ./bench/chaos -builds 500 -duration 1h -fault-every 3m -keep /tmp/chaos-long
//
// -keep DIR keeps the daemons' logs (one file per incarnation) and the
// generated packages in DIR; topdir and the workdirs are tmpfs mounts and go
// away with the run. -faults picks faults by name (comma-separated).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type config struct {
	builds     int
	duration   time.Duration
	faultEvery time.Duration
	short      bool
	keep       string
	faults     string
	out        io.Writer
}

func main() {
	var c config
	flag.IntVar(&c.builds, "builds", 500, "builds to submit")
	flag.DurationVar(&c.duration, "duration", time.Hour, "how long to submit builds and inject faults")
	flag.DurationVar(&c.faultEvery, "fault-every", 3*time.Minute, "time between the starts of two faults")
	flag.BoolVar(&c.short, "short", false, "CI form: 30 builds, each fault once, back to back")
	flag.StringVar(&c.keep, "keep", "", "directory for the logs and packages, kept after the run")
	flag.StringVar(&c.faults, "faults", "", "comma-separated faults to inject (default: all)")
	flag.Parse()
	c.out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if len(rep.violations) > 0 {
		os.Exit(1)
	}
}

// run sets up the farm, runs the schedule, checks and prints the report.
func run(ctx context.Context, c config) (*report, error) {
	if c.short {
		c.builds = 30
	}
	if c.out == nil {
		c.out = os.Stdout
	}
	faults := allFaults
	if c.faults != "" {
		faults = nil
		for _, name := range strings.Split(c.faults, ",") {
			found := false
			for _, f := range allFaults {
				if f.name == strings.TrimSpace(name) {
					faults, found = append(faults, f), true
				}
			}
			if !found {
				return nil, fmt.Errorf("no fault %q", name)
			}
		}
	}
	dir := c.keep
	if dir == "" {
		d, err := os.MkdirTemp("", "kojigo-chaos")
		if err != nil {
			return nil, err
		}
		dir = d
		os.Chmod(d, 0o755) // the cluster's user postgres goes through it
		defer os.RemoveAll(d)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	began := time.Now()
	f := &farm{cfg: c, dir: dir}
	f.burst.Store(100000)
	defer f.close()
	if err := f.setup(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	f.logf("farm up in %v (logs in %s)", time.Since(began).Round(time.Second), dir)

	tr := &tracker{f: f}
	f.tr = tr
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		for pollCtx.Err() == nil {
			tr.poll(pollCtx)
			time.Sleep(time.Second)
		}
	}()
	defer func() { stopPoll(); <-pollDone }()

	interval := c.duration / time.Duration(max(c.builds, 1))
	if c.short {
		// 30 builds over the 3.5 minutes the faults take, so that
		// builds are in flight during the last faults too.
		interval = 7 * time.Second
	}
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for n := range c.builds {
			tr.submit(ctx, n, 1+n%2)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	var results []*faultResult
	schedStart := time.Now()
	time.Sleep(min(interval*2, 20*time.Second)) // builds in flight before the first fault
	for k := 0; ctx.Err() == nil; k++ {
		if c.short && k == len(faults) || !c.short && time.Since(schedStart) > c.duration {
			break
		}
		ft := faults[k%len(faults)]
		r := &faultResult{name: ft.name, noticed: -1, back: -1, recovered: -1}
		f.logf("fault %s", ft.name)
		t0 := time.Now()
		r.err = ft.run(ctx, f, r)
		f.logf("fault %s done in %v: noticed %v, back %v %s %v", ft.name, time.Since(t0).Round(time.Second), r.noticed, r.back, r.note, r.err)
		results = append(results, r)
		gap := 3 * time.Second
		if !c.short {
			gap = max(0, c.faultEvery-time.Since(t0))
		}
		select {
		case <-ctx.Done():
		case <-time.After(gap):
		}
	}
	<-subDone
	drain := 3 * time.Minute
	if !c.short {
		drain = 15 * time.Minute
	}
	f.logf("all builds submitted; waiting up to %v for %d to finish", drain, tr.pending())
	deadline := time.Now().Add(drain)
	for tr.pending() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Second)
	}
	stopPoll()
	<-pollDone
	tr.poll(context.Background()) // a last look
	rep := check(context.Background(), f, tr, results)
	rep.elapsed = time.Since(began)
	rep.short = c.short
	rep.print(c.out)
	return rep, ctx.Err()
}
