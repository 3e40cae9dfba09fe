/* The HTTPS service: one listener (http.port) on the server's libuv loop,
 * serving the pages the server registers as routes (invite pages, web
 * registration, the policy).
 *
 * libwebsockets does TLS (each domain's certificate, chosen by SNI),
 * HTTP/1.1 parsing and keep-alive; it is used in http.c only, so the rest
 * of the server never sees an lws type (../shared/STACK-NOTES.md: the
 * piece most likely to change under us).
 *
 * A request reaches its route's handler once its headers, and for a POST
 * its whole body, have arrived. The handler answers it exactly once with
 * http_respond, at once or later (after a store commit): the request
 * stays valid until then. If the client went away meanwhile, the answer
 * is dropped. Every answer carries the security headers (HSTS, CSP,
 * no-referrer, nosniff, frame denial).
 *
 * Limits: request line and headers at most HTTP_MAX_HEADER bytes, a body
 * at most the route's body_max (413 beyond), http.request_timeout for the
 * TLS handshake, headers and body, http.keepalive_timeout idle,
 * http.max_connections open at once.
 *
 * Threads: loop thread only.
 */
#ifndef TAUBE_HTTP_H
#define TAUBE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct server;
struct http;
struct http_request;

#define HTTP_MAX_HEADER 4096
#define HTTP_MAX_PATH 512

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST };

typedef void (*http_handler)(struct http_request *req, void *ud);

struct http_route {
    const char *prefix; /* "/policy" matches "/policy" and "/policy/..." */
    bool post;          /* accepts POST (with a body of at most body_max) */
    size_t body_max;
    http_handler handle;
    void *ud;
};

/* Starts the listener on every address of network.listen at http.port
 * with the routes given (copied; at most HTTP_MAX_ROUTES). 0, or -errno
 * with *err (malloc'ed, one line). */
#define HTTP_MAX_ROUTES 16
int http_start(struct http **out, struct server *srv, const struct http_route *routes,
               size_t nroutes, char **err);
/* Stops listening and closes every connection; requests still waiting
 * for their answer are answered into the void later. Runs the loop's
 * part of libwebsockets' shutdown; call before the loop's final run. */
void http_stop(struct http *h);
/* After the loop has run out: frees what is left. */
void http_free(struct http *h);

/* ---- The request, for handlers ---- */
enum http_method http_method(const struct http_request *r);
/* The path, without the query ("/invite/abc"). */
const char *http_path(const struct http_request *r);
/* The value of name in the query string, decoded, into out (see
 * html_form_value): its length or a negative errno. */
int http_query(const struct http_request *r, const char *name, char *out, size_t n);
/* A request header by lower-case name ("accept-language"), or NULL. Only
 * the headers the pages use are kept: accept-language, host, user-agent,
 * content-type. */
const char *http_header(const struct http_request *r, const char *name);
/* The body of a POST (NULL, 0 for others). */
const char *http_body(const struct http_request *r, size_t *len);
/* The client's address (for rate limits; never logged at warn). */
const char *http_peer(const struct http_request *r);
/* The domain the request is for: the Host header's name if it is one of
 * server.domains, else the first domain. */
const char *http_domain(const struct http_request *r);
struct server *http_server(const struct http_request *r);

/* Answers r with status, a content type and body (copied); extra: further
 * header lines "Name: value\r\n..." or NULL. For HEAD the body is left
 * out. Frees r: it must not be used afterwards. */
void http_respond(struct http_request *r, int status, const char *content_type, const char *body,
                  size_t len, const char *extra);
/* A redirect (303 See Other) to location. */
void http_redirect(struct http_request *r, const char *location);

#endif
