package cli

import (
	"fmt"
)

func init() {
	Commands["demo"] = Command{Usage: "(load the demo county: 23 townships, ~380 villages)", Run: func(c *Client, _ []string) error {
		var out struct {
			Created int `json:"created"`
		}
		if err := c.Call("POST", "/regions/demo", map[string]any{}, &out); err != nil {
			return err
		}
		if out.Created == 0 {
			fmt.Println("a county already exists; demo regions not loaded")
		} else {
			fmt.Printf("demo county loaded: %d regions\n", out.Created)
		}
		return nil
	}}
	Commands["import-regions"] = Command{Usage: "[--preview] [--refused OUT.xlsx] FILE.csv|xlsx (columns 区划代码,名称,级别,上级代码,贫困村 or code,name,level,parent_code,poverty)", Run: func(c *Client, args []string) error {
		preview, refusedOut, file, err := importArgs(args)
		if err != nil {
			return fmt.Errorf("usage: nongxun import-regions [--preview] [--refused OUT.xlsx] FILE.csv|xlsx")
		}
		return runImport(c, "/regions/import", file, preview, refusedOut)
	}}
}
