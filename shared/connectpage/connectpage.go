// Package connectpage is the connect page: plain HTML, CSS and JavaScript
// embedded in the binary (no build step, no third-party code), served at
// /connect/ by `bucketlink serve` (through package httpapi) and on AWS by
// the ConnectPageFunction. The page works with a connect session's token
// alone (package connect), read from the URL fragment, which browsers never
// send to a server.
package connectpage

import (
	"embed"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// Path is where the page is served; its assets are beside it.
const Path = "/connect/"

// contentTypes are the types of the embedded files.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
}

// csp lets the page load only its own files and talk to its own origin,
// except for the one PUT of the CORS test, which goes to the bucket's
// presigned URL (any https origin, or http for emulators the operator
// allowed: the URL comes from our own bucket verify).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' https: http:; " +
	"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves GET and HEAD of /connect/ (the page) and /connect/<file>
// (its assets); anything else is 404 (405 for other methods).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Path, "/"))
		if name == "" {
			// The page's assets are relative to it: only /connect/ finds them.
			http.Redirect(w, r, "connect/", http.StatusMovedPermanently)
			return
		}
		if name == "/" {
			name = "/index.html"
		}
		ctype, known := contentTypes[path.Ext(name)]
		body, err := assets.ReadFile("assets" + name)
		if !known || err != nil || strings.Contains(name[1:], "/") {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}
