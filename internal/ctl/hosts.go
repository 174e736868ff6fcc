package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"kojigo/internal/health"
	"kojigo/internal/kojiclient"
)

// runListHosts is koji list-hosts, plus --health on a kojigo hub.
func runListHosts(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "list-hosts")
	var o clientOpts
	addClientFlags(fs, &o, true)
	var arches multiFlag
	fs.Var(&arches, "arch", "only hosts with this `ARCH` (repeatable)")
	channel := fs.String("channel", "", "only hosts in this `CHANNEL`")
	ready := fs.Bool("ready", false, "only ready hosts")
	notReady := fs.Bool("not-ready", false, "only hosts that are not ready")
	enabled := fs.Bool("enabled", false, "only enabled hosts")
	disabled := fs.Bool("disabled", false, "only disabled hosts")
	fs.BoolVar(disabled, "not-enabled", false, "alias for --disabled")
	quiet := fs.Bool("quiet", false, "do not print the header")
	showChannels := fs.Bool("show-channels", false, "show each host's channels (disabled ones with a *)")
	comment := fs.Bool("comment", false, "show comments")
	description := fs.Bool("description", false, "show descriptions")
	withHealth := fs.Bool("health", false, "kojigo hubs: add the lowest free disk and why a host is not ready")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("list-hosts takes no arguments, got %q", clean(pos[0]))
	}
	if *ready && *notReady {
		return usageErr("--ready and --not-ready exclude each other")
	}
	if *enabled && *disabled {
		return usageErr("--enabled and --disabled exclude each other")
	}
	if err := checkNames("arch", arches...); err != nil {
		return err
	}
	if *channel != "" {
		if err := checkNames("channel", *channel); err != nil {
			return err
		}
	}
	s, err := o.connect(ctx, env, anonymous)
	if err != nil {
		return err
	}
	defer s.close(ctx)

	kw := kojiclient.Kw{}
	if len(arches) > 0 {
		l := make([]any, len(arches))
		for i, a := range arches {
			l[i] = a
		}
		kw["arches"] = l
	}
	if *channel != "" {
		ch, err := s.call(ctx, "getChannel", *channel)
		if err != nil {
			return err
		}
		id, ok := mint(asMap(ch), "id")
		if !ok {
			return usageErr("No such channel: %s", clean(*channel))
		}
		kw["channelID"] = id
	}
	if *ready || *notReady {
		kw["ready"] = *ready
	}
	if *enabled || *disabled {
		kw["enabled"] = *enabled
	}
	var callArgs []any
	if len(kw) > 0 {
		callArgs = append(callArgs, kw)
	}
	v, err := s.call(ctx, "listHosts", callArgs...)
	if err != nil {
		return err
	}
	hosts := asMaps(v)
	sort.SliceStable(hosts, func(i, j int) bool { return mstr(hosts[i], "name") < mstr(hosts[j], "name") })
	if len(hosts) == 0 {
		fmt.Fprintln(env.Stderr, "No hosts found.")
		return nil
	}

	// last check-in of each host, in one multicall (koji: getLastHostUpdate(id, ts=True))
	calls := make([]kojiclient.CallSpec, len(hosts))
	for i, h := range hosts {
		id, _ := mint(h, "id")
		calls[i] = kojiclient.CallSpec{Method: "getLastHostUpdate", Args: []any{id, kojiclient.Kw{"ts": true}}}
	}
	updates, err := s.multiCall(ctx, calls)
	if err != nil {
		return err
	}
	var channels []string
	if *showChannels {
		if channels, err = s.hostChannels(ctx, hosts); err != nil {
			return err
		}
	}
	var healths map[int64]map[string]any
	if *withHealth {
		healths, err = s.hostHealth(ctx)
		if err != nil {
			return err
		}
	}

	longest := 0
	for _, h := range hosts {
		longest = max(longest, len(clean(mstr(h, "name"))))
	}
	if !*quiet {
		hdr := fmt.Sprintf("%-*s Enb Rdy Load/Cap  Arches           Last Update                         ", longest, "Hostname")
		if *description {
			hdr += fmt.Sprintf("%-51s", "Description")
		}
		if *comment {
			hdr += fmt.Sprintf("%-51s", "Comment")
		}
		if *showChannels {
			hdr += "Channels"
		}
		if healths != nil {
			if *showChannels {
				hdr += " "
			}
			hdr += fmt.Sprintf("%-28s %s", "Lowest Disk Free", "Not Ready Because")
		}
		fmt.Fprintln(env.Stdout, hdr)
		fmt.Fprintln(env.Stdout, strings.Repeat("-", len(hdr)))
	}
	for i, h := range hosts {
		update := "-"
		if updates[i].Fault == nil {
			if ts, ok := updates[i].Value.(float64); ok {
				update = formatTimeLong(ts, s.loc)
			} else if ts, ok := updates[i].Value.(int64); ok {
				update = formatTimeLong(float64(ts), s.loc)
			}
		}
		line := fmt.Sprintf("%-*s %-3s %-3s %4.1f/%-4.1f %-16s %-35s", longest, clean(mstr(h, "name")),
			yesNo(mbool(h, "enabled")), yesNo(mbool(h, "ready")), mfloat(h, "task_load"), mfloat(h, "capacity"),
			clean(strings.Join(strings.Fields(mstr(h, "arches")), ",")), update)
		if *description {
			line += fmt.Sprintf(" %-50s", truncate(clean(mstr(h, "description"))))
		}
		if *comment {
			line += fmt.Sprintf(" %-50s", truncate(clean(mstr(h, "comment"))))
		}
		if *showChannels {
			line += " " + channels[i]
		}
		if healths != nil {
			id, _ := mint(h, "id")
			disk, why := healthColumns(healths[id])
			line += fmt.Sprintf(" %-28s %s", disk, why)
		}
		fmt.Fprintln(env.Stdout, line)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// formatTimeLong is koji.formatTimeLong of a timestamp: "Thu, 26 Nov 2026 20:44:57 UTC".
func formatTimeLong(ts float64, loc *time.Location) string {
	sec := int64(ts)
	return time.Unix(sec, 0).In(loc).Format("Mon, 02 Jan 2006 15:04:05 MST")
}

// hostChannels returns each host's channels, comma-separated and sorted,
// disabled ones prefixed with "*" (koji list-hosts --show-channels).
func (s *hubSession) hostChannels(ctx context.Context, hosts []map[string]any) ([]string, error) {
	calls := make([]kojiclient.CallSpec, len(hosts))
	for i, h := range hosts {
		id, _ := mint(h, "id")
		calls[i] = kojiclient.CallSpec{Method: "listChannels", Args: []any{id}}
	}
	res, err := s.multiCall(ctx, calls)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(hosts))
	for i, r := range res {
		if r.Fault != nil {
			return nil, fmt.Errorf("listChannels for host %s: %w", clean(mstr(hosts[i], "name")), r.Err())
		}
		var names []string
		for _, c := range asMaps(r.Value) {
			n := clean(mstr(c, "name"))
			if e, has := c["enabled"]; has && e == false {
				n = "*" + n
			}
			names = append(names, n)
		}
		sort.Strings(names)
		out[i] = strings.Join(names, ",")
	}
	return out, nil
}

