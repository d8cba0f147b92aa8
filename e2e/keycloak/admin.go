package keycloak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The admin REST API, as the bootstrap admin (a fresh admin-cli token per call: they are
// short-lived and calls are few).

var httpClient = &http.Client{Timeout: 10 * time.Second}

// AdminToken is an access token of the bootstrap admin from the master realm.
func (k *Keycloak) AdminToken(ctx context.Context) (string, error) {
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	err := k.postForm(ctx, k.URL+"/realms/master/protocol/openid-connect/token", url.Values{
		"grant_type": {"password"}, "client_id": {"admin-cli"},
		"username": {AdminUser}, "password": {AdminPassword},
	}, &tr)
	if err != nil {
		return "", fmt.Errorf("keycloak: admin token: %w", err)
	}
	return tr.AccessToken, nil
}

// Admin calls the admin API at path (under /admin/realms/REALM) and decodes the JSON answer
// into out (when not nil); body, when not nil, is sent as JSON.
func (k *Keycloak) Admin(ctx context.Context, method, path string, body, out any) error {
	tok, err := k.AdminToken(ctx)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.URL+"/admin/realms/"+k.realm+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(req, out)
}

// UserID is the id of the user named username.
func (k *Keycloak) UserID(ctx context.Context, username string) (string, error) {
	var users []struct{ ID, Username string }
	if err := k.Admin(ctx, "GET", "/users?exact=true&username="+url.QueryEscape(username), nil, &users); err != nil {
		return "", err
	}
	if len(users) != 1 {
		return "", fmt.Errorf("keycloak: %d users named %q", len(users), username)
	}
	return users[0].ID, nil
}

// Session is a user session as the admin API lists it.
type Session struct {
	ID      string            `json:"id"`
	Clients map[string]string `json:"clients"`
}

// UserSessions are the user's online sessions.
func (k *Keycloak) UserSessions(ctx context.Context, username string) ([]Session, error) {
	id, err := k.UserID(ctx, username)
	if err != nil {
		return nil, err
	}
	var s []Session
	err = k.Admin(ctx, "GET", "/users/"+id+"/sessions", nil, &s)
	return s, err
}

// OfflineSessions are the user's offline sessions with clientUUID (a client's id, not its
// clientId).
func (k *Keycloak) OfflineSessions(ctx context.Context, username, clientID string) ([]Session, error) {
	id, err := k.UserID(ctx, username)
	if err != nil {
		return nil, err
	}
	cid, err := k.ClientUUID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	var s []Session
	err = k.Admin(ctx, "GET", "/users/"+id+"/offline-sessions/"+cid, nil, &s)
	return s, err
}

// ClientUUID is the internal id of the client clientID.
func (k *Keycloak) ClientUUID(ctx context.Context, clientID string) (string, error) {
	var cs []struct{ ID string }
	if err := k.Admin(ctx, "GET", "/clients?clientId="+url.QueryEscape(clientID), nil, &cs); err != nil {
		return "", err
	}
	if len(cs) != 1 {
		return "", fmt.Errorf("keycloak: %d clients %q", len(cs), clientID)
	}
	return cs[0].ID, nil
}

// Event is a user event (eventsEnabled in the realm).
type Event struct {
	Type      string            `json:"type"`
	ClientID  string            `json:"clientId"`
	SessionID string            `json:"sessionId"`
	UserID    string            `json:"userId"`
	Error     string            `json:"error"`
	Time      int64             `json:"time"`
	Details   map[string]string `json:"details"`
}

// Events are the realm's user events of the given types, newest first.
func (k *Keycloak) Events(ctx context.Context, types ...string) ([]Event, error) {
	q := url.Values{"max": {"1000"}}
	for _, t := range types {
		q.Add("type", t)
	}
	var ev []Event
	err := k.Admin(ctx, "GET", "/events?"+q.Encode(), nil, &ev)
	return ev, err
}

// RotateKeys adds an rsa-generated key provider with a priority above every key so far:
// Keycloak signs new tokens with its new key and keeps publishing the old ones. It returns
// the new key's kid.
func (k *Keycloak) RotateKeys(ctx context.Context, priority int) (string, error) {
	var realm struct{ ID string }
	if err := k.Admin(ctx, "GET", "", nil, &realm); err != nil {
		return "", err
	}
	name := "rotated-" + strconv.Itoa(priority)
	err := k.Admin(ctx, "POST", "/components", map[string]any{
		"name": name, "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
		"parentId": realm.ID,
		"config": map[string][]string{
			"priority": {strconv.Itoa(priority)}, "keySize": {"2048"}, "algorithm": {"RS256"},
			"active": {"true"}, "enabled": {"true"},
		},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("keycloak: adding key provider: %w", err)
	}
	var keys struct {
		Keys []struct {
			Kid, Algorithm, Use, Status, ProviderID string
			ProviderPriority                        int64
		}
	}
	if err := k.Admin(ctx, "GET", "/keys", nil, &keys); err != nil {
		return "", err
	}
	for _, key := range keys.Keys {
		if key.Algorithm == "RS256" && key.ProviderPriority == int64(priority) {
			return key.Kid, nil
		}
	}
	return "", fmt.Errorf("keycloak: the new key (priority %d) is not listed", priority)
}

// Introspect asks the realm's introspection endpoint about token, as client id/secret.
func (k *Keycloak) Introspect(ctx context.Context, id, secret, token string) (map[string]any, error) {
	var out map[string]any
	err := k.postForm(ctx, k.Issuer+"/protocol/openid-connect/token/introspect", url.Values{
		"token": {token}, "client_id": {id}, "client_secret": {secret},
	}, &out)
	return out, err
}

// JWKSURL is the realm's key set.
func (k *Keycloak) JWKSURL() string { return k.Issuer + "/protocol/openid-connect/certs" }

func (k *Keycloak) postForm(ctx context.Context, u string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(req, out)
}

// do sends req and decodes a 2xx JSON answer into out; an error status quotes the answer's
// start (the admin API's and token endpoint's errors hold no secrets).
func do(req *http.Request, out any) error {
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("keycloak: %s %s: %d %.300s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	if out == nil || len(body) == 0 {
		return nil
	}
	return json.Unmarshal(body, out)
}
