/* External components (XEP-0114 accept), see component.h.
 *
 * One stream per connection, a small state machine: the header names the
 * component's domain (WAIT_STREAM), the <handshake/> proves the secret
 * (HANDSHAKE), then stanzas flow both ways (READY) until either side
 * ends it (CLOSING). A component's stanzas are in 'jabber:component:accept';
 * they are moved into 'jabber:client' when read, as the router and the
 * modules expect, and written with that namespace as the default, so on
 * the component's stream they are in its namespace again.
 */
#include "net/component.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/log.h"
#include "core/server.h"
#include "net/conn.h"
#include "xml/xml.h"
#include "xmpp/hosts.h"
#include "xmpp/jid.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"
#include "xmpp/stanza.h"

#define NS_COMPONENT "jabber:component:accept"
#define COMPONENT_MAX_CONNECTIONS 128
/* Before the handshake only a header and a 40-character digest come. */
#define HANDSHAKE_MAX_STANZA 1024
#define TREE_FACTOR 16
/* A component may carry many users' traffic: its queue is larger than a
 * client's. Past it the component is dropped (it does not read). */
#define QUEUE_FACTOR 8

enum comp_state { COMP_WAIT_STREAM, COMP_HANDSHAKE, COMP_READY, COMP_CLOSING };

struct comp {
    struct components *owner;
    struct server *srv;
    struct conn *conn;
    struct xml_stream *xs;
    enum comp_state state;
    bool header_sent;
    struct host *host;        /* named in the header; attached once READY */
    char stream_id[17];
    int64_t connected;        /* ms, loop time */
    struct comp *prev, *next; /* owner->all */
};

struct components {
    struct server *srv;
    struct listener *listeners[SERVER_MAX_LISTENERS];
    size_t nlisteners;
    struct comp *all;
};

static void comp_on_data(void *ud, const char *data, size_t len);
static void comp_on_close(void *ud, int err);

static const struct conn_handler comp_conn_handler = {
    .on_data = comp_on_data,
    .on_close = comp_on_close,
};

static int on_stream_open(void *ud, const struct xml_node *root);
static int on_stanza(void *ud, struct stanza *st);
static void on_stream_close(void *ud);

static const struct xml_stream_handler comp_xml_handler = {
    .stream_open = on_stream_open,
    .stanza = on_stanza,
    .stream_close = on_stream_close,
};

/* ---- writing ---- */

static int comp_write(struct comp *c, const char *data, size_t len)
{
    int rc = conn_write(c->conn, data, len);
    if (rc == -ENOBUFS) {
        log_warn("component %s: send queue full, closing", conn_id(c->conn));
        c->state = COMP_CLOSING;
        if (c->host)
            host_detach(c->host, c);
        conn_abort(c->conn);
    }
    return rc;
}

static void send_header(struct comp *c, const char *from)
{
    struct buf *out = &c->srv->scratch;
    unsigned char r[8];
    static const char hex[] = "0123456789abcdef";
    RAND_bytes(r, sizeof r);
    for (int i = 0; i < 8; i++) {
        c->stream_id[2 * i] = hex[r[i] >> 4];
        c->stream_id[2 * i + 1] = hex[r[i] & 15];
    }
    c->stream_id[16] = '\0';
    buf_reset(out);
    int rc = buf_append_str(out, "<?xml version='1.0'?><stream:stream xmlns='" NS_COMPONENT
                                 "' xmlns:stream='" NS_STREAMS "' id='");
    if (rc == 0)
        rc = buf_printf(out, "%s'", c->stream_id);
    if (rc == 0 && from) {
        rc = buf_append_str(out, " from='");
        if (rc == 0)
            rc = xml_escape(out, from, strlen(from), true);
        if (rc == 0)
            rc = buf_append_str(out, "'");
    }
    if (rc == 0)
        rc = buf_append_str(out, ">");
    if (rc == 0)
        comp_write(c, out->data, out->len);
    c->header_sent = true;
}

static void stream_error(struct comp *c, enum stream_cond cond, const char *text)
{
    if (c->state == COMP_CLOSING)
        return;
    log_debug("component %s: stream error %s", conn_id(c->conn), stream_cond_name(cond));
    if (!c->header_sent)
        send_header(c, NULL);
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    if (c->state != COMP_CLOSING && stream_error_write(out, cond, text) == 0)
        comp_write(c, out->data, out->len);
    if (c->state == COMP_CLOSING)
        return; /* the write failed and aborted */
    c->state = COMP_CLOSING;
    if (c->host)
        host_detach(c->host, c);
    conn_close(c->conn);
}