// hostHealth returns kojigo.listHostHealth by host id, or nil (with a note on
// stderr) when the hub is not a kojigo hub.
func (s *hubSession) hostHealth(ctx context.Context) (map[int64]map[string]any, error) {
	const m = "kojigo.listHostHealth"
	v, err := s.c.Call(ctx, m)
	if isInvalidMethod(err, m) {
		fmt.Fprintln(s.env.Stderr, "note: this hub has no kojigo.listHostHealth (not a kojigo hub); --health columns left out")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m, err)
	}
	out := map[int64]map[string]any{}
	for _, h := range asMaps(v) {
		if id, ok := mint(h, "host_id"); ok {
			out[id] = h
		}
	}
	return out, nil
}

// healthColumns renders one host's health: the filesystem with the least
// free space, and its not-ready reasons.
func healthColumns(h map[string]any) (disk, why string) {
	data := asMap(h["data"])
	if data == nil {
		return "-", "no health reported yet"
	}
	var low map[string]any
	for _, d := range asMaps(data[health.KeyDisk]) {
		if _, bad := d["error"]; bad {
			continue
		}
		if low == nil || mfloat(d, "free") < mfloat(low, "free") {
			low = d
		}
	}
	disk = "-"
	if low != nil {
		free, total := mfloat(low, "free"), mfloat(low, "total")
		disk = fmt.Sprintf("%s/%s %s", health.FormatBytes(uint64(max(free, 0))), health.FormatBytes(uint64(max(total, 0))), clean(mstr(low, "role")))
	}
	var reasons []string
	for _, r := range asList(data[health.KeyNotReadyReasons]) {
		if rs, ok := r.(string); ok {
			reasons = append(reasons, clean(rs))
		}
	}
	why = strings.Join(reasons, "; ")
	if why == "" {
		why = "-"
	}
	return disk, why
}

