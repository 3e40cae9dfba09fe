/* The HTTPS service on libwebsockets (http.h).
 *
 * One lws context on the server's loop (a foreign libuv loop), one vhost
 * per served domain and listen address, all on http.port: lws shares the
 * listening socket between the vhosts of one address and picks the vhost,
 * and so the certificate, by the name the client sent (SNI).
 *
 * Each connection's lws user space is a struct http_conn; the request in
 * progress is a struct http_request of its own, so that a handler that
 * answers later (after a store commit) keeps a valid request even if the
 * client has gone meanwhile (then req->wsi is NULL and the answer is
 * dropped).
 *
 * The answer is built into one buffer, [LWS_PRE][headers][body], and
 * written from the writeable callback in pieces of HTTP_WRITE_CHUNK: lws
 * may write its framing into the bytes before each piece, which are
 * already sent.
 */
#include <uv.h> /* before libwebsockets.h (STACK-NOTES) */

#include <libwebsockets.h>

#include "http/http.h"

#define IDN2_SKIP_LIBIDN_COMPAT
#include <errno.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/log.h"
#include "core/server.h"
#include "http/html.h"

#define HTTP_WRITE_CHUNK 16384
#define HTTP_HEADER_ROOM 2048 /* status line and headers of an answer */
#define HTTP_HEADER_VALUE 256 /* longest kept request header value */
#define HTTP_MAX_VHOSTS 64

struct http {
    struct server *srv;
    struct lws_context *ctx;
    struct http_route routes[HTTP_MAX_ROUTES];
    size_t nroutes;
    unsigned conns, max_conns;
    bool stopped;
    /* The security headers every answer carries, lws' "canned" vhost
     * headers (added by lws_add_http_header_status, so its own error
     * answers carry them too). */
    struct lws_protocol_vhost_options headers[5];
    char *names[HTTP_MAX_VHOSTS]; /* the vhosts' names (lws keeps the pointers) */
    size_t nnames;
    struct lws_vhost *vhosts[HTTP_MAX_VHOSTS]; /* in creation order */
    size_t nvhosts;
};

struct http_request {
    struct http *h;
    struct lws *wsi; /* NULL once the client has gone */
    const struct http_route *route;
    enum http_method method;
    char path[HTTP_MAX_PATH + 1];
    char query[HTTP_MAX_PATH + 1];
    char accept_language[HTTP_HEADER_VALUE], host[HTTP_HEADER_VALUE], user_agent[HTTP_HEADER_VALUE],
        content_type[HTTP_HEADER_VALUE];
    char peer[64];
    struct buf body;
    bool body_too_big;
    bool answered;   /* out holds the answer */
    struct buf out;  /* [LWS_PRE][headers][body] */
    size_t sent;     /* bytes of out written, from LWS_PRE on */
    size_t head_end; /* offset in out where the body starts */
    bool close_after;
};

struct http_conn {
    struct http_request *req;
};

static struct http *http_of(struct lws *wsi) { return lws_context_user(lws_get_context(wsi)); }

/* ---- Requests ---- */

static void request_free(struct http_request *r)
{
    buf_free(&r->body);
    buf_free(&r->out);
    free(r);
}

static void copy_header(struct lws *wsi, enum lws_token_indexes t, char *out, size_t n)
{
    if (lws_hdr_copy(wsi, out, (int)n, t) < 0)
        out[0] = '\0'; /* absent or too long: as if absent */
}

static const struct http_route *route_for(const struct http *h, const char *path)
{
    const struct http_route *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < h->nroutes; i++) {
        const char *p = h->routes[i].prefix;
        size_t pl = strlen(p);
        if (strncmp(path, p, pl) != 0 || (path[pl] != '\0' && path[pl] != '/' && p[pl - 1] != '/'))
            continue;
        if (!best || pl > best_len)
            best = &h->routes[i], best_len = pl;
    }
    return best;
}

static void join_query(struct lws *wsi, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0;; i++) {
        char frag[HTTP_MAX_PATH + 1];
        int fl = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (fl <= 0)
            return;
        if (len + (size_t)fl + 2 > n)
            return; /* too long: the rest is ignored */
        if (len)
            out[len++] = '&';
        memcpy(out + len, frag, (size_t)fl);
        len += (size_t)fl;
        out[len] = '\0';
    }
}

