package cli

import "fmt"

func init() {
	Commands["recount-funnel"] = Command{Usage: "[--check] (rebuild the conversion funnel, sales and follow-up counters from the records; report differences)", Run: func(c *Client, args []string) error {
		fix := !(len(args) == 1 && args[0] == "--check")
		var out struct {
			OK          bool     `json:"ok"`
			Fixed       bool     `json:"fixed"`
			Differences []string `json:"differences"`
			Counted     struct {
				Certified  int64 `json:"certified"`
				FollowedUp int64 `json:"followed_up"`
				ShopOpened int64 `json:"shop_opened"`
				Selling    int64 `json:"selling"`
				Incubated  int64 `json:"incubated"`
			} `json:"counted"`
		}
		if err := c.Call("POST", "/conversion/recount", map[string]any{"fix": fix}, &out); err != nil {
			return err
		}
		for _, d := range out.Differences {
			fmt.Println("differs:", d)
		}
		k := out.Counted
		fmt.Printf("certified %d, followed up %d, shop opened %d, selling %d, incubated %d; %d differences", k.Certified, k.FollowedUp, k.ShopOpened, k.Selling, k.Incubated, len(out.Differences))
		if out.Fixed {
			fmt.Print(" (fixed)")
		}
		fmt.Println()
		return nil
	}}
}
