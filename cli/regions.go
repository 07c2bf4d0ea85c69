package cli

import (
	"fmt"
)

func init() {
	Commands["import-regions"] = Command{Usage: "[--preview] [--refused OUT.xlsx] FILE.csv|xlsx (columns 区划代码,名称,级别,上级代码,贫困村 or code,name,level,parent_code,poverty)", Run: func(c *Client, args []string) error {
		preview, refusedOut, file, err := importArgs(args)
		if err != nil {
			return fmt.Errorf("usage: nongxun import-regions [--preview] [--refused OUT.xlsx] FILE.csv|xlsx")
		}
		return runImport(c, "/regions/import", file, preview, refusedOut)
	}}
}
