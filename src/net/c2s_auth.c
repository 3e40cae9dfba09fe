/* SASL on client streams (RFC 6120 §6): mechanisms offered after TLS,
 * the <auth>/<challenge>/<response> exchange, failures with a delay and
 * a per-connection limit on attempts. The mechanisms themselves are in
 * xmpp/sasl.c; credentials come from the store.
 *
 * Two kinds of failure, two limits. A password attempt (a wrong password
 * or proof, an unknown user: sasl_failure_is_attempt) counts toward
 * limits.max_auth_attempts and pauses reading for a moment, against
 * guessing. Every other failure (a mechanism or channel-binding type we
 * do not offer, the "y" flag while -PLUS is offered, a malformed message,
 * <abort/>) has checked no password: it is answered at once with its
 * condition and a <text/>, so a client that works through its list of
 * mechanisms (slixmpp 1.8 tries four before PLAIN on TLS 1.3) still logs
 * in on the first connection; MAX_SASL_ERRORS of them end the stream, so
 * no client loops forever. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/c2s_internal.h"
#include "store/store.h"
#include "xmpp/ns.h"

#define MAX_SASL_ERRORS 10

void c2s_sasl_mechanisms(struct c2s *c, struct buf *out)
{
    struct sasl_cb cb;
    conn_channel_binding(c->conn, &cb);
    bool have_cb = sasl_cb_any(&cb);
    buf_append_str(out, "<mechanisms xmlns='" NS_SASL "'>");
    if (have_cb)
        buf_append_str(out, "<mechanism>SCRAM-SHA-256-PLUS</mechanism>"
                            "<mechanism>SCRAM-SHA-1-PLUS</mechanism>");
    buf_append_str(out, "<mechanism>SCRAM-SHA-256</mechanism>"
                        "<mechanism>SCRAM-SHA-1</mechanism>"
                        "<mechanism>PLAIN</mechanism></mechanisms>");
    if (!have_cb)
        return;
    /* XEP-0440: which channel-binding types we can do. */
    buf_append_str(out, "<sasl-channel-binding xmlns='" NS_SASL_CB "'>");
    if (cb.have_exporter)
        buf_append_str(out, "<channel-binding type='tls-exporter'/>");
    if (cb.endpoint_len)
        buf_append_str(out, "<channel-binding type='tls-server-end-point'/>");
    if (cb.unique_len)
        buf_append_str(out, "<channel-binding type='tls-unique'/>");
    buf_append_str(out, "</sasl-channel-binding>");
}

/* PLAIN costs a PBKDF2 derivation (milliseconds at 4096 iterations), so
 * it runs on libuv's worker pool; SCRAM costs the server only HMACs and
 * stays on the loop. The job owns the SASL state while it runs; a stream
 * that goes away meanwhile leaves the job orphaned, and the job frees
 * what it holds when it comes back. */
struct plain_job {
    uv_work_t work;
    struct c2s *c; /* NULL once the stream is gone */
    struct sasl *sasl;
    struct scram_creds creds;
    bool have_creds;
    uint8_t secret[32];
    enum sasl_result result;
    uint8_t *out;
    size_t out_len;
};

void c2s_auth_free(struct c2s *c)
{
    if (c->auth_job) {
        c->auth_job->c = NULL;
        c->auth_job = NULL;
    }
    sasl_free(c->sasl);
    c->sasl = NULL;
}

enum { NOT_AN_ATTEMPT = 0, AN_ATTEMPT = 1 };

static void write_failure(struct c2s *c, enum sasl_failure f, const char *text)
{
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    int rc = buf_printf(out, "<failure xmlns='" NS_SASL "'><%s/>", sasl_failure_name(f));
    if (rc == 0 && text) {
        rc = buf_append_str(out, "<text xml:lang='en'>");
        if (rc == 0)
            rc = xml_escape(out, text, strlen(text), false);
        if (rc == 0)
            rc = buf_append_str(out, "</text>");
    }
    if (rc == 0)
        rc = buf_append_str(out, "</failure>");
    if (rc == 0)
        c2s_write(c, out->data, out->len);
}

