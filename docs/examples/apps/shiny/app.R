# A Shiny app behind oidc-proxy-wasm, with a fresh access token for the whole life of the
# session (docs/long-lived-apps.md). The proxy logs the user in and forwards who they are with
# every request, the WebSocket's upgrade request included; the page loads the proxy's
# /oauth2/tokens.js (plugin config: "endpoints": {"token": true}), which keeps
# input$oidc_proxy_token fresh however long the socket stays open.
#
#   R -e "shiny::runApp('app.R', port = 3838)"
#
# On-behalf-of call (optional): OBO_TOKEN_URL (the provider's token endpoint), OBO_CLIENT_ID,
# OBO_CLIENT_SECRET, and OBO_SCOPE (Entra ID's on-behalf-of grant) or OBO_AUDIENCE (RFC 8693
# token exchange, e.g. Keycloak's). Or let the proxy exchange: OIDC_PROXY_EXCHANGE names a
# plugin route with an exchange, and each token then carries that route's exchanged_token.
library(shiny)

ui <- fluidPage(
  tags$script(src = "/oauth2/tokens.js", "data-exchange" = Sys.getenv("OIDC_PROXY_EXCHANGE")),
  h3("Signed in as ", textOutput("user", inline = TRUE)),
  p("Access token: ", textOutput("token", inline = TRUE)),
  p("Exchanged token: ", textOutput("exchanged", inline = TRUE)),
  actionButton("call", "Call the API on the user's behalf"),
  p("On-behalf-of: ", textOutput("obo", inline = TRUE))
)

# The sub claim of a JWT (not verified: the provider checks the token it is given).
jwt_sub <- function(jwt) {
  if (is.null(jwt)) return(NULL)
  p <- chartr("-_", "+/", strsplit(jwt, ".", fixed = TRUE)[[1]][2])
  p <- paste0(p, strrep("=", (4 - nchar(p) %% 4) %% 4))
  jsonlite::fromJSON(rawToChar(jsonlite::base64_dec(p)))$sub
}

server <- function(input, output, session) {
  # Who the user is: the claim headers of the WebSocket's upgrade request.
  output$user <- renderText(paste(session$request$HTTP_X_AUTH_REQUEST_EMAIL,
                                  session$request$HTTP_X_AUTH_REQUEST_USER))

  # The user's current access token: the upgrade request's until tokens.js sends a fresher
  # one, NULL once the session has ended (refresh refused). The page sends it: it must be
  # this user's (its ID token's sub is the upgrade request's).
  token <- reactive({
    tok <- input$oidc_proxy_token
    if (is.null(tok)) return(list(access_token = session$request$HTTP_X_FORWARDED_ACCESS_TOKEN))
    if (!is.null(tok$error)) return(NULL)
    if (!identical(jwt_sub(tok$id_token), session$request$HTTP_X_AUTH_REQUEST_USER)) return(NULL)
    tok
  })

  output$token <- renderText({
    invalidateLater(1000)
    tok <- token()
    err <- input$oidc_proxy_token$error
    if (is.null(tok)) return(if (is.null(err)) "none: not this user's" else paste("none, the session has ended:", err))
    if (is.null(tok$expires_at)) return("from the upgrade request")
    sprintf("expires in %.0f s (exp %.0f)", tok$expires_at - as.numeric(Sys.time()), tok$expires_at)
  })

  output$exchanged <- renderText({
    invalidateLater(1000)
    exp <- token()$exchanged_expires_at
    if (is.null(exp)) return("none")
    sprintf("expires in %.0f s (exp %.0f)", exp - as.numeric(Sys.time()), exp)
  })

  # The on-behalf-of call, always with the current token.
  obo <- eventReactive(input$call, {
    tok <- token()
    if (is.null(tok)) return("no token")
    if (Sys.getenv("OBO_TOKEN_URL") == "") return("not configured (OBO_TOKEN_URL)")
    form <- if (Sys.getenv("OBO_AUDIENCE") != "") {
      list(grant_type = "urn:ietf:params:oauth:grant-type:token-exchange",
           subject_token = tok$access_token,
           subject_token_type = "urn:ietf:params:oauth:token-type:access_token",
           audience = Sys.getenv("OBO_AUDIENCE"))
    } else {
      list(grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer",
           requested_token_use = "on_behalf_of",
           assertion = tok$access_token,
           scope = Sys.getenv("OBO_SCOPE"))
    }
    form$client_id <- Sys.getenv("OBO_CLIENT_ID")
    form$client_secret <- Sys.getenv("OBO_CLIENT_SECRET")
    h <- curl::new_handle(postfields = paste(names(form), vapply(form, curl::curl_escape, ""),
                                             sep = "=", collapse = "&"))
    curl::handle_setheaders(h, "Content-Type" = "application/x-www-form-urlencoded")
    res <- curl::curl_fetch_memory(Sys.getenv("OBO_TOKEN_URL"), handle = h)
    out <- jsonlite::fromJSON(rawToChar(res$content))
    if (res$status_code != 200) return(sprintf("refused (%d %s)", res$status_code, out$error))
    sprintf("OK: a downstream token, expires in %d s", out$expires_in)
  })
  output$obo <- renderText(obo())
}

shinyApp(ui, server)
