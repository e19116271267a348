package lambdatest_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/infra/lambdatest"
	"github.com/bucketlink/bucketlink/shared/httpapi"
)

// probeMethods are the methods each candidate path is tried with.
var probeMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// TestHandlerRoutesAreTheTemplates checks that the routes of shared/httpapi's
// handler and the HttpApi routes of template.yaml are the same, so that
// every endpoint the handler serves locally is deployed (to a function of
// functions/) and every deployed route reaches a handler route.
//
// The handler's routes are found by probing it in process, without an API
// key: a route answers something else than 404 (no pattern) or 405 (the
// pattern, another method), typically 401. The candidate paths are the
// template's and those built from the string literals of the package's
// source (paths, and a path ending in "/" followed by a suffix), each
// tried with and without its trailing slash, with every probeMethods.
func TestHandlerRoutesAreTheTemplates(t *testing.T) {
	root := repoRoot(t)
	routes, err := lambdatest.ParseRoutes(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := lambdatest.NewGateway(routes, nil, lambdatest.GatewayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := &httpapi.Server{
		CursorKey: make([]byte, 32), VerifyKey: make([]byte, httpapi.MinVerifyKeyLen),
		Logger: slog.New(slog.DiscardHandler),
	}
	h := srv.Handler()
	serves := func(method, path string) (int, bool) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("{}")))
		return rec.Code, rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed
	}
	servesEither := func(method, pattern string) (int, bool) {
		path := samplePath(pattern)
		if code, ok := serves(method, path+"/"); ok {
			return code, true
		}
		return serves(method, path)
	}

	// Template -> handler: each route has a function and a handler route.
	names := functionsByLogicalID(t, root)
	for _, r := range routes {
		if _, ok := names[r.LogicalID]; !ok {
			t.Errorf("template.yaml: %q goes to %s, which is not a function of functions/", r.Key(), r.LogicalID)
		}
		if r.Path == lambdatest.DefaultRoute || r.Method == "ANY" {
			continue
		}
		if code, ok := servesEither(r.Method, r.Path); !ok {
			t.Errorf("template.yaml routes %q to %s, but the handler answers %d to it", r.Key(), r.LogicalID, code)
		}
	}

	// Handler -> template: each route the handler serves is deployed.
	found := map[string]bool{}
	for _, pattern := range candidatePatterns(t, filepath.Join(root, "shared", "httpapi"), routes) {
		for _, m := range probeMethods {
			if _, ok := servesEither(m, pattern); ok {
				found[m+" "+shape(pattern)] = true
				route, _, ok := gw.Match(m, samplePath(pattern)+"/")
				if !ok || shape(route.Path) != shape(pattern) {
					t.Errorf("the handler serves %s %s/, but template.yaml has no route for it: deployed, it would answer 404", m, pattern)
				}
			}
		}
	}
	if len(found) < len(routes) {
		t.Errorf("probing found %d handler routes, fewer than the template's %d: %v", len(found), len(routes), slices.Sorted(maps.Keys(found)))
	}
}

var (
	pathLiteral = regexp.MustCompile(`^(?:[A-Z]+ )?(/[A-Za-z0-9_.{}$+/-]*)$`)
	suffix      = regexp.MustCompile(`^[A-Za-z0-9_.{}$+-][A-Za-z0-9_.{}$+/-]*$`)
	variable    = regexp.MustCompile(`\{[^}/]*\}`)
)

// candidatePatterns returns route-shaped paths (no "{$}", no trailing
// slash) from the template's routes and the string literals of the
// package in dir: each literal path, and each literal path ending in "/"
// joined with each literal suffix containing "/" or a variable.
func candidatePatterns(t *testing.T, dir string, routes []lambdatest.Route) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var paths, suffixes []string
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if m := pathLiteral.FindStringSubmatch(s); m != nil {
				paths = append(paths, m[1])
			} else if suffix.MatchString(s) && strings.ContainsAny(s, "/{") {
				suffixes = append(suffixes, s)
			}
			return true
		})
	}
	set := map[string]bool{}
	add := func(p string) {
		p = strings.TrimSuffix(strings.ReplaceAll(p, "{$}", ""), "/")
		if p != "" && !strings.Contains(p, "//") {
			set[p] = true
		}
	}
	for _, p := range paths {
		add(p)
		if strings.HasSuffix(p, "/") {
			for _, s := range suffixes {
				add(p + s)
			}
		}
	}
	for _, r := range routes {
		if r.Path != lambdatest.DefaultRoute {
			add(r.Path)
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// shape is a pattern with its variables' names left out.
func shape(pattern string) string { return variable.ReplaceAllString(pattern, "{}") }

// samplePath fills a pattern's variables with values the handler accepts
// before it authenticates: a UUID for {uid}, a number for ...Id, else x1.
func samplePath(pattern string) string {
	return variable.ReplaceAllStringFunc(pattern, func(v string) string {
		name := strings.TrimSuffix(strings.Trim(v, "{}"), "...")
		switch {
		case name == "uid":
			return "5f0c9a52-6a0e-4d0e-9b1a-2f4c6d8e0a1b"
		case strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "ID"):
			return "1"
		}
		return fmt.Sprintf("x%d", len(name))
	})
}