/* Answers a failed exchange; attempt: a password was checked (see the
 * top of this file for the two limits). text is a static string. */
static void sasl_failure_send(struct c2s *c, enum sasl_failure f, const char *text, bool attempt)
{
    c2s_auth_free(c);
    c->state = C2S_FEATURES;
    write_failure(c, f, text);
    if (!attempt) {
        log_debug("c2s %s: SASL failure (%s) before any password check: %s", conn_id(c->conn),
                  sasl_failure_name(f), text ? text : "no reason given");
        if (++c->sasl_errors >= MAX_SASL_ERRORS)
            c2s_stream_error(c, STREAM_POLICY_VIOLATION, "too many failed SASL exchanges");
        return;
    }
    log_info("c2s %s: authentication failed (%s)", conn_id(c->conn), sasl_failure_name(f));
    if (++c->auth_failures >= c->srv->cfg->max_auth_attempts)
        c2s_stream_error(c, STREAM_POLICY_VIOLATION, "too many failed authentication attempts");
    else
        c2s_delay_reads(c);
}

/* The failure the SASL exchange ended with. */
static void sasl_failed(struct c2s *c)
{
    const struct sasl *s = c->sasl;
    sasl_failure_send(c, sasl_failure(s), sasl_failure_text(s), sasl_failure_is_attempt(s));
}

/* A failure of ours (store, memory, worker pool): no fault of the client. */
static void temporary_failure(struct c2s *c)
{
    sasl_failure_send(c, SASLF_TEMPORARY_AUTH_FAILURE, NULL, NOT_AN_ATTEMPT);
}

