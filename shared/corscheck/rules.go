package corscheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bucketlink/bucketlink/shared/blob"
)

// Want is one cross-origin request an app origin must be allowed to send:
// its method and the request headers that need the rules' permission.
type Want struct {
	Method  string
	Headers []string
}

// The parts of the rule Merge adds.
const (
	// NewRuleMaxAge is the MaxAgeSeconds of an added rule: a browser
	// caches the preflight answer for an hour.
	NewRuleMaxAge = 3600
	// exposeETag is the response header an added rule exposes: uploads
	// in parts (S3 multipart, Azure block lists) read each part's ETag.
	exposeETag = "ETag"
)

// Diagnose says, from a bucket's CORS rules, why a preflight from origin
// for w would be refused, matching the rules the way S3, GCS and Azure do:
// a rule serves a preflight when it allows the origin ("*", the exact
// origin, or a pattern with one "*"), the method and every requested
// header ("*", the exact name case-insensitively, or a prefix ending in
// "*"), and the first rule that serves it is used. It returns "" and a
// sentence naming the serving rule (1-based) when one does; otherwise the
// code of the first thing no rule gives (origin, then method, then
// header) and a sentence saying which rules came closest and what they
// lack.
func Diagnose(rules []blob.CORSRule, origin string, w Want) (Code, string) {
	code, why, _ := diagnose(rules, origin, w)
	return code, why
}

// diagnose is Diagnose, also returning the first refused header for
// CodeHeaderNotAllowed.
func diagnose(rules []blob.CORSRule, origin string, w Want) (Code, string, string) {
	if len(rules) == 0 {
		return CodeOriginNotAllowed, "The bucket has no CORS rules, so no origin may send cross-origin requests.", ""
	}
	var byOrigin, byMethod []int
	for i, r := range rules {
		if !slices.ContainsFunc(r.AllowedOrigins, func(o string) bool { return originMatches(o, origin) }) {
			continue
		}
		byOrigin = append(byOrigin, i)
		if !slices.ContainsFunc(r.AllowedMethods, func(m string) bool { return strings.EqualFold(m, w.Method) }) {
			continue
		}
		byMethod = append(byMethod, i)
		if missing := missingHeaders(r, w.Headers); len(missing) == 0 {
			return "", fmt.Sprintf("CORS rule %d allows %s to send %s.", i+1, origin, w.Method), ""
		}
	}
	switch {
	case len(byOrigin) == 0:
		if len(rules) == 1 {
			return CodeOriginNotAllowed, "The bucket's one CORS rule does not allow the origin " + origin + ".", ""
		}
		return CodeOriginNotAllowed, fmt.Sprintf("None of the bucket's %d CORS rules allows the origin %s.", len(rules), origin), ""
	case len(byMethod) == 0:
		return CodeMethodNotAllowed, fmt.Sprintf("The %s allowing %s (%s) %s, not %s.",
			plural(len(byOrigin), "CORS rule"), origin, ruleNumbers(byOrigin), methodsOf(rules, byOrigin), w.Method), ""
	}
	missing := missingHeaders(rules[byMethod[0]], w.Headers)
	return CodeHeaderNotAllowed, fmt.Sprintf("The %s allowing %s to send %s (%s) %s the request %s %s.",
		plural(len(byMethod), "CORS rule"), origin, w.Method, ruleNumbers(byMethod), doNot(len(byMethod)),
		plural(len(missing), "header"), strings.Join(missing, ", ")), missing[0]
}

