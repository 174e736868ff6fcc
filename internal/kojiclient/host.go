package kojiclient

import (
	"context"
	"fmt"
)

// User is the hub's user record (getLoggedInUser, getUser).
type User struct {
	ID            int64
	Name          string
	Status        int64 // 0 NORMAL, 1 BLOCKED
	UserType      int64 // 0 NORMAL, 1 HOST, 2 GROUP
	AuthType      int64 // how this session logged in; 0 without a session
	KrbPrincipals []string
}

// GetLoggedInUser returns the session's user, or nil when not logged in.
func (c *Client) GetLoggedInUser(ctx context.Context) (*User, error) {
	v, err := c.Call(ctx, "getLoggedInUser")
	if err != nil {
		return nil, fmt.Errorf("get logged-in user: %w", err)
	}
	if v == nil {
		return nil, nil
	}
	r, err := newFields(v)
	if err != nil {
		return nil, fmt.Errorf("get logged-in user: %w", err)
	}
	u := &User{
		ID:            r.int("id"),
		Name:          r.str("name"),
		Status:        r.int("status"),
		UserType:      r.int("usertype"),
		AuthType:      r.int("authtype"),
		KrbPrincipals: r.strs("krb_principals"),
	}
	if r.err != nil {
		return nil, fmt.Errorf("get logged-in user: %w", r.err)
	}
	return u, nil
}

// HostGetID returns the host id of the session's user (host.getID; needs
// the exclusive session).
func (c *Client) HostGetID(ctx context.Context) (int64, error) {
	v, err := c.Call(ctx, "host.getID")
	if err != nil {
		return 0, fmt.Errorf("get host id: %w", err)
	}
	id, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("get host id: hub returned %T, want an integer", v)
	}
	return id, nil
}

// UpdateHost is kojid's check-in: its task load, whether it is ready for
// work, and data (methods, maxjobs, and kojigo's health fields), sent as
// host.updateHost(load, ready, data=data) as kojid sends it. A nil data is
// left out.
func (c *Client) UpdateHost(ctx context.Context, load float64, ready bool, data map[string]any) error {
	args := []any{load, ready}
	if data != nil {
		args = append(args, Kw{"data": data})
	}
	if _, err := c.Call(ctx, "host.updateHost", args...); err != nil {
		return fmt.Errorf("update host: %w", err)
	}
	return nil
}

// Task is a task row as host.getTasks and host.getHostTasks return it.
// Fields the call does not return are zero; Raw holds the whole row.
type Task struct {
	ID        int64
	Method    string
	State     int64
	Arch      string
	ChannelID int64
	HostID    int64
	Priority  int64
	Weight    float64
	Waiting   bool
	CreateTS  float64
	Raw       map[string]any
}

func taskFromValue(v any) (Task, error) {
	r, err := newFields(v)
	if err != nil {
		return Task{}, err
	}
	t := Task{
		ID:        r.int("id"),
		Method:    r.str("method"),
		State:     r.int("state"),
		Arch:      r.str("arch"),
		ChannelID: r.int("channel_id"),
		HostID:    r.int("host_id"),
		Priority:  r.int("priority"),
		Weight:    r.float("weight"),
		Waiting:   r.bool("waiting"),
		CreateTS:  r.float("create_ts"),
		Raw:       r.m,
	}
	return t, r.err
}

