/* SASL mechanisms, server side: SCRAM-SHA-1, SCRAM-SHA-256 and their
 * -PLUS variants (RFC 5802, RFC 7677, channel binding RFC 5929
 * tls-server-end-point and tls-unique, RFC 9266 tls-exporter), and PLAIN
 * (RFC 4616).
 *
 * Pure computation on bytes: no I/O, no store, no XML. The caller (c2s)
 * base64-decodes the <auth>/<response> payloads, looks up credentials
 * between the steps and base64-encodes the replies. Any thread.
 *
 * Stored credentials (promise P4): per hash only salt, iteration count,
 * StoredKey and ServerKey. Neither the password nor SaltedPassword is kept.
 */
#ifndef TAUBE_SASL_H
#define TAUBE_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum scram_hash { SCRAM_SHA1 = 0, SCRAM_SHA256 = 1, SCRAM_NHASH };

#define SCRAM_MAX_KEY 32      /* SHA-256 output */
#define SCRAM_SALT_LEN 16
#define SCRAM_MAX_SALT 64
#define SCRAM_DEFAULT_ITER 4096

struct scram_creds {
    enum scram_hash hash;
    uint8_t salt[SCRAM_MAX_SALT];
    size_t salt_len;
    uint32_t iterations;
    uint8_t stored_key[SCRAM_MAX_KEY];
    uint8_t server_key[SCRAM_MAX_KEY];
};

size_t scram_hash_len(enum scram_hash h); /* 20 or 32 */

/* Derives credentials from a password (already SASLprep'ed by
 * sasl_saslprep) with a fresh random salt. Slow (PBKDF2): call from a
 * worker thread in the server. 0 or negative errno. */
int scram_derive(enum scram_hash h, const char *password, uint32_t iterations,
                 struct scram_creds *out);
/* Same with a given salt (tests, PLAIN verification). */
int scram_derive_salt(enum scram_hash h, const char *password, const uint8_t *salt, size_t salt_len,
                      uint32_t iterations, struct scram_creds *out);
/* Verifies a plaintext password against stored credentials (PLAIN):
 * derives and compares StoredKey in constant time. Slow like scram_derive. */
bool scram_verify_password(const struct scram_creds *c, const char *password);

/* SASLprep (RFC 4013) of a password or username. 0, -EINVAL, -ENOMEM;
 * *out is malloc'ed. */
int sasl_saslprep(const char *in, size_t len, char **out);

enum sasl_mech {
    SASL_MECH_NONE = 0,
    SASL_PLAIN,
    SASL_SCRAM_SHA1,
    SASL_SCRAM_SHA1_PLUS,
    SASL_SCRAM_SHA256,
    SASL_SCRAM_SHA256_PLUS,
};
enum sasl_mech sasl_mech_parse(const char *name);
const char *sasl_mech_name(enum sasl_mech m);

enum sasl_cb_type {
    SASL_CB_NONE = 0,
    SASL_CB_TLS_EXPORTER,
    SASL_CB_TLS_SERVER_END_POINT,
    SASL_CB_TLS_UNIQUE,
};

/* Channel-binding data the TLS layer offers for this connection. */
struct sasl_cb {
    bool tls;                  /* connection is TLS at all */
    bool tls13;                /* TLS 1.3 or later: no tls-unique (RFC 9266) */
    uint8_t exporter[32];      /* tls-exporter data, if have_exporter */
    bool have_exporter;
    uint8_t endpoint[64];      /* tls-server-end-point hash, if endpoint_len */
    size_t endpoint_len;
    uint8_t unique[64];        /* tls-unique (TLS 1.2 with the extended */
    size_t unique_len;         /* master secret only), if unique_len */
    bool plus_advertised;      /* we offered -PLUS mechanisms (RFC 5802 "y" check) */
};

/* Outcome of a step. SASL_CONTINUE: send *out as <challenge>.
 * SASL_NEED_CREDS: look up the user named by sasl_username(), then call
 * sasl_scram_creds(). SASL_OK: send *out (may be empty) in <success>.
 * SASL_FAIL: send <failure> with the condition from sasl_failure(). */
