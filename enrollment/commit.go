package enrollment

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Attendance writes are group-committed: concurrent check-ins queue up
// and one lane step inserts a whole batch (attendance, enrolments of
// walk-ins, distinct trainees, client answers) with insertMany and moves
// the counters with one bulk update per collection. On the embedded
// engine an insertMany of 50 costs little more than one insert, so the
// lane stops being the bottleneck; every rule is still checked inside
// the lane step.

// maxCommit is the most check-ins one lane step takes; commitLinger is
// how long the first waits for others to join it.
const (
	maxCommit    = 256
	commitLinger = 3 * time.Millisecond
)

type pendingAtt struct {
	sess      *courses.Session
	t         *Trainee
	a         *Attendance
	checkRoom bool
	akey      string // client answer key; "" for none
	done      chan commitResult
}

type commitResult struct {
	created, walkIn bool
	err             error
}

type committer struct {
	once sync.Once
	ch   chan *pendingAtt
}

// record stores an attendance and moves the counters in one lane step
// (shared with other check-ins arriving at the same time). A trainee not
// enrolled is enrolled on the spot (walk-in) when the session has room
// (checkRoom) or when staff record them. An existing record means already
// recorded; an excused one becomes present. akey, when set, stores the
// answer for the client_id in the same step.
func (s *Service) record(ctx context.Context, sess *courses.Session, t *Trainee, a *Attendance, checkRoom bool, akey string) (created, walkIn bool, err error) {
	if _, err := s.enrolledSet(ctx, sess.CourseID); err != nil {
		return false, false, err
	}
	s.commit.once.Do(func() {
		s.commit.ch = make(chan *pendingAtt, 1024)
		go s.commitLoop()
	})
	p := &pendingAtt{sess: sess, t: t, a: a, checkRoom: checkRoom, akey: akey, done: make(chan commitResult, 1)}
	select {
	case s.commit.ch <- p:
	case <-ctx.Done():
		return false, false, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r.created, r.walkIn, r.err
	case <-ctx.Done():
		// The step may still complete; the client_id answer keeps a retry right.
		return false, false, ctx.Err()
	}
}

func (s *Service) commitLoop() {
	for first := range s.commit.ch {
		batch := []*pendingAtt{first}
		// Linger a moment so that check-ins arriving together share one step.
		linger := time.NewTimer(commitLinger)
	drain:
		for len(batch) < maxCommit {
			select {
			case p := <-s.commit.ch:
				batch = append(batch, p)
			case <-linger.C:
				break drain
			}
		}
		linger.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		res := make([]commitResult, len(batch))
		err := s.st.Lane(ctx, func(ctx context.Context) error { return s.commitBatch(ctx, batch, res) })
		cancel()
		for i, p := range batch {
			if err != nil && res[i].err == nil && !res[i].created {
				res[i].err = err
			}
			p.done <- res[i]
		}
	}
}

// dupIndexes returns the indexes of documents an unordered insertMany
// refused as duplicates; any other failure is returned as an error.
func dupIndexes(err error) (map[int]bool, error) {
	out := map[int]bool{}
	if err == nil {
		return out, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, err
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 && we.Code != 11001 && we.Code != 12582 {
			return nil, err
		}
		out[we.Index] = true
	}
	return out, nil
}

