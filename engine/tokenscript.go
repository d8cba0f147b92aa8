package engine

import (
	"strconv"
	"strings"
	"time"
)

// TokenScript is the JavaScript served at {prefix}/tokens.js: it keeps the page's app supplied
// with the user's current tokens for as long as the page is open (docs/long-lived-apps.md).
//
// The page fetches tokenPath (the same-origin token endpoint) at load and again one second
// after the access token (or the ID token, whichever ends first) enters the plugin's refresh
// margin, so the plugin refreshes the session inside a request of the browser itself: the
// re-sealed session cookie, with the provider's new refresh token, reaches the browser, and no
// other party ever holds a refresh token the browser does not. Each answer goes to the page's
// listeners (window.oidcProxy.onToken) and, in a Shiny app, to the server as the input named
// by the script tag's data-shiny-input attribute (default "oidc_proxy_token"). With a
// data-exchange attribute naming a route, each answer also holds that route's exchanged
// token (GET {prefix}/token?exchange=NAME), renewed before it expires too. When the
// session has ended (401 or 403), listeners get {"error": ...} once and the script stops;
// other failures are retried with backoff while the app keeps its last token.
func TokenScript(tokenPath string, refreshMargin time.Duration) []byte {
	margin := int(refreshMargin / time.Second)
	r := strings.NewReplacer("__TOKEN_PATH__", strconv.Quote(tokenPath), "__MARGIN__", strconv.Itoa(margin))
	return []byte(r.Replace(tokenScript))
}

const tokenScript = `// oidc-proxy-wasm: keeps this page's app supplied with the user's current tokens.
// Served by the proxy at {prefix}/tokens.js; see docs/long-lived-apps.md.
(function () {
  "use strict";
  if (window.oidcProxy) return;
  var tokenURL = __TOKEN_PATH__, marginS = __MARGIN__;
  var tag = document.currentScript;
  var inputName = (tag && tag.getAttribute("data-shiny-input")) || "oidc_proxy_token";
  var exchange = tag && tag.getAttribute("data-exchange"); // a route whose exchanged token to add
  if (exchange) tokenURL += "?exchange=" + encodeURIComponent(exchange);
  var listeners = [], latest = null, timer = null, failures = 0, ended = false, dueAt = 0, busy = false;

  function deliver(t) {
    latest = t;
    for (var i = 0; i < listeners.length; i++) {
      try { listeners[i](t); } catch (e) { if (window.console) console.error(e); }
    }
    toShiny();
  }
  function toShiny() {
    var S = window.Shiny;
    if (latest && S && S.setInputValue && S.shinyapp && S.shinyapp.isConnected()) {
      S.setInputValue(inputName, latest, {priority: "event"});
    }
  }
  function schedule(seconds) {
    clearTimeout(timer);
    dueAt = Date.now() + seconds * 1000;
    timer = setTimeout(fetchToken, seconds * 1000);
  }
  function retry() {
    busy = false;
    failures++;
    schedule(Math.min(60, Math.pow(2, failures)));
  }
  function fetchToken() {
    if (ended || busy) return;
    busy = true;
    fetch(tokenURL, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return {status: r.status, body: body}; });
      })
      .then(function (res) {
        busy = false;
        var t = res.body || {};
        if (res.status === 200 && t.access_token) {
          failures = 0;
          // Seconds this answer stays usable: the access token's, or the ID token's if it ends first
          // (relative to the answer, so the browser's clock does not matter).
          var life = typeof t.expires_in === "number" ? t.expires_in : 300;
          if (t.expires_at && typeof t.expires_in === "number") {
            var answeredAt = t.expires_at - t.expires_in;
            if (t.id_token_expires_at) life = Math.min(life, t.id_token_expires_at - answeredAt);
            if (t.exchanged_expires_at) life = Math.min(life, t.exchanged_expires_at - answeredAt);
          }
          deliver(t);
          schedule(Math.max(5, life - marginS + 1));
        } else if (res.status === 401 || res.status === 403) {
          ended = true;
          clearTimeout(timer);
          deliver({error: t.error || "unauthorized", error_description: t.error_description || "", status: res.status});
        } else {
          retry();
        }
      }, retry);
  }
  function hookShiny() {
    if (window.jQuery) window.jQuery(document).on("shiny:connected", toShiny);
    if (window.Shiny && window.Shiny.addCustomMessageHandler) {
      // The app's server may ask for a token now: session$sendCustomMessage("oidc_proxy_refresh", list()).
      window.Shiny.addCustomMessageHandler("oidc_proxy_refresh", function () { fetchToken(); });
    }
    toShiny();
  }
  function catchUp() { // timers of a hidden tab are throttled: fetch as soon as it shows again
    if (!document.hidden && !ended && Date.now() >= dueAt) fetchToken();
  }

  window.oidcProxy = {
    onToken: function (fn) { listeners.push(fn); if (latest) fn(latest); },
    token: function () { return latest; },
    refresh: function () { fetchToken(); }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", hookShiny); else hookShiny();
  document.addEventListener("visibilitychange", catchUp);
  window.addEventListener("online", catchUp);
  fetchToken();
})();
`
