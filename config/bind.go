package config

import (
	"reflect"
	"strconv"
	"strings"
)

// defaulter is implemented by raw structs that appear in arrays or behind
// pointers, so that each new element starts from its defaults.
type defaulter interface{ setDefaults() }

type binder struct{ p *problems }

// bind copies n into v, which already holds the defaults. Members absent from
// the JSON keep their defaults; a present member replaces the default whole
// (arrays and maps are not merged).
func (b *binder) bind(path string, n *jsonNode, v reflect.Value) {
	if n.kind == jsonNull {
		b.p.decodeFail(path, "must not be null (omit the key to use the default)")
		return
	}
	switch v.Kind() {
	case reflect.String:
		if b.want(path, n, jsonString, "a string") {
			v.SetString(n.str)
		}
	case reflect.Bool:
		if b.want(path, n, jsonBool, "true or false") {
			v.SetBool(n.b)
		}
	case reflect.Int:
		if b.want(path, n, jsonNumber, "an integer") {
			i, err := strconv.ParseInt(n.str, 10, 64)
			if err != nil || int64(int(i)) != i {
				b.p.decodeFail(path, "must be an integer in range, not %s", n.str)
				return
			}
			v.SetInt(i)
		}
	case reflect.Interface:
		b.scalar(path, n, v)
	case reflect.Slice:
		b.slice(path, n, v)
	case reflect.Map:
		b.mapping(path, n, v)
	case reflect.Pointer:
		if n.kind != jsonObject {
			b.want(path, n, jsonObject, "an object")
			return
		}
		p := reflect.New(v.Type().Elem())
		if d, ok := p.Interface().(defaulter); ok {
			d.setDefaults()
		}
		b.bind(path, n, p.Elem())
		v.Set(p)
	case reflect.Struct:
		if b.want(path, n, jsonObject, "an object") {
			b.object(path, n, v)
		}
	default:
		panic("config: no binding for " + v.Type().String())
	}
}

func (b *binder) want(path string, n *jsonNode, k jsonKind, what string) bool {
	if n.kind == k {
		return true
	}
	b.p.decodeFail(path, "must be %s, not %s", what, n.kind)
	return false
}

// scalar binds a claim value: a string, a boolean or a number (as float64).
func (b *binder) scalar(path string, n *jsonNode, v reflect.Value) {
	switch n.kind {
	case jsonString:
		v.Set(reflect.ValueOf(n.str))
	case jsonBool:
		v.Set(reflect.ValueOf(n.b))
	case jsonNumber:
		f, err := strconv.ParseFloat(n.str, 64)
		if err != nil {
			b.p.decodeFail(path, "number out of range: %s", n.str)
			return
		}
		v.Set(reflect.ValueOf(f))
	default:
		b.p.decodeFail(path, "must be a string, a boolean or a number, not %s", n.kind)
	}
}

func (b *binder) slice(path string, n *jsonNode, v reflect.Value) {
	if !b.want(path, n, jsonArray, "an array") {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.elems), len(n.elems))
	for i, e := range n.elems {
		ev := s.Index(i)
		if d, ok := ev.Addr().Interface().(defaulter); ok {
			d.setDefaults()
		}
		b.bind(indexPath(path, i), e, ev)
	}
	v.Set(s)
}

func (b *binder) mapping(path string, n *jsonNode, v reflect.Value) {
	if !b.want(path, n, jsonObject, "an object") {
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.keys))
	for i, k := range n.keys {
		ev := reflect.New(v.Type().Elem()).Elem()
		kp := mapPath(path, k)
		b.bind(kp, n.elems[i], ev)
		if !b.p.bad[kp] {
			m.SetMapIndex(reflect.ValueOf(k), ev)
		}
	}
	v.Set(m)
}

func (b *binder) object(path string, n *jsonNode, v reflect.Value) {
	t := v.Type()
	for i, k := range n.keys {
		f, ok := fieldByTag(t, k)
		if !ok {
			msg := "unknown key"
			if s := suggest(t, k); s != "" {
				msg += " (did you mean " + strconv.Quote(s) + "?)"
			}
			b.p.decodeFail(keyPath(path, k), "%s", msg)
			continue
		}
		b.bind(keyPath(path, k), n.elems[i], v.Field(f))
	}
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func fieldByTag(t reflect.Type, key string) (int, bool) {
	for i := 0; i < t.NumField(); i++ {
		if tagName(t.Field(i)) == key {
			return i, true
		}
	}
	return 0, false
}

// suggest returns the key of t closest to an unknown one, if it is a likely
// typo (edit distance at most 2, or differing only in case or separators).
func suggest(t reflect.Type, key string) string {
	best, bestD := "", 3
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s)) }
	for i := 0; i < t.NumField(); i++ {
		name := tagName(t.Field(i))
		if norm(name) == norm(key) {
			return name
		}
		if d := editDistance(name, key, bestD); d < bestD {
			best, bestD = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit if it is at
// least limit (long inputs are not compared).
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 || abs(len(a)-len(b)) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
