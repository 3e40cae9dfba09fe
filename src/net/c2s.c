/* Client-to-server streams: the state machine from the first byte to the
 * bound session (RFC 6120 §4-§7). SASL lives in c2s_auth.c, binding and
 * stanza handling in c2s_session.c. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/log.h"
#include "modules/module.h"
#include "net/c2s_internal.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define AUTH_FAILURE_DELAY_MS 1000
#define PARSER_IDLE_MS 2000

static void c2s_on_data(void *ud, const char *data, size_t len);
static void c2s_on_tls_ready(void *ud);
static void c2s_on_close(void *ud, int err);
static void c2s_on_drain(void *ud);
static void c2s_on_turn(void *ud);

static const struct conn_handler c2s_conn_handler = {
    .on_data = c2s_on_data,
    .on_tls_ready = c2s_on_tls_ready,
    .on_close = c2s_on_close,
    .on_drain = c2s_on_drain,
    .on_turn = c2s_on_turn,
};

static int on_stream_open(void *ud, const struct xml_node *root);
static int on_stanza(void *ud, struct stanza *st);
static void on_stream_close(void *ud);

static const struct xml_stream_handler c2s_xml_handler = {
    .stream_open = on_stream_open,
    .stanza = on_stanza,
    .stream_close = on_stream_close,
};

int64_t c2s_now(const struct c2s *c) { return (int64_t)uv_now(c->srv->loop); }

/* ---- writing ---- */

int c2s_write(struct c2s *c, const char *data, size_t len)
{
    int rc = conn_write(c->conn, data, len);
    if (rc == -ENOBUFS) {
        /* The client does not read what it is sent: it cannot be told. */
        log_info("c2s %s: send queue full, closing", conn_id(c->conn));
        c->state = C2S_CLOSING;
        conn_abort(c->conn);
    }
    c->last_write = c2s_now(c);
    if (rc == 0 && c->srv->queued_total > c->srv->cfg->send_queue_total)
        c2s_shed(c->srv);
    return rc;
}

int c2s_write_str(struct c2s *c, const char *s) { return c2s_write(c, s, strlen(s)); }

int c2s_send_stanza(struct c2s *c, const struct stanza *st)
{
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    int rc = xml_serialize(st->root, NS_CLIENT, out);
    if (rc == 0)
        rc = c2s_write(c, out->data, out->len);
    buf_shrink(out, 64 * 1024);
    return rc;
}

static void send_header(struct c2s *c)
{
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    RAND_bytes((unsigned char *)c->stream_id, 8);
    static const char hex[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--) {
        unsigned char b = (unsigned char)c->stream_id[i];
        c->stream_id[2 * i] = hex[b >> 4];
        c->stream_id[2 * i + 1] = hex[b & 15];
    }
    c->stream_id[16] = '\0';
    const char *from = c->domain ? c->domain : c->srv->cfg->domains.items[0];
    int rc = buf_append_str(out, "<?xml version='1.0'?><stream:stream xmlns='" NS_CLIENT
                                 "' xmlns:stream='" NS_STREAMS "' id='");
    if (rc == 0)
        rc = buf_printf(out, "%s' from='", c->stream_id);
    if (rc == 0)
        rc = xml_escape(out, from, strlen(from), true);
    if (rc == 0)
        rc = buf_append_str(out, "' version='1.0' xml:lang='en'>");
    if (rc == 0)
        c2s_write(c, out->data, out->len);
    c->header_sent = true;
}

void c2s_stream_error(struct c2s *c, enum stream_cond cond, const char *text)
{
    if (c->state == C2S_CLOSING)
        return;
    log_debug("c2s %s: stream error %s", conn_id(c->conn), stream_cond_name(cond));
    if (!c->header_sent)
        send_header(c);
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    if (stream_error_write(out, cond, text) == 0)
        c2s_write(c, out->data, out->len);
    if (c->state == C2S_CLOSING)
        return; /* the write failed and aborted */
    c->state = C2S_CLOSING;
    c2s_unbind(c);
    conn_close(c->conn);
}

