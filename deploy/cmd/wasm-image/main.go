// Command wasm-image packages plugin.wasm as an OCI image layout that Istio's WasmPlugin can
// pull (`url: oci://...`) once it is pushed to a registry. It is `make image`.
//
//	wasm-image -wasm plugin.wasm -out dist/oci -tag 0.1.0
//
// The image is the "compat" variant of the Wasm image specification that Istio reads: one
// gzip'd tar layer holding a single file, plugin.wasm, and the manifest annotation
// module.wasm.image/variant=compat. Standard tools push it as it is:
//
//	skopeo copy oci:dist/oci:0.1.0 docker://registry.example.com/oidc-proxy-wasm:0.1.0
//
// The output is reproducible: the same plugin.wasm gives the same bytes and digests (file
// times are SOURCE_DATE_EPOCH, or zero, and nothing else varies). The manifest digest is
// printed; pin the WasmPlugin's url to it with @sha256:....
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	wasm := flag.String("wasm", "plugin.wasm", "the plugin module")
	out := flag.String("out", "dist/oci", "directory to write the OCI image layout to (replaced)")
	tag := flag.String("tag", "latest", "tag of the image in the layout (org.opencontainers.image.ref.name)")
	flag.Parse()
	if err := run(*wasm, *out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "wasm-image:", err)
		os.Exit(1)
	}
}

func run(wasmPath, out, tag string) error {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}
	created, err := sourceDate()
	if err != nil {
		return err
	}
	img, err := Build(wasm, Options{Tag: tag, Created: created})
	if err != nil {
		return err
	}
	if err := img.WriteLayout(out); err != nil {
		return err
	}
	fmt.Printf("image layout: %s (tag %s)\n", out, tag)
	fmt.Printf("manifest:     %s\n", img.ManifestDigest)
	fmt.Printf("layer:        %s (%d bytes)\n", img.LayerDigest, img.LayerSize)
	fmt.Printf("push:         skopeo copy oci:%s:%s docker://REGISTRY/oidc-proxy-wasm:%s\n", out, tag, tag)
	fmt.Printf("WasmPlugin:   url: oci://REGISTRY/oidc-proxy-wasm@%s\n", img.ManifestDigest)
	return nil
}

// sourceDate reads SOURCE_DATE_EPOCH (reproducible-builds.org), the time stamped into the
// layer's file and the image config; without it both are left at the zero time.
func sourceDate() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", v)
	}
	return time.Unix(sec, 0).UTC(), nil
}
