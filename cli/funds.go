package cli

import (
	"errors"
	"fmt"
	"sort"
)

func init() {
	Commands["fund-check"] = Command{Usage: "(compare the fund's running totals with the ledger; exit 1 on drift)", Run: func(c *Client, _ []string) error {
		var out struct {
			OK    bool `json:"ok"`
			Drift map[string]struct {
				Balance int64 `json:"balance"`
				Ledger  int64 `json:"ledger"`
			} `json:"drift"`
		}
		if err := c.Call("GET", "/funds/reconcile", nil, &out); err != nil {
			return err
		}
		keys := make([]string, 0, len(out.Drift))
		for k := range out.Drift {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			d := out.Drift[k]
			fmt.Printf("drift %s: balance %d fen, ledger %d fen\n", k, d.Balance, d.Ledger)
		}
		if !out.OK {
			return errors.New("the fund balance does not match the ledger")
		}
		fmt.Println("fund balance matches the ledger")
		return nil
	}}
}
