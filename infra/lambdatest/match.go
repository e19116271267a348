package lambdatest

import (
	"net/url"
	"strings"
)

// compiledRoute is a Route with its split path.
type compiledRoute struct {
	Route
	segs   []segment
	greedy bool
}

// candidate is a route that matches a request, with what ranks it.
type candidate struct {
	route  *compiledRoute
	params map[string]string
	// literals marks the route's literal segments: a literal beats a
	// variable at the first segment where two routes differ.
	literals []bool
	exact    bool // the route's method, not ANY
	trimmed  bool // matched once the request's trailing slash was dropped
}

// better reports whether a ranks above b: more literal segments from the
// left, then a longer route (greedy routes), then the route's own method
// over ANY, then the path as sent over the path without its slash.
func (a candidate) better(b candidate) bool {
	for i := 0; i < len(a.literals) && i < len(b.literals); i++ {
		if a.literals[i] != b.literals[i] {
			return a.literals[i]
		}
	}
	if len(a.literals) != len(b.literals) {
		return len(a.literals) > len(b.literals)
	}
	if a.exact != b.exact {
		return a.exact
	}
	return !a.trimmed && b.trimmed
}

// requestSegments splits a raw (escaped) request path into its decoded
// segments: "/" is none, "/a/" is "a" and "". It fails on a path that does
// not start with "/" or has a bad escape.
func requestSegments(rawPath string) ([]string, bool) {
	if !strings.HasPrefix(rawPath, "/") {
		return nil, false
	}
	if rawPath == "/" {
		return nil, true
	}
	parts := strings.Split(rawPath[1:], "/")
	for i, p := range parts {
		d, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = d
	}
	return parts, true
}

// matchSegments matches a route's segments against a request's: literals
// equal, a variable one non-empty segment, a greedy variable the non-empty
// rest (joined with "/").
func matchSegments(r *compiledRoute, segs []string) (map[string]string, bool) {
	if r.greedy {
		if len(segs) < len(r.segs) {
			return nil, false
		}
	} else if len(segs) != len(r.segs) {
		return nil, false
	}
	var params map[string]string
	for i, s := range r.segs {
		var v string
		switch {
		case s.greedy:
			v = strings.Join(segs[i:], "/")
			if segs[i] == "" {
				return nil, false
			}
		case s.param != "":
			v = segs[i]
			if v == "" {
				return nil, false
			}
		default:
			if segs[i] != s.literal {
				return nil, false
			}
			continue
		}
		if params == nil {
			params = map[string]string{}
		}
		params[s.param] = v
	}
	return params, true
}

// match selects the route for a request as an HTTP API does (see the
// Gateway's doc): a full match, then a greedy match, then $default, each
// on the path as sent and, unless strict, on the path without one
// trailing slash.
func match(routes []*compiledRoute, strict bool, method, rawPath string) (*compiledRoute, map[string]string, bool) {
	segs, ok := requestSegments(rawPath)
	if !ok {
		return nil, nil, false
	}
	forms := [][]string{segs}
	if !strict && len(segs) > 0 && segs[len(segs)-1] == "" {
		forms = append(forms, segs[:len(segs)-1])
	}
	var def *compiledRoute
	for _, greedy := range []bool{false, true} {
		var best *candidate
		for _, r := range routes {
			if r.Path == DefaultRoute {
				def = r
				continue
			}
			if r.greedy != greedy || (r.Method != method && r.Method != "ANY") {
				continue
			}
			for i, form := range forms {
				params, ok := matchSegments(r, form)
				if !ok {
					continue
				}
				c := candidate{route: r, params: params, exact: r.Method == method, trimmed: i > 0}
				for _, s := range r.segs {
					c.literals = append(c.literals, s.literal != "")
				}
				if best == nil || c.better(*best) {
					best = &c
				}
			}
		}
		if best != nil {
			return best.route, best.params, true
		}
	}
	if def != nil {
		return def, nil, true
	}
	return nil, nil, false
}
