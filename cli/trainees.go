package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// importArgs reads [--preview] [--refused OUT.xlsx] FILE.
func importArgs(args []string) (preview bool, refused, file string, err error) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--preview":
			preview = true
		case a == "--refused" && i+1 < len(args):
			refused = args[i+1]
			i++
		case strings.HasPrefix(a, "--"), file != "":
			return false, "", "", fmt.Errorf("bad arguments")
		default:
			file = a
		}
	}
	if file == "" {
		return false, "", "", fmt.Errorf("no file")
	}
	return preview, refused, file, nil
}

// runImport uploads a file to an import route (the server reads it with
// the sheets package: every sheet, title rows, GB18030 CSV), prints the
// sheet notes and the refused rows on stderr and the answer on stdout,
// and with refusedOut saves the refused rows as XLSX (path + "/refused").
func runImport(c *Client, path, file string, preview bool, refusedOut string) error {
	q := path
	if preview {
		q += "?preview=1"
	}
	var out struct {
		Notes   []string `json:"notes"`
		Refused []struct {
			Row    int    `json:"row"`
			Reason string `json:"reason"`
		} `json:"refused"`
	}
	var raw json.RawMessage
	if err := c.Upload(q, file, nil, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return err
	}
	for _, n := range out.Notes {
		fmt.Fprintln(os.Stderr, "note:", n)
	}
	for _, r := range out.Refused {
		fmt.Fprintf(os.Stderr, "row %d refused: %s\n", r.Row, r.Reason)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		return err
	}
	if _, err := os.Stdout.Write(append(pretty.Bytes(), '\n')); err != nil {
		return err
	}
	if refusedOut != "" {
		return c.downloadPost(path+"/refused", file, refusedOut)
	}
	return nil
}

// downloadPost uploads file to path and saves the answer's body to out.
func (c *Client) downloadPost(path, file, out string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", filepath.Base(file))
	if err == nil {
		_, err = io.Copy(part, f)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/v1"+path, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return apiError(resp)
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func init() {
	Commands["import-trainees"] = Command{Usage: "[--preview] FILE.xlsx|csv (columns 姓名,身份证号,手机号,乡镇,村,性别,人群类别; --preview writes nothing; --refused OUT.xlsx saves the rows not imported)", Run: func(c *Client, args []string) error {
		preview, refusedOut, file, err := importArgs(args)
		if err != nil {
			return fmt.Errorf("usage: nongxun import-trainees [--preview] [--refused OUT.xlsx] FILE.xlsx|csv")
		}
		return runImport(c, "/trainees/import", file, preview, refusedOut)
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
