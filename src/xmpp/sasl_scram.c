/* SCRAM server messages (RFC 5802 §5, §7), SHA-1 and SHA-256 (RFC 7677),
 * with channel binding tls-exporter (RFC 9266), tls-server-end-point and
 * tls-unique (RFC 5929; TLS 1.2 only).
 *
 * Failure conditions: a message that does not follow the grammar, and a
 * channel-binding negotiation that cannot succeed (RFC 5802 §6: a type we
 * do not offer, "y" while we offer -PLUS), get malformed-request with a
 * text, as Prosody answers them: no password has been looked at yet.
 * What the credentials decide (the binding data and nonce in the final
 * message, the proof, an unknown user) gets not-authorized without a
 * text, so a client cannot tell an unknown user from a wrong password.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/log.h"
#include "xmpp/jid.h"
#include "xmpp/sasl_int.h"

#define CB_NAME_MAX 64

/* One "x=value" attribute; more is set when a ',' followed it. */
struct attr {
    char name;
    const char *val;
    size_t len;
    bool more;
};

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Reads the attribute at *pos (value non-empty, up to ',' or the end). */
static bool next_attr(const char *m, size_t len, size_t *pos, struct attr *a)
{
    size_t p = *pos;
    if (p + 2 > len || !is_alpha(m[p]) || m[p + 1] != '=')
        return false;
    a->name = m[p];
    a->val = m + p + 2;
    const char *comma = memchr(a->val, ',', len - p - 2);
    a->len = comma ? (size_t)(comma - a->val) : len - p - 2;
    a->more = comma != NULL;
    *pos = p + 2 + a->len + (comma ? 1 : 0);
    return a->len > 0;
}

/* saslname (RFC 5802 §7): ',' and '=' arrive as "=2C" and "=3D"; any
 * other '=' is an encoding error. The result must be valid UTF-8. */
static int saslname_decode(const char *v, size_t len, char **out)
{
    char *buf = malloc(len + 1);
    size_t j = 0;
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (v[i] != '=') {
            buf[j++] = v[i];
        } else if (len - i >= 3 && (memcmp(v + i, "=2C", 3) == 0 || memcmp(v + i, "=3D", 3) == 0)) {
            buf[j++] = v[i + 1] == '2' ? ',' : '=';
            i += 2;
        } else {
            free(buf);
            return -EINVAL;
        }
    }
    buf[j] = '\0';
    if (j == 0 || !jid_utf8_valid(buf, j)) {
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    return 0;
}

static bool printable(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x21 || v[i] > 0x7E || v[i] == ',')
            return false;
    return true;
}

/* Reads gs2-cbind-flag and its ',' ("n", "y" or "p=name"). */
static bool parse_cbind_flag(const char *m, size_t len, size_t *pos, char *flag,
                             const char **cb_name, size_t *cb_len)
{
    if (len < 2)
        return false;
    if ((m[0] == 'n' || m[0] == 'y') && m[1] == ',') {
        *flag = m[0];
        *pos = 2;
        return true;
    }
    struct attr a;
    if (m[0] != 'p' || !next_attr(m, len, pos, &a) || !a.more || a.len > CB_NAME_MAX)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        char c = a.val[i];
        if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-')
            return false;
    }
    *flag = 'p';
    *cb_name = a.val;
    *cb_len = a.len;
    return true;
}

static bool name_is(const char *v, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(v, lit, len) == 0;
}

/* The channel-binding type the client named, if this connection has it. */
static enum sasl_cb_type cb_offered(const struct sasl_cb *cb, const char *name, size_t len)
{
    if (!cb->tls)
        return SASL_CB_NONE;
    if (name_is(name, len, "tls-exporter") && cb->have_exporter)
        return SASL_CB_TLS_EXPORTER;
    if (name_is(name, len, "tls-server-end-point") && cb->endpoint_len > 0 &&
        cb->endpoint_len <= sizeof(cb->endpoint))
        return SASL_CB_TLS_SERVER_END_POINT;
    if (name_is(name, len, "tls-unique") && cb->unique_len > 0 &&
        cb->unique_len <= sizeof(cb->unique))
        return SASL_CB_TLS_UNIQUE;
    return SASL_CB_NONE;
}