/* The host's deliver op: a stanza for a JID at the component's domain. */
static int comp_deliver(void *ud, struct stanza *st)
{
    struct comp *c = ud;
    if (c->state != COMP_READY)
        return -EPIPE;
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    int rc = xml_serialize(st->root, NS_CLIENT, out);
    if (rc == 0)
        rc = comp_write(c, out->data, out->len);
    buf_shrink(out, 64 * 1024);
    return rc;
}

/* ---- the stream header ---- */

/* XEP-0114 §3: 'to' is the component's name; one we serve as a component,
 * and not connected yet. */
static int check_header(struct comp *c, const struct xml_node *root)
{
    const char *content_ns = xml_attr(root, "xmlns");
    if (strcmp(root->name, "stream") != 0 || strcmp(root->ns, NS_STREAMS) != 0 || !content_ns ||
        strcmp(content_ns, NS_COMPONENT) != 0) {
        stream_error(c, STREAM_INVALID_NAMESPACE, NULL);
        return -1;
    }
    const char *to = xml_attr(root, "to");
    char domain[JID_PART_MAX + 1];
    struct host *h = NULL;
    if (to && jid_prep_domain(to, domain, sizeof domain) == 0)
        h = hosts_find(c->srv->hosts, domain);
    if (!h || host_kind(h) != HOST_COMPONENT || !host_secret(h)) {
        stream_error(c, STREAM_HOST_UNKNOWN, NULL);
        return -1;
    }
    if (host_attached(h)) {
        stream_error(c, STREAM_CONFLICT, "This component is already connected");
        return -1;
    }
    c->host = h;
    return 0;
}

static int on_stream_open(void *ud, const struct xml_node *root)
{
    struct comp *c = ud;
    if (c->state != COMP_WAIT_STREAM) {
        stream_error(c, STREAM_BAD_FORMAT, NULL);
        return 1;
    }
    if (check_header(c, root) < 0)
        return 1;
    send_header(c, host_domain(c->host));
    c->state = COMP_HANDSHAKE;
    return 0;
}

static void on_stream_close(void *ud)
{
    struct comp *c = ud;
    if (c->state == COMP_CLOSING)
        return;
    comp_write(c, "</stream:stream>", 16);
    c->state = COMP_CLOSING;
    if (c->host)
        host_detach(c->host, c);
    conn_close(c->conn);
}

/* ---- the handshake ---- */

/* hex(SHA-1(stream id + secret)), lower case (XEP-0114 §3). */
static int expected_digest(const struct comp *c, char out[41])
{
    const char *secret = host_secret(c->host);
    unsigned char md[20];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
             EVP_DigestUpdate(ctx, c->stream_id, strlen(c->stream_id)) &&
             EVP_DigestUpdate(ctx, secret, strlen(secret)) && EVP_DigestFinal_ex(ctx, md, &mdlen) &&
             mdlen == sizeof md;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -ENOMEM;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof md; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
    return 0;
}

/* Compares without a data-dependent time: the length is not secret, the
 * digest is (case folded first, as the XEP allows either case). */
static bool digest_matches(const char *given, const char *want)
{
    char low[41];
    size_t n = strlen(given);
    if (n != 40)
        return false;
    for (size_t i = 0; i < 40; i++)
        low[i] = (given[i] >= 'A' && given[i] <= 'F') ? (char)(given[i] - 'A' + 'a') : given[i];
    return CRYPTO_memcmp(low, want, 40) == 0;
}

static void raise_limits(struct comp *c)
{
    const struct config *cfg = c->srv->cfg;
    struct xml_limits lim = {(size_t)cfg->max_stanza_size, cfg->max_depth, cfg->max_attrs};
    xml_stream_set_limits(c->xs, &lim);
    xml_stream_set_max_tree(c->xs, lim.max_stanza_size * TREE_FACTOR);
}

