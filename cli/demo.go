package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/demo"
)

func init() {
	Commands["demo"] = Command{Usage: "[--scale 1] [--seed 2019]  (load the demo county: a year of a programme half done, marked 演示)", Run: runDemo}
}

func runDemo(c *Client, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	scale := fs.Float64("scale", 1, "size of the county (1: about 2,400 trainees)")
	seed := fs.Uint64("seed", 2019, "random seed: the same seed gives the same county")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "nongxun：装入演示县（所有姓名、课程、站点都带“演示”标记）……")
	res, err := demo.Load(context.Background(), c.Conn(), demo.Options{Scale: *scale, Seed: *seed, Out: os.Stderr})
	if err != nil {
		return err
	}
	if res.Already {
		fmt.Println(res.Message)
		return nil
	}
	PrintDemo(os.Stdout, res)
	return nil
}

// Conn is the client as the demo loader drives it.
func (c *Client) Conn() demo.Conn {
	return demo.Conn{Admin: c, As: func(token string) demo.API { return c.As(token) }}
}

// UploadBytes posts data as the multipart field "file" named name. The
// body is built in memory with its length (Upload streams a file with no
// length, which an in-process app.Test cannot read).
func (c *Client) UploadBytes(path, name string, data []byte, out any) error {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	part, err := mw.CreateFormFile("file", name)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/v1"+path, bytes.NewReader(b.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	_, err = c.send(req, out)
	return err
}

// NewApp is a client of an in-process app (tests, tools), calling as the
// holder of token.
func NewApp(app *fiber.App, token string) *Client {
	return &Client{do: func(r *http.Request) (*http.Response, error) { return app.Test(r, -1) }, token: token, base: "http://local"}
}

// PrintDemo prints what the demo loaded and its logins.
func PrintDemo(w io.Writer, res *demo.Result) {
	fmt.Fprintf(w, "\n演示县已装入，用时 %s。\n", res.Elapsed.Round(time.Second))
	var parts []string
	for _, c := range res.Counts {
		parts = append(parts, fmt.Sprintf("%s %d", c.Label, c.N))
	}
	fmt.Fprintln(w, strings.Join(parts, "，"))
	fmt.Fprintln(w, "\n演示账号（密码只显示这一次，请记下；忘记了可由 admin 在“账号”页重置）：")
	rows := [][]string{{"角色", "登录名", "密码", "姓名", "说明"}}
	for _, l := range res.Logins {
		rows = append(rows, []string{l.RoleName, l.Login, l.Password, l.Name, l.Note})
	}
	printTable(w, rows)
}

// printTable prints rows in columns padded by their width on a terminal
// (Chinese characters take two cells).
func printTable(w io.Writer, rows [][]string) {
	width := func(s string) int {
		n := 0
		for _, r := range s {
			if r >= 0x2e80 {
				n += 2
			} else {
				n++
			}
		}
		return n
	}
	cols := map[int]int{}
	for _, row := range rows {
		for i, c := range row {
			cols[i] = max(cols[i], width(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", cols[i]-width(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
