package filter

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArchitectureNamesExist keeps ARCHITECTURE.md true: every file it names in backticks
// (`x.go`) exists in the module, every `pkg.Name` (or `pkg.Type.Method`) of the module's
// packages is declared there, every `Type.Member` is a method or field of a type of ours, and
// every bare Go-style name (`loadSession`, `ParseJWKS`) is declared in some package of ours. Config keys, metric names and JSON fields (with "_" or "/" or a
// leading "{") are not Go names and are left alone.
func TestArchitectureNamesExist(t *testing.T) {
	doc, err := os.ReadFile("../ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	decls := map[string]map[string]bool{} // package dir -> declared names (and Type.Method)
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel("..", path)
		files[filepath.Base(rel)], files[filepath.ToSlash(rel)] = true, true
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := filepath.Base(filepath.Dir(rel))
		if decls[pkg] == nil {
			decls[pkg] = map[string]bool{}
		}
		addDecls(decls[pkg], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ident := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$`)
	checked := 0
	prose := regexp.MustCompile("(?ms)^```.*?^```").ReplaceAllString(string(doc), "")
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(prose, -1) {
		for name := range strings.SplitSeq(m[1], "/") {
			name = strings.TrimSuffix(name, "()")
			switch {
			case strings.HasSuffix(name, ".go"):
				checked++
				if !files[name] && !files[strings.TrimPrefix(name, "filter/")] {
					t.Errorf("ARCHITECTURE.md names %s: no such file", name)
				}
			case ident.MatchString(name) && !strings.Contains(m[1], "_"):
				parts := strings.Split(name, ".")
				if len(parts) == 1 {
					if !isGoName(name) {
						continue
					}
					checked++
					if !declaredAnywhere(decls, name) && !sdkNames[name] {
						t.Errorf("ARCHITECTURE.md names %s: declared in no package of the module", name)
					}
					continue
				}
				d, ok := decls[parts[0]]
				if !ok {
					// a receiver variable or config path: h.req, cfg.Route, Sealer.Open
					if !hasType(decls, parts[0]) {
						continue
					}
					checked++
					if !declaredAnywhere(decls, name) {
						t.Errorf("ARCHITECTURE.md names %s: no such method or field", name)
					}
					continue
				}
				checked++
				if !d[strings.Join(parts[1:], ".")] && !d[parts[len(parts)-1]] {
					t.Errorf("ARCHITECTURE.md names %s: not declared", name)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d names checked: the parser of ARCHITECTURE.md is off", checked)
	}
}

// isGoName: a name that reads as an identifier of ours (mixed case, or a known lowercase
// function) rather than an English word or a protocol term such as `typ` or `exchange`.
func isGoName(s string) bool {
	return strings.ToLower(s) != s
}

// sdkNames are the host calls ARCHITECTURE.md names, declared in the SDK, not here.
var sdkNames = map[string]bool{"GetHttpRequestHeaders": true}

func hasType(decls map[string]map[string]bool, name string) bool {
	return declaredAnywhere(decls, "type "+name)
}

func declaredAnywhere(decls map[string]map[string]bool, name string) bool {
	for _, d := range decls {
		if d[name] {
			return true
		}
	}
	return false
}

func addDecls(d map[string]bool, f *ast.File) {
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			d[decl.Name.Name] = true
			if decl.Recv != nil && len(decl.Recv.List) == 1 {
				typ := decl.Recv.List[0].Type
				if s, ok := typ.(*ast.StarExpr); ok {
					typ = s.X
				}
				if ix, ok := typ.(*ast.IndexExpr); ok {
					typ = ix.X
				}
				if id, ok := typ.(*ast.Ident); ok {
					d[id.Name+"."+decl.Name.Name] = true
				}
			}
		case *ast.GenDecl:
			for _, spec := range decl.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					d[spec.Name.Name], d["type "+spec.Name.Name] = true, true
					if st, ok := spec.Type.(*ast.StructType); ok {
						for _, fld := range st.Fields.List {
							for _, n := range fld.Names {
								d[spec.Name.Name+"."+n.Name], d[n.Name] = true, true
							}
						}
					}
				case *ast.ValueSpec:
					for _, n := range spec.Names {
						d[n.Name] = true
					}
				}
			}
		}
	}
}
