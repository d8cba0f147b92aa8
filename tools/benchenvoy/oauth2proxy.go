package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// oauth2Proxy is an oauth2-proxy process (github.com/oauth2-proxy/oauth2-proxy/v7, the
// binary scripts/bench-envoy.sh builds at the pinned version) as the reverse proxy in front
// of the app, itself behind an Envoy with no filter: the way it is deployed in front of an
// app when Envoy is the edge. Its flags (oauth2ProxyArgs) are in BENCHMARKS.md.
type oauth2Proxy struct {
	cmd     *exec.Cmd
	url     string
	logPath string // its standard output and error
	done    chan struct{}
}

// oauth2ProxyArgs: OIDC provider with discovery, PKCE S256, the session in the cookie (the
// default cookie store, no Redis), the access token forwarded as X-Forwarded-Access-Token and
// the user as X-Forwarded-User/Email (defaults), no cookie refresh (the default), request
// logging off (Envoy writes no access log either), behind a reverse proxy.
func oauth2ProxyArgs(listen, issuer, clientID, clientSecret, redirect, upstream, cookieSecret string) []string {
	return []string{
		"--http-address=" + listen,
		"--provider=oidc",
		"--oidc-issuer-url=" + issuer,
		"--client-id=" + clientID,
		"--client-secret=" + clientSecret,
		"--redirect-url=" + redirect,
		"--upstream=" + upstream + "/",
		"--cookie-secret=" + cookieSecret,
		"--cookie-secure=false",
		"--email-domain=*",
		"--scope=openid profile email offline_access",
		"--code-challenge-method=S256",
		"--skip-provider-button=true",
		"--pass-access-token=true",
		"--reverse-proxy=true",
		"--request-logging=false",
		"--auth-logging=false",
		"--silence-ping-logging=true",
	}
}

func startOAuth2Proxy(ctx context.Context, bin, issuer, clientID, clientSecret, redirect, upstream string) (*oauth2Proxy, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	log, err := os.CreateTemp("", "oauth2-proxy-*.log")
	if err != nil {
		return nil, err
	}
	defer log.Close()
	p := &oauth2Proxy{url: "http://" + listen, logPath: log.Name(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, oauth2ProxyArgs(listen, issuer, clientID, clientSecret, redirect, upstream,
		base64.RawURLEncoding.EncodeToString(secret))...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		os.Remove(p.logPath)
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	for {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.logPath)
			os.Remove(p.logPath)
			return nil, fmt.Errorf("oauth2-proxy exited: %s", b)
		case <-ctx.Done():
			b, _ := os.ReadFile(p.logPath)
			p.Close()
			return nil, fmt.Errorf("oauth2-proxy did not answer /ping: %w; its log: %s", ctx.Err(), b)
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(p.url + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
}

func (p *oauth2Proxy) PID() int { return p.cmd.Process.Pid }

func (p *oauth2Proxy) Close() {
	p.cmd.Process.Kill()
	<-p.done
	os.Remove(p.logPath)
}

// freeAddr is a free loopback address (listened on and closed).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
