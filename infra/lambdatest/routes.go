package lambdatest

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultRoute is the route key of an HTTP API's catch-all route.
const DefaultRoute = "$default"

// Route is one HttpApi event of an AWS::Serverless::Function in a SAM
// template: the route key it creates and the function it integrates.
type Route struct {
	// Method is upper case: GET, POST... or ANY. Empty for $default.
	Method string
	// Path is the route's path template (/api/v1/storage-configs/{uid}),
	// or DefaultRoute.
	Path string
	// LogicalID is the function's resource name (GetStorageConfigFunction).
	LogicalID string
	// Event is the name of the event under the function's Events.
	Event string
	// API is the logical id of the AWS::Serverless::HttpApi the event's
	// ApiId refers to (!Ref Api), empty for SAM's implicit API.
	API string
}

// Key is the route key API Gateway shows in routeKey: "GET /pets/{id}",
// or "$default".
func (r Route) Key() string {
	if r.Path == DefaultRoute {
		return DefaultRoute
	}
	return r.Method + " " + r.Path
}

// ParseRoutes reads a SAM template and returns, in document order, the
// HttpApi events of its functions (Type AWS::Serverless::Function,
// Events.<name>.Type HttpApi, Properties Method and Path). An event with
// neither Method nor Path is the API's $default route, as SAM makes it.
//
// The template is decoded as YAML nodes, so CloudFormation's short-form
// intrinsics (!Ref, !GetAtt, !Sub, !If...) parse as tagged nodes. A
// Method or Path given as an intrinsic, a path ending in "/" (API Gateway
// refuses such a route key; SAM drops the route silently,
// aws/serverless-application-model#1949) and a malformed path template
// are errors: the route would not exist as written.
func ParseRoutes(templatePath string) ([]Route, error) {
	b, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: routes: %w", err)
	}
	routes, err := parseRoutes(b)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: routes of %s: %w", templatePath, err)
	}
	return routes, nil
}

func parseRoutes(b []byte) ([]Route, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("not a YAML document")
	}
	var routes []Route
	for _, res := range pairs(get(doc.Content[0], "Resources")) {
		if scalar(get(res.value, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		for _, ev := range pairs(get(get(res.value, "Properties"), "Events")) {
			if scalar(get(ev.value, "Type")) != "HttpApi" {
				continue
			}
			r, err := httpAPIRoute(res.key, ev.key, get(ev.value, "Properties"))
			if err != nil {
				return nil, fmt.Errorf("%s.Events.%s: %w", res.key, ev.key, err)
			}
			routes = append(routes, r)
		}
	}
	return routes, nil
}

func httpAPIRoute(logicalID, event string, props *yaml.Node) (Route, error) {
	r := Route{LogicalID: logicalID, Event: event, API: refOf(get(props, "ApiId"))}
	method, path := get(props, "Method"), get(props, "Path")
	for name, n := range map[string]*yaml.Node{"Method": method, "Path": path} {
		if n != nil && (n.Kind != yaml.ScalarNode || n.Tag != "!!str") {
			return r, fmt.Errorf("%s is not a plain string (an intrinsic function?)", name)
		}
	}
	switch {
	case method == nil && path == nil:
		r.Path = DefaultRoute
		return r, nil
	case method == nil || path == nil:
		return r, fmt.Errorf("give both Method and Path, or neither for $default")
	}
	r.Method = strings.ToUpper(method.Value)
	if r.Method == "X-AMAZON-APIGATEWAY-ANY-METHOD" || r.Method == "*" {
		r.Method = "ANY"
	}
	r.Path = path.Value
	if _, err := compilePath(r.Path); err != nil {
		return r, err
	}
	return r, nil
}

type pair struct {
	key   string
	value *yaml.Node
}

// pairs returns the entries of a mapping node in order (nil for others).
func pairs(n *yaml.Node) []pair {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{key: n.Content[i].Value, value: n.Content[i+1]})
	}
	return out
}

// get returns the value of key in a mapping node, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.key == key {
			return p.value
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// refOf returns X of "!Ref X" or "{Ref: X}", else "".
func refOf(n *yaml.Node) string {
	switch {
	case n == nil:
		return ""
	case n.Kind == yaml.ScalarNode && n.Tag == "!Ref":
		return n.Value
	default:
		return scalar(get(n, "Ref"))
	}
}

// segment is one "/"-separated part of a route path: a literal, a
// {name} variable or a final {name+} greedy variable.
type segment struct {
	literal string
	param   string
	greedy  bool
}

// compilePath checks a route path the way CreateRoute does (a leading
// "/", no trailing "/", variables as whole segments, a greedy one last)
// and splits it.
func compilePath(path string) ([]segment, error) {
	if path == "/" {
		return nil, nil
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q does not start with /", path)
	}
	if strings.HasSuffix(path, "/") {
		return nil, fmt.Errorf("path %q ends in /: API Gateway refuses the route key, and SAM drops the route without a word (aws/serverless-application-model#1949)", path)
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]segment, len(parts))
	seen := map[string]bool{}
	for i, p := range parts {
		switch {
		case p == "":
			return nil, fmt.Errorf("path %q has an empty segment", path)
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			if strings.HasSuffix(name, "+") {
				if i != len(parts)-1 {
					return nil, fmt.Errorf("path %q: a greedy variable must be the last segment", path)
				}
				name = strings.TrimSuffix(name, "+")
				segs[i].greedy = true
			}
			if name == "" || strings.ContainsAny(name, "{}+/") || seen[name] {
				return nil, fmt.Errorf("path %q: bad or repeated variable %q", path, p)
			}
			seen[name] = true
			segs[i].param = name
		case strings.ContainsAny(p, "{}"):
			return nil, fmt.Errorf("path %q: a variable must be a whole segment (%q)", path, p)
		default:
			segs[i].literal = p
		}
	}
	return segs, nil
}