static void handshake(struct comp *c, struct stanza *st)
{
    const struct xml_node *r = st->root;
    char want[41];
    if (strcmp(r->name, "handshake") != 0 || strcmp(r->ns, NS_COMPONENT) != 0) {
        stream_error(c, STREAM_NOT_AUTHORIZED, NULL);
        return;
    }
    const char *given = xml_text(st, r);
    if (!given || expected_digest(c, want) < 0) {
        stream_error(c, STREAM_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    bool ok = digest_matches(given, want);
    OPENSSL_cleanse(want, sizeof want);
    if (!ok) {
        log_info("component %s: wrong handshake", conn_id(c->conn));
        stream_error(c, STREAM_NOT_AUTHORIZED, NULL);
        return;
    }
    /* Checked at the header too; two connections may race to here. */
    if (host_attach(c->host, comp_deliver, c) < 0) {
        stream_error(c, STREAM_CONFLICT, "This component is already connected");
        return;
    }
    c->state = COMP_READY;
    raise_limits(c);
    comp_write(c, "<handshake/>", 12);
    log_info("component %s: connected", conn_id(c->conn));
}

/* ---- stanzas from the component ---- */

/* Moves the component's namespace to jabber:client in the whole tree
 * (pre-order, without recursion: the depth is the parser's limit). */
static void to_client_ns(struct xml_node *root)
{
    for (struct xml_node *n = root; n;) {
        if (n->type == XML_ELEMENT && strcmp(n->ns, NS_COMPONENT) == 0)
            n->ns = NS_CLIENT;
        if (n->children) {
            n = n->children;
            continue;
        }
        while (n != root && !n->next)
            n = n->parent;
        n = n == root ? NULL : n->next;
    }
}

/* A stanza error straight back to the component (its stanza's 'to' may
 * not even be an address), from the component's domain. */
static void reply_error(struct comp *c, const struct stanza *st, enum stanza_cond cond)
{
    struct stanza *err = stanza_error_reply(st, cond, NULL);
    if (!err)
        return;
    if (xml_set_attr(err, err->root, "from", host_domain(c->host)) == 0)
        comp_deliver(c, err);
    stanza_unref(err);
}

/* XEP-0114 §3: 'from' and 'to' are required and 'from' is at the
 * component's domain. 0, or a stream error was sent. */
static int check_addresses(struct comp *c, struct stanza *st, struct jid *from, struct jid *to)
{
    const char *f = xml_attr(st->root, "from"), *t = xml_attr(st->root, "to");
    if (!f || !t) {
        stream_error(c, STREAM_IMPROPER_ADDRESSING, "A component's stanzas need 'from' and 'to'");
        return -1;
    }
    if (jid_parse(from, f, strlen(f)) < 0 || strcmp(from->domain, host_domain(c->host)) != 0) {
        jid_free(from);
        stream_error(c, STREAM_INVALID_FROM, NULL);
        return -1;
    }
    if (jid_parse(to, t, strlen(t)) < 0) {
        reply_error(c, st, SC_JID_MALFORMED);
        jid_free(from);
        return -1;
    }
    return 0;
}

static void stanza_in(struct comp *c, struct stanza *st)
{
    if (strcmp(st->root->ns, NS_COMPONENT) != 0) {
        stream_error(c, STREAM_UNSUPPORTED_STANZA_TYPE, NULL);
        return;
    }
    to_client_ns(st->root);
    if (stanza_kind(st->root) == STANZA_OTHER) {
        stream_error(c, STREAM_UNSUPPORTED_STANZA_TYPE, NULL);
        return;
    }
    struct jid from, to;
    if (check_addresses(c, st, &from, &to) < 0)
        return;
    if (stanza_kind(st->root) == STANZA_IQ && !stanza_iq_valid(st->root))
        reply_error(c, st, SC_BAD_REQUEST);
    else
        router_route(c->srv, st, &from, &to, NULL);
    jid_free(&from);
    jid_free(&to);
}

static int on_stanza(void *ud, struct stanza *st)
{
    struct comp *c = ud;
    if (c->state == COMP_HANDSHAKE)
        handshake(c, st);
    else if (c->state == COMP_READY)
        stanza_in(c, st);
    else
        stream_error(c, STREAM_BAD_FORMAT, NULL);
    stanza_unref(st);
    return c->state == COMP_CLOSING;
}

/* ---- bytes in ---- */

static enum stream_cond xml_error_cond(long err)
{
    switch (-err) {
    case XMLE_RESTRICTED: return STREAM_RESTRICTED_XML;
    case XMLE_TOO_BIG:
    case XMLE_TOO_DEEP:
    case XMLE_TOO_MANY_ATTRS: return STREAM_POLICY_VIOLATION;
    case XMLE_NOMEM: return STREAM_RESOURCE_CONSTRAINT;
    case XMLE_BAD_ENCODING: return STREAM_UNSUPPORTED_ENCODING;
    default: return STREAM_NOT_WELL_FORMED;
    }
}

static void comp_on_data(void *ud, const char *data, size_t len)
{
    struct comp *c = ud;
    if (c->state == COMP_CLOSING)
        return;
    long n = xml_stream_feed(c->xs, data, len);
    if (n < 0)
        stream_error(c, xml_error_cond(n), NULL);
}

/* ---- life cycle ---- */

static void comp_on_close(void *ud, int err)
{
    struct comp *c = ud;
    (void)err;
    if (c->host)
        host_detach(c->host, c);
    if (c->state == COMP_READY)
        log_info("component %s: disconnected", conn_id(c->conn));
    if (c->prev)
        c->prev->next = c->next;
    else
        c->owner->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    xml_stream_free(c->xs);
    free(c);
}

static void comp_accept(void *ud, struct conn *conn)
{
    struct components *o = ud;
    struct server *srv = o->srv;
    struct comp *c = calloc(1, sizeof *c);
    struct xml_limits lim = {HANDSHAKE_MAX_STANZA, srv->cfg->max_depth, srv->cfg->max_attrs};
    if (c)
        c->xs = xml_stream_new(&lim, &comp_xml_handler, c);
    if (!c || !c->xs || srv->stopping) {
        if (c)
            xml_stream_free(c->xs);
        free(c);
        conn_abort(conn);
        return;
    }
    xml_stream_set_max_tree(c->xs, HANDSHAKE_MAX_STANZA * TREE_FACTOR);
    c->owner = o;
    c->srv = srv;
    c->conn = conn;
    c->state = COMP_WAIT_STREAM;
    c->connected = (int64_t)uv_now(srv->loop);
    c->next = o->all;
    if (c->next)
        c->next->prev = c;
    o->all = c;
    conn_set_handler(conn, &comp_conn_handler, c);
}

static int listen_on(struct components *o, const char *addr, char **err)
{
    const struct config *cfg = o->srv->cfg;
    if (o->nlisteners == SERVER_MAX_LISTENERS) {
        *err = strdup("too many component listeners");
        return UV_EINVAL;
    }
    struct listener_opts lo = {
        .addr = addr,
        .port = cfg->component_port,
        .send_queue_max = cfg->send_queue_max * QUEUE_FACTOR,
        .max_connections = COMPONENT_MAX_CONNECTIONS,
    };
    int rc = listener_start(&o->listeners[o->nlisteners], o->srv->loop, &lo, comp_accept, o, err);
    if (rc == 0)
        o->nlisteners++;
    return rc;
}

int component_start(struct server *srv, char **err)
{
    *err = NULL;
    if (srv->cfg->component_port == 0)
        return 0;
    struct components *o = calloc(1, sizeof *o);
    if (!o)
        return UV_ENOMEM;
    o->srv = srv;
    srv->components = o;
    const struct strlist *ifs = &srv->cfg->component_interface;
    for (size_t i = 0; i < ifs->n; i++) {
        int rc = listen_on(o, ifs->items[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void component_stop(struct server *srv)
{
    struct components *o = srv->components;
    if (!o)
        return;
    for (size_t i = 0; i < o->nlisteners; i++)
        listener_stop(o->listeners[i]);
    o->nlisteners = 0;
    for (struct comp *c = o->all, *n; c; c = n) {
        n = c->next;
        stream_error(c, STREAM_SYSTEM_SHUTDOWN, NULL);
    }
}

void component_free(struct server *srv)
{
    struct components *o = srv->components;
    if (!o)
        return;
    /* component_stop has stopped the listeners. Streams whose close never
     * completed (the loop was walked shut) are freed here. */
    for (struct comp *c = o->all, *n; c; c = n) {
        n = c->next;
        if (c->host)
            host_detach(c->host, c);
        xml_stream_free(c->xs);
        free(c);
    }
    free(o);
    srv->components = NULL;
}

void component_tick(struct server *srv)
{
    struct components *o = srv->components;
    if (!o)
        return;
    int64_t now = (int64_t)uv_now(srv->loop);
    for (struct comp *c = o->all, *n; c; c = n) {
        n = c->next;
        if (c->state != COMP_READY && c->state != COMP_CLOSING &&
            now - c->connected >= (int64_t)srv->cfg->auth_timeout_ms)
            stream_error(c, STREAM_CONNECTION_TIMEOUT, NULL);
    }
}
