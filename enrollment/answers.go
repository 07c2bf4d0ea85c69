package enrollment

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// answerKeep is how long the first answer to a client_id is kept: longer
// than any phone stays offline with a check-in pending.
const answerKeep = 60 * 24 * time.Hour

// answer is the first answer given to one (trainee, client_id).
type answer struct {
	ID        string        `bson:"_id"` // traineeID/clientID
	TraineeID string        `bson:"trainee_id"`
	Status    string        `bson:"status,omitempty"`
	Err       *server.Error `bson:"err,omitempty"`
	At        time.Time     `bson:"at"`
}

// answerMemo keeps answers in memory in front of the checkin_answers
// collection, and serialises requests carrying the same key so that two
// copies of one check-in sent at once get one answer.
type answerMemo struct {
	mu      sync.Mutex
	m       map[string]answer
	loaded  bool // the map holds every stored answer (embedded engine)
	pending map[string]chan struct{}
}

func newAnswerMemo() *answerMemo {
	return &answerMemo{m: map[string]answer{}, pending: map[string]chan struct{}{}}
}

// load reads every stored answer newer than since and drops older ones.
func (a *answerMemo) load(ctx context.Context, c *store.Collection, since time.Time) error {
	if _, err := c.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": since}}); err != nil {
		return err
	}
	cur, err := c.Cursor(ctx, bson.M{})
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	for cur.Next(ctx) {
		var x answer
		if err := cur.Decode(&x); err == nil {
			a.m[x.ID] = x
		}
	}
	a.loaded = true
	return cur.Err()
}

// lockKey waits until no other request holds key, then holds it.
func (a *answerMemo) lockKey(key string) func() {
	for {
		a.mu.Lock()
		ch, busy := a.pending[key]
		if !busy {
			ch = make(chan struct{})
			a.pending[key] = ch
			a.mu.Unlock()
			return func() {
				a.mu.Lock()
				delete(a.pending, key)
				a.mu.Unlock()
				close(ch)
			}
		}
		a.mu.Unlock()
		<-ch
	}
}

// find returns the stored answer for key; with the whole set in memory
// (embedded) a miss needs no query.
func (a *answerMemo) find(ctx context.Context, c *store.Collection, embedded bool, key string) (answer, bool, error) {
	a.mu.Lock()
	x, ok := a.m[key]
	loaded := a.loaded
	a.mu.Unlock()
	if ok || (embedded && loaded) {
		return x, ok, nil
	}
	err := c.FindOne(ctx, bson.M{"_id": key}, &x)
	if store.IsNotFound(err) {
		return answer{}, false, nil
	}
	if err != nil {
		return answer{}, false, err
	}
	a.put(x)
	return x, true, nil
}

func (a *answerMemo) put(x answer) {
	a.mu.Lock()
	a.m[x.ID] = x
	a.mu.Unlock()
}

// save stores the first answer; when another node stored one first, its answer stands.
func (a *answerMemo) save(ctx context.Context, c *store.Collection, x answer) error {
	a.put(x)
	err := c.InsertOne(ctx, x)
	if store.IsDup(err) {
		return nil
	}
	return err
}