static void close_stream(struct c2s *c)
{
    if (c->state == C2S_CLOSING)
        return;
    c2s_write_str(c, "</stream:stream>");
    c->state = C2S_CLOSING;
    c2s_unbind(c);
    conn_close(c->conn);
}

/* ---- features ---- */

void c2s_send_features(struct c2s *c)
{
    struct buf feat;
    buf_init(&feat, 16 * 1024);
    int rc = buf_append_str(&feat, "<stream:features>");
    if (rc == 0 && !c->tls) {
        rc = buf_append_str(&feat, "<starttls xmlns='" NS_TLS "'><required/></starttls>");
    } else if (rc == 0 && !c->authed) {
        c2s_sasl_mechanisms(c, &feat);
        rc = modules_preauth_features(c->srv, &feat);
    } else if (rc == 0 && (rc = buf_append_str(&feat, "<bind xmlns='" NS_BIND "'/>"
                                                      "<session xmlns='" NS_SESSION
                                                      "'><optional/></session>")) == 0) {
        rc = modules_stream_features(c->srv, &feat);
    }
    if (rc == 0)
        rc = buf_append_str(&feat, "</stream:features>");
    if (rc == 0)
        c2s_write(c, feat.data, feat.len);
    buf_free(&feat);
    c->state = C2S_FEATURES;
}

/* ---- the stream header ---- */

static int check_header(struct c2s *c, const struct xml_node *root)
{
    if (strcmp(root->name, "stream") != 0 || strcmp(root->ns, NS_STREAMS) != 0) {
        c2s_stream_error(c, STREAM_INVALID_NAMESPACE, NULL);
        return -1;
    }
    const char *content_ns = xml_attr(root, "xmlns"); /* the default namespace */
    if (!content_ns || strcmp(content_ns, NS_CLIENT) != 0) {
        c2s_stream_error(c, STREAM_INVALID_NAMESPACE, NULL);
        return -1;
    }
    const char *to = xml_attr(root, "to");
    char host[JID_PART_MAX + 1];
    const char *ours = NULL;
    if (to && jid_prep_domain(to, host, sizeof host) == 0)
        ours = server_host(c->srv, host);
    if (!ours || (c->domain && strcmp(ours, c->domain) != 0)) {
        c2s_stream_error(c, STREAM_HOST_UNKNOWN, NULL);
        return -1;
    }
    if (!c->domain && !(c->domain = strdup(ours))) {
        c2s_stream_error(c, STREAM_INTERNAL_SERVER_ERROR, NULL);
        return -1;
    }
    /* RFC 6120 §4.7.5: we speak 1.x; no version means pre-1.0. */
    const char *version = xml_attr(root, "version");
    if (!version || strncmp(version, "1.", 2) != 0) {
        c2s_stream_error(c, STREAM_UNSUPPORTED_VERSION, NULL);
        return -1;
    }
    return 0;
}

static int on_stream_open(void *ud, const struct xml_node *root)
{
    struct c2s *c = ud;
    c->header_sent = false;
    if (c->state != C2S_WAIT_STREAM) {
        c2s_stream_error(c, STREAM_BAD_FORMAT, NULL);
        return 1;
    }
    if (check_header(c, root) < 0)
        return 1;
    send_header(c);
    c2s_send_features(c);
    return 0;
}

static void on_stream_close(void *ud) { close_stream(ud); }

/* ---- top-level elements by state ---- */