/* Why a named type is not offered here. The texts open with RFC 5802
 * §7's server-error-value. */
static const char *cb_refusal(const struct sasl_cb *cb, const char *name, size_t len)
{
    if (name_is(name, len, "tls-unique"))
        return cb->tls13 ? "unsupported-channel-binding-type: channel binding tls-unique "
                           "requested, not offered on TLS 1.3 (RFC 9266)"
                         : "unsupported-channel-binding-type: channel binding tls-unique "
                           "requested, offered on TLS 1.2 only with the extended master secret";
    if (name_is(name, len, "tls-exporter"))
        return "unsupported-channel-binding-type: channel binding tls-exporter requested, "
               "offered on TLS 1.2 only with the extended master secret";
    return "unsupported-channel-binding-type: channel binding type not offered on this "
           "connection (see urn:xmpp:sasl-cb:0 in the stream features)";
}

static enum sasl_failure cb_fail(struct sasl *s, const char *text)
{
    s->fail_text = text;
    return SASLF_MALFORMED_REQUEST;
}

/* RFC 5802 §6 channel-binding negotiation; sets s->cb_type. */
static enum sasl_failure check_cbind(struct sasl *s, char flag, const char *name, size_t len)
{
    if (flag != 'p' && s->plus)
        return cb_fail(s, "channel-binding-not-supported: a -PLUS mechanism needs gs2 flag p=");
    if (flag == 'p' && !s->plus)
        return cb_fail(s, "channel binding requested with a mechanism without -PLUS");
    /* "y": the client can bind but saw no -PLUS offer, yet we made one:
     * someone may have removed it on the way (downgrade). */
    if (flag == 'y' && s->cb.plus_advertised)
        return cb_fail(s, "server-does-support-channel-binding: -PLUS is offered, gs2 flag y "
                          "means the client did not see it");
    if (flag != 'p')
        return SASLF_NONE;
    s->cb_type = cb_offered(&s->cb, name, len);
    return s->cb_type != SASL_CB_NONE ? SASLF_NONE : cb_fail(s, cb_refusal(&s->cb, name, len));
}

/* gs2-header: cbind flag, optional "a=" authzid, and the closing ','. */
static enum sasl_failure parse_gs2_header(struct sasl *s, const char *m, size_t len, size_t *pos)
{
    const char *cb_name = NULL;
    size_t cb_len = 0;
    char flag;
    struct attr a;

    if (!parse_cbind_flag(m, len, pos, &flag, &cb_name, &cb_len))
        return SASLF_MALFORMED_REQUEST;
    if (*pos < len && m[*pos] == ',') {
        (*pos)++;
    } else {
        if (!next_attr(m, len, pos, &a) || a.name != 'a' || !a.more || a.len > SASL_MAX_AUTHZID)
            return SASLF_MALFORMED_REQUEST;
        int rc = saslname_decode(a.val, a.len, &s->authzid);
        if (rc < 0)
            return rc == -ENOMEM ? SASLF_TEMPORARY_AUTH_FAILURE : SASLF_MALFORMED_REQUEST;
    }
    s->gs2_len = *pos;
    if (!(s->gs2_header = strndup(m, *pos)))
        return SASLF_TEMPORARY_AUTH_FAILURE;
    return check_cbind(s, flag, cb_name, cb_len);
}

/* Optional trailing extensions: well-formed attributes, ignored. */
static bool skip_extensions(const char *m, size_t len, size_t pos, bool more)
{
    struct attr a;
    while (more) {
        if (!next_attr(m, len, &pos, &a))
            return false;
        more = a.more;
    }
    return pos == len;
}

/* client-first-message-bare: n=user,r=nonce[,ext]. "m=" (mandatory
 * extensions) is refused: we support none. */
