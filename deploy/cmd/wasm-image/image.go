package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of the OCI image specification and of the compat variant of the Wasm image
// specification. The media types are go-containerregistry's: an OCI manifest, an OCI config
// and one application/vnd.oci.image.layer.v1.tar+gzip layer, which is what the compat
// variant asks for and what Istio's image fetcher reads as a compat image.
const (
	annotationVariant = "module.wasm.image/variant"
	annotationRefName = "org.opencontainers.image.ref.name"
	annotationCreated = "org.opencontainers.image.created"
	annotationTitle   = "org.opencontainers.image.title"

	// wasmFile is the name Istio looks for in the layer.
	wasmFile = "plugin.wasm"

	// ociLayout is the layout's oci-layout file, compact (go-containerregistry writes the same
	// JSON indented; this keeps the file as the command has always written it).
	ociLayout = `{"imageLayoutVersion":"1.0.0"}`
)

// Options are the variable parts of an image.
type Options struct {
	// Tag names the image in the layout's index.
	Tag string
	// Created is stamped on the file in the layer and in the config; the zero time leaves
	// the manifest's created annotation out, puts 1970-01-01 on the file and leaves the
	// config's created at its zero value (0001-01-01T00:00:00Z: the config cannot omit it).
	Created time.Time
}

// Image is a built image: its three blobs and the digests a user needs. It is plain data
// (two builds of one module compare equal) and is written out by WriteLayout.
type Image struct {
	Tag            string
	Manifest       []byte // the manifest blob
	Config         []byte // the config blob
	Layer          []byte // the gzip'd layer blob
	ManifestDigest string
	ConfigDigest   string
	LayerDigest    string
	LayerSize      int
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
	img, err := image(wasm, o.Created)
	if err != nil {
		return nil, err
	}
	return materialize(img, o.Tag)
}

// image is the compat-variant image as a go-containerregistry image: the empty image, one
// layer, an OCI manifest and config, and the compat annotations.
func image(wasm []byte, created time.Time) (v1.Image, error) {
	layerBytes, err := layerTar(wasm, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil },
		tarball.WithCompressionLevel(gzip.BestCompression),
		tarball.WithMediaType(types.OCILayer),
	)
	if err != nil {
		return nil, err
	}
	diffID, err := layer.DiffID()
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	// The whole config, set last: AppendLayers would add an empty history entry, which the
	// image has never had.
	cfg := &v1.ConfigFile{
		Architecture: "wasm",
		OS:           "wasip1",
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
	}
	annotations := map[string]string{annotationVariant: "compat", annotationTitle: wasmFile}
	if !created.IsZero() {
		cfg.Created = v1.Time{Time: created.UTC().Truncate(time.Second)}
		annotations[annotationCreated] = created.UTC().Format(time.RFC3339)
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	annotated, ok := mutate.Annotations(img, annotations).(v1.Image)
	if !ok {
		return nil, errors.New("annotating the manifest did not give an image")
	}
	return annotated, nil
}

// materialize reads the image's blobs and digests into an Image.
func materialize(img v1.Image, tag string) (*Image, error) {
	out := &Image{Tag: tag}
	var err error
	if out.Manifest, err = img.RawManifest(); err != nil {
		return nil, err
	}
	if out.Config, err = img.RawConfigFile(); err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("%d layers, the compat variant has exactly one", len(m.Layers))
	}
	layer, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return nil, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if out.Layer, err = io.ReadAll(rc); err != nil {
		return nil, err
	}
	md, err := img.Digest()
	if err != nil {
		return nil, err
	}
	out.ManifestDigest = md.String()
	out.ConfigDigest = m.Config.Digest.String()
	out.LayerDigest, out.LayerSize = m.Layers[0].Digest.String(), len(out.Layer)
	if int64(out.LayerSize) != m.Layers[0].Size {
		return nil, errors.New("the layer's size does not match its descriptor")
	}
	return out, nil
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

// WriteLayout writes the image as an OCI image layout in dir, replacing what was there: the
// blobs under blobs/sha256, index.json naming the manifest by the tag, and oci-layout. Every
// file is mode 0644.
func (img *Image) WriteLayout(dir string) error {
	if err := img.writeLayout(dir); err != nil {
		return fmt.Errorf("writing the image layout: %w", err)
	}
	return nil
}

func (img *Image) writeLayout(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	for _, blob := range []struct {
		digest string
		b      []byte
	}{{img.ConfigDigest, img.Config}, {img.LayerDigest, img.Layer}, {img.ManifestDigest, img.Manifest}} {
		h, err := v1.NewHash(blob.digest)
		if err != nil {
			return err
		}
		if err := p.WriteBlob(h, io.NopCloser(bytes.NewReader(blob.b))); err != nil {
			return err
		}
	}
	h, err := v1.NewHash(img.ManifestDigest)
	if err != nil {
		return err
	}
	err = p.AppendDescriptor(v1.Descriptor{
		MediaType:   types.OCIManifestSchema1,
		Size:        int64(len(img.Manifest)),
		Digest:      h,
		Annotations: map[string]string{annotationRefName: img.Tag},
	})
	if err != nil {
		return err
	}
	if err := p.WriteFile("oci-layout", []byte(ociLayout), 0o644); err != nil {
		return err
	}
	// go-containerregistry creates index.json and oci-layout with mode 0777 less the umask.
	for _, name := range []string{"index.json", "oci-layout"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			return err
		}
	}
	return nil
}
