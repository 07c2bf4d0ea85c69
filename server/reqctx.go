package server

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

// hangupPoll is how often a running request looks whether its client is
// still there. A request that answers sooner never looks.
const hangupPoll = 200 * time.Millisecond

// requestContext gives every handler a c.UserContext() that is cancelled
// when the client goes away, so its database work stops (each store call
// adds its own deadline on top). fasthttp reads nothing from the socket
// while a handler runs, so the socket is peeked at (MSG_PEEK, which
// consumes nothing) every hangupPoll: an orderly close reads as 0 bytes, a
// reset as an error.
func requestContext(c *fiber.Ctx) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := watchHangup(c.Context().Conn(), cancel)
	defer stop()
	c.SetUserContext(ctx)
	return c.Next()
}

// watchHangup calls gone when conn's peer closes it; the returned stop ends
// the watch and waits for it, so conn is not touched after the handler.
func watchHangup(conn net.Conn, gone context.CancelFunc) (stop func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(hangupPoll)
		defer t.Stop()
		buf := make([]byte, 1)
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			closed := false
			_ = raw.Read(func(fd uintptr) bool {
				n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
				switch {
				case err == nil && n == 0:
					closed = true
				case err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR):
					closed = true
				}
				return true // never wait for readability
			})
			if closed {
				gone()
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
