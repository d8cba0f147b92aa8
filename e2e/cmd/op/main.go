// Command op runs the embedded test OpenID Provider on its own, and
// optionally the demo app, until interrupted.
//
//	go run ./e2e/cmd/op -addr 127.0.0.1:9000 -access-ttl 60s
//
// It is for loopback use only: the provider keeps everything in memory and
// accepts any loopback redirect URI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	log.SetFlags(0)
	if err := run(os.Args[1:]); err != nil {
		log.Fatalf("op: %v", err)
	}
}

func run(args []string) error {
	var cfg op.Config
	var redirects, postLogout list
	var alg, appAddr string
	fs := flag.NewFlagSet("op", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:9000", "loopback listen address of the provider")
	fs.StringVar(&cfg.ClientID, "client-id", op.DefaultClientID, "client ID of the plugin")
	fs.StringVar(&cfg.ClientSecret, "client-secret", op.DefaultClientSecret, "client secret of the plugin")
	fs.Var(&redirects, "redirect-uri", "registered redirect URI (repeatable; any loopback URI is accepted anyway unless -strict-redirects)")
	fs.Var(&postLogout, "post-logout-uri", "registered post_logout_redirect_uri (repeatable)")
	fs.BoolVar(&cfg.StrictRedirectURIs, "strict-redirects", false, "accept only the registered redirect URIs")
	fs.DurationVar(&cfg.AccessTokenLifetime, "access-ttl", op.DefaultAccessTokenLifetime, "access token lifetime")
	fs.DurationVar(&cfg.IDTokenLifetime, "id-ttl", op.DefaultIDTokenLifetime, "ID token lifetime")
	fs.DurationVar(&cfg.RefreshTokenLifetime, "refresh-ttl", op.DefaultRefreshTokenLifetime, "refresh token lifetime")
	fs.StringVar(&alg, "alg", "RS256", "signing algorithm: RS256, PS256, ES256 or EdDSA")
	fs.BoolVar(&cfg.RequireOfflineAccess, "require-offline-access", false, "issue refresh tokens only for scope offline_access")
	fs.BoolVar(&cfg.NoIDTokenOnRefresh, "no-id-token-on-refresh", false, "omit id_token from refresh responses")
	fs.BoolVar(&cfg.RevokeFamilyOnRefreshReuse, "revoke-family-on-reuse", false, "a reused refresh token revokes its whole login")
	fs.StringVar(&appAddr, "app-addr", "", "also serve the demo app on this loopback address (no plugin in front: it shows what it gets)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.RedirectURIs, cfg.PostLogoutRedirectURIs = redirects, postLogout
	cfg.SigningAlgorithm = jose.SignatureAlgorithm(alg)

	s, err := op.Start(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	e := s.Endpoints()
	log.Printf("issuer     %s", s.Issuer())
	log.Printf("discovery  %s", e.Discovery)
	log.Printf("entra OBO  %s", e.EntraToken)
	log.Printf("client     %s / %s", s.ClientID(), s.ClientSecret())
	log.Printf("user       %s / %s", op.DemoUsername, op.DemoPassword)

	errc := make(chan error, 1)
	if appAddr != "" {
		if host, _, err := net.SplitHostPort(appAddr); err != nil || (host != "localhost" && !net.ParseIP(host).IsLoopback()) {
			return fmt.Errorf("-app-addr %q is not a loopback address", appAddr)
		}
		ln, err := net.Listen("tcp", appAddr)
		if err != nil {
			return err
		}
		app := &http.Server{
			Handler:           demoapp.Handler(demoapp.Config{Issuer: s.Issuer(), Name: "app"}),
			ReadHeaderTimeout: 10 * time.Second,
		}
		defer app.Close()
		go func() { errc <- app.Serve(ln) }()
		log.Printf("demo app   http://%s/", ln.Addr())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
