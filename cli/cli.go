// Package cli runs nongxun's maintenance commands. Every command that
// changes data goes through the HTTP API: the running server's, when
// DATA_DIR is locked by one, or else an in-process instance of the same
// app on the stopped directory. So the write lane and every rule apply.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/server"
	"nongxun/store"
)

// Builder builds the app on an open store (main's build function).
type Builder func(ctx context.Context, cfg server.Config, st *store.Store, log *slog.Logger) (*fiber.App, *server.Tokens, error)

// Client calls the API as admin.
type Client struct {
	do    func(*http.Request) (*http.Response, error)
	token string
	base  string
}

type localToken struct {
	Token string `json:"token"`
	Port  int    `json:"port"`
}

// LocalTokenTTL is how long the command line's token in DATA_DIR lives;
// a running server rotates it every LocalTokenTTL/4.
const LocalTokenTTL = 8 * time.Hour

// WriteLocalToken leaves an admin token for the CLI in DATA_DIR (0600):
// whoever can read DATA_DIR can read the database anyway. The token lives
// LocalTokenTTL and only while this process runs (server.Tokens.IssueLocal).
func WriteLocalToken(path string, tokens *server.Tokens, port int) error {
	_, err := writeLocalToken(path, tokens, port)
	return err
}

func writeLocalToken(path string, tokens *server.Tokens, port int) (revoke func(), err error) {
	tok, revoke, err := tokens.IssueLocal(LocalTokenTTL)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(localToken{Token: tok, Port: port})
	tmp := path + ".part"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		revoke()
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		revoke()
		return nil, err
	}
	return revoke, nil
}

// StartLocalToken writes the CLI token now and returns the loop that
// rotates it every LocalTokenTTL/4 (the previous token stays valid a
// minute, for a command already running) and, when ctx ends, revokes it
// and removes the file. Run the loop with st.Go, so it ends at shutdown.
func StartLocalToken(path string, tokens *server.Tokens, port int, log *slog.Logger) (loop func(ctx context.Context), err error) {
	revoke, err := writeLocalToken(path, tokens, port)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) {
		t := time.NewTicker(LocalTokenTTL / 4)
		defer t.Stop()
		var prev func()
		for {
			select {
			case <-ctx.Done():
				revoke()
				if prev != nil {
					prev()
				}
				_ = os.Remove(path)
				return
			case <-t.C:
				next, err := writeLocalToken(path, tokens, port)
				if err != nil {
					log.Warn("cannot rotate the CLI token", "err", err.Error())
					continue
				}
				if prev != nil {
					prev()
				}
				prev, revoke = revoke, next
				time.AfterFunc(time.Minute, prev)
			}
		}
	}, nil
}

// Connect returns a client for DATA_DIR's running server, or an in-process
// app on the stopped directory (close it with the returned func).
func Connect(ctx context.Context, cfg server.Config, log *slog.Logger, build Builder) (*Client, func(), error) {
	if cfg.MongoURI == "" && store.Locked(cfg.DataDir) {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, "cli.token"))
		if err != nil {
			return nil, nil, fmt.Errorf("%s 上的服务正在运行，但读不到它的命令行凭证 cli.token（服务可能刚启动或正在停止，请稍后再试）", cfg.DataDir)
		}
		var lt localToken
		if err := json.Unmarshal(b, &lt); err != nil {
			return nil, nil, fmt.Errorf("命令行凭证 cli.token 已损坏：请重启服务")
		}
		fmt.Fprintf(os.Stderr, "nongxun：服务正在运行，经端口 %d 的接口执行\n", lt.Port)
		hc := &http.Client{Timeout: 30 * time.Minute}
		return &Client{do: hc.Do, token: lt.Token, base: fmt.Sprintf("http://127.0.0.1:%d", lt.Port)}, func() {}, nil
	}
	if err := cfg.EnsureSecrets(); err != nil {
		return nil, nil, err
	}
	// The in-process server logs warnings and errors only: a command's own
	// progress is what the person at the terminal reads, not a line per request.
	log = slog.New(atLeast{log.Handler(), slog.LevelWarn})
	st, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, MongoURI: cfg.MongoURI, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	app, tokens, err := build(ctx, cfg, st, log)
	if err != nil {
		_ = st.Close(ctx)
		return nil, nil, err
	}
	tok, revoke, err := tokens.IssueLocal(time.Hour)
	if err != nil {
		_ = st.Close(ctx)
		return nil, nil, err
	}
	do := func(r *http.Request) (*http.Response, error) { return app.Test(r, -1) }
	return &Client{do: do, token: tok, base: "http://local"}, func() { revoke(); _ = st.Close(context.Background()) }, nil
}

