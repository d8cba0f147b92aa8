package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Media types and annotations of the OCI image specification and of the compat variant of
// the Wasm image specification.
const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"

	annotationVariant = "module.wasm.image/variant"
	annotationRefName = "org.opencontainers.image.ref.name"
	annotationCreated = "org.opencontainers.image.created"
	annotationTitle   = "org.opencontainers.image.title"

	// wasmFile is the name Istio looks for in the layer.
	wasmFile = "plugin.wasm"
)

// Options are the variable parts of an image.
type Options struct {
	// Tag names the image in the layout's index.
	Tag string
	// Created is stamped on the file in the layer and in the config; the zero time leaves
	// the stamps out of the config and puts 1970-01-01 on the file.
	Created time.Time
}

// Image is a built image: its blobs by digest, and the digests a user needs.
type Image struct {
	Index          []byte
	Blobs          map[string][]byte // "sha256:hex" -> content
	ManifestDigest string
	LayerDigest    string
	LayerSize      int
}

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

// wasmMagic starts every WebAssembly binary module: "\0asm" and version 1.
var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// Build makes the compat-variant image of a wasm module.
func Build(wasm []byte, o Options) (*Image, error) {
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return nil, errors.New("not a WebAssembly binary module")
	}
	if o.Tag == "" {
		return nil, errors.New("empty tag")
	}
	img := &Image{Blobs: map[string][]byte{}}
	tarball, err := layerTar(wasm, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := gzipped(tarball)
	if err != nil {
		return nil, err
	}
	var cfg imageConfig
	cfg.Architecture, cfg.OS = "wasm", "wasip1"
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []string{digest(tarball)}
	if !o.Created.IsZero() {
		cfg.Created = o.Created.UTC().Format(time.RFC3339)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	m := manifest{
		SchemaVersion: 2,
		MediaType:     mediaTypeManifest,
		Config:        img.add(mediaTypeConfig, cfgJSON),
		Layers:        []descriptor{img.add(mediaTypeLayer, layer)},
		Annotations:   map[string]string{annotationVariant: "compat", annotationTitle: wasmFile},
	}
	if !o.Created.IsZero() {
		m.Annotations[annotationCreated] = cfg.Created
	}
	img.LayerDigest, img.LayerSize = m.Layers[0].Digest, m.Layers[0].Size
	mJSON, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	md := img.add(mediaTypeManifest, mJSON)
	img.ManifestDigest = md.Digest
	md.Annotations = map[string]string{annotationRefName: o.Tag}
	img.Index, err = json.Marshal(index{SchemaVersion: 2, MediaType: mediaTypeIndex, Manifests: []descriptor{md}})
	return img, err
}

func (img *Image) add(mediaType string, b []byte) descriptor {
	d := digest(b)
	img.Blobs[d] = b
	return descriptor{MediaType: mediaType, Digest: d, Size: len(b)}
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// layerTar is a tar archive with one regular file, plugin.wasm, owned by root, mode 0644.
func layerTar(wasm []byte, created time.Time) ([]byte, error) {
	mtime := created
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: wasmFile, Mode: 0o644, Size: int64(len(wasm)),
		ModTime: mtime.UTC(), Format: tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(wasm); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipped compresses b with no name and no time in the gzip header.
func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes the image as an OCI image layout in dir, replacing what was there.
func (img *Image) WriteLayout(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		filepath.Join(dir, "oci-layout"): []byte(`{"imageLayoutVersion":"1.0.0"}`),
		filepath.Join(dir, "index.json"): img.Index,
	}
	for d, b := range img.Blobs {
		files[filepath.Join(blobs, d[len("sha256:"):])] = b
	}
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("writing the image layout: %w", err)
		}
	}
	return nil
}