static void starttls(struct c2s *c, struct stanza *st)
{
    stanza_unref(st);
    if (c2s_write_str(c, "<proceed xmlns='" NS_TLS "'/>") < 0 || conn_starttls(c->conn) < 0) {
        c2s_stream_error(c, STREAM_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    c->state = C2S_TLS;
    c->restart = true;
}

static void before_tls(struct c2s *c, struct stanza *st)
{
    const struct xml_node *r = st->root;
    if (strcmp(r->ns, NS_TLS) == 0 && strcmp(r->name, "starttls") == 0) {
        starttls(c, st);
        return;
    }
    bool sasl = strcmp(r->ns, NS_SASL) == 0;
    bool is_stanza = stanza_kind(r) != STANZA_OTHER;
    stanza_unref(st);
    if (sasl) {
        /* Promise P15: no authentication without TLS. */
        c2s_write_str(c, "<failure xmlns='" NS_SASL "'><encryption-required/></failure>");
        c2s_stream_error(c, STREAM_POLICY_VIOLATION, "TLS is required");
    } else if (is_stanza) {
        c2s_stream_error(c, STREAM_NOT_AUTHORIZED, NULL);
    } else {
        c2s_stream_error(c, STREAM_POLICY_VIOLATION, "TLS is required");
    }
}

static void stream_send(void *ud, const struct stanza *st)
{
    struct c2s *c = ud;
    if (c->state != C2S_CLOSING)
        c2s_send_stanza(c, st);
}

/* Offers a top-level element to the modules' stream handlers for phase
 * (module.h): registration before login, stream management in a
 * session. A handler may answer later through stream_send, until
 * c2s_free calls modules_stream_closed. Consumes st if taken; false if
 * no module takes it. */
static bool module_element(struct c2s *c, unsigned phase, struct stanza *st)
{
    struct stream_ctx ctx = {
        .srv = c->srv,
        .domain = c->domain,
        .peer = conn_peer(c->conn),
        .session = c->bound ? c->sess : NULL,
        .send = stream_send,
        .send_ud = c,
    };
    int rc = modules_stream_element(phase, &ctx, &c->slots, st);
    if (rc == -ENOENT)
        return false;
    stanza_unref(st);
    if (rc < 0)
        c2s_stream_error(c, STREAM_INTERNAL_SERVER_ERROR, NULL);
    return true;
}

/* After SASL: stanzas go to the router, other elements to the modules. */
static void authed_element(struct c2s *c, struct stanza *st)
{
    if (stanza_kind(st->root) != STANZA_OTHER || !module_element(c, STREAM_SESSION, st))
        c2s_stanza(c, st);
}

static void dispatch(struct c2s *c, struct stanza *st)
{
    const struct xml_node *r = st->root;
    switch (c->state) {
    case C2S_FEATURES:
        if (!c->tls) {
            before_tls(c, st);
        } else if (!c->authed) {
            if (strcmp(r->ns, NS_SASL) == 0) {
                c2s_sasl_element(c, st);
            } else if (!module_element(c, STREAM_PREAUTH, st)) {
                enum stream_cond cond = stanza_kind(r) != STANZA_OTHER
                                            ? STREAM_NOT_AUTHORIZED
                                            : STREAM_UNSUPPORTED_STANZA_TYPE;
                stanza_unref(st);
                c2s_stream_error(c, cond, NULL);
            }
        } else {
            authed_element(c, st);
        }
        break;
    case C2S_SASL: c2s_sasl_element(c, st); break;
    case C2S_SESSION: authed_element(c, st); break;
    default:
        stanza_unref(st);
        c2s_stream_error(c, STREAM_BAD_FORMAT, NULL);
        break;
    }
}

/* Charges cost to c's share of this loop turn; true once it is spent. */
static bool turn_spend(struct c2s *c, unsigned cost)
{
    uint64_t now = conn_turn(c->conn);
    if (c->turn_no != now) {
        c->turn_no = now;
        c->turn_used = 0;
    }
    c->turn_used += cost;
    return c->turn_used >= C2S_TURN_BUDGET;
}

static int on_stanza(void *ud, struct stanza *st)
{
    struct c2s *c = ud;
    if (c->state == C2S_CLOSING) {
        stanza_unref(st);
        return 1;
    }
    if (c->state == C2S_SESSION && c2s_hold_stanza(c, st))
        return XML_STREAM_PAUSE; /* kept until its sender's writes are committed (c2s_hold.c) */
    bool session = c->state == C2S_SESSION;
    uint64_t wait = c->store_wait; /* a write of its own moves it (c2s_hold_for_store) */
    dispatch(c, st);
    if (c->restart || c->state == C2S_CLOSING)
        return 1;
    bool spent = session && turn_spend(c, c->store_wait != wait ? C2S_TURN_WRITE : 1);
    return (c->pause_why & C2S_PAUSE_STORE) || spent ? XML_STREAM_PAUSE : 0;
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

/* Token bucket per connection (limits.read_rate, limits.read_burst):
 * over budget, reading pauses until the tick refills it. */
static void charge_read(struct c2s *c, size_t len)
{
    c->tokens -= (int64_t)len;
    if (c->tokens < 0)
        c2s_pause(c, C2S_PAUSE_RATE);
}

/* The reasons that stop the socket being read; the others (a turn) only
 * keep what is read unparsed. */
static unsigned hard(unsigned why) { return why & ~C2S_PAUSE_SOFT; }

void c2s_pause(struct c2s *c, unsigned why)
{
    if (!hard(c->pause_why) && hard(why))
        conn_pause_read(c->conn);
    c->pause_why |= why;
}

bool c2s_lift(struct c2s *c, unsigned why)
{
    unsigned before = c->pause_why;
    c->pause_why &= ~why;
    if (c->state == C2S_CLOSING)
        return false;
    if (hard(before) && !hard(c->pause_why))
        conn_resume_read(c->conn);
    return before != c->pause_why && c->pause_why == 0;
}

void c2s_unpause(struct c2s *c, unsigned why)
{
    if (c2s_lift(c, why) && (c->held_len > 0 || xml_stream_paused(c->xs)))
        conn_next_turn(c->conn); /* fed then, not inside the caller's event */
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static bool all_space(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_space(data[i]))
            return false;
    return true;
}

/* Whitespace a client sent after the element that ended the old stream
 * (some clients write a newline after each element) belongs to that
 * stream, where it is legal: it must not reach the new document, which
 * may start with an XML declaration. */
static size_t skip_space(struct c2s *c, const char *data, size_t len)
{
    size_t n = 0;
    while (c->skip_space && n < len && is_space(data[n]))
        n++;
    if (n < len)
        c->skip_space = false;
    return n;
}

/* The rest of the input waits for the next turn (its share of this one
 * is spent): kept, reading paused, the turn asked for. */
static void wait_for_turn(struct c2s *c, const char *data, size_t len)
{
    if (len > 0 && c2s_hold_input(c, data, len) < 0) {
        c2s_stream_error(c, STREAM_RESOURCE_CONSTRAINT, NULL);
        return;
    }
    c2s_pause(c, C2S_PAUSE_TURN);
    if (c->held_len > C2S_HELD_SOFT_MAX)
        c2s_pause(c, C2S_PAUSE_FULL); /* enough kept: the socket waits too */
    conn_next_turn(c->conn);
}

static void c2s_on_turn(void *ud)
{
    struct c2s *c = ud;
    c2s_lift(c, C2S_PAUSE_TURN | C2S_PAUSE_FULL);
    c2s_feed_held(c);
}

/* Input that cannot be parsed now (the parser paused after a stanza,
 * XML_STREAM_PAUSE, or the stream's share of this turn is spent) waits,
 * in order: for the commit a held stanza waits for (C2S_PAUSE_STORE,
 * c2s_hold.c) or for the next turn. */
static void keep_rest(struct c2s *c, const char *data, size_t len)
{
    if (c->pause_why & C2S_PAUSE_STORE) {
        if (len > 0 && c2s_hold_input(c, data, len) < 0)
            c2s_stream_error(c, STREAM_RESOURCE_CONSTRAINT, NULL);
        return;
    }
    wait_for_turn(c, data, len);
}

static void c2s_on_data(void *ud, const char *data, size_t len)
{
    struct c2s *c = ud;
    c->last_read = c2s_now(c);
    c->ping_sent = 0; /* any traffic shows the peer is alive */
    charge_read(c, len);
    /* Input already waiting goes first. */
    if (c->held_len > 0 || xml_stream_paused(c->xs) ||
        (c->pause_why & (C2S_PAUSE_STORE | C2S_PAUSE_TURN)) ||
        (c->state == C2S_SESSION && turn_spend(c, 0))) {
        keep_rest(c, data, len);
        return;
    }
    c2s_feed(c, data, len);
}
void c2s_feed_held(struct c2s *c)
{
    if (c->pause_why || c->state == C2S_CLOSING)
        return;
    if (xml_stream_paused(c->xs)) {
        long rc = xml_stream_resume(c->xs);
        if (rc < 0) {
            c2s_stream_error(c, xml_error_cond(rc), NULL);
            return;
        }
        if (xml_stream_paused(c->xs)) {
            keep_rest(c, NULL, 0);
            return;
        }
        if (c->state == C2S_CLOSING)
            return;
    }
    if (c->held_len == 0)
        return;
    char *held = c->held;
    size_t len = c->held_len;
    c->held = NULL;
    c->held_len = 0;
    c2s_feed(c, held, len); /* what it does not take goes back into c->held */
    free(held);
}

void c2s_feed(struct c2s *c, const char *data, size_t len)
{
    while (len > 0 && c->state != C2S_CLOSING) {
        size_t skipped = skip_space(c, data, len);
        data += skipped;
        len -= skipped;
        if (len == 0)
            break;
        long n = xml_stream_feed(c->xs, data, len);
        if (n < 0) {
            c2s_stream_error(c, xml_error_cond(n), NULL);
            return;
        }
        data += n;
        len -= (size_t)n;
        if (xml_stream_paused(c->xs)) {
            keep_rest(c, data, len);
            return;
        }
        if (!c->restart)
            continue;
        c2s_restart_stream(c);
        if (c->state == C2S_TLS) {
            /* Bytes after <starttls/> were sent in plaintext before the
             * handshake: refuse them (RFC 6120 §5.4.3.3), but for
             * whitespace, which cannot carry a command. */
            if (len > 0 && !all_space(data, len)) {
                log_info("c2s %s: data after starttls, closing", conn_id(c->conn));
                c->state = C2S_CLOSING;
                conn_abort(c->conn);
            }
            return;
        }
        c->state = C2S_WAIT_STREAM;
    }
}

void c2s_restart_stream(struct c2s *c)
{
    c->restart = false;
    c->skip_space = true;
    /* A new stream: whatever goes wrong from here, even before the
     * client's header is parsed, is answered after our new header
     * (RFC 6120 §4.9.1.2), which the client's fresh parser expects. */
    c->header_sent = false;
    xml_stream_reset(c->xs);
    if (c->authed) {
        c2s_preauth_release(c);
        c2s_xml_limits(c);
    }
}

static void c2s_on_tls_ready(void *ud)
{
    struct c2s *c = ud;
    c->tls = true;
    if (c->state == C2S_TLS)
        c->state = C2S_WAIT_STREAM;
}

/* ---- life cycle ---- */

static void c2s_free(struct c2s *c)
{
    struct server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->c2s_all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->c2s_count--;
    c2s_preauth_release(c);
    c2s_hold_free(c);
    c2s_auth_free(c);
    modules_stream_closed(srv, &c->slots);
    xml_stream_free(c->xs);
    free(c->domain);
    free(c->user);
    free(c);
}

static void c2s_on_drain(void *ud) { c2s_release_waiters(ud); }

static void c2s_on_close(void *ud, int err)
{
    struct c2s *c = ud;
    (void)err;
    c->state = C2S_CLOSING;
    c2s_unbind(c);
    c2s_free(c);
}

void c2s_accept(void *ud, struct conn *conn)
{
    struct server *srv = ud;
    struct c2s *c = calloc(1, sizeof *c);
    struct xml_limits lim = {srv->cfg->max_stanza_size, srv->cfg->max_depth, srv->cfg->max_attrs};
    if (c)
        c->xs = xml_stream_new(&lim, &c2s_xml_handler, c);
    if (!c || !c->xs || srv->stopping) {
        if (c)
            free(c);
        conn_abort(conn);
        return;
    }
    c->srv = srv;
    c->conn = conn;
    c->state = C2S_WAIT_STREAM;
    c->tls = conn_is_tls(conn) && conn_tls_done(conn);
    c->connected = c->last_read = c->last_write = c2s_now(c);
    c->tokens = (int64_t)srv->cfg->read_burst;
    c->next = srv->c2s_all;
    if (c->next)
        c->next->prev = c;
    srv->c2s_all = c;
    if (++srv->c2s_count > srv->c2s_peak)
        srv->c2s_peak = srv->c2s_count;
    conn_set_handler(conn, &c2s_conn_handler, c);
    conn_count_queue(conn, &srv->queued_total);
    c2s_xml_limits(c);
    if (c2s_preauth_take(c) < 0) {
        log_info("c2s %s: too many unauthenticated connections from one address; closing",
                 conn_id(conn));
        c->state = C2S_CLOSING;
        conn_abort(conn);
    }
}

static void refill(struct c2s *c, int64_t now)
{
    const struct config *cfg = c->srv->cfg;
    c->tokens += (int64_t)cfg->read_rate;
    if (c->tokens > (int64_t)cfg->read_burst)
        c->tokens = (int64_t)cfg->read_burst;
    if (c->tokens > 0)
        c2s_unpause(c, C2S_PAUSE_RATE);
    if (now >= c->resume_at)
        c2s_unpause(c, C2S_PAUSE_AUTH);
}

/* TLS not started or not finished in time: idle sockets go early. */
static void tls_timeout(struct c2s *c)
{
    if (conn_is_tls(c->conn)) { /* mid-handshake: nothing can be said */
        c->state = C2S_CLOSING;
        conn_abort(c->conn);
        return;
    }
    c2s_stream_error(c, STREAM_CONNECTION_TIMEOUT, NULL);
}

static void tick_one(struct c2s *c, int64_t now)
{
    const struct config *cfg = c->srv->cfg;
    if (c->state == C2S_CLOSING)
        return;
    refill(c, now);
    if (c2s_check_congestion(c, now))
        return;
    if (!c->tls && now - c->connected >= (int64_t)cfg->tls_timeout_ms) {
        tls_timeout(c);
        return;
    }
    if (!c->bound) {
        if (now - c->connected >= (int64_t)cfg->auth_timeout_ms)
            c2s_stream_error(c, STREAM_CONNECTION_TIMEOUT, NULL);
        return;
    }
    if (c->ping_sent && now - c->ping_sent >= (int64_t)cfg->ping_timeout_ms) {
        c2s_stream_error(c, STREAM_CONNECTION_TIMEOUT, NULL);
        return;
    }
    if (!c->ping_sent && now - c->last_read >= (int64_t)cfg->idle_timeout_ms)
        c2s_send_ping(c);
    else if (now - c->last_write >= (int64_t)cfg->keepalive_interval * 1000)
        c2s_write_str(c, " ");
    if (now - c->last_read >= PARSER_IDLE_MS)
        xml_stream_idle(c->xs);
}

void c2s_tick(struct server *srv)
{
    int64_t now = (int64_t)uv_now(srv->loop);
    for (struct c2s *c = srv->c2s_all, *n; c; c = n) {
        n = c->next;
        tick_one(c, now);
    }
}

/* Bound streams are the router's to kick (their sessions' kick). */
static size_t kick_unbound(struct server *srv, const char *domain, const char *user,
                           enum stream_cond cond, const char *text)
{
    size_t n = 0;
    /* Streams still in SASL count too (c->user is set once the name is
     * known), so a login racing a suspension cannot slip through.
     * c2s_stream_error defers the free to the close callback: walking on
     * is safe. */
    for (struct c2s *c = srv->c2s_all, *next; c; c = next) {
        next = c->next;
        if (c->state == C2S_CLOSING || c->bound || !c->user || strcmp(c->user, user) != 0 ||
            strcmp(c->domain, domain) != 0)
            continue;
        c2s_stream_error(c, cond, text);
        n++;
    }
    return n;
}

const struct router_transport c2s_transport = {kick_unbound};

void c2s_close_all(struct server *srv, enum stream_cond cond)
{
    for (struct c2s *c = srv->c2s_all, *n; c; c = n) {
        n = c->next;
        if (c->state == C2S_CLOSING)
            continue;
        c2s_stream_error(c, cond, NULL);
    }
}

void c2s_delay_reads(struct c2s *c)
{
    c->resume_at = c2s_now(c) + AUTH_FAILURE_DELAY_MS;
    c2s_pause(c, C2S_PAUSE_AUTH);
}
