package certificates

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"nongxun/courses"
	"nongxun/enrollment"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
)

// seedCourse stores n trainees enrolled in c and present at every one of
// its sessions, straight into the enrollment collections in batches, has
// enrollment rebuild its lists and counters from them, and returns their ids.
func seedCourse(b *testing.B, f *fixture, c *courses.Course, ss []courses.Session, n int) []string {
	b.Helper()
	type traineeDoc struct {
		enrollment.Trainee `bson:",inline"`
		IDHash             string `bson:"id_hash"`
	}
	now := time.Now().UTC()
	ids := make([]string, n)
	var trainees, enrols, att []any
	for i := range ids {
		id := store.NewID()
		ids[i] = id
		twp := f.Township(i % 23).ID
		trainees = append(trainees, traineeDoc{Trainee: enrollment.Trainee{ID: id, Name: "学员" + strconv.Itoa(i), Gender: "female",
			TownshipID: twp, Groups: []string{}, CreatedAt: now}, IDHash: store.NewID()})
		enrols = append(enrols, enrollment.Enrollment{ID: c.ID + "/" + id, CourseID: c.ID, TraineeID: id, TownshipID: twp, At: now})
		for _, s := range ss {
			att = append(att, enrollment.Attendance{ID: s.ID + "/" + id, SessionID: s.ID, CourseID: c.ID, TraineeID: id,
				Status: enrollment.StatusPresent, Method: "rollcall", At: s.StartsAt, TownshipID: twp, Groups: []string{}})
		}
	}
	for name, docs := range map[string][]any{"trainees": trainees, "enrollments": enrols, "attendance": att} {
		for len(docs) > 0 {
			k := min(len(docs), 1000)
			if _, err := f.Store.C(name).InsertMany(f.Ctx, docs[:k]); err != nil {
				b.Fatal(err)
			}
			docs = docs[k:]
		}
	}
	// The enrolment lists and counters the roster reads, built from the
	// records as the enrollment package's repair does.
	if _, err := f.enroll.Recount(f.Ctx, true); err != nil {
		b.Fatal(err)
	}
	return ids
}

// resetPeakRSS clears the kernel's high-water mark of this process (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS reads VmHWM in MiB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkIssue10k issues one course's certificates to 10,000 eligible
// trainees in one request. Run with -benchtime=1x.
func BenchmarkIssue10k(b *testing.B) {
	f := newFixture(b)
	// A subscriber, as in production, so every chunk writes its events to the outbox.
	f.Store.Events().Subscribe(events.CertificateIssued, "bench", func(context.Context, store.Event) error { return nil })
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c, ss, _ := f.course(fmt.Sprintf("万人课程%d", i), 0.8, 4+i*3, 3+i*3)
		seedCourse(b, f, c, ss, 10000)
		runtime.GC()
		resetPeakRSS()
		b.StartTimer()
		start := time.Now()
		res, err := f.svc.Issue(f.Ctx, admin(f), c.ID, nil)
		el := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Issued) != 10000 {
			b.Fatalf("issued %d", len(res.Issued))
		}
		b.ReportMetric(el.Seconds(), "s/10k")
		b.ReportMetric(peakRSS(), "peakRSS-MiB")
	}
}

// certCorpus stores n certificates (a county's worth) for the read benchmarks.
func certCorpus(b *testing.B, f *fixture, n int, name string) []Certificate {
	b.Helper()
	f.svc.limiter = server.NewLimiter(1<<30, time.Minute)
	now := time.Now().UTC()
	out := make([]Certificate, n)
	docs := make([]any, n)
	for i := range out {
		out[i] = Certificate{ID: store.NewID(), Serial: FormatSerial("HZDS", 2026, int64(i+1)), Code: server.RandomToken(10),
			TraineeID: store.NewID(), CourseID: store.NewID(), IssuedAt: now, Status: StatusValid, Year: 2026, Seq: int64(i + 1),
			TownshipID: f.Township(i % 23).ID, Name: name + strconv.Itoa(i), CourseTitle: "农产品网店开设与运营", Hours: 24,
			From: "2026-05-03", To: "2026-06-01", Attended: 5, Held: 6}
		docs[i] = out[i]
	}
	for len(docs) > 0 {
		k := min(len(docs), 1000)
		if _, err := f.svc.certs.InsertMany(f.Ctx, docs[:k]); err != nil {
			b.Fatal(err)
		}
		docs = docs[k:]
	}
	if err := f.svc.insertCodes(f.Ctx, out); err != nil {
		b.Fatal(err)
	}
	return out
}

// timed runs fn b.N times and reports the p50 and p95 of one call in ms.
func timed(b *testing.B, fn func(i int)) {
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		fn(i)
		d = append(d, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(d[len(d)*95/100].Microseconds())/1000, "p95-ms")
}

const corpus = 5000

// BenchmarkPDFFirst is the first request of a certificate's PDF: drawn,
// stored in the blob store, recorded, served (over HTTP, 5,000 certificates
// stored). Names of common characters: drawn with the GB 2312 subset.
func BenchmarkPDFFirst(b *testing.B) { benchPDFFirst(b, "张建国") }

// BenchmarkPDFFirstRare is the same for names with rare characters: the full font.
func BenchmarkPDFFirstRare(b *testing.B) { benchPDFFirst(b, "张䶮堃") }

func benchPDFFirst(b *testing.B, name string) {
	f := newFixture(b)
	if f.svc.font == nil {
		b.Skip("no font")
	}
	for i := 0; i < 300 && f.svc.font.common.Load() == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	certs := certCorpus(b, f, max(corpus, b.N), name)
	timed(b, func(i int) {
		f.Do(f.Admin, "GET", "/api/v1/certificates/"+certs[i].ID+"/pdf", nil).Want(b, 200)
	})
}

// BenchmarkPDFCached is a repeated request of a PDF already drawn.
func BenchmarkPDFCached(b *testing.B) {
	f := newFixture(b)
	if f.svc.font == nil {
		b.Skip("no font")
	}
	certs := certCorpus(b, f, corpus, "张建国")
	for i := 0; i < 20; i++ {
		f.Do(f.Admin, "GET", "/api/v1/certificates/"+certs[i].ID+"/pdf", nil).Want(b, 200)
	}
	timed(b, func(i int) {
		f.Do(f.Admin, "GET", "/api/v1/certificates/"+certs[i%20].ID+"/pdf", nil).Want(b, 200)
	})
}

// BenchmarkVerify is the public JSON verification of a code.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	certs := certCorpus(b, f, corpus, "张建国")
	timed(b, func(i int) {
		f.Do(nil, "GET", "/api/v1/verify/"+certs[(i*7919)%len(certs)].Code, nil).Want(b, 200)
	})
}