static void send_b64(struct c2s *c, const char *elem, const uint8_t *data, size_t len)
{
    char *b64 = NULL;
    size_t b64_len = 0;
    struct buf *out = &c->srv->scratch;
    buf_reset(out);
    if (len && sasl_b64_encode(data, len, &b64, &b64_len) < 0) {
        c2s_stream_error(c, STREAM_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    int rc = b64 ? buf_printf(out, "<%s xmlns='" NS_SASL "'>%s</%s>", elem, b64, elem)
                 : buf_printf(out, "<%s xmlns='" NS_SASL "'/>", elem);
    free(b64);
    if (rc == 0)
        c2s_write(c, out->data, out->len);
}

/* The authorization identity, if any, must be the account itself. */
static bool authzid_ok(struct c2s *c)
{
    const char *authzid = sasl_authzid(c->sasl);
    if (!authzid || !*authzid)
        return true;
    struct jid j;
    if (jid_parse(&j, authzid, strlen(authzid)) < 0)
        return false;
    bool ok =
        j.local && !j.resource && strcmp(j.local, c->user) == 0 && strcmp(j.domain, c->domain) == 0;
    jid_free(&j);
    return ok;
}

static void sasl_succeeded(struct c2s *c, const uint8_t *out, size_t out_len)
{
    /* Both after a good password: attempts, as before. */
    if (!authzid_ok(c)) {
        sasl_failure_send(c, SASLF_INVALID_AUTHZID, NULL, AN_ATTEMPT);
        return;
    }
    if (c->suspended) {
        sasl_failure_send(c, SASLF_ACCOUNT_DISABLED, NULL, AN_ATTEMPT);
        return;
    }
    send_b64(c, "success", out, out_len);
    c2s_auth_free(c);
    c->authed = true;
    c->restart = true;
    c->state = C2S_WAIT_STREAM;
}

static void handle_result(struct c2s *c, enum sasl_result r, uint8_t *out, size_t out_len);

static void plain_work(uv_work_t *w)
{
    struct plain_job *j = w->data;
    j->result = sasl_creds(j->sasl, j->have_creds ? &j->creds : NULL, j->secret, sizeof j->secret,
                           &j->out, &j->out_len);
}

static void plain_job_free(struct plain_job *j)
{
    sasl_free(j->sasl);
    free(j->out);
    OPENSSL_cleanse(j, sizeof *j);
    free(j);
}

static void plain_done(uv_work_t *w, int status)
{
    struct plain_job *j = w->data;
    struct c2s *c = j->c;
    if (!c || c->state == C2S_CLOSING) {
        if (c)
            c->auth_job = NULL;
        plain_job_free(j);
        return;
    }
    c->auth_job = NULL;
    c->sasl = j->sasl;
    j->sasl = NULL;
    c2s_unpause(c, C2S_PAUSE_JOB);
    if (status < 0) {
        plain_job_free(j);
        temporary_failure(c);
        return;
    }
    uint8_t *out = j->out;
    size_t out_len = j->out_len;
    enum sasl_result r = j->result;
    j->out = NULL;
    plain_job_free(j);
    handle_result(c, r, out, out_len);
    /* Outside the parser's feed loop: the restart after <success/>
     * happens here, before the client's next header arrives. */
    if (c->restart && c->state != C2S_CLOSING)
        c2s_restart_stream(c);
}

/* Hands the PLAIN check to the worker pool; reading pauses meanwhile. */
static void plain_start(struct c2s *c, const struct scram_creds *sc)
{
    struct plain_job *j = calloc(1, sizeof *j);
    if (!j) {
        temporary_failure(c);
        return;
    }
    j->work.data = j;
    j->c = c;
    j->sasl = c->sasl;
    if (sc) {
        j->creds = *sc;
        j->have_creds = true;
    }
    memcpy(j->secret, store_server_secret(c->srv->store), sizeof j->secret);
    if (uv_queue_work(c->srv->loop, &j->work, plain_work, plain_done) < 0) {
        j->sasl = NULL;
        plain_job_free(j);
        temporary_failure(c);
        return;
    }
    c->sasl = NULL;
    c->auth_job = j;
    c2s_pause(c, C2S_PAUSE_JOB);
}

static enum scram_hash mech_hash(enum sasl_mech m)
{
    return m == SASL_SCRAM_SHA1 || m == SASL_SCRAM_SHA1_PLUS ? SCRAM_SHA1 : SCRAM_SHA256;
}

static void creds_done(void *ud, int err, const struct account_creds *creds)
{
    struct c2s *c = ud;
    if (err < 0 && err != -ENOENT) {
        temporary_failure(c);
        return;
    }
    enum scram_hash h = mech_hash(c->mech);
    const struct scram_creds *sc = creds && creds->have[h] ? &creds->scram[h] : NULL;
    /* PLAIN checks the password against any stored hash: an account
     * imported from another server may have SCRAM-SHA-1 keys only. */
    if (c->mech == SASL_PLAIN && !sc && creds && creds->have[SCRAM_SHA1])
        sc = &creds->scram[SCRAM_SHA1];
    c->suspended = creds && creds->suspended;
    if (c->mech == SASL_PLAIN) {
        plain_start(c, sc);
        return;
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    enum sasl_result r =
        sasl_creds(c->sasl, sc, store_server_secret(c->srv->store), 32, &out, &out_len);
    handle_result(c, r, out, out_len);
}

/* SCRAM usernames are local parts; "user@domain" is accepted too. */
static int username_local(struct c2s *c, const char *name, char *local, size_t cap)
{
    const char *at = strrchr(name, '@');
    if (at) {
        char dom[JID_PART_MAX + 1];
        if (jid_prep_domain(at + 1, dom, sizeof dom) < 0 || strcmp(dom, c->domain) != 0)
            return -1;
        char tmp[JID_PART_MAX + 1];
        size_t n = (size_t)(at - name);
        if (n >= sizeof tmp)
            return -1;
        memcpy(tmp, name, n);
        tmp[n] = '\0';
        return jid_prep_local(tmp, local, cap);
    }
    return jid_prep_local(name, local, cap);
}

static void need_creds(struct c2s *c)
{
    char local[JID_PART_MAX + 1];
    const char *name = sasl_username(c->sasl);
    free(c->user);
    c->user = NULL;
    if (!name || username_local(c, name, local, sizeof local) < 0) {
        creds_done(c, -ENOENT, NULL); /* goes on with a fake salt, fails at the end */
        return;
    }
    if (!(c->user = strdup(local))) {
        temporary_failure(c);
        return;
    }
    store_account_get_creds(c->srv->store, c->domain, c->user, creds_done, c);
}

static void handle_result(struct c2s *c, enum sasl_result r, uint8_t *out, size_t out_len)
{
    switch (r) {
    case SASL_CONTINUE:
        c->state = C2S_SASL;
        send_b64(c, "challenge", out, out_len);
        break;
    case SASL_NEED_CREDS:
        c->state = C2S_SASL;
        need_creds(c);
        break;
    case SASL_OK: sasl_succeeded(c, out, out_len); break;
    case SASL_FAIL: sasl_failed(c); break;
    }
    free(out);
}

/* Decodes the element's text; an empty element is "no data" and "=" is
 * an empty response (RFC 6120 §6.4.2). */
static int decode_payload(struct stanza *st, uint8_t **data, size_t *len)
{
    const char *text = xml_text(st, st->root);
    if (!text)
        return -ENOMEM;
    *data = NULL;
    *len = 0;
    if (!*text)
        return 0;
    return sasl_b64_decode(text, strlen(text), data, len);
}

static void step(struct c2s *c, struct stanza *st)
{
    uint8_t *in = NULL, *out = NULL;
    size_t in_len = 0, out_len = 0;
    if (decode_payload(st, &in, &in_len) < 0) {
        sasl_failure_send(c, SASLF_INCORRECT_ENCODING, "not base64 (RFC 4648, no whitespace)",
                          NOT_AN_ATTEMPT);
        return;
    }
    enum sasl_result r = sasl_step(c->sasl, in ? in : (const uint8_t *)"", in_len, &out, &out_len);
    free(in);
    handle_result(c, r, out, out_len);
}

static void auth_start(struct c2s *c, struct stanza *st)
{
    const char *name = xml_attr(st->root, "mechanism");
    enum sasl_mech m = name ? sasl_mech_parse(name) : SASL_MECH_NONE;
    struct sasl_cb cb;
    conn_channel_binding(c->conn, &cb);
    cb.plus_advertised = sasl_cb_any(&cb);
    bool plus = m == SASL_SCRAM_SHA1_PLUS || m == SASL_SCRAM_SHA256_PLUS;
    if (m == SASL_MECH_NONE || (plus && !cb.plus_advertised)) {
        sasl_failure_send(c, SASLF_INVALID_MECHANISM, "mechanism not offered on this connection",
                          NOT_AN_ATTEMPT);
        return;
    }
    c->mech = m;
    if (!(c->sasl = sasl_new(m, &cb))) {
        temporary_failure(c);
        return;
    }
    c->state = C2S_SASL;
    const char *text = xml_text(st, st->root);
    if (text && !*text) {
        send_b64(c, "challenge", NULL, 0); /* no initial response: ask for it */
        return;
    }
    step(c, st);
}

void c2s_sasl_element(struct c2s *c, struct stanza *st)
{
    const char *name = st->root->name;
    if (c->auth_job) {
        /* RFC 6120 §6.4: the client waits for the outcome. */
        stanza_unref(st);
        c2s_stream_error(c, STREAM_POLICY_VIOLATION, "wait for the SASL outcome");
        return;
    }
    if (c->state == C2S_FEATURES && strcmp(name, "auth") == 0)
        auth_start(c, st);
    else if (c->state == C2S_SASL && strcmp(name, "response") == 0)
        step(c, st);
    else if (c->state == C2S_SASL && strcmp(name, "abort") == 0)
        sasl_failure_send(c, SASLF_ABORTED, NULL, NOT_AN_ATTEMPT);
    else
        sasl_failure_send(c, SASLF_MALFORMED_REQUEST, "unexpected SASL element", NOT_AN_ATTEMPT);
    stanza_unref(st);
}
