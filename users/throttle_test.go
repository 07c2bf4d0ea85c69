package users

import (
	"fmt"
	"testing"
	"time"

	"nongxun/server"
)

// TestThrottleGrowingDelays: 10 attempts a minute per login name, then each
// failure doubles the wait; a success clears it; an address's successes are
// given back, so its budget goes only to failures.
func TestThrottleGrowingDelays(t *testing.T) {
	now := time.Date(2019, 5, 1, 8, 0, 0, 0, time.UTC)
	th := newThrottle()
	th.now = func() time.Time { return now }
	try := func(login, ip string, o outcome) error {
		done, err := th.reserve(login, ip)
		if err == nil {
			done(o)
		}
		return err
	}
	for i := 0; i < AttemptsPerMinute; i++ {
		if err := try("wang", "1.1.1.1", failed); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if err := try("wang", "1.1.1.1", failed); server.ToError(err).Code != server.CodeRateLimited {
		t.Fatalf("11th attempt at once: %v", err)
	}
	// The rate of 10 a minute brings the 11th after 6 s; from then on each
	// failure doubles the wait: 30 s, 60 s, 120 s.
	now = now.Add(6 * time.Second)
	if err := try("wang", "1.1.1.1", failed); err != nil {
		t.Fatalf("11th attempt after 6 s: %v", err)
	}
	for _, wait := range []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second} {
		now = now.Add(wait - time.Second)
		if err := try("wang", "1.1.1.1", failed); err == nil {
			t.Fatalf("allowed a second before %v", wait)
		}
		now = now.Add(time.Second)
		if err := try("wang", "1.1.1.1", failed); err != nil {
			t.Fatalf("refused after waiting %v: %v", wait, err)
		}
	}
	// Another name from the same address is not held up, and its successes are given back.
	for i := 0; i < 200; i++ {
		if err := try("li", "1.1.1.1", succeeded); err != nil {
			t.Fatalf("a neighbour's login %d: %v", i, err)
		}
	}
	// A success clears the name's record.
	now = now.Add(time.Hour)
	if err := try("wang", "1.1.1.1", succeeded); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < AttemptsPerMinute; i++ {
		if err := try("wang", "1.1.1.1", failed); err != nil {
			t.Fatalf("after a success, attempt %d: %v", i+1, err)
		}
	}
	// The address limit: 100 failures a minute across names.
	for i := 0; i < ipPerMinute; i++ {
		if err := try(fmt.Sprintf("spray%d", i), "2.2.2.2", failed); err != nil {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	if err := try("spray-last", "2.2.2.2", failed); server.ToError(err).Code != server.CodeRateLimited {
		t.Fatalf("failure %d from one address: %v", ipPerMinute+1, err)
	}
}
