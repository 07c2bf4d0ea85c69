package enrollment

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Attendance writes are group-committed: check-ins arriving together
// queue up, and one unit of work (store.Unit) records the whole batch —
// places taken by conditional updates; the client answers, walk-in
// enrolments, attendance and first-time attendees each with one
// insertMany; one journal entry for the sessions' lists and the
// townships' counters; one bulk $inc of the other counters — with an
// undo for each step should a later one fail. On the embedded engine an
// insertMany of 50 costs little more than one insert, so a busy session
// hall costs a few writes a batch, not a few a check-in. The loop runs as
// a background task of the store (st.Go): when the store closes it
// finishes what is queued and stops.

// maxCommit is the most check-ins one batch takes; commitLinger is how
// long the first waits for others to join it.
const (
	maxCommit    = 256
	commitLinger = 3 * time.Millisecond
	commitWait   = 60 * time.Second
)

type pendingAtt struct {
	sess      *courses.Session
	t         *Trainee
	a         *Attendance
	checkRoom bool   // a walk-in needs a place at a session with a capacity
	akey      string // the client answer's key; "" for none
	done      chan commitResult
	stopped   <-chan struct{}
	// Read before queueing (in parallel, by the request): an insert that
	// would hit a duplicate costs the embedded engine a transaction per
	// document of the batch, so the batch inserts only what is not there.
	// A race that slips through still ends as a duplicate, answered the
	// same way.
	enrolled bool // the trainee is enrolled in the session's course
	attended bool // the trainee has a counted record (the distinct count)
}

type commitResult struct {
	created, walkIn, upgraded bool
	status                    string
	err                       error
}

type committer struct {
	ch      chan *pendingAtt
	stopped chan struct{}
	busy    atomic.Int32 // a batch is being written (the compactor yields to it)
}

func newCommitter() *committer {
	return &committer{ch: make(chan *pendingAtt, 1024), stopped: make(chan struct{})}
}

var errStopping = server.RuleBroken(server.CodeConflict, "stopping", "服务正在重启，请稍后重试")