static enum sasl_failure parse_first_bare(struct sasl *s, const char *m, size_t len)
{
    struct attr n, r;
    size_t pos = 0;
    char *raw = NULL;

    if (!next_attr(m, len, &pos, &n) || n.name != 'n' || !n.more || n.len > SASL_MAX_NAME * 3 ||
        !next_attr(m, len, &pos, &r) || r.name != 'r' || r.len > SCRAM_MAX_NONCE ||
        !printable(r.val, r.len) || !skip_extensions(m, len, pos, r.more))
        return SASLF_MALFORMED_REQUEST;
    int rc = saslname_decode(n.val, n.len, &raw);
    if (rc == 0) {
        rc = sasl_saslprep(raw, strlen(raw), &s->username);
        free(raw);
    }
    if (rc == 0 && strlen(s->username) > SASL_MAX_NAME)
        rc = -EINVAL;
    if (rc < 0)
        return rc == -ENOMEM ? SASLF_TEMPORARY_AUTH_FAILURE : SASLF_MALFORMED_REQUEST;
    s->nonce = strndup(r.val, r.len);
    s->first_bare = strndup(m, len);
    return s->nonce && s->first_bare ? SASLF_NONE : SASLF_TEMPORARY_AUTH_FAILURE;
}

enum sasl_result scram_client_first(struct sasl *s, const uint8_t *in, size_t len)
{
    const char *m = (const char *)in;
    size_t pos = 0;
    enum sasl_failure f;

    if (memchr(in, 0, len))
        return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "NUL in client-first-message");
    if ((f = parse_gs2_header(s, m, len, &pos)) != SASLF_NONE ||
        (f = parse_first_bare(s, m + pos, len - pos)) != SASLF_NONE) {
        if (f == SASLF_MALFORMED_REQUEST && !s->fail_text)
            s->fail_text = "client-first-message does not follow RFC 5802";
        return sasl_fail(s, f);
    }
    s->state = SASL_ST_NEED_CREDS;
    return SASL_NEED_CREDS;
}

/* Credentials that cannot reveal anything: the fake salt, default
 * iterations, random keys no proof can match. */
static int fake_creds(struct sasl *s, const uint8_t *secret, size_t secret_len)
{
    struct scram_creds *c = &s->creds;
    memset(c, 0, sizeof(*c));
    c->hash = s->hash;
    c->salt_len = SCRAM_SALT_LEN;
    c->iterations = SCRAM_DEFAULT_ITER;
    s->fake_user = true;
    if (RAND_bytes(c->stored_key, sizeof(c->stored_key)) != 1 ||
        RAND_bytes(c->server_key, sizeof(c->server_key)) != 1)
        return -ENOMEM;
    return scram_fake_salt(s->hash, s->username, secret, secret_len, c->salt);
}

static int take_creds(struct sasl *s, const struct scram_creds *creds, const uint8_t *secret,
                      size_t secret_len)
{
    if (!creds)
        return fake_creds(s, secret, secret_len);
    if (creds->hash != s->hash || creds->salt_len == 0 || creds->salt_len > SCRAM_MAX_SALT ||
        creds->iterations == 0 || creds->iterations > SCRAM_MAX_ITER) {
        log_error("sasl: stored SCRAM credentials unusable for %s", sasl_mech_name(s->mech));
        return -EINVAL;
    }
    s->creds = *creds;
    return 0;
}

/* Appends the server nonce part to s->nonce. */
static int add_server_nonce(struct sasl *s)
{
    uint8_t rnd[SCRAM_SNONCE_RAND];
    char *snonce = NULL;
    size_t sl;
    int rc;

    if (s->fixed_snonce) {
        snonce = strdup(s->fixed_snonce);
        sl = snonce ? strlen(snonce) : 0;
        rc = snonce ? 0 : -ENOMEM;
    } else if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return -ENOMEM;
    } else {
        rc = sasl_b64_encode(rnd, sizeof(rnd), &snonce, &sl); /* no ',' in base64 */
    }
    if (rc < 0)
        return rc;
    size_t cl = strlen(s->nonce);
    char *n = realloc(s->nonce, cl + sl + 1);
    if (!n) {
        free(snonce);
        return -ENOMEM;
    }
    memcpy(n + cl, snonce, sl + 1);
    s->nonce = n;
    free(snonce);
    return 0;
}