// NewHTTP is a client of the server at base (e.g. http://127.0.0.1:8080)
// calling as the holder of token ("" before logging in).
func NewHTTP(base, token string, timeout time.Duration) *Client {
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	return &Client{do: hc.Do, token: token, base: strings.TrimRight(base, "/")}
}

// As is the same client calling with another token.
func (c *Client) As(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// Login exchanges a login and password for an access token.
func (c *Client) Login(login, password string) (string, error) {
	var s struct {
		AccessToken string `json:"access_token"`
	}
	_, err := c.As("").Do("POST", "/auth/login", map[string]string{"login": login, "password": password}, &s)
	return s.AccessToken, err
}

// Call sends a JSON request and decodes the JSON answer into out.
func (c *Client) Call(method, path string, in, out any) error {
	_, err := c.Do(method, path, in, out)
	return err
}

// Do is Call that also returns the HTTP status (0 when none came back).
func (c *Client) Do(method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+"/api/v1"+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

// Upload posts a file as multipart field "file" with extra form values.
func (c *Client) Upload(path, file string, values map[string]string, out any) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range values {
			_ = mw.WriteField(k, v)
		}
		part, err := mw.CreateFormFile("file", filepath.Base(file))
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/v1"+path, pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	_, err = c.send(req, out)
	return err
}

// get sends an authenticated GET and returns the response of a success;
// the caller closes its body.
func (c *Client) get(path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, c.base+"/api/v1"+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, apiError(resp)
	}
	return resp, nil
}

// Stream GETs path and copies the body to w.
func (c *Client) Stream(path string, w io.Writer) error {
	resp, err := c.get(path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

func (c *Client) send(req *http.Request, out any) (int, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, apiError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// apiError is the server's refusal as the admin reads it: its Chinese
// message and field reasons, never a driver's or decoder's text.
func apiError(resp *http.Response) error {
	var e struct{ Error server.Error }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
		msg := e.Error.Message
		if e.Error.Code == server.CodeInternal {
			msg = "服务器内部错误，请查看服务器日志"
		}
		keys := make([]string, 0, len(e.Error.Fields))
		for k := range e.Error.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := e.Error.Fields[k]; !strings.Contains(msg, v) {
				msg += "；" + k + "：" + v
			}
		}
		return fmt.Errorf("%s（HTTP %d）", msg, resp.StatusCode)
	}
	return fmt.Errorf("服务器没有给出说明（HTTP %d）", resp.StatusCode)
}

// Command is one CLI command.
type Command struct {
	Usage string
	Run   func(c *Client, args []string) error
}

// Commands are the CLI commands by name; features add theirs in init.
var Commands = map[string]Command{}

// Run runs the named command and returns the exit code.
func Run(name string, args []string, cfg server.Config, log *slog.Logger, build Builder) int {
	cmd, ok := Commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "nongxun: unknown command %q\n\nusage: nongxun [serve]\n", name)
		for n, c := range Commands {
			fmt.Fprintf(os.Stderr, "       nongxun %s %s\n", n, c.Usage)
		}
		return 2
	}
	ctx := context.Background()
	c, done, err := Connect(ctx, cfg, log, build)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nongxun:", err)
		return 1
	}
	defer done()
	if err := cmd.Run(c, args); err != nil {
		fmt.Fprintln(os.Stderr, "nongxun "+name+":", err)
		return 1
	}
	return 0
}

// Progress draws a one-line progress bar on stderr.
func Progress(label string, done, total int) {
	if total <= 0 {
		return
	}
	w := 30
	n := done * w / total
	fmt.Fprintf(os.Stderr, "\r%s [%s%s] %d/%d", label, strings.Repeat("#", n), strings.Repeat(".", w-n), done, total)
	if done >= total {
		fmt.Fprintln(os.Stderr)
	}
}

// atLeast is a slog handler that passes records of level min and above.
type atLeast struct {
	slog.Handler
	min slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.min}
}
func (h atLeast) WithGroup(n string) slog.Handler { return atLeast{h.Handler.WithGroup(n), h.min} }
