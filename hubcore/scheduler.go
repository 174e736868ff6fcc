package hubcore

import "context"

// SchedulerConfig tunes the scheduler.
type SchedulerConfig struct{}

func (c *SchedulerConfig) setDefaults() {}

type scheduler struct{ h *Hub }

func newScheduler(h *Hub) *scheduler { return &scheduler{h: h} }

func (s *scheduler) wake() {}

func (s *scheduler) run(ctx context.Context) error { <-ctx.Done(); return nil }

func schedulerMethods() []method { return nil }
