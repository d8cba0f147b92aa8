package filter

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// notReadByFilter are the Config fields the filter does not read itself, each with where
// it is read instead. Anything else must be read by the filter: a setting that is parsed,
// validated and documented but never read is a defect (a user sets it and nothing happens).
var notReadByFilter = map[string]string{
	"Prefix":                            "config derives the endpoint paths from it (SignInPath, ...)",
	"Client.SecretEnv":                  "config.ParseWithEnv resolves it into Client.Secret",
	"Client.SigningKeyEnv":              "config.ParseWithEnv resolves it into Client.SigningKey",
	"Keys.SecretEnv":                    "config.ParseWithEnv resolves it into Keys[].Secret",
	"Forward.Strip":                     "config merges it into Forward.Remove, the one identity-header list",
	"Routes.Authorization.Combine":      "config.Authorization.Allows",
	"Routes.Authorization.Claims.Claim": "config.Authorization.Allows",
	"Routes.Authorization.Claims.Op":    "config.Authorization.Allows",
	"Routes.Match":                      "config.Config.Route",
	"Routes.Match.Prefix":               "config.Config.Route",
	"Routes.Match.Methods":              "config.Config.Route",
	"PassThrough":                       "config.Config.IsPassThrough",
	"AllowedHosts":                      "config.Config.HostAllowed",
	"PassThrough.Prefix":                "config.Config.IsPassThrough",
	"PassThrough.Methods":               "config.Config.IsPassThrough",
	"Store.Prefix":                      "config.Store.Key builds every store key from it",
}

// TestEveryConfigFieldIsRead: every field of config.Config (recursively) is read somewhere in
// the plugin's code, filter/ and engine/ (not their tests), by name, or is listed in notReadByFilter with a reason.
func TestEveryConfigFieldIsRead(t *testing.T) {
	used := selectorsIn(t, ".", "../engine") // the plugin: filter/ and its pure engine
	var unread []string
	walkFields(reflect.TypeOf(config.Config{}), "", func(path, name string) {
		if _, ok := notReadByFilter[path]; ok {
			return
		}
		if !used[name] {
			unread = append(unread, path)
		}
	})
	for _, p := range unread {
		t.Errorf("config field %s is never read by filter/ or engine/ (read it, remove it, or say in notReadByFilter where it is read)", p)
	}
	for p := range notReadByFilter {
		if !fieldExists(reflect.TypeOf(config.Config{}), p) {
			t.Errorf("notReadByFilter lists %s, which config.Config does not have", p)
		} else if name := p[strings.LastIndexByte(p, '.')+1:]; used[name] {
			t.Errorf("notReadByFilter lists %s, but filter/ reads a field of that name: drop it from the list", p)
		}
	}
}

// selectorsIn is the set of names used after a dot in the package's non-test files.
func selectorsIn(t *testing.T, dirs ...string) map[string]bool {
	t.Helper()
	var files []string
	for _, dir := range dirs {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				used[s.Sel.Name] = true
			}
			return true
		})
	}
	return used
}

// walkFields calls f for every exported field of struct type typ, recursively through
// structs, pointers, slices and maps of structs, with its dotted path.
func walkFields(typ reflect.Type, prefix string, f func(path, name string)) {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeOf(config.Config{}).PkgPath() {
		return
	}
	for i := range typ.NumField() {
		fd := typ.Field(i)
		if !fd.IsExported() {
			continue
		}
		path := fd.Name
		if prefix != "" {
			path = prefix + "." + fd.Name
		}
		f(path, fd.Name)
		walkFields(fd.Type, path, f)
	}
}

func fieldExists(typ reflect.Type, path string) bool {
	for _, name := range strings.Split(path, ".") {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return false
		}
		fd, ok := typ.FieldByName(name)
		if !ok {
			return false
		}
		typ = fd.Type
	}
	return true
}