/* ---- Answers ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

/* Builds the answer's headers into r->out with lws (it knows the
 * protocol version and adds the canned headers). 0 or -1. */
static int build_head(struct http_request *r, int status, const char *ctype, size_t len,
                      const char *extra)
{
    if (buf_reserve(&r->out, LWS_PRE + HTTP_HEADER_ROOM + (extra ? strlen(extra) : 0)) < 0)
        return -1;
    unsigned char *start = (unsigned char *)r->out.data + LWS_PRE, *p = start,
                  *end = (unsigned char *)r->out.data + r->out.cap - 1;
    struct lws *wsi = r->wsi;
    if (lws_add_http_header_status(wsi, (unsigned)status, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, (const unsigned char *)ctype,
                                     (int)strlen(ctype), &p, end) ||
        lws_add_http_header_content_length(wsi, len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (r->close_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                       (const unsigned char *)"close", 5, &p, end))
        return -1;
    /* extra: "Name: value\r\n" lines */
    for (const char *e = extra; e && *e;) {
        const char *colon = strchr(e, ':'), *eol = strstr(e, "\r\n");
        if (!colon || !eol || colon > eol)
            return -1;
        char name[64];
        size_t nl = (size_t)(colon - e) + 1;
        if (nl >= sizeof name)
            return -1;
        memcpy(name, e, nl);
        name[nl] = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)v,
                                        (int)(eol - v), &p, end))
            return -1;
        e = eol + 2;
    }
    if (lws_finalize_http_header(wsi, &p, end))
        return -1;
    r->out.len = (size_t)(p - (unsigned char *)r->out.data);
    r->head_end = r->out.len;
    return 0;
}

void http_respond(struct http_request *r, int status, const char *ctype, const char *body,
                  size_t len, const char *extra)
{
    if (!r->wsi || r->answered) { /* the client went away while it was handled */
        if (!r->answered)
            request_free(r);
        return;
    }
    buf_reset(&r->out);
    if (build_head(r, status, ctype, len, extra) < 0 ||
        (r->method != HTTP_HEAD && buf_append(&r->out, body, len) < 0)) {
        log_warn("http: cannot build an answer (%d): closing the connection", status);
        r->close_after = true;
        buf_reset(&r->out);
        r->head_end = 0;
    }
    r->answered = true;
    r->sent = LWS_PRE;
    lws_callback_on_writable(r->wsi);
}

void http_redirect(struct http_request *r, const char *location)
{
    struct buf extra;
    buf_init(&extra, 0);
    if (buf_printf(&extra, "Location: %s\r\n", location) < 0) {
        buf_free(&extra);
        http_respond(r, 500, "text/plain; charset=utf-8", "", 0, NULL);
        return;
    }
    http_respond(r, 303, "text/plain; charset=utf-8", "", 0, extra.data);
    buf_free(&extra);
}

/* A short page of our own for the errors the wrapper answers itself. */
static void respond_error(struct http_request *r, int status)
{
    char body[160];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    if (status == 413 || status == 400)
        r->close_after = true;
    http_respond(r, status, "text/plain; charset=utf-8", body, (size_t)n, NULL);
}

