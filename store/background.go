package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// background is the store's long-running work (the event delivery, a
// package's commit loop): each task gets a context that Close cancels, and
// Close waits for the tasks, newest first, before the engine stops.
type background struct {
	mu      sync.Mutex
	tasks   []*task
	closed  bool
	repairs []repairEntry
}

type task struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
}

func (b *background) init() {}

// Go runs fn in the background until the store closes; fn must return soon
// after its context ends, having finished or safely abandoned what it holds.
func (s *Store) Go(name string, fn func(ctx context.Context)) {
	b := &s.bg
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &task{name: name, cancel: cancel, done: make(chan struct{})}
	b.tasks = append(b.tasks, t)
	go func() {
		defer close(t.done)
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("background task panicked", "task", name, "panic", fmt.Sprint(r))
			}
		}()
		fn(ctx)
	}()
}

// stop cancels and waits for every task, the last started first.
func (b *background) stop(ctx context.Context, log *slog.Logger) error {
	b.mu.Lock()
	b.closed = true
	tasks := b.tasks
	b.tasks = nil
	b.mu.Unlock()
	var errs []error
	for i := len(tasks) - 1; i >= 0; i-- {
		t := tasks[i]
		t.cancel()
		select {
		case <-t.done:
		case <-ctx.Done():
			log.Error("background task did not stop in time", "task", t.name)
			errs = append(errs, errors.New("background task "+t.name+" did not stop"))
		}
	}
	return errors.Join(errs...)
}
