package cli

import (
	"encoding/json"
	"fmt"
	"os"
)

func init() {
	Commands["import-regions"] = Command{Usage: "FILE.csv|xlsx (columns code,name,level,parent_code,poverty)", Run: func(c *Client, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("usage: nongxun import-regions FILE.csv|xlsx")
		}
		var out json.RawMessage
		if err := c.Upload("/regions/import", args[0], nil, &out); err != nil {
			return err
		}
		_, err := os.Stdout.Write(append(out, '\n'))
		return err
	}}
}
