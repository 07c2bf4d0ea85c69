package incubation

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// Targets of the plan.
const (
	EnterprisesMin = 3
	EnterprisesMax = 5
	BrandsMin      = 2
	BrandsMax      = 3
)

// Certifications a brand's products may carry.
var Certifications = map[string]string{
	"geographical_indication": "地理标志", "pollution_free": "无公害", "green": "绿色食品", "organic": "有机", "sc": "SC 认证",
}

// Product is an entry of the county's product list (优势农产品名录).
type Product struct {
	ID        string    `bson:"_id" json:"id"`
	Name      string    `bson:"name" json:"name"`
	Category  string    `bson:"category,omitempty" json:"category,omitempty"`
	Note      string    `bson:"note,omitempty" json:"note,omitempty"`
	Retired   bool      `bson:"retired,omitempty" json:"retired"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
}

// Enterprise is a leading e-commerce enterprise (龙头企业).
type Enterprise struct {
	ID           string    `bson:"_id" json:"id"`
	Name         string    `bson:"name" json:"name"`
	CreditCode   string    `bson:"credit_code,omitempty" json:"credit_code,omitempty"`
	TownshipID   string    `bson:"township_id,omitempty" json:"township_id,omitempty"`
	Business     string    `bson:"business,omitempty" json:"business,omitempty"`
	RecognizedOn string    `bson:"recognized_on,omitempty" json:"recognized_on,omitempty"`
	Products     []string  `bson:"products" json:"products"`
	ShopIDs      []string  `bson:"shop_ids" json:"shop_ids"`
	Note         string    `bson:"note,omitempty" json:"note,omitempty"`
	CreatedAt    time.Time `bson:"created_at" json:"created_at"`
}

// Brand is a local brand (地方品牌).
type Brand struct {
	ID             string    `bson:"_id" json:"id"`
	Name           string    `bson:"name" json:"name"`
	TrademarkNo    string    `bson:"trademark_no,omitempty" json:"trademark_no,omitempty"`
	EnterpriseID   string    `bson:"enterprise_id,omitempty" json:"enterprise_id,omitempty"`
	Products       []string  `bson:"products" json:"products"`
	Certifications []string  `bson:"certifications" json:"certifications"`
	ShopIDs        []string  `bson:"shop_ids" json:"shop_ids"`
	RegisteredOn   string    `bson:"registered_on,omitempty" json:"registered_on,omitempty"`
	Note           string    `bson:"note,omitempty" json:"note,omitempty"`
	CreatedAt      time.Time `bson:"created_at" json:"created_at"`
}

// EnterpriseInput is the body of creating or editing an enterprise.
type EnterpriseInput struct {
	Name         string   `json:"name"`
	CreditCode   string   `json:"credit_code"`
	TownshipID   string   `json:"township_id"`
	Business     string   `json:"business"`
	RecognizedOn string   `json:"recognized_on"`
	Products     []string `json:"products"`
	ShopIDs      []string `json:"shop_ids"`
	Note         string   `json:"note"`
}

// BrandInput is the body of creating or editing a brand.
type BrandInput struct {
	Name           string   `json:"name"`
	TrademarkNo    string   `json:"trademark_no"`
	EnterpriseID   string   `json:"enterprise_id"`
	Products       []string `json:"products"`
	Certifications []string `json:"certifications"`
	ShopIDs        []string `json:"shop_ids"`
	RegisteredOn   string   `json:"registered_on"`
	Note           string   `json:"note"`
}

// ProductInput is the body of creating or editing a product.
type ProductInput struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Note     string `json:"note"`
	Retired  bool   `json:"retired"`
}

var (
	creditCodeRe = regexp.MustCompile(`^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$`)
	trademarkRe  = regexp.MustCompile(`^[0-9A-Za-z]{1,20}$`)
)

func textField(f server.Fields, v *string, name string, max int, required bool, label string) {
	*v = strings.TrimSpace(*v)
	f.Add(required && *v == "", name, "请填写"+label)
	f.Add(utf8.RuneCountInString(*v) > max, name, label+"过长")
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// Validate checks the fields that need no lookup.
func (n *EnterpriseInput) Validate() error {
	f := server.Fields{}
	textField(f, &n.Name, "name", 100, true, "企业名称")
	n.CreditCode = strings.ToUpper(strings.TrimSpace(n.CreditCode))
	f.Add(n.CreditCode != "" && !creditCodeRe.MatchString(n.CreditCode), "credit_code", "统一社会信用代码应为 18 位")
	f.Add(n.TownshipID != "" && !store.ValidID(n.TownshipID), "township_id", "乡镇编号格式错误")
	textField(f, &n.Business, "business", 500, false, "主营业务")
	f.Add(n.RecognizedOn != "" && !validDay(n.RecognizedOn), "recognized_on", "认定日期应为 YYYY-MM-DD")
	f.Add(!validIDs(n.Products, 50), "products", "产品编号格式错误")
	f.Add(!validIDs(n.ShopIDs, 200), "shop_ids", "网店编号格式错误")
	textField(f, &n.Note, "note", 2000, false, "备注")
	n.Products, n.ShopIDs = nonNil(n.Products), nonNil(n.ShopIDs)
	return f.Err()
}

// Validate checks the fields that need no lookup.
func (n *BrandInput) Validate() error {
	f := server.Fields{}
	textField(f, &n.Name, "name", 100, true, "品牌名称")
	n.TrademarkNo = strings.TrimSpace(n.TrademarkNo)
	f.Add(n.TrademarkNo != "" && !trademarkRe.MatchString(n.TrademarkNo), "trademark_no", "商标注册号应为数字或字母")
	f.Add(n.EnterpriseID != "" && !store.ValidID(n.EnterpriseID), "enterprise_id", "企业编号格式错误")
	f.Add(!validIDs(n.Products, 50), "products", "产品编号格式错误")
	f.Add(!validIDs(n.ShopIDs, 200), "shop_ids", "网店编号格式错误")
	for _, c := range n.Certifications {
		_, ok := Certifications[c]
		f.Add(!ok, "certifications", "认证应为 地理标志、无公害、绿色食品、有机 或 SC 认证")
	}
	f.Add(len(n.Certifications) > len(Certifications), "certifications", "认证重复")
	f.Add(n.RegisteredOn != "" && !validDay(n.RegisteredOn), "registered_on", "注册日期应为 YYYY-MM-DD")
	textField(f, &n.Note, "note", 2000, false, "备注")
	n.Products, n.ShopIDs, n.Certifications = nonNil(n.Products), nonNil(n.ShopIDs), nonNil(n.Certifications)
	return f.Err()
}

// Validate checks the fields.
func (n *ProductInput) Validate() error {
	f := server.Fields{}
	textField(f, &n.Name, "name", 50, true, "产品名称")
	textField(f, &n.Category, "category", 50, false, "类别")
	textField(f, &n.Note, "note", 500, false, "备注")
	return f.Err()
}

// defaultProducts are the plan's named products (六(二)2(1)).
var defaultProducts = []ProductInput{
	{Name: "石榴", Category: "水果"}, {Name: "马铃薯", Category: "薯类"},
	{Name: "核桃", Category: "干果"}, {Name: "辣椒", Category: "蔬菜"},
}

// Names of products, enterprises and brands are unique: each record's
// name is claimed in incubation_names with the natural _id "<kind>/<name>"
// (a second claim fails on the unique _id, on both engines).
const (
	kindProduct    = "product"
	kindEnterprise = "enterprise"
	kindBrand      = "brand"
)

type nameClaim struct {
	ID       string `bson:"_id"`
	RecordID string `bson:"record_id"`
}

func claimID(kind, name string) string { return kind + "/" + name }

// claimExistingNames claims the names of records made before the claims
// existed (an older version, a restore): a start-up step over three small
// collections, idempotent.
func (s *Service) claimExistingNames(ctx context.Context) error {
	for _, x := range []struct {
		kind string
		c    *store.Collection
	}{{kindProduct, s.products}, {kindEnterprise, s.enterprises}, {kindBrand, s.brands}} {
		var list []struct {
			ID   string `bson:"_id"`
			Name string `bson:"name"`
		}
		if err := x.c.Find(ctx, bson.M{}, &list, options.Find().SetProjection(bson.M{"name": 1})); err != nil {
			return err
		}
		docs := make([]any, 0, len(list))
		for _, r := range list {
			docs = append(docs, nameClaim{ID: claimID(x.kind, r.Name), RecordID: r.ID})
		}
		if _, err := s.names.InsertMany(ctx, docs); err != nil {
			if _, derr := store.DupIndexes(err); derr != nil {
				return derr
			}
		}
	}
	return nil
}

// seedProducts fills a new product list with the plan's products, once
// (a marker claim settles two nodes starting at once).
func (s *Service) seedProducts(ctx context.Context) error {
	first, err := s.names.InsertIfAbsent(ctx, nameClaim{ID: "seed/products"})
	if err != nil || !first {
		return err
	}
	var one []Product
	if err := s.products.Find(ctx, bson.M{}, &one, options.Find().SetLimit(1)); err != nil || len(one) > 0 {
		return err
	}
	for _, p := range defaultProducts {
		if _, err := s.SaveProduct(ctx, nil, "", p); err != nil && server.ToError(err).Code != server.CodeConflict {
			return err
		}
	}
	return nil
}

// Products lists the county's product list.
func (s *Service) Products(ctx context.Context) ([]Product, error) {
	out := []Product{}
	err := s.products.Find(ctx, bson.M{}, &out, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	return out, err
}

// SaveProduct creates (id "") or edits a product; names are unique.
func (s *Service) SaveProduct(ctx context.Context, p *server.Principal, id string, n ProductInput) (*Product, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	out := &Product{ID: id, Name: n.Name, Category: n.Category, Note: n.Note, Retired: n.Retired, CreatedAt: s.now()}
	err := s.saveNamed(ctx, s.products, kindProduct, id, n.Name, "", "已有同名产品", out,
		bson.M{"name": n.Name, "category": n.Category, "note": n.Note, "retired": n.Retired})
	if err != nil {
		return nil, err
	}
	if p != nil {
		s.audit(ctx, p, "product.save", out.ID, map[string]any{"name": n.Name})
	}
	return out, nil
}

// checkProducts refuses product ids that are not on the list.
func (s *Service) checkProducts(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	all, err := s.Products(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, p := range all {
		known[p.ID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return server.Invalid("产品不在名录中", "products", "未知产品")
		}
	}
	return nil
}

// checkLinks refuses product ids not on the list and shop ids not registered.
func (s *Service) checkLinks(ctx context.Context, products, shops []string) error {
	if err := s.checkProducts(ctx, products); err != nil {
		return err
	}
	return s.checkShops(ctx, shops)
}

// checkShops refuses shop ids that are not registered (each read by _id).
func (s *Service) checkShops(ctx context.Context, ids []string) error {
	found := make([]bool, len(ids))
	fns := make([]func() error, len(ids))
	for i, id := range ids {
		fns[i] = func() error {
			var sh struct {
				ID string `bson:"_id"`
			}
			err := s.shops.Get(ctx, id, &sh)
			found[i] = err == nil
			if err != nil && !store.IsNotFound(err) {
				return err
			}
			return nil
		}
	}
	if err := par(fns); err != nil {
		return err
	}
	for _, ok := range found {
		if !ok {
			return server.Invalid("网店不存在", "shop_ids", "未知网店")
		}
	}
	return nil
}

// Enterprises lists the leading enterprises.
func (s *Service) Enterprises(ctx context.Context) ([]Enterprise, error) {
	out := []Enterprise{}
	err := s.enterprises.Find(ctx, bson.M{}, &out, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}))
	return out, err
}

// Brands lists the local brands.
func (s *Service) Brands(ctx context.Context) ([]Brand, error) {
	out := []Brand{}
	err := s.brands.Find(ctx, bson.M{}, &out, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}))
	return out, err
}

// SaveEnterprise creates (id "") or edits a leading enterprise.
func (s *Service) SaveEnterprise(ctx context.Context, p *server.Principal, id string, n EnterpriseInput) (*Enterprise, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if n.TownshipID != "" && s.d.Regions != nil && !s.d.Regions.IsTownship(ctx, n.TownshipID) {
		return nil, server.Invalid("乡镇不存在", "township_id", "不存在")
	}
	if err := s.checkLinks(ctx, n.Products, n.ShopIDs); err != nil {
		return nil, err
	}
	e := &Enterprise{ID: id, Name: n.Name, CreditCode: n.CreditCode, TownshipID: n.TownshipID, Business: n.Business,
		RecognizedOn: n.RecognizedOn, Products: n.Products, ShopIDs: n.ShopIDs, Note: n.Note, CreatedAt: s.now()}
	err := s.saveNamed(ctx, s.enterprises, kindEnterprise, id, n.Name, "enterprises", "已有同名企业", e, bson.M{
		"name": e.Name, "credit_code": e.CreditCode, "township_id": e.TownshipID, "business": e.Business,
		"recognized_on": e.RecognizedOn, "products": e.Products, "shop_ids": e.ShopIDs, "note": e.Note})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "enterprise.save", e.ID, map[string]any{"name": e.Name})
	return e, nil
}

// SaveBrand creates (id "") or edits a local brand.
func (s *Service) SaveBrand(ctx context.Context, p *server.Principal, id string, n BrandInput) (*Brand, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if n.EnterpriseID != "" {
		var e Enterprise
		if err := s.enterprises.Get(ctx, n.EnterpriseID, &e); err != nil {
			if store.IsNotFound(err) {
				return nil, server.Invalid("企业不存在", "enterprise_id", "不存在")
			}
			return nil, err
		}
	}
	if err := s.checkLinks(ctx, n.Products, n.ShopIDs); err != nil {
		return nil, err
	}
	b := &Brand{ID: id, Name: n.Name, TrademarkNo: n.TrademarkNo, EnterpriseID: n.EnterpriseID, Products: n.Products,
		Certifications: n.Certifications, ShopIDs: n.ShopIDs, RegisteredOn: n.RegisteredOn, Note: n.Note, CreatedAt: s.now()}
	err := s.saveNamed(ctx, s.brands, kindBrand, id, n.Name, "brands", "已有同名品牌", b, bson.M{
		"name": b.Name, "trademark_no": b.TrademarkNo, "enterprise_id": b.EnterpriseID, "products": b.Products,
		"certifications": b.Certifications, "shop_ids": b.ShopIDs, "registered_on": b.RegisteredOn, "note": b.Note})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "brand.save", b.ID, map[string]any{"name": b.Name})
	return b, nil
}

// saveNamed inserts doc (id "", giving it a new id) or updates record id
// with set, refusing a name another record holds: the new name is claimed
// first, then the record written, then the old name released; a new
// record moves the totals counter (counter "" for none). One unit.
func (s *Service) saveNamed(ctx context.Context, c *store.Collection, kind, id, name, counter, dupMsg string, doc any, set bson.M) error {
	recID := id
	if id == "" {
		recID = store.NewID()
		switch d := doc.(type) {
		case *Enterprise:
			d.ID = recID
		case *Brand:
			d.ID = recID
		case *Product:
			d.ID = recID
		}
	}
	oldName := ""
	if id != "" {
		var cur struct {
			Name string `bson:"name"`
		}
		if err := c.Get(ctx, id, &cur); err != nil {
			if store.IsNotFound(err) {
				return server.NotFound("记录不存在")
			}
			return err
		}
		oldName = cur.Name
	}
	return s.st.Unit(ctx, "registry.save", func(u *store.Unit) error {
		if name != oldName {
			claimed, err := s.names.InsertIfAbsent(ctx, nameClaim{ID: claimID(kind, name), RecordID: recID})
			if err != nil {
				return err
			}
			if !claimed {
				var holder nameClaim
				if err := s.names.Get(ctx, claimID(kind, name), &holder); err != nil || holder.RecordID != recID {
					return server.Conflict(dupMsg)
				}
			} else {
				u.OnFail("name "+name, func(ctx context.Context) error {
					_, err := s.names.DeleteIf(ctx, claimID(kind, name), store.Cond{"record_id": recID})
					return err
				})
			}
		}
		if id != "" {
			res, err := c.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set})
			if err == nil && res.MatchedCount == 0 {
				return server.NotFound("记录不存在")
			}
			if err != nil {
				return err
			}
			if name != oldName {
				_, err = s.names.DeleteIf(ctx, claimID(kind, oldName), store.Cond{"record_id": id})
			}
			return err
		}
		if err := u.Do(ctx, kind+" "+recID, func(ctx context.Context) error { return c.InsertOne(ctx, doc) },
			func(ctx context.Context) error { _, err := c.DeleteOne(ctx, bson.M{"_id": recID}); return err }); err != nil {
			return err
		}
		if counter == "" {
			return nil
		}
		return s.incUndo(ctx, u, s.counters, totalsDoc, map[string]int64{counter: 1})
	})
}
