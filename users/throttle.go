package users

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/time/rate"
	"nongxun/server"
	"nongxun/store"
)

var optsUpsert = options.UpdateOne().SetUpsert(true)

// Login limits. Per login name: 10 attempts a minute, then each further
// failure doubles the wait before the next attempt (30 s, 1 min, 2 min …
// up to 30 min) until a success. Per address: 100 failures a minute, much
// higher, because a village hall's phones share one address; an attempt
// that succeeds is given back, so one person's failures never lock out
// the others behind the same address. Each node keeps its own limits
// (docs/internal-api.md, "Login limits"); AttemptsPerMinute also holds
// across nodes, in the account's own document.
const (
	AttemptsPerMinute = 10
	ipPerMinute       = 100
	firstDelay        = 30 * time.Second
	maxDelay          = 30 * time.Minute
	forgetAfter       = time.Hour
)

type outcome int

const (
	neutral   outcome = iota // not an answer on the password (a database error): both reservations are given back
	failed                   // wrong password or unknown login
	succeeded                // right password
)

type throttle struct {
	mu    sync.Mutex
	names map[string]*nameLimit
	ips   map[string]*ipLimit
	now   func() time.Time
	swept time.Time
}

type nameLimit struct {
	lim   *rate.Limiter
	fails int // consecutive failures
	seen  time.Time
}

type ipLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newThrottle() *throttle {
	return &throttle{names: map[string]*nameLimit{}, ips: map[string]*ipLimit{}, now: time.Now}
}

// reserve takes one attempt for login from ip before the password is
// checked, or refuses with rate_limited. done reports the outcome.
func (t *throttle) reserve(login, ip string) (done func(outcome), err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	n := t.names[login]
	if n == nil {
		n = &nameLimit{lim: rate.NewLimiter(rate.Every(time.Minute/AttemptsPerMinute), AttemptsPerMinute)}
		t.names[login] = n
	}
	a := t.ips[ip]
	if a == nil {
		a = &ipLimit{lim: rate.NewLimiter(rate.Every(time.Minute/ipPerMinute), ipPerMinute)}
		t.ips[ip] = a
	}
	n.seen, a.seen = now, now
	nr := n.lim.ReserveN(now, 1)
	if d := nr.DelayFrom(now); d > 0 {
		nr.CancelAt(now)
		return nil, server.RateLimited("该账号登录失败次数过多，请" + wait(d) + "后再试")
	}
	ar := a.lim.ReserveN(now, 1)
	if d := ar.DelayFrom(now); d > 0 {
		ar.CancelAt(now)
		nr.CancelAt(now)
		return nil, server.RateLimited("此网络登录失败次数过多，请" + wait(d) + "后再试")
	}
	return func(o outcome) {
		t.mu.Lock()
		defer t.mu.Unlock()
		now := t.now()
		switch o {
		case neutral:
			nr.CancelAt(now)
			ar.CancelAt(now)
		case succeeded:
			ar.CancelAt(now)
			delete(t.names, login)
		case failed:
			n.fails++
			if k := n.fails - AttemptsPerMinute; k > 0 {
				d := firstDelay << min(k-1, 10)
				n.lim.SetLimitAt(now, rate.Every(min(d, maxDelay)))
				n.lim.SetBurstAt(now, 1)
			}
		}
	}, nil
}

func (t *throttle) sweep(now time.Time) {
	if now.Sub(t.swept) < forgetAfter {
		return
	}
	t.swept = now
	for k, n := range t.names {
		if now.Sub(n.seen) > forgetAfter && n.fails <= AttemptsPerMinute || now.Sub(n.seen) > maxDelay+forgetAfter {
			delete(t.names, k)
		}
	}
	for k, a := range t.ips {
		if now.Sub(a.seen) > forgetAfter {
			delete(t.ips, k)
		}
	}
}

func wait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf(" %d 秒", int(d.Seconds())+1)
	}
	return fmt.Sprintf(" %d 分钟", int(d.Minutes())+1)
}

// reserveAttempt counts one login attempt of u in its own document before
// the password is checked, and reports false when the account has had
// AttemptsPerMinute attempts in the current minute. It is a conditional
// $inc by _id, so it holds across app nodes on MongoDB.
func (s *Service) reserveAttempt(ctx context.Context, u *User) (bool, error) {
	now := s.now().UTC()
	since := now.Add(-time.Minute)
	ok, err := s.users.UpdateIf(ctx, u.ID, store.Cond{"login.start": bson.M{"$gte": since}, "login.n": bson.M{"$lt": AttemptsPerMinute}},
		bson.M{"$inc": bson.M{"login.n": 1}})
	if ok || err != nil {
		return ok, err
	}
	// No window open (none yet, or the last one is over): open one.
	return s.users.UpdateIf(ctx, u.ID, store.Cond{"$or": []store.Cond{{"login.start": nil}, {"login.start": bson.M{"$lt": since}}}},
		bson.M{"$set": bson.M{"login": bson.M{"start": now, "n": 1}}})
}