func (c *Client) taskList(ctx context.Context, method string) ([]Task, error) {
	v, err := c.Call(ctx, method)
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("hub returned %T, want a list", v)
	}
	tasks := make([]Task, 0, len(items))
	for i, it := range items {
		t, err := taskFromValue(it)
		if err != nil {
			return nil, fmt.Errorf("task %d: %w", i, err)
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// GetTasks returns the tasks assigned to this host (host.getTasks, which may
// run the hub's scheduler first).
func (c *Client) GetTasks(ctx context.Context) ([]Task, error) {
	t, err := c.taskList(ctx, "host.getTasks")
	if err != nil {
		return nil, fmt.Errorf("get assigned tasks: %w", err)
	}
	return t, nil
}

// GetHostTasks returns this host's OPEN tasks as {id, waiting, weight}
// (host.getHostTasks).
func (c *Client) GetHostTasks(ctx context.Context) ([]Task, error) {
	t, err := c.taskList(ctx, "host.getHostTasks")
	if err != nil {
		return nil, fmt.Errorf("get open tasks: %w", err)
	}
	return t, nil
}

// OpenTask opens an assigned task (host.openTask) and returns its row with
// the request, or nil when the hub declined (the task is no longer ours to
// open).
func (c *Client) OpenTask(ctx context.Context, taskID int64) (map[string]any, error) {
	v, err := c.Call(ctx, "host.openTask", taskID)
	if err != nil {
		return nil, fmt.Errorf("open task %d: %w", taskID, err)
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("open task %d: hub returned %T, want a struct", taskID, v)
	}
	return m, nil
}

// CloseTask closes an OPEN task of this host with its result, a
// <methodResponse> document (kojixml.EncodeResponse), as kojid sends it.
func (c *Client) CloseTask(ctx context.Context, taskID int64, resultXML string) error {
	if _, err := c.Call(ctx, "host.closeTask", taskID, resultXML); err != nil {
		return fmt.Errorf("close task %d: %w", taskID, err)
	}
	return nil
}

// FailTask marks an OPEN task of this host failed with a fault document
// (kojixml.EncodeFault).
func (c *Client) FailTask(ctx context.Context, taskID int64, faultXML string) error {
	if _, err := c.Call(ctx, "host.failTask", taskID, faultXML); err != nil {
		return fmt.Errorf("fail task %d: %w", taskID, err)
	}
	return nil
}

// RefuseTask gives an assigned task back (host.refuseTask(id, soft=, msg=)).
func (c *Client) RefuseTask(ctx context.Context, taskID int64, soft bool, msg string) error {
	if _, err := c.Call(ctx, "host.refuseTask", taskID, Kw{"soft": soft, "msg": msg}); err != nil {
		return fmt.Errorf("refuse task %d: %w", taskID, err)
	}
	return nil
}

// SetTaskWeight sets the weight of an OPEN task of this host.
func (c *Client) SetTaskWeight(ctx context.Context, taskID int64, weight float64) error {
	if _, err := c.Call(ctx, "host.setTaskWeight", taskID, weight); err != nil {
		return fmt.Errorf("set weight of task %d: %w", taskID, err)
	}
	return nil
}

// fields reads typed members of a struct result; a missing or nil member
// is the zero value, a member of the wrong type records the first error.
type fields struct {
	m   map[string]any
	err error
}

func newFields(v any) (*fields, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("hub returned %T, want a struct", v)
	}
	return &fields{m: m}, nil
}

func (f *fields) bad(key string, v any, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("member %q is %T, want %s", key, v, want)
	}
}

func (f *fields) int(key string) int64 {
	switch x := f.m[key].(type) {
	case nil:
	case int64:
		return x
	default:
		f.bad(key, x, "an integer")
	}
	return 0
}

func (f *fields) float(key string) float64 {
	switch x := f.m[key].(type) {
	case nil:
	case float64:
		return x
	case int64:
		return float64(x)
	default:
		f.bad(key, x, "a number")
	}
	return 0
}

func (f *fields) str(key string) string {
	switch x := f.m[key].(type) {
	case nil:
	case string:
		return x
	default:
		f.bad(key, x, "a string")
	}
	return ""
}

func (f *fields) bool(key string) bool {
	switch x := f.m[key].(type) {
	case nil:
	case bool:
		return x
	default:
		f.bad(key, x, "a boolean")
	}
	return false
}

func (f *fields) strs(key string) []string {
	switch x := f.m[key].(type) {
	case nil:
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				f.bad(key, e, "a list of strings")
				return nil
			}
			out = append(out, s)
		}
		return out
	default:
		f.bad(key, x, "a list")
	}
	return nil
}
