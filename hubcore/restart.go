package hubcore

import (
	"kojigo/internal/kojixml"
)

// restart: restartHosts, Koji's graceful restart of the builders. The hub
// only makes the restartHosts task; a kojid runs it (builderd/restart.go):
// it lists the enabled hosts the options select and gives each a restart
// subtask (the host stops taking work, finishes what it runs and starts
// itself again) and a restartVerify subtask (run by the restarted kojid:
// its start time is past the restart), both assigned to that host.

func restartMethods() []method {
	return []method{
		{name: "restartHosts", argdesc: "(priority=5, options=None)", fn: mRestartHosts},
	}
}

// restartHosts(priority=5, options=None): the host permission (admin
// passes). options, a struct, is the task's one argument as Koji's CLI
// sends it: channel, arches (a list), timeout (seconds the task waits for
// the subtasks). Returns the task id.
func mRestartHosts(c *call, a *kojixml.Args) (any, error) {
	priority := a.OptInt(0, "priority", 5)
	options := a.OptAny(1, "options", nil)
	if err := a.Done(); err != nil {
		return nil, err
	}
	if err := c.requirePerm("host"); err != nil {
		return nil, err
	}
	if priority < -1e6 || priority > 1e6 {
		return nil, paramErr("priority: %d is out of range", priority)
	}
	args := []any{}
	switch o := options.(type) {
	case nil:
	case map[string]any:
		args = append(args, o)
	default:
		return nil, paramErr("Invalid type of options: %s", pyType(options))
	}
	return createTask(c, "restartHosts", args, taskOpts{priority: &priority}, nil)
}