func runEnableHost(ctx context.Context, env *Env, args []string) error {
	return setHostsEnabled(ctx, env, "enable-host", "enableHost", args)
}

func runDisableHost(ctx context.Context, env *Env, args []string) error {
	return setHostsEnabled(ctx, env, "disable-host", "disableHost", args)
}

// setHostsEnabled is koji enable-host/disable-host: check every host exists
// (one multicall), then enable or disable them, with the comment, in another.
func setHostsEnabled(ctx context.Context, env *Env, name, method string, args []string) error {
	fs := newFlags(env, name)
	var o clientOpts
	addClientFlags(fs, &o, true)
	comment := fs.String("comment", "", "set the host's comment (why it is disabled)")
	hosts, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		return usageErr("kojictl %s [--comment C] HOST...", name)
	}
	if err := checkNames("host", hosts...); err != nil {
		return err
	}
	if len(*comment) > 4096 {
		return usageErr("--comment is %d bytes; at most 4096", len(*comment))
	}
	setComment := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "comment" {
			setComment = true
		}
	})
	s, err := o.connect(ctx, env, authenticated)
	if err != nil {
		return err
	}
	defer s.close(ctx)

	calls := make([]kojiclient.CallSpec, len(hosts))
	for i, h := range hosts {
		calls[i] = kojiclient.CallSpec{Method: "getHost", Args: []any{h}}
	}
	res, err := s.multiCall(ctx, calls)
	if err != nil {
		return err
	}
	missing := false
	for i, r := range res {
		if r.Fault != nil {
			return fmt.Errorf("getHost %s: %w", clean(hosts[i]), r.Err())
		}
		if asMap(r.Value) == nil {
			fmt.Fprintf(env.Stdout, "No such host: %s\n", clean(hosts[i]))
			missing = true
		}
	}
	if missing {
		fmt.Fprintln(env.Stdout, "No changes made. Please correct the command line.")
		return exitError{1}
	}
	calls = calls[:0]
	for _, h := range hosts {
		calls = append(calls, kojiclient.CallSpec{Method: method, Args: []any{h}})
		if setComment {
			calls = append(calls, kojiclient.CallSpec{Method: "editHost", Args: []any{h, kojiclient.Kw{"comment": *comment}}})
		}
	}
	res, err = s.multiCall(ctx, calls)
	if err != nil {
		return err
	}
	return reportFaults(env.Stderr, res)
}

// reportFaults prints each fault's message, as the koji CLI's multicall
// does, and returns exit status 1 when there was one.
func reportFaults(w io.Writer, res []kojiclient.Result) error {
	failed := false
	for _, r := range res {
		if r.Fault != nil {
			fmt.Fprintln(w, clean(r.Fault.String))
			failed = true
		}
	}
	if failed {
		return exitError{1}
	}
	return nil
}
