package enrollment

import (
	"context"
	"time"

	"nongxun/server"
	"nongxun/store"
)

// The first answer given to each (trainee, client_id) is kept in
// checkin_answers with the natural _id "traineeID/clientID", so a replayed
// offline upload gets the same answer. It is read by _id before a
// check-in; two copies of one check-in sent at once are settled by the
// unique _id: the copy whose insert fails takes the stored answer.

// answer is the first answer given to one (trainee, client_id).
type answer struct {
	ID        string        `bson:"_id"` // traineeID/clientID
	TraineeID string        `bson:"trainee_id"`
	Status    string        `bson:"status,omitempty"`
	Err       *server.Error `bson:"err,omitempty"`
	At        time.Time     `bson:"at"`
}

func (a answer) result() (Result, bool, error) {
	if a.Err != nil {
		return Result{}, false, a.Err
	}
	return Result{Status: a.Status, Already: true}, false, nil
}

// findAnswer reads the stored answer for key.
func (s *Service) findAnswer(ctx context.Context, key string) (answer, bool, error) {
	var a answer
	err := s.answers.Get(ctx, key, &a)
	if store.IsNotFound(err) {
		return answer{}, false, nil
	}
	return a, err == nil, err
}

// keepAnswer stores a as the first answer; when one is stored already it
// returns that one (first false).
func (s *Service) keepAnswer(ctx context.Context, a answer) (answer, bool, error) {
	ok, err := s.answers.InsertIfAbsent(ctx, a)
	if err != nil || ok {
		return a, ok, err
	}
	stored, found, err := s.findAnswer(ctx, a.ID)
	if err != nil || !found {
		return a, true, err
	}
	return stored, false, nil
}

// answerFirst writes the first answer of each client_id of a batch inside
// u, before anything else is recorded: the unique _id decides between two
// copies of one check-in (on any node). A copy whose answer is there
// already takes it and records nothing (its place, if it took one, is
// given back). A refusal decided in the batch (no place) is answered too;
// the unit's undo takes the answers back should the batch fail.
func (s *Service) answerFirst(ctx context.Context, u *store.Unit, batch []*pendingAtt, live []int, res []commitResult, seat map[int]bool) error {
	var docs []any
	var idx []int
	for _, i := range live {
		p := batch[i]
		if p.akey == "" {
			continue
		}
		a := answer{ID: p.akey, TraineeID: p.t.ID, Status: StatusPresent, At: p.a.At}
		if res[i].err != nil {
			a.Status, a.Err = "", server.ToError(res[i].err)
		}
		docs = append(docs, a)
		idx = append(idx, i)
	}
	first, err := s.insertNew(ctx, u, s.answers, "check-in answers", docs)
	if err != nil {
		return err
	}
	for k, i := range idx {
		if first[k] {
			continue
		}
		stored, ok, err := s.findAnswer(ctx, batch[i].akey)
		if err != nil {
			return err
		}
		if !ok {
			continue // taken back meanwhile: this copy goes ahead
		}
		if seat[i] {
			if err := s.releaseSeat(ctx, batch[i].sess, batch[i].a.Day, seat, i); err != nil {
				return err
			}
		}
		if stored.Err != nil {
			res[i] = commitResult{err: stored.Err}
		} else {
			res[i] = commitResult{status: stored.Status}
		}
	}
	return nil
}
