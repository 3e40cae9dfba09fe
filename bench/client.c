/* One load-generator connection: a small XMPP client state machine.
 *
 * TCP via libuv; TLS through a memory-BIO pair (the socket side is ours), so
 * thousands of connections share one loop. The XML handling is deliberately
 * minimal: the server's stream is cut into top-level elements by counting
 * tags (quote-aware), and each complete element is inspected with string
 * searches. Enough for the replies a server sends to this client; not a
 * general XML parser.
 */
#include "loadgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_ROSTER "jabber:iq:roster"
#define IN_MAX (1024 * 1024) /* one unparsed element may not exceed this */

enum item { IT_INCOMPLETE, IT_SKIP, IT_STREAM_OPEN, IT_STREAM_CLOSE, IT_ELEMENT };
enum { H_OK = 0, H_RESTART = 1 }; /* H_RESTART: drop what follows in the buffer */

struct wreq {
    uv_write_t req;
    char data[];
};

static void on_close(uv_handle_t *h);

/* Every state change goes through here: it also adds up the time spent in
 * each login step, to show where a login's time goes (loadgen -v). */
static void enter_state(struct client *c, enum client_state st)
{
    uint64_t now = lg_now_ns();
    if (c->t_state) {
        c->lg->state_ns[c->st] += now - c->t_state;
        c->lg->state_n[c->st]++;
    }
    c->t_state = now;
    c->st = st;
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status)
{
    (void)status; /* a broken socket shows up as a read error */
    free(req);
}

static int write_raw(struct client *c, const void *p, size_t n)
{
    struct wreq *w = malloc(sizeof *w + n);
    if (!w)
        return -ENOMEM;
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r < 0)
        free(w);
    return r;
}

/* Moves what TLS produced to the socket. */
static int flush_tls(struct client *c)
{
    size_t n = BIO_ctrl_pending(c->net_out);
    if (n == 0)
        return 0;
    struct wreq *w = malloc(sizeof *w + n);
    if (!w)
        return -ENOMEM;
    int got = BIO_read(c->net_out, w->data, (int)n);
    if (got <= 0) {
        free(w);
        return -EIO;
    }
    uv_buf_t b = uv_buf_init(w->data, (unsigned)got);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r < 0)
        free(w);
    return r;
}

int client_send(struct client *c, const char *xml, size_t n)
{
    if (!c->ssl)
        return write_raw(c, xml, n);
    if (n > INT32_MAX || SSL_write(c->ssl, xml, (int)n) != (int)n)
        return -EIO; /* memory BIO: a write never blocks */
    return flush_tls(c);
}

static int send_str(struct client *c, const char *s) { return client_send(c, s, strlen(s)); }

size_t client_write_queue(const struct client *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

static int send_stream_header(struct client *c)
{
    char hdr[320];
    int n = snprintf(hdr, sizeof hdr,
                     "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
                     "version='1.0' xml:lang='en'>",
                     c->lg->o->domain);
    if (n < 0 || (size_t)n >= sizeof hdr)
        return -ENOSPC;
    return client_send(c, hdr, (size_t)n);
}

/* ---- closing ---- */

static void client_fail(struct client *c, const char *what)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->st != C_CLOSING) {
        c->failed = true;
        lg_error(c->lg, c, what);
    }
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    struct client *c = req->data;
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_close);
}

