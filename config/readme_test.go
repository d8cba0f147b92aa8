package config

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryKey keeps README.md's reference table and the
// code in step: every key the parser knows has a row, every row is a key,
// and every default written as JSON is the real default.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	rows := readmeRows(t)
	defaults := map[string]any{}
	collectDefaults("", reflect.ValueOf(defaultRaw()), defaults)

	for path := range defaults {
		if _, ok := rows[path]; !ok {
			t.Errorf("README.md has no row for %s", path)
		}
	}
	for path, cell := range rows {
		want, ok := defaults[path]
		if !ok {
			t.Errorf("README.md documents %s, which Parse does not know", path)
			continue
		}
		lit, isJSON := jsonLiteral(cell)
		if !isJSON {
			continue
		}
		var got any
		if err := json.Unmarshal([]byte(lit), &got); err != nil {
			t.Errorf("README.md default of %s: %s is not JSON: %v", path, lit, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("README.md says %s defaults to %s; the code has %v", path, lit, want)
		}
	}
	if t.Failed() {
		keys := make([]string, 0, len(defaults))
		for k := range defaults {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Logf("known keys: %s", strings.Join(keys, " "))
	}
}

var rowRE = regexp.MustCompile("^\\| `([^`]+)` \\| [^|]+ \\| ((?:[^|\\\\]|\\\\.)*) \\|")

// readmeRows maps each documented path to its default cell.
func readmeRows(t *testing.T) map[string]string {
	rows := map[string]string{}
	for _, line := range strings.Split(string(readFile(t, "../README.md")), "\n") {
		if m := rowRE.FindStringSubmatch(line); m != nil {
			if _, dup := rows[m[1]]; dup {
				t.Errorf("README.md documents %s twice", m[1])
			}
			rows[m[1]] = strings.TrimSpace(m[2])
		}
	}
	if len(rows) < 50 {
		t.Fatalf("only %d rows found in README.md", len(rows))
	}
	return rows
}

// jsonLiteral returns the cell's value when it is a JSON literal in
// backticks, like `"5s"`, `true`, `3800` or `["openid"]`.
func jsonLiteral(cell string) (string, bool) {
	if !strings.HasPrefix(cell, "`") {
		return "", false
	}
	end := strings.Index(cell[1:], "`")
	if end < 0 {
		return "", false
	}
	lit := cell[1 : 1+end]
	if lit == "" || !strings.ContainsAny(lit[:1], "\"[{-0123456789tfn") {
		return "", false
	}
	return lit, true
}

// collectDefaults records the default JSON value of every key under
// prefix: leaves, arrays (as "a" and their elements' keys as "a[].k"), and
// optional objects.
func collectDefaults(prefix string, v reflect.Value, out map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := tagName(t.Field(i))
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Struct:
			collectDefaults(path, f, out)
		case f.Kind() == reflect.Pointer:
			out[path] = nil
			collectDefaults(path, newElem(f.Type().Elem()), out)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			out[path] = asJSON(f)
			collectDefaults(path+"[]", newElem(f.Type().Elem()), out)
		default:
			out[path] = asJSON(f)
		}
	}
}

func newElem(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if d, ok := p.Interface().(defaulter); ok {
		d.setDefaults()
	}
	return p.Elem()
}

// asJSON converts a default to its JSON form; a nil slice or map is the
// empty one.
func asJSON(v reflect.Value) any {
	switch {
	case v.Kind() == reflect.Slice && v.IsNil():
		return []any{}
	case v.Kind() == reflect.Map && v.IsNil():
		return map[string]any{}
	}
	b, _ := json.Marshal(v.Interface())
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
