"""A Streamlit app behind oidc-proxy-wasm, with a fresh access token for the whole life of the
session (docs/long-lived-apps.md). The proxy logs the user in and forwards who they are with
every request, the WebSocket's upgrade request included; the oidc_token component (a folder
beside this file) loads the proxy's /oauth2/tokens.js (plugin config: "endpoints": {"token":
true}) and hands this script each fresh token, however long the socket stays open.

    streamlit run app.py

On-behalf-of call (optional): OBO_TOKEN_URL (the provider's token endpoint), OBO_CLIENT_ID,
OBO_CLIENT_SECRET, and OBO_SCOPE (Entra ID's on-behalf-of grant) or OBO_AUDIENCE (RFC 8693
token exchange, e.g. Keycloak's). Or let the proxy exchange: OIDC_PROXY_EXCHANGE names a plugin
route with an exchange, and each token then carries that route's exchanged_token.
"""

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

import streamlit as st
import streamlit.components.v1 as components

oidc_token = components.declare_component(
    "oidc_token", path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "oidc_token")
)


def jwt_sub(jwt):
    """The sub claim of a JWT (not verified: the provider checks the token it is given)."""
    parts = (jwt or "").split(".")
    if len(parts) != 3:
        return None
    return json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))).get("sub")


def on_behalf_of(access_token):
    """Exchanges the user's access token for a downstream API's token."""
    env = os.environ.get
    if not env("OBO_TOKEN_URL"):
        return "not configured (OBO_TOKEN_URL)"
    if env("OBO_AUDIENCE"):
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": access_token,
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "audience": env("OBO_AUDIENCE")}
    else:
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "requested_token_use": "on_behalf_of",
                "assertion": access_token,
                "scope": env("OBO_SCOPE", "")}
    form.update(client_id=env("OBO_CLIENT_ID", ""), client_secret=env("OBO_CLIENT_SECRET", ""))
    req = urllib.request.Request(env("OBO_TOKEN_URL"), data=urllib.parse.urlencode(form).encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            out = json.load(resp)
    except urllib.error.HTTPError as e:
        return f"refused ({e.code} {json.load(e).get('error')})"
    return f"OK: a downstream token, expires in {out['expires_in']} s"


# Who the user is: the claim headers of the WebSocket's upgrade request.
headers = st.context.headers
st.text(f"Signed in as {headers.get('X-Auth-Request-Email')} {headers.get('X-Auth-Request-User')}")

# The user's current access token: the upgrade request's until the component sends a fresher
# one; None once the session has ended (refresh refused). The page sends it: it must be this
# user's (its ID token's sub is the upgrade request's).
tok = oidc_token(key="oidc_token", default=None, exchange=os.environ.get("OIDC_PROXY_EXCHANGE"))
if tok is None:
    tok = {"access_token": headers.get("X-Forwarded-Access-Token")}
elif "error" in tok:
    st.text(f"Access token: none, the session has ended: {tok['error']}")
    tok = None
elif jwt_sub(tok.get("id_token")) != headers.get("X-Auth-Request-User"):
    st.text("Access token: none: not this user's")
    tok = None
elif "expires_at" in tok:
    st.text(f"Access token: expires in {tok['expires_at'] - time.time():.0f} s (exp {tok['expires_at']})")
else:
    st.text("Access token: from the upgrade request")
if tok and "exchanged_expires_at" in tok:
    exp = tok["exchanged_expires_at"]
    st.text(f"Exchanged token: expires in {exp - time.time():.0f} s (exp {exp})")

# The on-behalf-of call, always with the current token.
if st.button("Call the API on the user's behalf"):
    st.session_state.obo = on_behalf_of(tok["access_token"]) if tok else "no token"
if "obo" in st.session_state:
    st.text(f"On-behalf-of: {st.session_state.obo}")
