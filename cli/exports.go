package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// exportPaths are the archive exports the CLI can fetch, by name.
var exportPaths = map[string]struct {
	path    string
	formats []string
}{
	"roster":          {"/reports/exports/roster", []string{"csv", "xlsx"}},
	"certificates":    {"/certificates/register", []string{"csv", "xlsx"}},
	"ledger":          {"/reports/exports/ledger", []string{"csv", "xlsx"}},
	"monthly":         {"/reports/monthly", []string{"xlsx", "csv", "json"}},
	"self-evaluation": {"/reports/self-evaluation", []string{"xlsx", "pdf"}},
}

const exportUsage = "roster|certificates|ledger|monthly|self-evaluation [csv|xlsx|pdf|json] FILE [--month YYYY-MM]  |  export signin SESSION_ID FILE.pdf"

func init() {
	Commands["export"] = Command{Usage: exportUsage, Run: runExport}
}

// runExport downloads an archive export to FILE with a progress bar.
func runExport(c *Client, args []string) error {
	month := ""
	var rest []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--month" && i+1 < len(args) {
			month = args[i+1]
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	if len(rest) == 3 && rest[0] == "signin" {
		return download(c, "/reports/exports/signin/"+url.PathEscape(rest[1]), rest[2])
	}
	if len(rest) < 2 || len(rest) > 3 {
		return fmt.Errorf("usage: nongxun export %s", exportUsage)
	}
	e, ok := exportPaths[rest[0]]
	if !ok {
		return fmt.Errorf("unknown export %q; usage: nongxun export %s", rest[0], exportUsage)
	}
	format, file := e.formats[0], rest[len(rest)-1]
	if len(rest) == 3 {
		format = rest[1]
	} else if i := strings.LastIndexByte(file, '.'); i >= 0 {
		for _, f := range e.formats {
			if f == file[i+1:] {
				format = f
			}
		}
	}
	okFormat := false
	for _, f := range e.formats {
		okFormat = okFormat || f == format
	}
	if !okFormat {
		return fmt.Errorf("%s: format %q not offered (%s)", rest[0], format, strings.Join(e.formats, ", "))
	}
	q := url.Values{"format": {format}}
	if rest[0] == "monthly" {
		if month == "" {
			return fmt.Errorf("monthly: give --month YYYY-MM")
		}
		q.Set("month", month)
	}
	return download(c, e.path+"?"+q.Encode(), file)
}

// download streams path to file, drawing rows (CSV, from X-Total-Rows) or
// bytes (from Content-Length) as they arrive. The file appears only when complete.
func download(c *Client, path, file string) error {
	resp, err := c.get(path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	tmp := file + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	pw := &progressWriter{label: "exporting " + file}
	if n, err := strconv.Atoi(resp.Header.Get("X-Total-Rows")); err == nil && strings.Contains(resp.Header.Get("Content-Type"), "csv") {
		pw.total, pw.lines = n+1, true // the header line too
	} else if resp.ContentLength > 0 {
		pw.total = int(resp.ContentLength)
	}
	_, err = io.Copy(io.MultiWriter(f, pw), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	pw.finish()
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%d bytes)\n", file, pw.bytes)
	return nil
}

// progressWriter counts what passes and redraws the bar.
type progressWriter struct {
	label        string
	total, done  int
	bytes        int
	lines, drawn bool
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.bytes += len(b)
	if p.lines {
		p.done += bytes.Count(b, []byte{'\n'})
	} else {
		p.done = p.bytes
	}
	if p.total > 0 && p.done < p.total {
		Progress(p.label, p.done, p.total)
		p.drawn = true
	}
	return len(b), nil
}

func (p *progressWriter) finish() {
	if p.total > 0 {
		Progress(p.label, p.total, p.total)
	} else if p.drawn {
		fmt.Fprintln(os.Stderr)
	}
}
