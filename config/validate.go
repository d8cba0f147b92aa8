package config

import (
	"reflect"
	"sort"
	"strings"
	"time"
)

// Parse parses plugin configuration JSON into a validated Config. Keys it
// does not know are errors, and so are JSON null, duplicate keys and values
// of the wrong type. On failure it returns a nil Config and every problem it
// found, joined with errors.Join: each is a *FieldError naming the JSON
// path (see FieldErrors).
//
// Parse sees no environment: a configuration that names a secret by
// client.secret_env or keys[].secret_env fails, each variable reported as
// not set. Use ParseWithEnv for those.
func Parse(data []byte) (*Config, error) { return ParseWithEnv(data, nil) }

// ParseWithEnv is Parse with an environment: lookup returns the value of an
// environment variable and whether it is set (os.LookupEnv fits), and
// supplies the secrets that client.secret_env and keys[].secret_env name. A
// nil lookup is an empty environment. A variable that is not set, empty, or
// not a valid secret is a problem at the secret_env path, naming the
// variable; its value never appears in an error.
func ParseWithEnv(data []byte, lookup func(name string) (string, bool)) (*Config, error) {
	p := &problems{}
	root := parseTree(data, p)
	if root == nil {
		return nil, p.err()
	}
	if root.kind != jsonObject {
		p.decodeFail("", "the configuration must be a JSON object, not %s", root.kind)
		return nil, p.err()
	}
	raw := defaultRaw()
	(&binder{p: p}).bind("", root, reflect.ValueOf(&raw).Elem())
	v := &validator{p: p, r: &raw, c: &Config{}, env: lookup}
	v.validate()
	if err := p.err(); err != nil {
		return nil, err
	}
	return v.c, nil
}

// validator checks a rawConfig and builds the Config. Each section method
// checks its own fields and fills its part of c; cross-section checks come
// last, when every section is resolved.
type validator struct {
	p   *problems
	r   *rawConfig
	c   *Config
	env func(string) (string, bool) // nil: no environment
}

func (v *validator) validate() {
	v.provider()
	v.client()
	v.endpointsUnder()
	v.scopes()
	v.extraAuthParams()
	v.keys()
	v.limits()
	v.cookie()
	v.session()
	v.login()
	v.forward()
	v.passThrough()
	v.api()
	v.endpointSwitches()
	v.jwt()
	v.bearerIssuers()
	v.routes()
	v.dpop()
	v.store()
	v.logLevel()
	v.crossChecks()
}

func (v *validator) add(path, format string, args ...any) { v.p.add(path, format, args...) }

// duration parses the duration at path within [min, max].
func (v *validator) duration(path, s string, min, max time.Duration) time.Duration {
	d, msg := checkDuration(s, min, max)
	if msg != "" {
		v.add(path, "%s", msg)
	}
	return d
}

// intRange checks the integer at path is within [min, max].
func (v *validator) intRange(path string, n, min, max int) int {
	if n < min || n > max {
		v.add(path, "must be between %d and %d", min, max)
	}
	return n
}

// enum checks s is one of allowed, compared with fold when fold is set, and
// returns the allowed spelling.
func (v *validator) enum(path, s string, fold bool, allowed ...string) (string, bool) {
	for _, a := range allowed {
		if s == a || fold && strings.EqualFold(s, a) {
			return a, true
		}
	}
	v.add(path, "must be one of %s (not %s)", strings.Join(allowed, ", "), quote(s))
	return s, false
}

// uniq finds repeated values in a list and reports each repeat, naming the
// first occurrence. The key passed to check is what makes two values the
// same (e.g. a header name in lower case).
type uniq struct {
	seen map[string]string // key -> path of first occurrence
}

func (u *uniq) check(v *validator, path, key, what string) bool {
	if u.seen == nil {
		u.seen = make(map[string]string)
	}
	if first, ok := u.seen[key]; ok {
		v.add(path, "duplicate %s (also %s)", what, first)
		return false
	}
	u.seen[key] = path
	return true
}

// methods validates an HTTP method list.
func (v *validator) methods(path string, in []string) []string {
	var out []string
	var u uniq
	for i, m := range in {
		mp := indexPath(path, i)
		if !isToken(m) || strings.ToUpper(m) != m {
			v.add(mp, "must be an upper-case HTTP method like GET")
			continue
		}
		if u.check(v, mp, m, "method") {
			out = append(out, m)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