// Merge returns rules with what origins need for every want added, and
// whether an existing rule was changed (rather than only a rule
// appended). Existing rules are kept, in order, and never widened for
// origins they did not name: the origins no rule serves (by Diagnose) get
// one rule of their own, allowing the wants' methods and headers,
// exposing ETag, cached for NewRuleMaxAge; if an existing rule names
// exactly those origins, it is extended instead of a second being added.
// When every origin is served, rules come back unchanged (a copy) and
// added is false.
func Merge(rules []blob.CORSRule, origins []string, wants []Want) (merged []blob.CORSRule, added, changedExisting bool) {
	merged = cloneRules(rules)
	var missing []string
	for _, o := range origins {
		for _, w := range wants {
			if code, _ := Diagnose(rules, o, w); code != "" {
				missing = append(missing, o)
				break
			}
		}
	}
	if len(missing) == 0 {
		return merged, false, false
	}
	add := blob.CORSRule{AllowedOrigins: missing, ExposedHeaders: []string{exposeETag}, MaxAgeSeconds: NewRuleMaxAge}
	for _, w := range wants {
		add.AllowedMethods = unionFold(add.AllowedMethods, strings.ToUpper(w.Method))
		add.AllowedHeaders = unionFold(add.AllowedHeaders, lower(w.Headers)...)
	}
	for i, r := range merged {
		if sameSet(r.AllowedOrigins, missing) {
			r.AllowedMethods = unionFold(r.AllowedMethods, add.AllowedMethods...)
			if !slices.Contains(r.AllowedHeaders, "*") {
				r.AllowedHeaders = unionFold(r.AllowedHeaders, add.AllowedHeaders...)
			}
			r.ExposedHeaders = unionFold(r.ExposedHeaders, add.ExposedHeaders...)
			r.MaxAgeSeconds = max(r.MaxAgeSeconds, add.MaxAgeSeconds)
			merged[i] = r
			return merged, true, true
		}
	}
	return append(merged, add), true, false
}

// originMatches reports whether a rule's allowed origin admits origin.
func originMatches(pattern, origin string) bool {
	return pattern == "*" || wildcardFold(pattern, origin)
}

// missingHeaders are the requested headers rule r does not allow.
func missingHeaders(r blob.CORSRule, headers []string) []string {
	var out []string
	for _, h := range lower(headers) {
		if !slices.ContainsFunc(r.AllowedHeaders, func(p string) bool { return p == "*" || wildcardFold(p, h) }) {
			out = append(out, h)
		}
	}
	return out
}

// wildcardFold matches s against pattern case-insensitively, where pattern
// may hold one "*" standing for any run of characters (S3 allows one in an
// origin or header; Azure allows a header prefix ending in "*").
func wildcardFold(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

func methodsOf(rules []blob.CORSRule, idx []int) string {
	var ms []string
	for _, i := range idx {
		ms = unionFold(ms, rules[i].AllowedMethods...)
	}
	if len(idx) == 1 {
		return "allows " + listOrNone(ms)
	}
	return "allow " + listOrNone(ms)
}

func ruleNumbers(idx []int) string {
	s := make([]string, len(idx))
	for i, n := range idx {
		s[i] = fmt.Sprint(n + 1)
	}
	if len(s) == 1 {
		return "rule " + s[0]
	}
	return "rules " + strings.Join(s, ", ")
}

func doNot(n int) string {
	if n == 1 {
		return "does not allow"
	}
	return "do not allow"
}

func plural(n int, what string) string {
	if n == 1 {
		return what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// unionFold appends to list the items it lacks, comparing case-insensitively.
func unionFold(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.ContainsFunc(list, func(l string) bool { return strings.EqualFold(l, it) }) {
			list = append(list, it)
		}
	}
	return list
}

func sameSet(a, b []string) bool {
	return len(unionFold(slices.Clone(a), b...)) == len(a) && len(unionFold(slices.Clone(b), a...)) == len(b)
}

func lower(l []string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, strings.ToLower(strings.TrimSpace(s)))
	}
	return out
}

func cloneRules(rules []blob.CORSRule) []blob.CORSRule {
	out := make([]blob.CORSRule, len(rules))
	for i, r := range rules {
		out[i] = blob.CORSRule{
			AllowedOrigins: slices.Clone(r.AllowedOrigins),
			AllowedMethods: slices.Clone(r.AllowedMethods),
			AllowedHeaders: slices.Clone(r.AllowedHeaders),
			ExposedHeaders: slices.Clone(r.ExposedHeaders),
			MaxAgeSeconds:  r.MaxAgeSeconds,
		}
	}
	return out
}