/* From the writeable callback: the next piece. 0 to go on, -1 to close. */
static int write_some(struct http_conn *c, struct lws *wsi)
{
    struct http_request *r = c->req;
    if (!r || !r->answered)
        return 0;
    if (r->head_end == 0) /* the answer could not be built */
        return -1;
    unsigned char *base = (unsigned char *)r->out.data;
    if (r->sent < r->head_end) {
        size_t n = r->head_end - r->sent;
        if (lws_write(wsi, base + r->sent, n, LWS_WRITE_HTTP_HEADERS) != (int)n)
            return -1;
        r->sent = r->head_end;
    }
    size_t left = r->out.len - r->sent;
    if (left > 0) {
        size_t n = left > HTTP_WRITE_CHUNK ? HTTP_WRITE_CHUNK : left;
        bool last = n == left;
        if (lws_write(wsi, base + r->sent, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            (int)n)
            return -1;
        r->sent += n;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    bool close = r->close_after;
    c->req = NULL;
    request_free(r);
    if (close || lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

/* ---- Callbacks ---- */

static void begin_request(struct http *h, struct http_conn *c, struct lws *wsi, const char *in)
{
    struct http_request *r = calloc(1, sizeof *r);
    if (!r) {
        lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    r->h = h;
    r->wsi = wsi;
    buf_init(&r->body, 0);
    buf_init(&r->out, 0);
    c->req = r;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        r->method = HTTP_GET;
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
        r->method = HTTP_HEAD;
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        r->method = HTTP_POST;
    else
        return respond_error(r, 405);
    size_t pl = strlen(in);
    if (pl > HTTP_MAX_PATH)
        return respond_error(r, 414);
    memcpy(r->path, in, pl + 1);
    if (!html_utf8_valid(r->path, pl))
        return respond_error(r, 400);
    join_query(wsi, r->query, sizeof r->query);
    copy_header(wsi, WSI_TOKEN_HTTP_ACCEPT_LANGUAGE, r->accept_language, sizeof r->accept_language);
    copy_header(wsi, WSI_TOKEN_HOST, r->host, sizeof r->host);
    copy_header(wsi, WSI_TOKEN_HTTP_USER_AGENT, r->user_agent, sizeof r->user_agent);
    copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, r->content_type, sizeof r->content_type);
    lws_get_peer_simple(wsi, r->peer, sizeof r->peer);

    r->route = route_for(h, r->path);
    if (!r->route)
        return respond_error(r, 404);
    if (r->method != HTTP_POST)
        return r->route->handle(r, r->route->ud);
    if (!r->route->post)
        return respond_error(r, 405);
    char cl[32];
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return respond_error(r, 411);
    char *endp;
    errno = 0;
    unsigned long long want = strtoull(cl, &endp, 10);
    if (errno || *endp || endp == cl)
        return respond_error(r, 400);
    if (want > r->route->body_max)
        return respond_error(r, 413);
    if (want == 0)
        return r->route->handle(r, r->route->ud);
    /* The body follows in LWS_CALLBACK_HTTP_BODY, within the time-out. */
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                    (int)(h->srv->cfg->http_request_timeout_ms / 1000));
}

static int on_body(struct http_conn *c, const void *in, size_t len)
{
    struct http_request *r = c->req;
    if (!r || r->answered || r->method != HTTP_POST)
        return 0;
    if (r->body.len + len > r->route->body_max) {
        r->body_too_big = true;
        return 0;
    }
    return buf_append(&r->body, in, len) < 0 ? -1 : 0;
}

static void on_body_done(struct http_conn *c, struct lws *wsi)
{
    struct http_request *r = c->req;
    if (!r || r->answered)
        return;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    if (r->body_too_big)
        return respond_error(r, 413);
    r->route->handle(r, r->route->ud);
}

/* The connection ends: a request still with its handler is left to it. */
static void conn_closed(struct http_conn *c)
{
    struct http_request *r = c ? c->req : NULL;
    if (!r)
        return;
    c->req = NULL;
    if (r->answered)
        request_free(r);
    else
        r->wsi = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct http_conn *c = user;
    struct http *h;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        h = http_of(wsi);
        if (h->stopped || h->conns >= h->max_conns) {
            log_debug("http: %u connections open: refusing another", h->conns);
            return 1;
        }
        return 0;
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        h = http_of(wsi);
        h->conns++;
        lws_set_opaque_user_data(wsi, h); /* counted */
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        h = http_of(wsi);
        if (h && lws_get_opaque_user_data(wsi) == h && h->conns > 0)
            h->conns--;
        return 0;
    case LWS_CALLBACK_HTTP:
        if (c->req) /* lws serialises requests; one more is a protocol error */
            return -1;
        begin_request(http_of(wsi), c, wsi, in);
        return 0;
    case LWS_CALLBACK_HTTP_BODY: return on_body(c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: on_body_done(c, wsi); return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: return write_some(c, wsi);
    case LWS_CALLBACK_CLOSED_HTTP: conn_closed(c); return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: return -1; /* no WebSocket yet */
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {.name = "http", .callback = callback, .per_session_data_size = sizeof(struct http_conn)},
    {0},
};

/* lws' own messages may name addresses: debug only (promise P14). */
static void lws_log(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    log_debug("http: lws: %.*s", (int)n, line);
}

/* ---- Start and stop ---- */

static void set_headers(struct http *h)
{
    static const char *const hv[][2] = {
        {"strict-transport-security:", "max-age=31536000"},
        {"content-security-policy:",
         "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
         "frame-ancestors 'none'; base-uri 'none'"},
        {"referrer-policy:", "no-referrer"},
        {"x-content-type-options:", "nosniff"},
        {"x-frame-options:", "DENY"},
    };
    size_t n = sizeof hv / sizeof hv[0];
    for (size_t i = 0; i < n; i++) {
        h->headers[i].name = hv[i][0];
        h->headers[i].value = hv[i][1];
        h->headers[i].next = i + 1 < n ? &h->headers[i + 1] : NULL;
    }
}

static int add_vhost(struct http *h, const char *domain, const char *iface, char **err)
{
    const struct config *cfg = h->srv->cfg;
    char crt[4200], key[4200];
    snprintf(crt, sizeof crt, "%s/%s.crt", cfg->certs_dir, domain);
    snprintf(key, sizeof key, "%s/%s.key", cfg->certs_dir, domain);
    /* lws matches the name a client sent by SNI, an A-label, against the
     * vhost's name. */
    char *ascii = NULL;
    if (idn2_to_ascii_8z(domain, &ascii, IDN2_NONTRANSITIONAL) != IDN2_OK || !ascii) {
        if (asprintf(err, "the domain %s has no ASCII form for SNI", domain) < 0)
            *err = NULL;
        return -EINVAL;
    }
    struct lws_context_creation_info vi = {0};
    vi.port = cfg->https_port;
    vi.iface = iface;
    vi.vhost_name = ascii;
    vi.protocols = protocols;
    vi.headers = h->headers;
    vi.ssl_cert_filepath = crt;
    vi.ssl_private_key_filepath = key;
    vi.ssl_cipher_list = cfg->tls_ciphers;
    vi.tls1_3_plus_cipher_list = cfg->tls_ciphersuites;
    vi.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                         SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
    vi.alpn = "http/1.1"; /* STACK-NOTES: lws' HTTP/2 ignores flow control */
    vi.keepalive_timeout = (int)(cfg->http_keepalive_timeout_ms / 1000);
    vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    /* Like the XMPP listeners: an IPv4 address on an IPv4 socket, an IPv6
     * one IPv6-only, so "0.0.0.0" and "::" can both be bound. */
    if (strchr(iface, ':'))
        vi.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
    else
        vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    h->names[h->nnames++] = ascii; /* freed in http_free */
    struct lws_vhost *vh = lws_create_vhost(h->ctx, &vi);
    if (vh)
        h->vhosts[h->nvhosts++] = vh;
    else {
        if (asprintf(err,
                     "cannot listen for HTTPS on port %d (%s) for %s: is the port in use, "
                     "or the certificate %s unreadable?",
                     cfg->https_port, iface, domain, crt) < 0)
            *err = NULL;
        return -EADDRINUSE;
    }
    return 0;
}

int http_start(struct http **out, struct server *srv, const struct http_route *routes,
               size_t nroutes, char **err)
{
    const struct config *cfg = srv->cfg;
    *out = NULL;
    *err = NULL;
    if (nroutes > HTTP_MAX_ROUTES)
        return -E2BIG;
    struct http *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->srv = srv;
    memcpy(h->routes, routes, nroutes * sizeof *routes);
    h->nroutes = nroutes;
    h->max_conns = cfg->http_max_connections;
    set_headers(h);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);

    void *loops[1] = {srv->loop};
    struct lws_context_creation_info ci = {0};
    ci.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                 LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    ci.foreign_loops = loops;
    ci.user = h;
    ci.protocols = protocols;
    ci.timeout_secs = cfg->http_request_timeout_ms / 1000;
    ci.timeout_secs_ah_idle = cfg->http_request_timeout_ms / 1000;
    ci.max_http_header_data = HTTP_MAX_HEADER;
    ci.pt_serv_buf_size = HTTP_WRITE_CHUNK;
    ci.gid = -1;
    ci.uid = -1;
    h->ctx = lws_create_context(&ci);
    if (!h->ctx) {
        free(h);
        *err = strdup("cannot start the HTTPS service (is the package libwebsockets-evlib-uv "
                      "installed?)");
        return -ENOMEM;
    }
    *out = h;
    size_t nv = 0;
    for (size_t i = 0; i < cfg->listen.n; i++)
        for (size_t d = 0; d < cfg->domains.n; d++) {
            if (++nv > HTTP_MAX_VHOSTS)
                return asprintf(err, "too many HTTPS vhosts (domains x addresses > %d)",
                                HTTP_MAX_VHOSTS) < 0
                           ? -ENOMEM
                           : -E2BIG;
            int r = add_vhost(h, cfg->domains.items[d], cfg->listen.items[i], err);
            if (r < 0)
                return r;
        }
    return 0;
}

void http_stop(struct http *h)
{
    if (!h || h->stopped)
        return;
    h->stopped = true;
    /* A closing vhost that owns a listening socket hands it on to an open
     * vhost of the same port; lws 4.1.6's context destroy then fails an
     * assertion when several vhosts share the socket (seen with two
     * domains). Destroying the sharers first (the reverse of creation),
     * then the owner, leaves nothing to hand on. */
    for (size_t i = h->nvhosts; i-- > 0;)
        lws_vhost_destroy(h->vhosts[i]);
    /* The first of lws' two destroy calls on a foreign loop: it closes its
     * handles; the loop runs their close callbacks (STACK-NOTES). */
    lws_context_destroy(h->ctx);
}

void http_free(struct http *h)
{
    if (!h)
        return;
    http_stop(h);
    /* If the server did not run out its loop after http_stop (a failed
     * start), lws' closing handles get their callbacks now: the second
     * destroy unloads lws' libuv plugin, and a callback left for later
     * would jump into unmapped code. */
    for (int i = 0; i < 8; i++)
        uv_run(h->srv->loop, UV_RUN_NOWAIT);
    lws_context_destroy(h->ctx);
    uv_run(h->srv->loop, UV_RUN_NOWAIT);
    for (size_t i = 0; i < h->nnames; i++)
        idn2_free(h->names[i]);
    free(h);
}

/* ---- Accessors ---- */

enum http_method http_method(const struct http_request *r) { return r->method; }
const char *http_path(const struct http_request *r) { return r->path; }
const char *http_peer(const struct http_request *r) { return r->peer; }
struct server *http_server(const struct http_request *r) { return r->h->srv; }

int http_query(const struct http_request *r, const char *name, char *out, size_t n)
{
    return html_form_value(r->query, strlen(r->query), name, out, n);
}

const char *http_header(const struct http_request *r, const char *name)
{
    const char *v = NULL;
    if (strcmp(name, "accept-language") == 0)
        v = r->accept_language;
    else if (strcmp(name, "host") == 0)
        v = r->host;
    else if (strcmp(name, "user-agent") == 0)
        v = r->user_agent;
    else if (strcmp(name, "content-type") == 0)
        v = r->content_type;
    return v && v[0] ? v : NULL;
}

const char *http_body(const struct http_request *r, size_t *len)
{
    *len = r->body.len;
    return r->body.len ? r->body.data : NULL;
}

const char *http_domain(const struct http_request *r)
{
    const struct config *cfg = r->h->srv->cfg;
    size_t hl = strcspn(r->host, ":");
    if (r->host[0] == '[') /* an IPv6 literal: no domain */
        hl = 0;
    for (size_t i = 0; hl && i < cfg->domains.n; i++)
        if (strlen(cfg->domains.items[i]) == hl &&
            strncasecmp(cfg->domains.items[i], r->host, hl) == 0)
            return cfg->domains.items[i];
    return cfg->domains.items[0];
}