void client_close(struct client *c)
{
    if (c->st == C_CLOSING || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    bool stream_open = c->st != C_CONNECTING;
    enter_state(c, C_CLOSING);
    if (stream_open)
        send_str(c, "</stream:stream>");
    c->shut.data = c;
    /* shutdown after the queued writes, so the closing tag is not lost */
    if (!stream_open || uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_close(uv_handle_t *h)
{
    struct client *c = h->data;
    SSL_free(c->ssl); /* frees both BIOs */
    c->ssl = NULL;
    free(c->in);
    c->in = NULL;
    free(c->scram);
    c->scram = NULL;
    lg_client_closed(c->lg, c);
}

/* ---- scanning the server's stream ---- */

/* Index of the '>' that ends the tag starting at p[0] == '<', or 0. */
static size_t tag_end(const char *p, size_t n)
{
    char q = 0;
    for (size_t i = 1; i < n; i++) {
        if (q) {
            if (p[i] == q)
                q = 0;
        } else if (p[i] == '\'' || p[i] == '"') {
            q = p[i];
        } else if (p[i] == '>') {
            return i;
        }
    }
    return 0;
}

static bool starts(const char *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

/* Length of the complete element at p, 0 while incomplete, -1 malformed. */
static long element_len(const char *p, size_t n)
{
    size_t i = 0;
    long depth = 0;
    for (;;) {
        size_t e = tag_end(p + i, n - i);
        if (e == 0)
            return 0;
        if (p[i + 1] == '/')
            depth--;
        else if (p[i + 1] != '!' && p[i + 1] != '?' && p[i + e - 1] != '/')
            depth++;
        i += e + 1;
        if (depth <= 0)
            return depth == 0 ? (long)i : -1;
        const char *lt = memchr(p + i, '<', n - i);
        if (!lt)
            return 0;
        i = (size_t)(lt - p);
    }
}

/* Classifies the next item at p and sets *len. -1: malformed. */
static int scan_item(const char *p, size_t n, size_t *len)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    *len = i;
    if (i > 0)
        return IT_SKIP; /* whitespace keepalive */
    if (n < 2)
        return IT_INCOMPLETE;
    if (p[0] != '<')
        return -1;
    if (p[1] == '?' || starts(p, n, "<stream:stream") || starts(p, n, "</stream:stream")) {
        size_t e = tag_end(p, n);
        if (e == 0)
            return IT_INCOMPLETE;
        *len = e + 1;
        if (p[1] == '?')
            return IT_SKIP;
        return p[1] == '/' ? IT_STREAM_CLOSE : IT_STREAM_OPEN;
    }
    long el = element_len(p, n);
    if (el < 0)
        return -1;
    *len = (size_t)el;
    return el == 0 ? IT_INCOMPLETE : IT_ELEMENT;
}

/* ---- reading elements (e is NUL terminated) ---- */

static bool is_elem(const char *e, const char *name)
{
    size_t k = strlen(name);
    return e[0] == '<' && strncmp(e + 1, name, k) == 0 && strchr(" \t\r\n/>", e[1 + k]);
}

/* Copies the value of attribute `name` of e's start tag into out. */
static bool attr(const char *e, const char *name, char *out, size_t outsz)
{
    size_t end = tag_end(e, strlen(e)), k = strlen(name);
    for (size_t i = 1; i + k + 2 < end; i++) {
        if (!strchr(" \t\r\n", e[i]) || strncmp(e + i + 1, name, k) != 0 || e[i + 1 + k] != '=')
            continue;
        char q = e[i + k + 2];
        const char *v = e + i + k + 3, *close = strchr(v, q);
        if ((q != '\'' && q != '"') || !close || (size_t)(close - v) >= outsz)
            return false;
        memcpy(out, v, (size_t)(close - v));
        out[close - v] = '\0';
        return true;
    }
    return false;
}

/* The text content of the first child or the element itself named `name`
 * (NULL: e itself): points into e, *n bytes. */
static const char *text_of(const char *e, const char *name, size_t *n)
{
    const char *p = e;
    if (name) {
        char open[32];
        snprintf(open, sizeof open, "<%s", name);
        for (p = strstr(e + 1, open); p && !strchr(" \t\r\n/>", p[strlen(open)]);)
            p = strstr(p + 1, open);
        if (!p)
            return NULL;
    }
    size_t te = tag_end(p, strlen(p));
    if (te == 0 || p[te - 1] == '/') {
        *n = 0;
        return p + te + 1;
    }
    const char *t = p + te + 1, *lt = strchr(t, '<');
    *n = lt ? (size_t)(lt - t) : 0;
    return t;
}

/* ---- the login steps ---- */

static int start_tls(struct client *c)
{
    c->ssl = SSL_new(c->lg->ctx);
    c->net_in = BIO_new(BIO_s_mem());
    c->net_out = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->net_in || !c->net_out) {
        BIO_free(c->net_in);
        BIO_free(c->net_out);
        return -ENOMEM;
    }
    SSL_set_bio(c->ssl, c->net_in, c->net_out);
    SSL_set_connect_state(c->ssl);
    SSL_set_tlsext_host_name(c->ssl, c->lg->o->domain);
    enter_state(c, C_HANDSHAKE);
    return 0;
}

/* Advances the handshake; starts the encrypted stream once it is done. */
static int tls_step(struct client *c)
{
    int r = SSL_do_handshake(c->ssl);
    int fr = flush_tls(c);
    if (fr < 0)
        return fr;
    if (r == 1) {
        enter_state(c, C_FEAT_TLS);
        return send_stream_header(c);
    }
    return SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ ? 0 : -EPROTO;
}

static int send_auth(struct client *c, const char *features)
{
    const EVP_MD *md;
    const char *mech;
    if (strstr(features, ">SCRAM-SHA-256<")) {
        md = EVP_sha256(), mech = "SCRAM-SHA-256";
    } else if (strstr(features, ">SCRAM-SHA-1<")) {
        md = EVP_sha1(), mech = "SCRAM-SHA-1";
    } else {
        return -EPROTONOSUPPORT;
    }
    char user[64], first[200], first64[300], xml[480];
    c->scram = calloc(1, sizeof *c->scram);
    if (!c->scram)
        return -ENOMEM;
    lg_user_name(c->lg, c->user, user, sizeof user);
    int n = scram_client_first(c->scram, md, user, first, sizeof first);
    if (n < 0 || b64_encode(first, (size_t)n, first64, sizeof first64) < 0)
        return -ENOSPC;
    snprintf(xml, sizeof xml, "<auth xmlns='" NS_SASL "' mechanism='%s'>%s</auth>", mech, first64);
    enter_state(c, C_SASL_CHAL);
    return send_str(c, xml);
}

static int on_challenge(struct client *c, const char *e)
{
    size_t n = 0;
    const char *t = text_of(e, NULL, &n);
    unsigned char sf[512];
    char final[400], final64[600], xml[700];
    int sl = t ? b64_decode(t, n, sf, sizeof sf - 1) : -EINVAL;
    if (sl <= 0)
        return -EPROTO;
    int fl = scram_client_final(c->scram, c->lg->cache, c->lg->o->password, (char *)sf, (size_t)sl,
                                final, sizeof final);
    if (fl < 0 || b64_encode(final, (size_t)fl, final64, sizeof final64) < 0)
        return -EPROTO;
    snprintf(xml, sizeof xml, "<response xmlns='" NS_SASL "'>%s</response>", final64);
    enter_state(c, C_SASL_OK);
    return send_str(c, xml);
}

static int on_success(struct client *c, const char *e)
{
    size_t n = 0;
    const char *t = text_of(e, NULL, &n);
    unsigned char sf[128];
    int sl = t ? b64_decode(t, n, sf, sizeof sf) : -EINVAL;
    if (sl <= 0 || scram_check_server_final(c->scram, (char *)sf, (size_t)sl) < 0)
        return -EPROTO;
    free(c->scram);
    c->scram = NULL;
    enter_state(c, C_FEAT_AUTH);
    int r = send_stream_header(c);
    return r < 0 ? r : H_RESTART;
}

static int send_bind(struct client *c)
{
    char xml[256];
    snprintf(xml, sizeof xml,
             "<iq type='set' id='bind1'><bind xmlns='" NS_BIND "'><resource>lg%u</resource>"
             "</bind></iq>",
             c->slot);
    enter_state(c, C_BIND);
    return send_str(c, xml);
}

/* Bound: send initial presence, then a ping whose answer proves the server
 * has processed the presence too (stanzas on a stream are handled in order).
 * With o->roster the roster is requested first, as a client does before its
 * initial presence (RFC 6121 §2.2): the session becomes an "interested
 * resource" that gets roster pushes, and the presence then goes to the
 * contacts with probes for theirs. */
static int on_bound(struct client *c, const char *e)
{
    char type[16];
    size_t n = 0;
    const char *j = text_of(e, "jid", &n);
    if (!attr(e, "type", type, sizeof type) || strcmp(type, "result") || !j || n == 0 ||
        n >= sizeof c->jid)
        return -EPROTO;
    memcpy(c->jid, j, n);
    c->jid[n] = '\0';
    char xml[320];
    snprintf(xml, sizeof xml,
             "%s<presence/><iq type='get' id='ping1' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>",
             c->lg->o->roster ? "<iq type='get' id='roster1'><query xmlns='" NS_ROSTER "'/></iq>"
                              : "",
             c->lg->o->domain);
    enter_state(c, C_PING);
    c->t_presence = lg_now_ns();
    return send_str(c, xml);
}

/* Answers an iq get/set from the server: a ping, or a roster push (which a
 * client acknowledges, RFC 6121 §2.1.6); anything else is refused. */
static int answer_iq(struct client *c, const char *e)
{
    char type[8], id[64], from[128], to[160] = "", xml[512];
    if (!attr(e, "type", type, sizeof type) || (strcmp(type, "get") && strcmp(type, "set")) ||
        !attr(e, "id", id, sizeof id))
        return 0;
    if (attr(e, "from", from, sizeof from))
        snprintf(to, sizeof to, " to='%s'", from);
    if (strstr(e, "urn:xmpp:ping") || (!strcmp(type, "set") && strstr(e, NS_ROSTER)))
        snprintf(xml, sizeof xml, "<iq type='result' id='%s'%s/>", id, to);
    else
        snprintf(xml, sizeof xml,
                 "<iq type='error' id='%s'%s><error type='cancel'><service-unavailable "
                 "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
                 id, to);
    return send_str(c, xml);
}

/* Roster items in e whose subscription is 'both'. Every benchmark account
 * has at most its partner as a contact, so no JID is compared. */
static unsigned count_both(const char *e)
{
    unsigned n = 0;
    char sub[16];
    for (const char *p = strstr(e, "<item"); p; p = strstr(p + 1, "<item"))
        if (strchr(" \t\r\n/>", p[5]) && attr(p, "subscription", sub, sizeof sub) &&
            !strcmp(sub, "both"))
            n++;
    return n;
}

int client_subscribe(struct client *c, const char *bare)
{
    char xml[200];
    int n = snprintf(xml, sizeof xml, "<presence to='%s' type='subscribe'/>", bare);
    if (n < 0 || (size_t)n >= sizeof xml)
        return -ENOSPC;
    c->sub_sent = true;
    return client_send(c, xml, (size_t)n);
}

/* A subscription request is approved, and answered with our own request
 * unless we sent one already (RFC 6121 §3.1.4 and §3.1.1): both directions. */
static int on_presence(struct client *c, const char *e)
{
    char type[16], from[128], xml[400];
    c->lg->presences++;
    if (!attr(e, "type", type, sizeof type) || strcmp(type, "subscribe") ||
        !attr(e, "from", from, sizeof from))
        return 0;
    char *slash = strchr(from, '/');
    if (slash)
        *slash = '\0';
    snprintf(xml, sizeof xml, "<presence to='%s' type='subscribed'/>", from); /* fits */
    int r = send_str(c, xml);
    if (r < 0 || c->sub_sent)
        return r;
    return client_subscribe(c, from);
}

/* iq stanzas once bound: the login's ping answer, the roster result, roster
 * pushes, other results (reported), requests from the server. */
static int on_iq(struct client *c, const char *e)
{
    char id[16] = "", type[8] = "";
    attr(e, "id", id, sizeof id);
    attr(e, "type", type, sizeof type);
    if (c->st == C_PING && !strcmp(id, "ping1")) {
        enter_state(c, C_ONLINE);
        c->is_online = true;
        lg_client_online(c->lg, c);
        return 0;
    }
    if (!strcmp(type, "result")) {
        if (!strcmp(id, "roster1"))
            c->roster_both = count_both(e);
        else
            lg_client_iq_result(c->lg, c, id);
        return 0;
    }
    if (!strcmp(type, "set") && strstr(e, NS_ROSTER) && !c->sub_both && count_both(e) > 0) {
        c->sub_both = true;
        lg_client_subscribed(c->lg, c);
    }
    return answer_iq(c, e);
}

static int on_online_element(struct client *c, const char *e)
{
    char type[16];
    if (is_elem(e, "message")) {
        size_t n = 0;
        if (attr(e, "type", type, sizeof type) && !strcmp(type, "error")) {
            c->lg->bounced++;
            lg_error(c->lg, c, "a message bounced"); /* its sender stays stuck: visible */
            return 0;
        }
        const char *body = text_of(e, "body", &n);
        if (body)
            lg_client_message(c->lg, c, e, body, n);
        return 0;
    }
    if (is_elem(e, "presence"))
        return on_presence(c, e);
    return is_elem(e, "iq") ? on_iq(c, e) : 0;
}

static int on_element(struct client *c, const char *e)
{
    bool features = is_elem(e, "stream:features");
    if (is_elem(e, "stream:error"))
        return -ECONNRESET;
    switch (c->st) {
    case C_FEAT_PLAIN:
        if (!features)
            return 0;
        if (!strstr(e, NS_TLS))
            return -EPROTONOSUPPORT;
        enter_state(c, C_PROCEED);
        return send_str(c, "<starttls xmlns='" NS_TLS "'/>");
    case C_PROCEED:
        if (!is_elem(e, "proceed"))
            return -EPROTO;
        if (start_tls(c) < 0)
            return -ENOMEM;
        return tls_step(c) < 0 ? -EPROTO : H_RESTART; /* sends the ClientHello */
    case C_FEAT_TLS: return features ? send_auth(c, e) : 0;
    case C_SASL_CHAL: return is_elem(e, "challenge") ? on_challenge(c, e) : -EACCES;
    case C_SASL_OK: return is_elem(e, "success") ? on_success(c, e) : -EACCES;
    case C_FEAT_AUTH:
        if (!features)
            return 0;
        return strstr(e, NS_BIND) ? send_bind(c) : -EPROTONOSUPPORT;
    case C_BIND: return is_elem(e, "iq") ? on_bound(c, e) : 0;
    case C_PING:
    case C_ONLINE: return on_online_element(c, e);
    default: return 0;
    }
}

const char *client_state_name(enum client_state st)
{
    static const char *const names[] = {"connect",
                                        "stream features",
                                        "starttls",
                                        "TLS handshake",
                                        "features after TLS",
                                        "SASL auth",
                                        "SASL response",
                                        "features after SASL",
                                        "bind",
                                        "presence",
                                        "online",
                                        "closing"};
    return names[st];
}

/* Handles every complete item in c->in, then keeps the incomplete rest. */
static void process_input(struct client *c)
{
    size_t off = 0;
    while (off < c->in_len && c->st != C_CLOSING && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        size_t len = 0;
        int kind = scan_item(c->in + off, c->in_len - off, &len);
        if (kind == IT_INCOMPLETE)
            break;
        if (kind < 0)
            return client_fail(c, "malformed XML from server");
        int r = 0;
        if (kind == IT_STREAM_CLOSE) {
            return client_fail(c, "server closed the stream");
        } else if (kind == IT_ELEMENT) {
            char saved = c->in[off + len]; /* in_cap > in_len: this byte exists */
            c->in[off + len] = '\0';
            if (c->lg->o->verbose > 1)
                fprintf(stderr, "loadgen: [%u] %s <- %s\n", c->slot, client_state_name(c->st),
                        c->in + off);
            r = on_element(c, c->in + off);
            c->in[off + len] = saved;
        }
        off += len;
        if (r == H_RESTART)
            off = c->in_len;
        else if (r < 0)
            return client_fail(c, client_state_name(c->st));
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    if (c->in_len == 0) { /* idle connections keep no buffer */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

static int append_in(struct client *c, const char *p, size_t n)
{
    if (c->in_len + n + 1 > c->in_cap) {
        if (c->in_len + n + 1 > IN_MAX)
            return -EMSGSIZE;
        size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
        while (cap < c->in_len + n + 1)
            cap *= 2;
        char *p2 = realloc(c->in, cap);
        if (!p2)
            return -ENOMEM;
        c->in = p2;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

/* Feeds socket bytes through TLS and appends the plaintext. */
static int read_tls(struct client *c, const char *p, size_t n)
{
    char plain[16384];
    if (BIO_write(c->net_in, p, (int)n) != (int)n)
        return -ENOMEM;
    if (c->st == C_HANDSHAKE && tls_step(c) < 0)
        return -EPROTO;
    for (;;) {
        int r = SSL_read(c->ssl, plain, sizeof plain);
        if (r > 0) {
            if (append_in(c, plain, (size_t)r) < 0)
                return -EMSGSIZE;
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (flush_tls(c) < 0) /* TLS 1.3 may answer, e.g. a key update */
            return -EIO;
        return e == SSL_ERROR_WANT_READ ? 0 : -ECONNRESET;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct client *c = h->data;
    *buf = uv_buf_init(c->lg->rbuf, sizeof c->lg->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = s->data;
    if (nread < 0) {
        if (c->st == C_CLOSING && !uv_is_closing((uv_handle_t *)&c->tcp))
            uv_close((uv_handle_t *)&c->tcp, on_close);
        else if (c->st != C_CLOSING)
            client_fail(c, nread == UV_EOF ? "server closed the connection" : "read error");
        return;
    }
    if (nread == 0 || c->st == C_CLOSING)
        return;
    int r = c->ssl ? read_tls(c, buf->base, (size_t)nread) : append_in(c, buf->base, (size_t)nread);
    if (r < 0)
        return client_fail(c, r == -EPROTO ? "TLS handshake" : "TLS or buffer error");
    process_input(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    free(req);
    if (status < 0)
        return client_fail(c, status == UV_ECANCELED ? "connect cancelled" : "connect");
    if (c->st == C_CLOSING)
        return;
    uv_tcp_nodelay(&c->tcp, 1);
    enter_state(c, C_FEAT_PLAIN);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0 || send_stream_header(c) < 0)
        client_fail(c, "stream start");
}

int client_start(struct client *c)
{
    struct sockaddr_in a;
    int r = uv_ip4_addr(c->lg->o->host, c->lg->o->port, &a);
    if (r < 0)
        return r;
    r = uv_tcp_init(c->lg->loop, &c->tcp);
    if (r < 0)
        return r;
    c->tcp.data = c;
    enter_state(c, C_CONNECTING);
    c->t0_ns = lg_now_ns();
    uv_connect_t *req = malloc(sizeof *req);
    if (!req) {
        client_fail(c, "out of memory");
        return 0;
    }
    req->data = c;
    r = uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&a, on_connect);
    if (r < 0) {
        free(req);
        client_fail(c, "connect");
    }
    return 0;
}
