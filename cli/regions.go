package cli

import (
	"encoding/json"
	"fmt"
	"os"
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
