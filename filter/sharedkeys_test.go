package filter

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSharedKeysAreRegistered: every shared-data key is built by sharedkeys.go (no other
// non-test file spells "oidc-proxy/"), and each family name is registered once.
func TestSharedKeysAreRegistered(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	families := map[string]int{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil && strings.HasPrefix(s, "oidc-proxy/") && f != "sharedkeys.go" {
					t.Errorf("%s: %q: build shared-data keys with a sharedFamily (sharedkeys.go)", fset.Position(n.Pos()), s)
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "sharedFamily" && len(n.Elts) == 2 {
					if lit, ok := n.Elts[0].(*ast.BasicLit); ok {
						name, _ := strconv.Unquote(lit.Value)
						families[name]++
					}
				}
			}
			return true
		})
	}
	if len(families) < 10 {
		t.Fatalf("found %d families in sharedkeys.go; the test no longer sees them", len(families))
	}
	for name, n := range families {
		if n > 1 {
			t.Errorf("shared-data family %q is registered %d times", name, n)
		}
	}
	if a, b := sharedSignedOut.key("https://op"), sharedSignedOutGen.key("https://op"); a == b || strings.HasPrefix(b, sharedSignedOut.slots("https://op")) {
		t.Errorf("the deny list's keys and its generation's overlap: %q %q", a, b)
	}
}
