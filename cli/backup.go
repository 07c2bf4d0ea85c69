package cli

import (
	"encoding/json"
	"fmt"
	"os"
)

func init() {
	Commands["backup"] = Command{Usage: "FILE.tar.gz (a consistent copy of the database and files, while serving)", Run: func(c *Client, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("usage: nongxun backup FILE.tar.gz")
		}
		tmp := args[0] + ".part"
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		err = c.Stream("/admin/backup", f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(tmp, args[0]); err != nil {
			return err
		}
		st, _ := os.Stat(args[0])
		fmt.Printf("backup written: %s (%d bytes)\n", args[0], st.Size())
		return nil
	}}
	Commands["sweep-blobs"] = Command{Usage: "(remove uploaded files no record references any more, and report them)", Run: func(c *Client, args []string) error {
		var rep struct {
			Checked int      `json:"checked"`
			Removed []string `json:"removed"`
			Bytes   int64    `json:"bytes"`
		}
		if _, err := c.Do("POST", "/admin/blobs/sweep", nil, &rep); err != nil {
			return err
		}
		fmt.Printf("checked %d files, removed %d (%d bytes)\n", rep.Checked, len(rep.Removed), rep.Bytes)
		for _, id := range rep.Removed {
			fmt.Println("  removed", id)
		}
		return nil
	}}
	Commands["repair"] = Command{Usage: "(rebuild every counter and list from the records now; safe while serving, the recount for MongoDB)", Run: func(c *Client, args []string) error {
		var rep struct {
			Repairs []struct {
				Name    string `json:"name"`
				Drifted bool   `json:"drifted"`
				Error   string `json:"error"`
			} `json:"repairs"`
		}
		_, err := c.Do("POST", "/admin/repair", nil, &rep)
		for _, r := range rep.Repairs {
			switch {
			case r.Error != "":
				fmt.Printf("%s: failed: %s\n", r.Name, r.Error)
			case r.Drifted:
				fmt.Printf("%s: had drifted, rebuilt\n", r.Name)
			default:
				fmt.Printf("%s: matched the records\n", r.Name)
			}
		}
		return err
	}}
	Commands["restore"] = Command{Usage: "FILE.tar.gz (replaces ALL data with the backup)", Run: func(c *Client, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("usage: nongxun restore FILE.tar.gz")
		}
		var m json.RawMessage
		if err := c.Upload("/admin/restore?confirm=replace-everything", args[0], nil, &m); err != nil {
			return err
		}
		fmt.Printf("restored: %s\n", m)
		return nil
	}}
}
