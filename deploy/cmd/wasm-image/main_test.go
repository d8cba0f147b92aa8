package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// What a registry client reads, declared here so that the test reads the layout
// independently of the library that writes it: the media types Istio accepts for a compat
// image, and the JSON of the index, manifest and config.
const (
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type imageConfig struct {
	Created      string   `json:"created,omitempty"`
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	Config       struct{} `json:"config"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// fakeWasm is a module header and some bytes: enough for the image, which never runs it.
var fakeWasm = append(append([]byte(nil), wasmMagic...), bytes.Repeat([]byte("oidc-proxy"), 1000)...)

// readLayout reads an image layout the way a registry client would, checking every digest,
// and returns the manifest and the files in its single layer.
func readLayout(t *testing.T, dir string) (manifest, map[string][]byte) {
	t.Helper()
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	blob := func(d descriptor, wantType string) []byte {
		if d.MediaType != wantType {
			t.Fatalf("media type %q, want %q", d.MediaType, wantType)
		}
		b := read(filepath.Join("blobs", "sha256", d.Digest[len("sha256:"):]))
		sum := sha256.Sum256(b)
		if "sha256:"+hex.EncodeToString(sum[:]) != d.Digest || len(b) != d.Size {
			t.Fatalf("blob %s: content does not match its descriptor", d.Digest)
		}
		return b
	}
	if got := string(read("oci-layout")); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout: %s", got)
	}
	var idx index
	if err := json.Unmarshal(read("index.json"), &idx); err != nil {
		t.Fatal(err)
	}
	if idx.SchemaVersion != 2 || len(idx.Manifests) != 1 {
		t.Fatalf("index: %+v", idx)
	}
	var m manifest
	if err := json.Unmarshal(blob(idx.Manifests[0], mediaTypeManifest), &m); err != nil {
		t.Fatal(err)
	}
	var cfg imageConfig
	if err := json.Unmarshal(blob(m.Config, mediaTypeConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("%d layers, the compat variant has exactly one", len(m.Layers))
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(m.Layers[0], mediaTypeLayer)))
	if err != nil {
		t.Fatal(err)
	}
	tarball, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tarball)
	if cfg.RootFS.DiffIDs[0] != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatal("the config's diff_id is not the digest of the uncompressed layer")
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[hdr.Name] = b
	}
	return m, files
}

func TestImageLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	img, err := Build(fakeWasm, Options{Tag: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := img.WriteLayout(dir); err != nil {
		t.Fatal(err)
	}
	m, files := readLayout(t, dir)
	if m.Annotations[annotationVariant] != "compat" {
		t.Errorf("manifest annotations %v: Istio needs %s=compat", m.Annotations, annotationVariant)
	}
	if len(files) != 1 || !bytes.Equal(files[wasmFile], fakeWasm) {
		t.Errorf("layer files %d: want exactly %s with the module's bytes", len(files), wasmFile)
	}
}

// TestImageIsReproducible: the same module and options give byte-identical images, and a
// different module a different one.
func TestImageIsReproducible(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, err := Build(fakeWasm, Options{Tag: "v1", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(append([]byte(nil), fakeWasm...), Options{Tag: "v1", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two builds of the same module differ")
	}
	c, err := Build(append(append([]byte(nil), fakeWasm...), 0), Options{Tag: "v1", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	if c.ManifestDigest == a.ManifestDigest {
		t.Error("a different module gave the same manifest digest")
	}
}

func TestImageRejects(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		tag  string
	}{
		{"not wasm", []byte("#!/bin/sh\necho hi\n"), "v1"},
		{"empty", nil, "v1"},
		{"no tag", fakeWasm, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(tt.wasm, Options{Tag: tt.tag}); err == nil {
				t.Error("built an image")
			}
		})
	}
}

// TestLayoutReadsBackAsCompat reads the written layout with go-containerregistry, as Istio's
// image fetcher does once the image is pushed: every digest and diff_id checks out
// (validate.Image), and the image is the compat variant Istio accepts (exactly one layer of
// media type application/vnd.oci.image.layer.v1.tar+gzip, holding plugin.wasm).
func TestLayoutReadsBackAsCompat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	img, err := Build(fakeWasm, Options{Tag: "0.1.0", Created: time.Unix(1767225600, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if err := img.WriteLayout(dir); err != nil {
		t.Fatal(err)
	}
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(img.ManifestDigest)
	if err != nil {
		t.Fatal(err)
	}
	read, err := ii.Image(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(read); err != nil {
		t.Fatalf("validate: %v", err)
	}
	layers, err := read.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v: want exactly one", len(layers), err)
	}
	if mt, err := layers[0].MediaType(); err != nil || mt != types.OCILayer {
		t.Errorf("layer media type %q, %v: want %q", mt, err, types.OCILayer)
	}
	cfg, err := read.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Created.Equal(time.Unix(1767225600, 0)) || cfg.OS != "wasip1" || cfg.Architecture != "wasm" {
		t.Errorf("config %+v", cfg)
	}
	for _, name := range []string{"index.json", "oci-layout"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v, want mode 0644", name, fi.Mode(), err)
		}
	}
}