static int build_server_first(struct sasl *s, uint8_t **out, size_t *out_len)
{
    char *salt = NULL;
    size_t salt_len;
    int rc = sasl_b64_encode(s->creds.salt, s->creds.salt_len, &salt, &salt_len);
    if (rc < 0)
        return rc;
    size_t cap = strlen(s->nonce) + salt_len + 32;
    s->server_first = malloc(cap);
    *out = malloc(cap);
    if (!s->server_first || !*out) {
        free(salt);
        free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    int n = snprintf(s->server_first, cap, "r=%s,s=%s,i=%u", s->nonce, salt,
                     (unsigned)s->creds.iterations);
    free(salt);
    memcpy(*out, s->server_first, (size_t)n + 1);
    *out_len = (size_t)n;
    return 0;
}

enum sasl_result scram_server_first(struct sasl *s, const struct scram_creds *creds,
                                    const uint8_t *secret, size_t secret_len, uint8_t **out,
                                    size_t *out_len)
{
    int rc = take_creds(s, creds, secret, secret_len);
    if (rc == 0)
        rc = add_server_nonce(s);
    if (rc == 0)
        rc = build_server_first(s, out, out_len);
    if (rc < 0)
        return sasl_fail(s, SASLF_TEMPORARY_AUTH_FAILURE);
    s->state = SASL_ST_FIRST_SENT;
    return SASL_CONTINUE;
}

/* c= must be base64(gs2-header || channel-binding data). */
static bool cbind_matches(const struct sasl *s, const char *v, size_t len)
{
    const uint8_t *data = NULL;
    size_t dl = 0;
    uint8_t *got = NULL;
    size_t got_len = 0;

    if (s->cb_type == SASL_CB_TLS_EXPORTER)
        data = s->cb.exporter, dl = sizeof(s->cb.exporter);
    else if (s->cb_type == SASL_CB_TLS_SERVER_END_POINT)
        data = s->cb.endpoint, dl = s->cb.endpoint_len;
    else if (s->cb_type == SASL_CB_TLS_UNIQUE)
        data = s->cb.unique, dl = s->cb.unique_len;
    if (sasl_b64_decode(v, len, &got, &got_len) < 0)
        return false;
    bool ok = got_len == s->gs2_len + dl && memcmp(got, s->gs2_header, s->gs2_len) == 0 &&
              (dl == 0 || CRYPTO_memcmp(got + s->gs2_len, data, dl) == 0);
    free(got);
    return ok;
}

/* AuthMessage = client-first-bare "," server-first "," final-without-proof */
static char *auth_message(const struct sasl *s, const char *final, size_t final_len, size_t *len)
{
    size_t bl = strlen(s->first_bare), sl = strlen(s->server_first);
    char *m = malloc(bl + sl + final_len + 3);
    if (!m)
        return NULL;
    memcpy(m, s->first_bare, bl);
    m[bl] = ',';
    memcpy(m + bl + 1, s->server_first, sl);
    m[bl + 1 + sl] = ',';
    memcpy(m + bl + sl + 2, final, final_len);
    *len = bl + sl + 2 + final_len;
    m[*len] = '\0';
    return m;
}

/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); accept when
 * H(ClientKey) == StoredKey. Also computes ServerSignature. */
