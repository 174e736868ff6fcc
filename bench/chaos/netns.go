package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// netns is the network namespace that one builder (nsBuilder) runs in: a
// veth pair with a private /30 joins it to the root namespace, hub B
// listens on the root end's address, and the link-cut fault takes the root
// end down. Only loopback and these two addresses are ever addressed.
type netns struct {
	name         string // kgchaos<pid>
	root, peer   string // the veth ends: kgcr<pid> here, kgcn<pid> in name
	rootIP, nsIP string
}

// nsPrefix names chaos's namespaces; the suffix is the pid of the chaos
// that made it, so a leftover of a killed run is recognised and deleted.
const nsPrefix = "kgchaos"

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeStaleNetns deletes kgchaos<pid> namespaces whose chaos is gone
// (deleting a namespace destroys the veth end in it, and with it the pair).
// It runs before this chaos makes its own, so one named with this pid is
// the leftover of a killed run whose pid was reused.
func removeStaleNetns(logf func(string, ...any)) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		pid, err := strconv.Atoi(strings.TrimPrefix(name, nsPrefix))
		if !strings.HasPrefix(name, nsPrefix) || err != nil {
			continue
		}
		if pid == os.Getpid() || syscall.Kill(pid, 0) == syscall.ESRCH {
			logf("deleting network namespace %s left by a chaos that is gone", name)
			ipCmd("netns", "del", name)
		}
	}
}

// usedIPv4 lists the IPv4 destinations of every route of the root
// namespace (all tables), addresses as /32: what a new /30 must not overlap.
func usedIPv4() ([]*net.IPNet, error) {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return nil, fmt.Errorf("ip route show: %w", err)
	}
	var used []*net.IPNet
	for _, line := range strings.Split(string(out), "\n") {
		for _, field := range strings.Fields(line) {
			switch field {
			case "unicast", "local", "broadcast", "multicast", "anycast", "blackhole", "unreachable", "prohibit", "throw", "nat":
				continue
			}
			if field == "default" {
				break
			}
			if !strings.Contains(field, "/") {
				field += "/32"
			}
			if _, n, err := net.ParseCIDR(field); err == nil {
				used = append(used, n)
			}
			break
		}
	}
	return used, nil
}

// newNetns makes the namespace and its link: a /30 out of 10.213.0.0/16
// that no route of this machine overlaps.
func newNetns() (*netns, error) {
	used, err := usedIPv4()
	if err != nil {
		return nil, err
	}
	pid := os.Getpid()
	var subnet *net.IPNet
	for k := range 64 * 256 {
		n := (pid + k) % (64 * 256)
		cand := &net.IPNet{IP: net.IPv4(10, 213, byte(n/64), byte(n%64*4)).To4(), Mask: net.CIDRMask(30, 32)}
		free := true
		for _, u := range used {
			if u.Contains(cand.IP) || cand.Contains(u.IP) {
				free = false
				break
			}
		}
		if free {
			subnet = cand
			break
		}
	}
	if subnet == nil {
		return nil, fmt.Errorf("no free /30 in 10.213.0.0/16 for the builder's namespace")
	}
	ip := func(last byte) string {
		a := append(net.IP(nil), subnet.IP...)
		a[3] += last
		return a.String()
	}
	ns := &netns{name: fmt.Sprintf("%s%d", nsPrefix, pid), root: fmt.Sprintf("kgcr%d", pid), peer: fmt.Sprintf("kgcn%d", pid),
		rootIP: ip(1), nsIP: ip(2)}
	if err := ipCmd("netns", "add", ns.name); err != nil {
		return nil, fmt.Errorf("%w (chaos needs root and iproute2)", err)
	}
	for _, args := range [][]string{
		{"link", "add", ns.root, "type", "veth", "peer", "name", ns.peer, "netns", ns.name},
		{"addr", "add", ns.rootIP + "/30", "dev", ns.root},
		{"link", "set", ns.root, "up"},
		{"netns", "exec", ns.name, "ip", "addr", "add", ns.nsIP + "/30", "dev", ns.peer},
		{"netns", "exec", ns.name, "ip", "link", "set", ns.peer, "up"},
		{"netns", "exec", ns.name, "ip", "link", "set", "lo", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			ns.remove()
			return nil, err
		}
	}
	return ns, nil
}

// cut takes the root end down: what the namespace sends is dropped, not
// refused, so its connections stall as in a real cut; the root end's
// address stays reachable from the root namespace.
func (ns *netns) cut() error { return ipCmd("link", "set", ns.root, "down") }

// restore brings the root end up again (its route comes back with it).
func (ns *netns) restore() error { return ipCmd("link", "set", ns.root, "up") }

// remove deletes the namespace and the pair.
func (ns *netns) remove() {
	ipCmd("netns", "del", ns.name)
	ipCmd("link", "del", ns.root) // normally gone with its peer
}

// cutWindow is a time a builder's link was cut.
type cutWindow struct {
	builder  int
	from, to time.Time
}
