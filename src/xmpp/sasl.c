/* SASL exchanges: the state machine, mechanism names, PLAIN (RFC 4616).
 * SCRAM messages are in sasl_scram.c, keys and encodings in sasl_crypto.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "xmpp/jid.h"
#include "xmpp/sasl_int.h"

static const struct {
    enum sasl_mech mech;
    const char *name;
} mech_names[] = {
    {SASL_PLAIN, "PLAIN"},
    {SASL_SCRAM_SHA1, "SCRAM-SHA-1"},
    {SASL_SCRAM_SHA1_PLUS, "SCRAM-SHA-1-PLUS"},
    {SASL_SCRAM_SHA256, "SCRAM-SHA-256"},
    {SASL_SCRAM_SHA256_PLUS, "SCRAM-SHA-256-PLUS"},
};

/* Mechanism names are case-sensitive (RFC 4422 §3.1). */
enum sasl_mech sasl_mech_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
        if (strcmp(name, mech_names[i].name) == 0)
            return mech_names[i].mech;
    return SASL_MECH_NONE;
}

const char *sasl_mech_name(enum sasl_mech m)
{
    for (size_t i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
        if (mech_names[i].mech == m)
            return mech_names[i].name;
    return NULL;
}

const char *sasl_failure_name(enum sasl_failure f)
{
    static const char *const names[] = {
        [SASLF_NONE] = "not-authorized", /* never sent without a cause */
        [SASLF_ABORTED] = "aborted",
        [SASLF_ACCOUNT_DISABLED] = "account-disabled",
        [SASLF_CREDENTIALS_EXPIRED] = "credentials-expired",
        [SASLF_ENCRYPTION_REQUIRED] = "encryption-required",
        [SASLF_INCORRECT_ENCODING] = "incorrect-encoding",
        [SASLF_INVALID_AUTHZID] = "invalid-authzid",
        [SASLF_INVALID_MECHANISM] = "invalid-mechanism",
        [SASLF_MALFORMED_REQUEST] = "malformed-request",
        [SASLF_MECHANISM_TOO_WEAK] = "mechanism-too-weak",
        [SASLF_NOT_AUTHORIZED] = "not-authorized",
        [SASLF_TEMPORARY_AUTH_FAILURE] = "temporary-auth-failure",
    };
    if ((unsigned)f >= sizeof(names) / sizeof(names[0]))
        return "not-authorized";
    return names[f];
}

/* An unknown mechanism still gets an object: its first step fails with
 * invalid-mechanism, so c2s needs no separate path for it. */
struct sasl *sasl_new(enum sasl_mech mech, const struct sasl_cb *cb)
{
    struct sasl *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->mech = mech;
    if (cb)
        s->cb = *cb;
    s->plus = mech == SASL_SCRAM_SHA1_PLUS || mech == SASL_SCRAM_SHA256_PLUS;
    s->hash = (mech == SASL_SCRAM_SHA1 || mech == SASL_SCRAM_SHA1_PLUS) ? SCRAM_SHA1 : SCRAM_SHA256;
    return s;
}

static void free_secret(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

void sasl_free(struct sasl *s)
{
    if (!s)
        return;
    free_secret(s->password);
    free(s->username);
    free(s->authzid);
    free(s->gs2_header);
    free(s->first_bare);
    free(s->server_first);
    free(s->nonce);
    free(s->fixed_snonce);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

enum sasl_result sasl_fail(struct sasl *s, enum sasl_failure f)
{
    s->state = SASL_ST_FAILED;
    s->failure = f;
    free_secret(s->password);
    s->password = NULL;
    OPENSSL_cleanse(&s->creds, sizeof(s->creds));
    return SASL_FAIL;
}

enum sasl_result sasl_fail_why(struct sasl *s, enum sasl_failure f, const char *text)
{
    s->fail_text = text;
    return sasl_fail(s, f);
}

enum sasl_failure sasl_failure(const struct sasl *s) { return s->failure; }

const char *sasl_failure_text(const struct sasl *s) { return s->fail_text; }

bool sasl_failure_is_attempt(const struct sasl *s)
{
    return s->creds_given && s->failure == SASLF_NOT_AUTHORIZED;
}

bool sasl_cb_any(const struct sasl_cb *cb)
{
    return cb->tls && (cb->have_exporter || cb->endpoint_len > 0 || cb->unique_len > 0);
}

const char *sasl_username(const struct sasl *s) { return s->username; }

const char *sasl_authzid(const struct sasl *s) { return s->authzid; }

int sasl_set_server_nonce(struct sasl *s, const char *nonce)
{
    size_t n = strnlen(nonce, SCRAM_MAX_NONCE + 1);
    if (n == 0 || n > SCRAM_MAX_NONCE)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (nonce[i] < 0x21 || nonce[i] > 0x7E || nonce[i] == ',')
            return -EINVAL;
    char *copy = strdup(nonce);
    if (!copy)
        return -ENOMEM;
    free(s->fixed_snonce);
    s->fixed_snonce = copy;
    return 0;
}

/* Splits "authzid NUL authcid NUL passwd" (RFC 4616 §2). */
static enum sasl_result plain_start(struct sasl *s, const uint8_t *in, size_t len)
{
    const uint8_t *n1 = memchr(in, 0, len);
    const uint8_t *n2 = n1 ? memchr(n1 + 1, 0, len - (size_t)(n1 + 1 - in)) : NULL;
    if (!n2 || memchr(n2 + 1, 0, len - (size_t)(n2 + 1 - in)))
        return sasl_fail_why(s, SASLF_MALFORMED_REQUEST,
                             "PLAIN message is not authzid NUL authcid NUL passwd");
    size_t az = (size_t)(n1 - in), ac = (size_t)(n2 - n1 - 1), pw = len - (size_t)(n2 + 1 - in);
    if (az > SASL_MAX_NAME || ac == 0 || ac > SASL_MAX_NAME || pw == 0 || pw > SASL_MAX_NAME)
        return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "empty or too long PLAIN field");
    if (az > 0) {
        if (!jid_utf8_valid((const char *)in, az))
            return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "authzid is not UTF-8");
        if (!(s->authzid = strndup((const char *)in, az)))
            return sasl_fail(s, SASLF_TEMPORARY_AUTH_FAILURE);
    }
    int rc = sasl_saslprep((const char *)n1 + 1, ac, &s->username);
    if (rc == 0 && strlen(s->username) > SASL_MAX_NAME)
        rc = -EINVAL;
    if (rc == 0)
        rc = sasl_saslprep((const char *)n2 + 1, pw, &s->password);
    if (rc == 0 && strlen(s->password) > SASL_MAX_NAME)
        rc = -EINVAL;
    if (rc < 0)
        return rc == -ENOMEM ? sasl_fail(s, SASLF_TEMPORARY_AUTH_FAILURE)
                             : sasl_fail_why(s, SASLF_MALFORMED_REQUEST,
                                             "user name or password refused by SASLprep");
    s->state = SASL_ST_NEED_CREDS;
    return SASL_NEED_CREDS;
}

/* PLAIN has no salt to hide, but an unknown user still costs one PBKDF2
 * run, so the reply time does not tell whether the account exists. */
static enum sasl_result plain_verify(struct sasl *s, const struct scram_creds *creds,
                                     const uint8_t *secret, size_t secret_len)
{
    bool ok;
    if (creds) {
        ok = scram_verify_password(creds, s->password);
    } else {
        uint8_t salt[SCRAM_SALT_LEN];
        struct scram_creds fake;
        if (scram_fake_salt(SCRAM_SHA256, s->username, secret, secret_len, salt) == 0)
            scram_derive_salt(SCRAM_SHA256, s->password, salt, sizeof(salt), SCRAM_DEFAULT_ITER,
                              &fake);
        OPENSSL_cleanse(&fake, sizeof(fake));
        ok = false;
    }
    if (!ok)
        return sasl_fail(s, SASLF_NOT_AUTHORIZED);
    free_secret(s->password);
    s->password = NULL;
    s->state = SASL_ST_DONE;
    return SASL_OK;
}

enum sasl_result sasl_step(struct sasl *s, const uint8_t *in, size_t in_len, uint8_t **out,
                           size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!sasl_mech_name(s->mech) && s->state == SASL_ST_START)
        return sasl_fail(s, SASLF_INVALID_MECHANISM);
    if (in_len > SASL_MAX_MSG)
        return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "SASL message over 4 KiB");
    switch (s->state) {
    case SASL_ST_START:
        /* <auth/> without an initial response: answer with an empty
         * challenge (*out NULL), once. */
        if (in_len == 0 && !s->empty_seen) {
            s->empty_seen = true;
            return SASL_CONTINUE;
        }
        if (in_len == 0)
            return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "empty initial response");
        if (s->mech == SASL_PLAIN)
            return plain_start(s, in, in_len);
        return scram_client_first(s, in, in_len);
    case SASL_ST_FIRST_SENT: return scram_client_final(s, in, in_len, out, out_len);
    default:
        /* A step while credentials are awaited, or after the end. */
        return sasl_fail_why(s, SASLF_MALFORMED_REQUEST, "unexpected SASL response");
    }
}

enum sasl_result sasl_creds(struct sasl *s, const struct scram_creds *creds,
                            const uint8_t *server_secret, size_t secret_len, uint8_t **out,
                            size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (s->state != SASL_ST_NEED_CREDS) {
        log_error("sasl: credentials supplied in the wrong state");
        return sasl_fail(s, SASLF_TEMPORARY_AUTH_FAILURE);
    }
    s->creds_given = true;
    if (s->mech == SASL_PLAIN)
        return plain_verify(s, creds, server_secret, secret_len);
    return scram_server_first(s, creds, server_secret, secret_len, out, out_len);
}
