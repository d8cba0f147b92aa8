package main

import (
	"strings"
)

// The request headers of every row: what a Chromium browser sends on a same-origin navigation
// behind a TLS load balancer (14 headers besides Cookie; the load generator adds X-Request-Id,
// different on every request, as the 14th), or what an API client sends with a bearer token.
// Every browser row carries two unrelated cookies before its session cookies, as sites do.

const otherCookies = "_ga=GA1.1.1873459211.1733212800; theme=dark"

// browserHead is a navigation to path at host, with cookie (the session's cookies; empty
// when the session cookie varies per request and Vary adds it).
func browserHead(host, path, cookie string) []byte {
	h := []string{
		"GET " + path + " HTTP/1.1",
		"Host: " + host,
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
		"Accept-Encoding: gzip, deflate, br, zstd",
		"Accept-Language: en-GB,en;q=0.9,de;q=0.8",
		`Sec-Ch-Ua: "Chromium";v="131", "Not_A Brand";v="24"`,
		"Sec-Ch-Ua-Mobile: ?0",
		`Sec-Ch-Ua-Platform: "Linux"`,
		"Sec-Fetch-Dest: document",
		"Sec-Fetch-Mode: navigate",
		"Sec-Fetch-Site: same-origin",
		"Upgrade-Insecure-Requests: 1",
		"X-Forwarded-For: 203.0.113.7",
	}
	if cookie != "" {
		h = append(h, "Cookie: "+otherCookies+"; "+cookie)
	}
	return []byte(strings.Join(h, "\r\n") + "\r\n")
}

// apiHead is an API call to path at host with token (empty when Vary adds the Authorization
// header).
func apiHead(host, path, token string) []byte {
	h := []string{
		"GET " + path + " HTTP/1.1",
		"Host: " + host,
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Accept: application/json",
		"Accept-Encoding: gzip, deflate, br, zstd",
		"Accept-Language: en-GB,en;q=0.9,de;q=0.8",
		`Sec-Ch-Ua: "Chromium";v="131", "Not_A Brand";v="24"`,
		"Sec-Ch-Ua-Mobile: ?0",
		`Sec-Ch-Ua-Platform: "Linux"`,
		"Sec-Fetch-Dest: empty",
		"Sec-Fetch-Mode: cors",
		"Sec-Fetch-Site: same-origin",
		"Origin: https://apps.example.com",
		"X-Forwarded-For: 203.0.113.7",
	}
	if token != "" {
		h = append(h, "Authorization: Bearer "+token)
	}
	return []byte(strings.Join(h, "\r\n") + "\r\n")
}

// varyCookie adds list[i]'s session cookies (after the unrelated ones).
func varyCookie(list []string) func([]byte, int) []byte {
	return func(b []byte, i int) []byte {
		b = append(b, "Cookie: "+otherCookies+"; "...)
		b = append(b, list[i]...)
		return append(b, "\r\n"...)
	}
}

// varyToken adds list[i] as the bearer token.
func varyToken(list []string) func([]byte, int) []byte {
	return func(b []byte, i int) []byte {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, list[i]...)
		return append(b, "\r\n"...)
	}
}
