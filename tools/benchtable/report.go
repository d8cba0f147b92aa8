package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// A report is everything one `make bench` measured.
type report struct {
	native, wasm, plugin []result
	model                []modelRow
	module               string  // stripped from package paths
	tolerance            float64 // factor a measurement may stray from the model
	meta                 []string
}

func (r *report) write(w io.Writer) {
	native, nOrder := group(r.native)
	wasm, wOrder := group(r.wasm)
	fmt.Fprintln(w, "# make bench: native vs wasm")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Environment")
	fmt.Fprintln(w)
	for _, m := range r.meta {
		fmt.Fprintln(w, "- "+m)
	}
	r.writePackages(w, native, wasm, append(nOrder, wOrder...))
	r.writePlugin(w)
	r.writeCalibration(w, native, wasm)
}

// shortPkg strips the module path: "state", "internal/wasmexec/calib".
func (r *report) shortPkg(pkg string) string {
	if s, ok := strings.CutPrefix(pkg, r.module+"/"); ok && r.module != "" {
		return s
	}
	return pkg
}

func (r *report) writePackages(w io.Writer, native, wasm map[string]*bench, keys []string) {
	byPkg := map[string][]string{}
	var pkgs []string
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		b := native[k]
		if b == nil {
			b = wasm[k]
		}
		if _, ok := byPkg[b.pkg]; !ok {
			pkgs = append(pkgs, b.pkg)
		}
		byPkg[b.pkg] = append(byPkg[b.pkg], k)
	}
	for _, pkg := range pkgs {
		fmt.Fprintf(w, "\n## %s\n\n", r.shortPkg(pkg))
		fmt.Fprintf(w, "| benchmark | native time/op | wasm time/op | wasm/native | native B/op | wasm B/op | allocs/op | wasm/native %.0f%% CI |\n", 100*confidence)
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|")
		for _, k := range byPkg[pkg] {
			n, wa := native[k], wasm[k]
			name := n.nameOr(wa)
			rs := ratioSummary(n, wa)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name,
				fmtTime(n.values("ns/op")), fmtTime(wa.values("ns/op")), fmtRatio(rs.Center),
				fmtCount(n.values("B/op")), fmtCount(wa.values("B/op")),
				fmtAllocs(n.values("allocs/op"), wa.values("allocs/op")), fmtCI(rs))
		}
	}
}

func (b *bench) nameOr(other *bench) string {
	if b != nil {
		return b.name
	}
	return other.name
}

// byName finds a benchmark by name in any package.
func byName(m map[string]*bench, name string) *bench {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k].name == name {
			return m[k]
		}
	}
	return nil
}

func (r *report) writePlugin(w io.Writer) {
	plugin, order := group(r.plugin)
	if len(order) == 0 {
		return
	}
	fmt.Fprintln(w, "\n## plugin.wasm on wazero (host side, native)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| benchmark | time/op | other | B/op (host) | allocs/op (host) |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	for _, k := range order {
		b := plugin[k]
		var other []string
		for _, unit := range slices.Sorted(maps.Keys(b.runs[0])) {
			switch unit {
			case "ns/op", "B/op", "allocs/op":
				continue
			}
			other = append(other, sig3(median(b.values(unit)))+" "+unit)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", b.name, fmtTime(b.values("ns/op")),
			strings.Join(other, ", "), fmtCount(b.values("B/op")), fmtCount(b.values("allocs/op")))
	}
}

func (r *report) writeCalibration(w io.Writer, native, wasm map[string]*bench) {
	if len(r.model) == 0 {
		return
	}
	plugin, _ := group(r.plugin)
	fmt.Fprintln(w, "\n## Calibration: this machine vs RATIONALE.md's wasm cost model")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Medians; \"ok\" when native, wasm and their ratio are all within %.1fx of the model.\n\n", r.tolerance)
	fmt.Fprintln(w, "| operation | model native | native | model wasm | wasm | model ratio | ratio | verdict |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|---|")
	for _, m := range r.model {
		var n, wa *bench
		if m.native.ok() {
			n, wa = byName(native, m.name), byName(wasm, m.name)
		} else {
			wa = byName(plugin, m.name) // a host-side cost: compare its own time
		}
		nv, wv := median(n.values("ns/op")), median(wa.values("ns/op"))
		rt := ratio(n, wa)
		var off []string
		if d := deviation(nv, m.native, r.tolerance, "slower", "faster"); d != "" {
			off = append(off, "native "+d)
		}
		if d := deviation(wv, m.wasm, r.tolerance, "slower", "faster"); d != "" {
			off = append(off, "wasm "+d)
		}
		if d := deviation(rt, m.ratio(), r.tolerance, "higher", "lower"); d != "" {
			off = append(off, "ratio "+d)
		}
		verdict := "ok"
		switch {
		case wa == nil || (m.native.ok() && n == nil):
			verdict = "not measured"
		case len(off) > 0:
			verdict = strings.Join(off, "; ")
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", m.label,
			fmtSpan(m.native, fmtNs), fmtNs(nv), fmtSpan(m.wasm, fmtNs), fmtNs(wv),
			fmtSpan(m.ratio(), fmtRatio), fmtRatio(rt), verdict)
	}
}