enum sasl_result { SASL_CONTINUE, SASL_NEED_CREDS, SASL_OK, SASL_FAIL };

/* RFC 6120 §6.5 failure conditions we use. */
enum sasl_failure {
    SASLF_NONE = 0,
    SASLF_ABORTED,
    SASLF_ACCOUNT_DISABLED,
    SASLF_CREDENTIALS_EXPIRED,
    SASLF_ENCRYPTION_REQUIRED,
    SASLF_INCORRECT_ENCODING,
    SASLF_INVALID_AUTHZID,
    SASLF_INVALID_MECHANISM,
    SASLF_MALFORMED_REQUEST,
    SASLF_MECHANISM_TOO_WEAK,
    SASLF_NOT_AUTHORIZED,
    SASLF_TEMPORARY_AUTH_FAILURE,
};
const char *sasl_failure_name(enum sasl_failure f); /* "not-authorized" etc */
/* True if at least one channel-binding type is available in cb. */
bool sasl_cb_any(const struct sasl_cb *cb);

struct sasl;

/* New exchange. cb is copied. NULL on ENOMEM. */
struct sasl *sasl_new(enum sasl_mech mech, const struct sasl_cb *cb);
void sasl_free(struct sasl *s); /* wipes secrets */

/* Feeds one client message (decoded; the initial response of <auth> or a
 * <response>). *out/out_len receive the reply to send (malloc'ed, may be
 * NULL for none); the caller frees it. An <auth/> without initial response
 * is fed as in_len 0: the result is SASL_CONTINUE with *out NULL, i.e. an
 * empty <challenge/> (allowed once). Messages over 4 KiB fail. */
enum sasl_result sasl_step(struct sasl *s, const uint8_t *in, size_t in_len, uint8_t **out,
                           size_t *out_len);
/* After SASL_NEED_CREDS: the SASLprep'ed authentication identity. */
const char *sasl_username(const struct sasl *s);
/* The authorization identity the client asked for, or NULL. */
const char *sasl_authzid(const struct sasl *s);
/* Supplies credentials (NULL if the user does not exist: the exchange then
 * goes on with a fake salt derived from server_secret, and fails at the
 * end with not-authorized, so unknown users are not revealed). For PLAIN,
 * the password is verified here. Returns the next result like sasl_step
 * (SCRAM: SASL_CONTINUE with server-first-message in *out). */
enum sasl_result sasl_creds(struct sasl *s, const struct scram_creds *creds,
                            const uint8_t *server_secret, size_t secret_len, uint8_t **out,
                            size_t *out_len);
enum sasl_failure sasl_failure(const struct sasl *s);
/* Why, in a few English words for the client's <text/> and the debug log
 * (a static string; no user data), or NULL: a wrong password or proof
 * says nothing more than not-authorized. */
const char *sasl_failure_text(const struct sasl *s);
/* True if the failure came from checking the client's credentials
 * against the stored ones (a wrong password or proof, an unknown user, a
 * channel binding or nonce that does not match): a password attempt.
 * False for failures before any such check (a malformed message, an
 * unknown or unavailable channel-binding type, the "y" flag while -PLUS
 * was offered, a server-side error), which tell a guesser nothing. */
bool sasl_failure_is_attempt(const struct sasl *s);

/* Added, test hook: use this server nonce part (printable, no ',', at
 * most 256 bytes) instead of a random one. 0, -EINVAL, -ENOMEM. */
int sasl_set_server_nonce(struct sasl *s, const char *nonce);

/* base64 helpers (RFC 4648, no line breaks, strict: no whitespace, pad
 * bits zero). "=" alone decodes to empty; empty input encodes to "=".
 * 0, -EINVAL (bad encoding), -ENOMEM. Output malloc'ed, NUL-terminated. */
int sasl_b64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len);
int sasl_b64_encode(const uint8_t *in, size_t len, char **out, size_t *out_len);

#endif
