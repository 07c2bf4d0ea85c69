package courses

import (
	"context"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// DefaultCategories are the course categories of the programme; the office
// may add more.
var DefaultCategories = []string{"网店开设", "宣传推广", "产品营销", "直播带货", "实操", "物流与包装", "品牌与质量", "其他"}

// Category is one course category; its name is its id.
type Category struct {
	Name      string    `bson:"_id" json:"name"`
	Order     int       `bson:"order" json:"order"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
}

func (s *Service) seedCategories(ctx context.Context) error {
	docs := make([]any, len(DefaultCategories))
	now := s.now().UTC()
	for i, n := range DefaultCategories {
		docs[i] = Category{Name: n, Order: i, CreatedAt: now}
	}
	_, err := s.categories.InsertMany(ctx, docs)
	if err != nil && !store.IsDup(err) {
		return err
	}
	return nil
}

// Categories lists the categories in their order.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	out := []Category{}
	if err := s.categories.Find(ctx, bson.M{}, &out); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (s *Service) categoryExists(ctx context.Context, name string) (bool, error) {
	var c Category
	err := s.categories.Get(ctx, name, &c)
	if store.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// AddCategory adds a category at the end of the list; an existing name is a conflict.
func (s *Service) AddCategory(ctx context.Context, name string) (*Category, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 20 {
		return nil, server.Invalid("请填写类别名称（不超过 20 字）", "name", "必填，不超过 20 字")
	}
	all, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	order := 0
	for _, x := range all {
		if x.Order >= order {
			order = x.Order + 1
		}
	}
	// The name is the _id: a second category of the same name fails E11000
	// on both engines (two added at once may share an order; names break the tie).
	c := &Category{Name: name, Order: order, CreatedAt: s.now().UTC()}
	if err := s.categories.InsertOne(ctx, c); err != nil {
		if store.IsDup(err) {
			return nil, server.Conflict("类别已存在：" + name)
		}
		return nil, err
	}
	return c, nil
}