// queue hands an attendance to the commit loop.
func (s *Service) queue(ctx context.Context, sess *courses.Session, t *Trainee, a *Attendance, checkRoom bool, akey string) (*pendingAtt, error) {
	p := &pendingAtt{sess: sess, t: t, a: a, checkRoom: checkRoom, akey: akey, done: make(chan commitResult, 1), stopped: s.commit.stopped}
	if err := s.preRead(ctx, p); err != nil {
		return nil, err
	}
	select {
	case <-s.commit.stopped:
		return nil, errStopping
	default:
	}
	select {
	case s.commit.ch <- p:
		return p, nil
	case <-s.commit.stopped:
		return nil, errStopping
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// preRead reads the enrolment and the attendee mark by _id, at once.
func (s *Service) preRead(ctx context.Context, p *pendingAtt) error {
	var (
		wg   sync.WaitGroup
		e1   error
		mark bson.M
	)
	wg.Add(1)
	go func() { defer wg.Done(); p.enrolled, e1 = s.IsEnrolled(ctx, p.sess.CourseID, p.t.ID) }()
	e2 := s.attendees.Get(ctx, p.t.ID, &mark)
	if e2 == nil {
		p.attended = true
	} else if store.IsNotFound(e2) {
		e2 = nil
	}
	wg.Wait()
	return errors.Join(e1, e2)
}

// wait returns the outcome of a queued attendance.
func (p *pendingAtt) wait(ctx context.Context) (commitResult, error) {
	select {
	case r := <-p.done:
		return r, r.err
	case <-ctx.Done():
		// The batch may still complete; the client_id answer keeps a retry right.
		return commitResult{}, ctx.Err()
	case <-p.stopped:
		select {
		case r := <-p.done:
			return r, r.err
		case <-time.After(commitWait):
			return commitResult{}, errStopping
		}
	}
}

// submit records an attendance through the commit loop. A trainee not
// enrolled is enrolled on the spot (a walk-in) when the session has room
// (checkRoom) or when staff record them. An existing record means already
// recorded; an excused one becomes counted. akey, when set, is the
// client_id's answer key: its first answer is kept in the same unit.
func (s *Service) submit(ctx context.Context, sess *courses.Session, t *Trainee, a *Attendance, checkRoom bool, akey string) (commitResult, error) {
	p, err := s.queue(ctx, sess, t, a, checkRoom, akey)
	if err != nil {
		return commitResult{}, err
	}
	return p.wait(ctx)
}

// commitLoop takes batches until ctx ends, then commits what is queued.
func (s *Service) commitLoop(ctx context.Context) {
	c := s.commit
	for {
		select {
		case <-ctx.Done():
			close(c.stopped)
			for {
				select {
				case p := <-c.ch:
					s.commitBatch([]*pendingAtt{p})
				default:
					return
				}
			}
		case first := <-c.ch:
			batch := []*pendingAtt{first}
			linger := time.NewTimer(commitLinger)
		fill:
			for len(batch) < maxCommit {
				select {
				case p := <-c.ch:
					batch = append(batch, p)
				case <-linger.C:
					break fill
				}
			}
			linger.Stop()
			s.commitBatch(batch)
		}
	}
}

var errRoomFull = server.RuleBroken(server.CodeConflict, "session_full", "本场培训名额已满，请联系培训讲师")

// commitBatch records a batch as one unit of work and answers each.
func (s *Service) commitBatch(batch []*pendingAtt) {
	ctx, cancel := context.WithTimeout(context.Background(), commitWait)
	defer cancel()
	s.commit.busy.Add(1)
	defer s.commit.busy.Add(-1)
	res := make([]commitResult, len(batch))
	// The same trainee and session (or client_id) twice: later copies follow the first.
	firstOf := map[string]int{}
	copyOf := map[int]int{}
	var live []int
	for i, p := range batch {
		if j, ok := firstOf[p.a.ID]; ok {
			copyOf[i] = j
			continue
		}
		if j, ok := firstOf["answer:"+p.akey]; ok && p.akey != "" {
			copyOf[i] = j
			continue
		}
		firstOf[p.a.ID] = i
		if p.akey != "" {
			firstOf["answer:"+p.akey] = i
		}
		live = append(live, i)
	}
	var upgrades []int // already recorded as excused, now counted
	err := s.st.Unit(ctx, "enrollment.checkin", func(u *store.Unit) error {
		var err error
		upgrades, err = s.commitUnit(ctx, u, batch, live, res)
		return err
	})
	for _, i := range live {
		if err != nil && res[i].err == nil {
			res[i] = commitResult{err: err}
		}
	}
	if err == nil {
		for _, i := range upgrades {
			p := batch[i]
			var old Attendance
			if gerr := s.attendance.Get(ctx, p.a.ID, &old); gerr != nil {
				res[i].err = gerr
				continue
			}
			if counted(old.Status) {
				continue
			}
			if uerr := s.setStatus(ctx, &old, p.a.Status, p.a.By); uerr != nil && uerr != errChanged {
				res[i].err = uerr
			} else if uerr == nil {
				res[i].upgraded = true
			}
		}
	}
	for i, p := range batch {
		r := res[i]
		if j, ok := copyOf[i]; ok {
			r = res[j]
			r.created, r.upgraded = false, false
		}
		if r.err == nil && r.status == "" {
			r.status = StatusPresent
		}
		p.done <- r
	}
}

// commitUnit is the batch's writes inside unit u; it returns the items
// whose record existed and was not counted (to be upgraded).
func (s *Service) commitUnit(ctx context.Context, u *store.Unit, batch []*pendingAtt, live []int, res []commitResult) ([]int, error) {
	// 1. Places for walk-ins at sessions with a capacity (person-times
	// against capacity), each a conditional update of the session's counter.
	seat := map[int]bool{}
	for _, i := range live {
		p := batch[i]
		if !p.checkRoom || p.sess.Capacity <= 0 || p.enrolled {
			continue
		}
		ok, err := s.takeSeat(ctx, u, p.sess, p.a.Day, seat, i)
		if err != nil {
			return nil, err
		}
		if !ok {
			res[i].err = errRoomFull
		}
	}
	// 2. The first answer to each client_id: the unique _id decides between
	// two copies of one check-in; a copy answered before takes that answer.
	if err := s.answerFirst(ctx, u, batch, live, res, seat); err != nil {
		return nil, err
	}
	var ok []int
	for _, i := range live {
		if res[i].err == nil && res[i].status == "" {
			ok = append(ok, i)
		}
	}
	// 3. Walk-in enrolments for everyone not known enrolled; a duplicate
	// means enrolled meanwhile.
	var edocs []any
	var eidx []int
	for _, i := range ok {
		p := batch[i]
		if p.enrolled {
			continue
		}
		edocs = append(edocs, Enrollment{ID: enrolmentID(p.sess.CourseID, p.t.ID), CourseID: p.sess.CourseID, TraineeID: p.t.ID,
			TownshipID: p.t.TownshipID, WalkIn: true, By: p.a.By, At: p.a.At})
		eidx = append(eidx, i)
	}
	walkIns, err := s.insertNew(ctx, u, s.enrollments, "walk-in enrolments", edocs)
	if err != nil {
		return nil, err
	}
	d := deltas{}
	for k, i := range eidx {
		if walkIns[k] {
			res[i].walkIn = true
			batch[i].a.WalkIn = true
			d.merge(enrolDeltas(batch[i].sess.CourseID, 1))
		}
	}
	// 4. Attendance: a duplicate means recorded already.
	adocs := make([]any, len(ok))
	for k, i := range ok {
		adocs[k] = batch[i].a
	}
	created, err := s.insertNew(ctx, u, s.attendance, "attendance", adocs)
	if err != nil {
		return nil, err
	}
	var upgrades, fresh []int
	for k, i := range ok {
		p := batch[i]
		if created[k] {
			res[i].created, res[i].status = true, p.a.Status
			fresh = append(fresh, i)
			continue
		}
		if seat[i] {
			// No new person-time: give the place back.
			if err := s.releaseSeat(ctx, p.sess, p.a.Day, seat, i); err != nil {
				return nil, err
			}
		}
		if counted(p.a.Status) {
			upgrades = append(upgrades, i)
		}
	}
	// 5. First-time attendees (the distinct count).
	var tdocs []any
	var tidx []int
	seenT := map[string]bool{}
	for _, i := range fresh {
		p := batch[i]
		if !counted(p.a.Status) || seenT[p.t.ID] || p.attended {
			continue
		}
		seenT[p.t.ID] = true
		tdocs = append(tdocs, bson.M{"_id": p.t.ID, "at": p.a.At})
		tidx = append(tidx, i)
	}
	first, err := s.insertNew(ctx, u, s.attendees, "attendees", tdocs)
	if err != nil {
		return nil, err
	}
	for k, i := range tidx {
		if !first[k] {
			continue
		}
		// Counted by the record as it is now (the request's copy may be a
		// few seconds old on MongoDB): a first attendance is rare.
		t, err := s.Trainee(ctx, batch[i].t.ID)
		if err != nil {
			return nil, err
		}
		d.merge(distinctDeltas(t, 1))
	}
	// 6. The sessions' lists and the townships' counters in one journal
	// entry (journal.go); every other counter in one bulk write.
	ch := newChanges()
	for _, i := range fresh {
		a := batch[i].a
		ch.add(sessionList(a.SessionID), sessionMember(a.TraineeID, a.Status))
		if counted(a.Status) {
			d.merge(personTimeDeltas(a, 1, !seat[i]))
		}
	}
	now, later := d.split()
	ch.inc(later)
	if err := s.logChanges(ctx, u, ch); err != nil {
		return nil, err
	}
	if err := s.countNow(ctx, u, "check-in counters", now); err != nil {
		return nil, err
	}
	return upgrades, nil
}

// insertNew inserts docs unordered inside u and reports which were new
// (a duplicate _id is "there already"). The undo deletes what this insert
// may have written, each only if it still carries this insert's time, so
// a record that was there before is never touched.
func (s *Service) insertNew(ctx context.Context, u *store.Unit, c *store.Collection, what string, docs []any) ([]bool, error) {
	out := make([]bool, len(docs))
	if len(docs) == 0 {
		return out, nil
	}
	_, err := c.InsertMany(ctx, docs)
	failed := map[int]bool{}
	var bwe mongo.BulkWriteException
	known := err == nil || errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0
	if err != nil && known {
		for _, we := range bwe.WriteErrors {
			failed[we.Index] = true
		}
	}
	type written struct {
		id string
		at time.Time
	}
	var mine []written
	for k := range docs {
		if !failed[k] {
			id, at := docKey(docs[k])
			mine = append(mine, written{id, at})
		}
	}
	u.OnFail(what, func(ctx context.Context) error {
		for _, w := range mine {
			if _, err := c.DeleteIf(ctx, w.id, store.Cond{"at": w.at}); err != nil {
				return err
			}
		}
		return nil
	})
	dups, derr := store.DupIndexes(err)
	if derr != nil {
		return nil, derr
	}
	for k := range docs {
		out[k] = !dups[k]
	}
	return out, nil
}

// docKey is the _id and write time of a document insertNew writes.
func docKey(doc any) (string, time.Time) {
	switch d := doc.(type) {
	case Enrollment:
		return d.ID, d.At
	case *Attendance:
		return d.ID, d.At
	case answer:
		return d.ID, d.At
	case bson.M:
		id, _ := d["_id"].(string)
		at, _ := d["at"].(time.Time)
		return id, at
	}
	panic("enrollment: docKey of an unknown document type")
}

// takeSeat takes one person-time place at a session with a capacity, by a
// conditional update of its counter; false when full. held[i] marks it
// taken, so the unit's undo (and releaseSeat) give it back once.
func (s *Service) takeSeat(ctx context.Context, u *store.Unit, sess *courses.Session, day string, held map[int]bool, i int) (bool, error) {
	id := sessionsCounter(day)
	if _, err := s.counters.InsertIfAbsent(ctx, bson.M{"_id": id}); err != nil {
		return false, err
	}
	ok, err := s.counters.UpdateIf(ctx, id, store.Cond{"$or": bson.A{bson.M{sess.ID: bson.M{"$exists": false}}, bson.M{sess.ID: bson.M{"$lt": int64(sess.Capacity)}}}},
		bson.M{"$inc": bson.M{sess.ID: 1}})
	if err != nil || !ok {
		return false, err
	}
	held[i] = true
	u.OnFail("session place", func(ctx context.Context) error { return s.releaseSeat(ctx, sess, day, held, i) })
	return true, nil
}

func (s *Service) releaseSeat(ctx context.Context, sess *courses.Session, day string, held map[int]bool, i int) error {
	if !held[i] {
		return nil
	}
	d := deltas{}
	d.add(sessionsCounter(day), sess.ID, -1)
	if err := s.incCounters(ctx, d); err != nil {
		return err
	}
	held[i] = false
	return nil
}
