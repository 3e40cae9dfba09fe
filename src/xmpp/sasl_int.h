/* Internals shared by sasl.c (exchange, PLAIN), sasl_scram.c (SCRAM
 * messages) and sasl_crypto.c (keys, base64, SASLprep). Not for other
 * parts: they use xmpp/sasl.h. */
#ifndef TAUBE_SASL_INT_H
#define TAUBE_SASL_INT_H

#include "xmpp/sasl.h"

#define SASL_MAX_MSG 4096       /* any one client message, decoded */
#define SASL_MAX_NAME 1023      /* authcid, password (bytes) */
#define SASL_MAX_AUTHZID 3071   /* a full JID */
#define SCRAM_MAX_NONCE 256     /* client nonce, printable bytes */
#define SCRAM_SNONCE_RAND 18    /* random bytes: 24 base64 characters */
#define SCRAM_MAX_ITER 10000000 /* refuse stored credentials above this */

enum sasl_state {
    SASL_ST_START,      /* waiting for the first client message */
    SASL_ST_NEED_CREDS, /* waiting for sasl_creds */
    SASL_ST_FIRST_SENT, /* SCRAM: server-first sent, waiting for final */
    SASL_ST_DONE,
    SASL_ST_FAILED,
};

struct sasl {
    enum sasl_mech mech;
    enum sasl_state state;
    enum sasl_failure failure;
    const char *fail_text; /* static, see sasl_failure_text */
    bool creds_given;      /* sasl_creds ran: failures now count as attempts */
    struct sasl_cb cb;
    bool empty_seen; /* one empty message (no initial response) allowed */
    char *username;  /* SASLprep'ed authcid */
    char *authzid;   /* NULL if none */
    char *password;  /* PLAIN only, SASLprep'ed; wiped */

    /* SCRAM */
    enum scram_hash hash;
    bool plus;
    char *gs2_header; /* "n,,", "p=tls-exporter,a=x," ... */
    size_t gs2_len;
    enum sasl_cb_type cb_type;
    char *first_bare;   /* client-first-message-bare */
    char *server_first; /* server-first-message */
    char *nonce;        /* client nonce, then client + server nonce */
    char *fixed_snonce; /* test hook: server nonce to use */
    struct scram_creds creds;
    bool fake_user;
};

enum sasl_result sasl_fail(struct sasl *s, enum sasl_failure f);
/* The same, with a text for the client (static string). */
enum sasl_result sasl_fail_why(struct sasl *s, enum sasl_failure f, const char *text);

int scram_hmac(enum scram_hash h, const uint8_t *key, size_t key_len, const void *data, size_t len,
               uint8_t out[SCRAM_MAX_KEY]);
int scram_digest(enum scram_hash h, const uint8_t *data, size_t len, uint8_t out[SCRAM_MAX_KEY]);
/* Salt for a user that does not exist: HMAC(secret, hash || username)
 * truncated, so the same unknown name always gets the same salt. */
int scram_fake_salt(enum scram_hash h, const char *username, const uint8_t *secret,
                    size_t secret_len, uint8_t salt[SCRAM_SALT_LEN]);

enum sasl_result scram_client_first(struct sasl *s, const uint8_t *in, size_t len);
enum sasl_result scram_server_first(struct sasl *s, const struct scram_creds *creds,
                                    const uint8_t *secret, size_t secret_len, uint8_t **out,
                                    size_t *out_len);
enum sasl_result scram_client_final(struct sasl *s, const uint8_t *in, size_t len, uint8_t **out,
                                    size_t *out_len);

#endif