// commitBatch is one lane step for a batch; res receives each outcome.
func (s *Service) commitBatch(ctx context.Context, batch []*pendingAtt, res []commitResult) error {
	// 1. Same trainee and session twice in the batch: the later ones are repeats.
	seen := map[string]bool{}
	live := []int{}
	for i, p := range batch {
		if seen[p.a.ID] {
			continue // created stays false: already recorded
		}
		seen[p.a.ID] = true
		live = append(live, i)
	}
	// 2. Walk-ins: enrol on the spot when the session has room.
	roomUsed := map[string]int64{}
	roomHave := map[string]int64{}
	var enrolDocs []any
	var enrolIdx []int
	keep := live[:0:0]
	for _, i := range live {
		p := batch[i]
		ok, err := s.IsEnrolled(ctx, p.sess.CourseID, p.t.ID)
		if err != nil {
			return err
		}
		if !ok {
			if p.checkRoom && p.sess.Capacity > 0 {
				if _, got := roomHave[p.sess.ID]; !got {
					n, err := s.sessionCount(ctx, p.sess)
					if err != nil {
						return err
					}
					roomHave[p.sess.ID] = n
				}
				if roomHave[p.sess.ID]+roomUsed[p.sess.ID] >= int64(p.sess.Capacity) {
					res[i].err = server.Conflict("本场培训名额已满，请联系培训讲师")
					continue
				}
			}
			enrolDocs = append(enrolDocs, Enrollment{ID: p.sess.CourseID + "/" + p.t.ID, CourseID: p.sess.CourseID, TraineeID: p.t.ID,
				TownshipID: p.t.TownshipID, WalkIn: true, By: p.a.By, At: s.now().UTC()})
			enrolIdx = append(enrolIdx, i)
		}
		roomUsed[p.sess.ID]++
		keep = append(keep, i)
	}
	live = keep
	if len(enrolDocs) > 0 {
		_, err := s.enrollments.InsertMany(ctx, enrolDocs)
		dups, err := dupIndexes(err)
		if err != nil {
			return err
		}
		courseInc := deltas{}
		for k, i := range enrolIdx {
			p := batch[i]
			s.markEnrolled(p.sess.CourseID, p.t.ID)
			if !dups[k] {
				res[i].walkIn = true
				p.a.WalkIn = true
				courseInc.add(coursesCounter, "enrolled."+p.sess.CourseID, 1)
			}
		}
		if err := incAll(ctx, s.scounters, courseInc); err != nil {
			return err
		}
	}
	// 3. Attendance: a duplicate key means already recorded.
	if len(live) > 0 {
		docs := make([]any, len(live))
		for k, i := range live {
			docs[k] = batch[i].a
		}
		_, err := s.attendance.InsertMany(ctx, docs)
		dups, err := dupIndexes(err)
		if err != nil {
			return err
		}
		excused, err := s.excusedAmong(ctx, live, dups, batch)
		if err != nil {
			return err
		}
		var created []int
		for k, i := range live {
			if dups[k] {
				if excused[batch[i].a.ID] {
					if err := s.upgradeExcused(ctx, batch[i].a); err != nil {
						res[i].err = err
					}
				}
				continue
			}
			res[i].created = true
			created = append(created, i)
		}
		// 4. Distinct trainees: the first counted attendance of a trainee.
		var tdocs []any
		var tidx []int
		tseen := map[string]bool{}
		for _, i := range created {
			a := batch[i].a
			if tseen[a.TraineeID] {
				continue
			}
			tseen[a.TraineeID] = true
			tdocs = append(tdocs, bson.M{"_id": a.TraineeID, "township_id": a.TownshipID, "at": a.At})
			tidx = append(tidx, i)
		}
		first := map[int]bool{}
		if len(tdocs) > 0 {
			_, err := s.attendees.InsertMany(ctx, tdocs)
			dups, err := dupIndexes(err)
			if err != nil {
				return err
			}
			for k, i := range tidx {
				first[i] = !dups[k]
			}
		}
		// 5. Counters: one bulk update per collection for the whole batch.
		main, sess := deltas{}, deltas{}
		for _, i := range created {
			m, x := attendanceDeltas(batch[i].a, first[i], 1)
			merge(main, m)
			merge(sess, x)
		}
		if err := s.incCounters(ctx, main); err != nil {
			return err
		}
		if err := incAll(ctx, s.scounters, sess); err != nil {
			return err
		}
	}
	// 6. The first answer to each client_id, in the same step.
	var answers []any
	for i, p := range batch {
		if p.akey == "" || (res[i].err != nil && !isRefusal(res[i].err)) {
			continue
		}
		x := answer{ID: p.akey, TraineeID: p.t.ID, Status: StatusPresent, At: s.now().UTC()}
		if res[i].err != nil {
			x.Status, x.Err = "", server.ToError(res[i].err)
		}
		s.answerMem.put(x)
		answers = append(answers, x)
	}
	if len(answers) > 0 {
		_, err := s.answers.InsertMany(ctx, answers)
		if _, err := dupIndexes(err); err != nil {
			s.d.Log.Error("save check-in answers", "err", err.Error())
		}
	}
	return nil
}

// excusedAmong returns which of the duplicate attendance ids are excused
// records, from the small attendance_excused collection (a duplicate is
// usually a repeat of a present record and needs no further look).
func (s *Service) excusedAmong(ctx context.Context, live []int, dups map[int]bool, batch []*pendingAtt) (map[string]bool, error) {
	var ids bson.A
	for k, i := range live {
		if dups[k] {
			ids = append(ids, batch[i].a.ID)
		}
	}
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID string `bson:"_id"`
	}
	if err := s.excused.Find(ctx, bson.M{"_id": bson.M{"$in": ids}}, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = true
	}
	return out, nil
}

var _ = store.IsDup