static bool verify_proof(const struct sasl *s, const uint8_t *proof, const char *am, size_t am_len,
                         uint8_t server_sig[SCRAM_MAX_KEY])
{
    uint8_t sig[SCRAM_MAX_KEY], key[SCRAM_MAX_KEY], stored[SCRAM_MAX_KEY];
    size_t hl = scram_hash_len(s->hash);
    bool ok = false;

    if (scram_hmac(s->hash, s->creds.stored_key, hl, am, am_len, sig) == 0 &&
        scram_hmac(s->hash, s->creds.server_key, hl, am, am_len, server_sig) == 0) {
        for (size_t i = 0; i < hl; i++)
            key[i] = proof[i] ^ sig[i];
        ok = scram_digest(s->hash, key, hl, stored) == 0 &&
             CRYPTO_memcmp(stored, s->creds.stored_key, hl) == 0;
    }
    OPENSSL_cleanse(sig, sizeof(sig));
    OPENSSL_cleanse(key, sizeof(key));
    return ok && !s->fake_user;
}

/* client-final-message: c=...,r=...[,ext],p=proof (the proof last). */
static enum sasl_failure parse_final(const struct sasl *s, const char *m, size_t len,
                                     size_t *without_proof, struct attr *proof)
{
    struct attr c, r, a;
    size_t pos = 0, start;

    if (!next_attr(m, len, &pos, &c) || c.name != 'c' || !c.more || !next_attr(m, len, &pos, &r) ||
        r.name != 'r' || !r.more)
        return SASLF_MALFORMED_REQUEST;
    do {
        start = pos;
        if (!next_attr(m, len, &pos, &a))
            return SASLF_MALFORMED_REQUEST;
    } while (a.more);
    if (a.name != 'p')
        return SASLF_MALFORMED_REQUEST;
    *without_proof = start - 1;
    *proof = a;
    if (!cbind_matches(s, c.val, c.len) || !name_is(r.val, r.len, s->nonce))
        return SASLF_NOT_AUTHORIZED;
    return SASLF_NONE;
}

static int server_final(enum scram_hash h, const uint8_t *sig, uint8_t **out, size_t *out_len)
{
    char *b64 = NULL;
    size_t bl;
    int rc = sasl_b64_encode(sig, scram_hash_len(h), &b64, &bl);
    if (rc < 0)
        return rc;
    *out = malloc(bl + 3);
    if (!*out) {
        free(b64);
        return -ENOMEM;
    }
    memcpy(*out, "v=", 2);
    memcpy(*out + 2, b64, bl + 1);
    *out_len = bl + 2;
    free(b64);
    return 0;
}

enum sasl_result scram_client_final(struct sasl *s, const uint8_t *in, size_t len, uint8_t **out,
                                    size_t *out_len)
{
    const char *m = (const char *)in;
    struct attr p;
    size_t wp = 0, am_len = 0, proof_len = 0;
    uint8_t *proof = NULL, server_sig[SCRAM_MAX_KEY];
    enum sasl_failure f;

    if (len == 0 || memchr(in, 0, len))
        return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "empty client-final-message or NUL in it");
    if ((f = parse_final(s, m, len, &wp, &p)) != SASLF_NONE)
        return f == SASLF_MALFORMED_REQUEST
                   ? sasl_fail_why(s, f, "client-final-message does not follow RFC 5802")
                   : sasl_fail(s, f);
    if (sasl_b64_decode(p.val, p.len, &proof, &proof_len) < 0 ||
        proof_len != scram_hash_len(s->hash)) {
        free(proof);
        return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "proof is not base64 of the hash size");
    }
    char *am = auth_message(s, m, wp, &am_len);
    bool have_am = am != NULL;
    bool ok = have_am && verify_proof(s, proof, am, am_len, server_sig);
    free(am);
    free(proof);
    if (!ok)
        return sasl_fail(s, have_am ? SASLF_NOT_AUTHORIZED : SASLF_TEMPORARY_AUTH_FAILURE);
    int rc = server_final(s->hash, server_sig, out, out_len);
    OPENSSL_cleanse(&s->creds, sizeof(s->creds));
    if (rc < 0)
        return sasl_fail(s, SASLF_TEMPORARY_AUTH_FAILURE);
    s->state = SASL_ST_DONE;
    return SASL_OK;
}
