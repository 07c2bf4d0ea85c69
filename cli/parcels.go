package cli

import (
	"fmt"
	"strconv"
)

func init() {
	Commands["archive-parcels"] = Command{Usage: "[DAYS] (move delivered parcels older than DAYS, default 30, out of the hot collections; run it daily)", Run: func(c *Client, args []string) error {
		days := 30
		if len(args) > 0 {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return fmt.Errorf("usage: nongxun archive-parcels [DAYS]")
			}
			days = n
		}
		var out struct {
			Archived int `json:"archived"`
		}
		if err := c.Call("POST", "/parcels/archive", map[string]any{"older_than_days": days}, &out); err != nil {
			return err
		}
		fmt.Printf("archived %d parcels\n", out.Archived)
		return nil
	}}
}
