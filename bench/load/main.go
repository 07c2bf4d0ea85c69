// Command load drives nongxun's HTTP API from N virtual phones over
// loopback: it sets up a course, a session under way and its trainees
// through the API, then every phone logs in and checks in (a share of them
// twice, as a retrying phone would). It is bounded in count and in time,
// refuses any target but this machine, and reports throughput and
// p50/p95/p99 latency.
//
//	go run ./bench/load -url http://127.0.0.1:8080 -admin-password ... -phones 50 -trainees 500
package main

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"nongxun/cli"
	"nongxun/enrollment"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "nongxun's address (loopback only)")
	adminPW := flag.String("admin-password", os.Getenv("ADMIN_PASSWORD"), "password of user admin")
	phones := flag.Int("phones", 50, "concurrent virtual phones")
	trainees := flag.Int("trainees", 500, "trainees to check in (one check-in each, plus retries)")
	retry := flag.Float64("retry", 0.2, "share of phones that send their check-in twice")
	limit := flag.Duration("limit", 2*time.Minute, "stop after this long whatever is left")
	flag.Parse()
	if err := loopbackOnly(*base); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if *phones < 1 || *phones > 500 || *trainees < 1 || *trainees > 20000 {
		fmt.Fprintln(os.Stderr, "load: -phones 1..500 and -trainees 1..20000")
		os.Exit(2)
	}
	c := cli.NewHTTP(*base, "", 30*time.Second)
	if err := run(c, *adminPW, *phones, *trainees, *retry, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// loopbackOnly refuses any host that is not this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %q is not a loopback address; load is only sent to this machine", host)
	}
	return nil
}

func run(c *cli.Client, adminPW string, phones, n int, retryShare float64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	admin, err := c.Login("admin", adminPW)
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	stamp := time.Now().Unix() % 100000
	var regions []struct {
		ID    string `json:"id"`
		Level string `json:"level"`
	}
	if _, err := c.As(admin).Do("GET", "/regions?level=village", nil, &regions); err != nil || len(regions) == 0 {
		return fmt.Errorf("no villages (load the demo county first: nongxun demo): %v", err)
	}
	var trainer struct{ ID string }
	if _, err := c.As(admin).Do("POST", "/users", map[string]any{"username": fmt.Sprintf("loadtrainer%d", stamp), "password": "load-test-pw", "role": "trainer", "name": "压测讲师"}, &trainer); err != nil {
		return err
	}
	var course struct{ ID string }
	if _, err := c.As(admin).Do("POST", "/courses", map[string]any{"title": fmt.Sprintf("压测课程 %d", stamp), "description": "负载测试", "category": "网店开设", "hours": 2, "pass_ratio": 0.5, "published": true}, &course); err != nil {
		return err
	}
	var session struct{ ID string }
	now := time.Now().UTC()
	if _, err := c.As(admin).Do("POST", "/courses/"+course.ID+"/sessions", map[string]any{
		"starts_at": now.Add(-time.Minute).Format(time.RFC3339), "ends_at": now.Add(3 * time.Hour).Format(time.RFC3339),
		"location": "压测会场", "region_id": regions[0].ID, "trainer_id": trainer.ID, "capacity": n + 10}, &session); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "registering %d trainees…\n", n)
	phonesOf := make([]string, n)
	for i := 0; i < n; i++ {
		phone := fmt.Sprintf("13%d%08d", 5+i%4, int(stamp)*1000+i)[:11]
		phonesOf[i] = phone
		var tr struct{ ID string }
		if _, err := c.As(admin).Do("POST", "/trainees", map[string]any{"name": fmt.Sprintf("学员%d", i), "id_number": enrollment.MakeIDNumber(int(stamp)%10000*n + i),
			"phone": phone, "gender": "女", "region_id": regions[i%len(regions)].ID, "groups": []string{"woman"}, "password": "load-test-pw"}, &tr); err != nil {
			return err
		}
		if _, err := c.As(admin).Do("POST", "/courses/"+course.ID+"/enrollments", map[string]any{"trainee_id": tr.ID}, nil); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("time limit reached while registering")
		}
	}
	// The trainer's screen: a fresh code every 20 s, read by every phone.
	var code atomic.Value
	refresh := func() error {
		var cc struct{ Code string }
		_, err := c.As(admin).Do("GET", "/sessions/"+session.ID+"/checkin-code", nil, &cc)
		if err == nil {
			code.Store(cc.Code)
		}
		return err
	}
	if err := refresh(); err != nil {
		return err
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = refresh()
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)

	// Phones log in first (not timed), then check in together.
	tokens := make([]string, n)
	for i := range tokens {
		if tokens[i], err = c.Login(phonesOf[i], "load-test-pw"); err != nil {
			return err
		}
	}
	jobs := make(chan int)
	var mu sync.Mutex
	var lat []time.Duration
	var created, repeated, failed atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for p := 0; p < phones; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				sends := 1
				if float64(i%100) < retryShare*100 {
					sends = 2
				}
				for k := 0; k < sends; k++ {
					t0 := time.Now()
					st, err := c.As(tokens[i]).Do("POST", "/checkins", map[string]any{"session_id": session.ID, "code": code.Load().(string), "client_id": fmt.Sprintf("load-%d-%d", stamp, i)}, nil)
					d := time.Since(t0)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
					switch {
					case err != nil:
						failed.Add(1)
					case st == 201:
						created.Add(1)
					default:
						repeated.Add(1)
					}
				}
			}
		}()
	}
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(began)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Printf("phones %d, requests %d in %v: %.0f requests/s\n", phones, len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds())
	fmt.Printf("recorded %d, already recorded %d, failed %d\n", created.Load(), repeated.Load(), failed.Load())
	fmt.Printf("latency p50 %v  p95 %v  p99 %v  max %v\n", pct(0.50), pct(0.95), pct(0.99), pct(1))
	var prog struct {
		PersonTimes int64 `json:"person_times"`
	}
	if _, err := c.As(admin).Do("GET", "/progress", nil, &prog); err == nil {
		fmt.Printf("progress: %d person-times\n", prog.PersonTimes)
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d check-ins failed", failed.Load())
	}
	return nil
}
