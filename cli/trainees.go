package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"nongxun/regions"
)

// importChunk is how many roster rows go in one request, so the bar moves.
const importChunk = 100

func init() {
	Commands["import-trainees"] = Command{Usage: "FILE.xlsx|csv (columns 姓名,身份证号,手机号,乡镇,村,性别,人群类别)", Run: func(c *Client, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("usage: nongxun import-trainees FILE.xlsx|csv")
		}
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		table, err := regions.ReadTable(f, filepath.Base(args[0]))
		f.Close()
		if err != nil {
			return err
		}
		if len(table) < 2 {
			return fmt.Errorf("%s: no rows under the header", args[0])
		}
		header, rows := table[0], table[1:]
		type reason struct {
			Row    int    `json:"row"`
			Reason string `json:"reason"`
		}
		var total struct {
			Total   int      `json:"total"`
			Created int      `json:"created"`
			Kept    int      `json:"kept"`
			Refused []reason `json:"refused"`
		}
		total.Refused = []reason{}
		for i := 0; i < len(rows); i += importChunk {
			end := min(i+importChunk, len(rows))
			var out struct {
				Total   int      `json:"total"`
				Created int      `json:"created"`
				Kept    int      `json:"kept"`
				Refused []reason `json:"refused"`
			}
			in := map[string]any{"header": header, "rows": rows[i:end], "first_row": i + 2}
			if err := c.Call("POST", "/trainees/import", in, &out); err != nil {
				return err
			}
			total.Total += out.Total
			total.Created += out.Created
			total.Kept += out.Kept
			total.Refused = append(total.Refused, out.Refused...)
			Progress("importing trainees", end, len(rows))
		}
		for _, r := range total.Refused {
			fmt.Fprintf(os.Stderr, "row %d refused: %s\n", r.Row, r.Reason)
		}
		b, _ := json.MarshalIndent(total, "", "  ")
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}}
	Commands["recount"] = Command{Usage: "[--check] (rebuild the person-time counters from the attendance records; report drift)", Run: func(c *Client, args []string) error {
		fix := !(len(args) == 1 && args[0] == "--check")
		var out struct {
			Attendance int64 `json:"attendance"`
			Counted    int64 `json:"counted"`
			Trainees   int64 `json:"trainees"`
			DriftTotal int   `json:"drift_total"`
			Fixed      bool  `json:"fixed"`
			Drift      []struct {
				Counter, Field string
				Was, Now       int64
			} `json:"drift"`
		}
		if err := c.Call("POST", "/progress/recount", map[string]any{"fix": fix}, &out); err != nil {
			return err
		}
		for _, d := range out.Drift {
			fmt.Printf("drift %s %s: was %d, records say %d\n", d.Counter, d.Field, d.Was, d.Now)
		}
		fmt.Printf("%d attendance records, %d person-times, %d trainees; %d counter fields drifted", out.Attendance, out.Counted, out.Trainees, out.DriftTotal)
		if out.Fixed && out.DriftTotal > 0 {
			fmt.Print(" (fixed)")
		}
		fmt.Println()
		return nil
	}}
}
