// Package regions holds the county → township → village tree with the
// poverty flag, its import and the demo county. Every other package asks
// it which township a village belongs to.
package regions

import (
	"strings"
	"time"

	"nongxun/server"
	"nongxun/store"
)

// Levels of the tree.
const (
	LevelCounty   = "county"
	LevelTownship = "township"
	LevelVillage  = "village"
)

// Region is one node of the tree.
type Region struct {
	ID        string    `bson:"_id" json:"id"`
	Name      string    `bson:"name" json:"name"`
	Level     string    `bson:"level" json:"level"`
	ParentID  string    `bson:"parent_id" json:"parent_id"`
	Poverty   bool      `bson:"poverty" json:"poverty"`
	Code      string    `bson:"code,omitempty" json:"code,omitempty"`
	Demo      bool      `bson:"demo,omitempty" json:"demo,omitempty"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
}

// NewRegion is what creating a region takes.
type NewRegion struct {
	Name     string `json:"name"`
	Level    string `json:"level"`
	ParentID string `json:"parent_id"`
	Poverty  bool   `json:"poverty"`
	Code     string `json:"code"`
}

var parentLevel = map[string]string{LevelTownship: LevelCounty, LevelVillage: LevelTownship}

// Validate checks the fields that need no lookup.
func (n *NewRegion) Validate() error {
	n.Name = strings.TrimSpace(n.Name)
	n.Code = strings.TrimSpace(n.Code)
	f := server.Fields{}
	f.Add(n.Name == "" || len([]rune(n.Name)) > 40, "name", "请填写名称（40 字以内）")
	f.Add(n.Level != LevelCounty && n.Level != LevelTownship && n.Level != LevelVillage, "level", "应为 county、township 或 village")
	f.Add(n.Level == LevelCounty && n.ParentID != "", "parent_id", "县级不应有上级")
	f.Add(n.Level != LevelCounty && !store.ValidID(n.ParentID), "parent_id", "请指定上级区域")
	f.Add(len(n.Code) > 20, "code", "代码过长")
	return f.Err()
}
