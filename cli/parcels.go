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
	Commands["recount-parcels"] = Command{Usage: "[--check] (rebuild the parcel day counters from the parcels and report the days that had drifted)", Run: func(c *Client, args []string) error {
		fix := !(len(args) > 0 && args[0] == "--check")
		var out struct {
			Parcels     int64    `json:"parcels"`
			DriftedDays []string `json:"drifted_days"`
			Fixed       bool     `json:"fixed"`
		}
		if err := c.Call("POST", "/parcels/recount", map[string]any{"fix": fix}, &out); err != nil {
			return err
		}
		fmt.Printf("%d parcels; %d days drifted %v; fixed: %v\n", out.Parcels, len(out.DriftedDays), out.DriftedDays, out.Fixed)
		return nil
	}}
}
