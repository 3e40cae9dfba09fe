/* Unit tests for src/xmpp/sasl*.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "xmpp/sasl.h"

static const uint8_t secret[] = "server secret for tests";

/* ---- helpers ---------------------------------------------------------- */

static enum sasl_result step_str(struct sasl *s, const char *msg, char **reply)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    enum sasl_result r = sasl_step(s, (const uint8_t *)msg, strlen(msg), &out, &out_len);
    *reply = (char *)out;
    if (out)
        assert_int_equal(strlen((char *)out), out_len);
    return r;
}

static char *creds_str(struct sasl *s, const struct scram_creds *c, enum sasl_result want)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    enum sasl_result r = sasl_creds(s, c, secret, sizeof(secret) - 1, &out, &out_len);
    assert_int_equal(r, want);
    return (char *)out;
}

static struct scram_creds derive_b64salt(enum scram_hash h, const char *pw, const char *salt64)
{
    uint8_t *salt;
    size_t len;
    struct scram_creds c;
    assert_int_equal(sasl_b64_decode(salt64, strlen(salt64), &salt, &len), 0);
    assert_int_equal(scram_derive_salt(h, pw, salt, len, 4096, &c), 0);
    free(salt);
    return c;
}

/* Checks one failed step and its condition. */
static void expect_fail(struct sasl *s, const char *msg, enum sasl_failure f)
{
    char *reply;
    enum sasl_result r = step_str(s, msg, &reply);
    if (r != SASL_FAIL || sasl_failure(s) != f)
        print_error("message \"%s\": result %d failure %s\n", msg, r,
                    sasl_failure_name(sasl_failure(s)));
    assert_int_equal(r, SASL_FAIL);
    assert_int_equal(sasl_failure(s), f);
    assert_null(reply);
}

static void expect_first_fails(enum sasl_mech m, const struct sasl_cb *cb, const char *msg,
                               enum sasl_failure f)
{
    struct sasl *s = sasl_new(m, cb);
    assert_non_null(s);
    expect_fail(s, msg, f);
    /* Nothing was checked against stored credentials yet. */
    assert_false(sasl_failure_is_attempt(s));
    if (f == SASLF_MALFORMED_REQUEST)
        assert_non_null(sasl_failure_text(s));
    sasl_free(s);
}

/* Same, and the text the client gets names the reason. */
static void expect_first_fails_with(enum sasl_mech m, const struct sasl_cb *cb, const char *msg,
                                    const char *text_part)
{
    struct sasl *s = sasl_new(m, cb);
    assert_non_null(s);
    expect_fail(s, msg, SASLF_MALFORMED_REQUEST);
    assert_false(sasl_failure_is_attempt(s));
    const char *text = sasl_failure_text(s);
    if (!text || !strstr(text, text_part))
        print_error("text \"%s\" lacks \"%s\"\n", text ? text : "(null)", text_part);
    assert_non_null(text);
    assert_non_null(strstr(text, text_part));
    sasl_free(s);
}

/* Test-side SCRAM client: the proof for auth_message with password pw. */
static char *client_proof(enum scram_hash h, const char *pw, const uint8_t *salt, size_t salt_len,
                          unsigned iter, const char *am)
{
    const EVP_MD *md = h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
    size_t hl = scram_hash_len(h);
    uint8_t salted[32], ck[32], sk[32], sig[32], proof[32];
    unsigned int l;
    assert_int_equal(
        PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)salt_len, (int)iter, md, (int)hl, salted),
        1);
    HMAC(md, salted, (int)hl, (const uint8_t *)"Client Key", 10, ck, &l);
    EVP_Digest(ck, hl, sk, &l, md, NULL);
    HMAC(md, sk, (int)hl, (const uint8_t *)am, strlen(am), sig, &l);
    for (size_t i = 0; i < hl; i++)
        proof[i] = ck[i] ^ sig[i];
    char *b64;
    size_t bl;
    assert_int_equal(sasl_b64_encode(proof, hl, &b64, &bl), 0);
    return b64;
}

/* Reads s= and i= out of a server-first message. */
static void parse_server_first(const char *sf, uint8_t **salt, size_t *salt_len, unsigned *iter)
{
    const char *s = strstr(sf, ",s="), *i = strstr(sf, ",i=");
    assert_non_null(s);
    assert_non_null(i);
    assert_int_equal(sasl_b64_decode(s + 3, (size_t)(i - s - 3), salt, salt_len), 0);
    *iter = (unsigned)strtoul(i + 3, NULL, 10);
}

/* A whole SCRAM exchange as a client would run it. gs2 is the header the
 * client sends, cbdata what it binds to (NULL: none), c_gs2 the header it
 * puts in c= (normally gs2). Returns the final result; *s_out keeps the
 * exchange for inspection when non-NULL. */
struct client {
    enum sasl_mech mech;
    const struct sasl_cb *cb;
    const char *gs2;
    const char *c_gs2;
    const uint8_t *cbdata;
    size_t cbdata_len;
    const char *user;
    const char *password;            /* the client's */
    const struct scram_creds *creds; /* the server's (NULL: unknown user) */
};

static enum sasl_result run_client(const struct client *c, struct sasl **s_out)
{
    enum scram_hash h =
        (c->mech == SASL_SCRAM_SHA1 || c->mech == SASL_SCRAM_SHA1_PLUS) ? SCRAM_SHA1 : SCRAM_SHA256;
    struct sasl *s = sasl_new(c->mech, c->cb);
    char first[256], *reply;
    assert_non_null(s);
    snprintf(first, sizeof(first), "%sn=%s,r=clientnonce123", c->gs2, c->user);
    enum sasl_result r = step_str(s, first, &reply);
    if (r != SASL_NEED_CREDS)
        goto out;
    char *sf = creds_str(s, c->creds, SASL_CONTINUE);
    assert_non_null(sf);
    assert_memory_equal(sf, "r=clientnonce123", 16);

    uint8_t cbin[256], *salt;
    size_t gl = strlen(c->c_gs2 ? c->c_gs2 : c->gs2), salt_len;
    memcpy(cbin, c->c_gs2 ? c->c_gs2 : c->gs2, gl);
    if (c->cbdata)
        memcpy(cbin + gl, c->cbdata, c->cbdata_len);
    char *c64;
    size_t c64l;
    assert_int_equal(sasl_b64_encode(cbin, gl + (c->cbdata ? c->cbdata_len : 0), &c64, &c64l), 0);
    size_t nonce_len = strcspn(sf, ",") - 2;
    char without[512], am[1024], final[1024];
    snprintf(without, sizeof(without), "c=%s,r=%.*s", c64, (int)nonce_len, sf + 2);
    snprintf(am, sizeof(am), "%s,%s,%s", first + strlen(c->gs2), sf, without);
    unsigned iter;
    parse_server_first(sf, &salt, &salt_len, &iter);
    char *proof = client_proof(h, c->password, salt, salt_len, iter, am);
    snprintf(final, sizeof(final), "%s,p=%s", without, proof);
    r = step_str(s, final, &reply);
    if (r == SASL_OK) {
        assert_non_null(reply);
        assert_memory_equal(reply, "v=", 2);
    }
    free(reply);
    free(proof);
    free(salt);
    free(c64);
    free(sf);
out:
    if (s_out)
        *s_out = s;
    else
        sasl_free(s);
    return r;
}

/* ---- RFC vectors ------------------------------------------------------ */

static void rfc_exchange(enum sasl_mech m, enum scram_hash h, const char *first, const char *snonce,
                         const char *salt64, const char *server_first, const char *final,
                         const char *server_final)
{
    struct sasl *s = sasl_new(m, NULL);
    char *reply;
    assert_non_null(s);
    assert_int_equal(sasl_set_server_nonce(s, snonce), 0);
    assert_int_equal(step_str(s, first, &reply), SASL_NEED_CREDS);
    assert_null(reply);
    assert_string_equal(sasl_username(s), "user");
    assert_null(sasl_authzid(s));
    struct scram_creds c = derive_b64salt(h, "pencil", salt64);
    char *sf = creds_str(s, &c, SASL_CONTINUE);
    assert_string_equal(sf, server_first);
    free(sf);
    assert_int_equal(step_str(s, final, &reply), SASL_OK);
    assert_string_equal(reply, server_final);
    free(reply);
    assert_int_equal(sasl_failure(s), SASLF_NONE);
    sasl_free(s);
}

static void test_rfc5802_sha1(void **state)
{
    (void)state;
    rfc_exchange(SASL_SCRAM_SHA1, SCRAM_SHA1, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                 "3rfcNHYJY1ZVvWVs7j", "QSXCR+Q6sek8bf92",
                 "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
                 "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                 "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
                 "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

static void test_rfc7677_sha256(void **state)
{
    (void)state;
    rfc_exchange(SASL_SCRAM_SHA256, SCRAM_SHA256, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                 "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "W22ZaJ0SNY7soEsUEjb6gQ==",
                 "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                 "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                 "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                 "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

static void test_wrong_proof(void **state)
{
    (void)state;
    struct sasl *s = sasl_new(SASL_SCRAM_SHA1, NULL);
    char *reply;
    sasl_set_server_nonce(s, "3rfcNHYJY1ZVvWVs7j");
    assert_int_equal(step_str(s, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", &reply), SASL_NEED_CREDS);
    struct scram_creds c = derive_b64salt(SCRAM_SHA1, "pencil", "QSXCR+Q6sek8bf92");
    free(creds_str(s, &c, SASL_CONTINUE));
    expect_fail(s,
                "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Tw=",
                SASLF_NOT_AUTHORIZED);
    assert_true(sasl_failure_is_attempt(s));
    assert_null(sasl_failure_text(s)); /* nothing more than not-authorized */
    sasl_free(s);

    struct client cl = {SASL_SCRAM_SHA256, NULL, "n,,", NULL, NULL, 0, "user", "wrong", NULL};
    struct scram_creds c2;
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &c2), 0);
    cl.creds = &c2;
    assert_int_equal(run_client(&cl, NULL), SASL_FAIL);
    cl.password = "pencil";
    assert_int_equal(run_client(&cl, NULL), SASL_OK);
}

static void test_unknown_user(void **state)
{
    (void)state;
    char *sf[3];
    const char *users[3] = {"nobody", "nobody", "someone"};
    for (int i = 0; i < 3; i++) {
        struct sasl *s = sasl_new(SASL_SCRAM_SHA256, NULL);
        char first[64], *reply;
        snprintf(first, sizeof(first), "n,,n=%s,r=abc", users[i]);
        assert_int_equal(step_str(s, first, &reply), SASL_NEED_CREDS);
        sf[i] = creds_str(s, NULL, SASL_CONTINUE);
        assert_non_null(strstr(sf[i], ",i=4096"));
        sasl_free(s);
    }
    /* Same name, same fake salt; another name, another salt. */
    assert_string_equal(strstr(sf[0], ",s="), strstr(sf[1], ",s="));
    assert_string_not_equal(strstr(sf[0], ",s="), strstr(sf[2], ",s="));
    uint8_t *salt;
    size_t salt_len;
    unsigned iter;
    parse_server_first(sf[0], &salt, &salt_len, &iter);
    assert_int_equal(salt_len, SCRAM_SALT_LEN);
    free(salt);
    for (int i = 0; i < 3; i++)
        free(sf[i]);

    /* A well-formed proof still fails, with the same condition as a
     * wrong password. */
    struct client cl = {SASL_SCRAM_SHA1, NULL, "n,,", NULL, NULL, 0, "nobody", "pencil", NULL};
    struct sasl *s;
    assert_int_equal(run_client(&cl, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_NOT_AUTHORIZED);
    assert_true(sasl_failure_is_attempt(s));
    assert_null(sasl_failure_text(s));
    sasl_free(s);
}

/* ---- channel binding -------------------------------------------------- */

static struct sasl_cb tls_cb(void)
{
    struct sasl_cb cb;
    memset(&cb, 0, sizeof(cb));
    cb.tls = true;
    for (int i = 0; i < 32; i++)
        cb.exporter[i] = (uint8_t)(0xA0 + i);
    cb.have_exporter = true;
    for (int i = 0; i < 32; i++)
        cb.endpoint[i] = (uint8_t)(0x10 + i);
    cb.endpoint_len = 32;
    cb.plus_advertised = true;
    return cb;
}

static void test_plus_ok(void **state)
{
    (void)state;
    struct sasl_cb cb = tls_cb();
    struct scram_creds c1, c256;
    assert_int_equal(scram_derive(SCRAM_SHA1, "pencil", 4096, &c1), 0);
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &c256), 0);
    struct client cl = {SASL_SCRAM_SHA256_PLUS,
                        &cb,
                        "p=tls-exporter,,",
                        NULL,
                        cb.exporter,
                        32,
                        "user",
                        "pencil",
                        &c256};
    assert_int_equal(run_client(&cl, NULL), SASL_OK);
    cl.gs2 = "p=tls-server-end-point,,";
    cl.cbdata = cb.endpoint;
    assert_int_equal(run_client(&cl, NULL), SASL_OK);
    cl.mech = SASL_SCRAM_SHA1_PLUS;
    cl.creds = &c1;
    assert_int_equal(run_client(&cl, NULL), SASL_OK);
    /* Authzid inside the gs2 header is bound too. */
    struct sasl *s;
    cl.gs2 = "p=tls-exporter,a=ju=2Cliet=3D@example.com,";
    cl.cbdata = cb.exporter;
    assert_int_equal(run_client(&cl, &s), SASL_OK);
    assert_string_equal(sasl_authzid(s), "ju,liet=@example.com");
    sasl_free(s);
    /* "n" on the non-PLUS mechanism is fine even when -PLUS was offered. */
    struct client n = {SASL_SCRAM_SHA256, &cb, "n,,", NULL, NULL, 0, "user", "pencil", &c256};
    assert_int_equal(run_client(&n, NULL), SASL_OK);
    /* "y" is fine when we did not offer -PLUS. */
    cb.plus_advertised = false;
    n.gs2 = "y,,";
    assert_int_equal(run_client(&n, NULL), SASL_OK);
}

static void test_plus_failures(void **state)
{
    (void)state;
    struct sasl_cb cb = tls_cb();
    const char *bare = "n=user,r=abc";
    char m[128];
    /* "y" but we advertised -PLUS: downgrade (RFC 5802 §6). */
    snprintf(m, sizeof(m), "y,,%s", bare);
    expect_first_fails_with(SASL_SCRAM_SHA256, &cb, m, "server-does-support-channel-binding");
    /* p= with a non-PLUS mechanism. */
    snprintf(m, sizeof(m), "p=tls-exporter,,%s", bare);
    expect_first_fails(SASL_SCRAM_SHA256, &cb, m, SASLF_MALFORMED_REQUEST);
    /* PLUS mechanism without p=. */
    snprintf(m, sizeof(m), "n,,%s", bare);
    expect_first_fails(SASL_SCRAM_SHA256_PLUS, &cb, m, SASLF_MALFORMED_REQUEST);
    snprintf(m, sizeof(m), "y,,%s", bare);
    expect_first_fails(SASL_SCRAM_SHA1_PLUS, &cb, m, SASLF_MALFORMED_REQUEST);
    /* Unknown or unavailable types (RFC 5802 §6: fail), before any
     * password is looked at. */
    struct sasl_cb tls13 = cb;
    tls13.tls13 = true;
    snprintf(m, sizeof(m), "p=tls-unique,,%s", bare);
    expect_first_fails_with(SASL_SCRAM_SHA256_PLUS, &tls13, m,
                            "tls-unique requested, not offered on TLS 1.3");
    expect_first_fails_with(SASL_SCRAM_SHA1_PLUS, &cb, m, "extended master secret");
    snprintf(m, sizeof(m), "p=TLS-EXPORTER,,%s", bare);
    expect_first_fails_with(SASL_SCRAM_SHA256_PLUS, &cb, m, "unsupported-channel-binding-type");
    struct sasl_cb no_exp = cb;
    no_exp.have_exporter = false;
    snprintf(m, sizeof(m), "p=tls-exporter,,%s", bare);
    expect_first_fails_with(SASL_SCRAM_SHA256_PLUS, &no_exp, m, "unsupported-channel-binding-type");
    struct sasl_cb no_ep = cb;
    no_ep.endpoint_len = 0;
    snprintf(m, sizeof(m), "p=tls-server-end-point,,%s", bare);
    expect_first_fails(SASL_SCRAM_SHA256_PLUS, &no_ep, m, SASLF_MALFORMED_REQUEST);
    struct sasl_cb plain_tcp = cb;
    plain_tcp.tls = false;
    snprintf(m, sizeof(m), "p=tls-exporter,,%s", bare);
    expect_first_fails(SASL_SCRAM_SHA256_PLUS, &plain_tcp, m, SASLF_MALFORMED_REQUEST);
    snprintf(m, sizeof(m), "p=tls_exporter,,%s", bare);
    expect_first_fails(SASL_SCRAM_SHA256_PLUS, &cb, m, SASLF_MALFORMED_REQUEST);

    /* Wrong binding data, or a c= header different from the one sent. */
    struct scram_creds c;
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &c), 0);
    uint8_t other[32] = {0};
    struct sasl *s;
    struct client cl = {
        SASL_SCRAM_SHA256_PLUS, &cb, "p=tls-exporter,,", NULL, other, 32, "user", "pencil", &c};
    assert_int_equal(run_client(&cl, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_NOT_AUTHORIZED);
    sasl_free(s);
    cl.cbdata = cb.endpoint; /* endpoint data under the exporter name */
    assert_int_equal(run_client(&cl, NULL), SASL_FAIL);
    cl.cbdata = cb.exporter;
    cl.cbdata_len = 31;
    assert_int_equal(run_client(&cl, NULL), SASL_FAIL);
    struct client n = {SASL_SCRAM_SHA256, &cb, "n,,", "y,,", NULL, 0, "user", "pencil", &c};
    assert_int_equal(run_client(&n, NULL), SASL_FAIL);
    n.c_gs2 = "n,a=x,";
    assert_int_equal(run_client(&n, NULL), SASL_FAIL);
}

/* tls-unique (RFC 5929 §3), offered on TLS 1.2 with the extended master
 * secret only; the TLS layer fills cb.unique then. */
static void test_tls_unique(void **state)
{
    (void)state;
    struct sasl_cb cb = tls_cb();
    for (int i = 0; i < 12; i++)
        cb.unique[i] = (uint8_t)(0x50 + i);
    cb.unique_len = 12;
    struct scram_creds c;
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &c), 0);
    struct client cl = {
        SASL_SCRAM_SHA256_PLUS, &cb, "p=tls-unique,,", NULL, cb.unique, 12, "user", "pencil", &c};
    assert_int_equal(run_client(&cl, NULL), SASL_OK);
    /* Other binding data: not-authorized, and a password attempt. */
    struct sasl *s;
    cl.cbdata = cb.exporter;
    assert_int_equal(run_client(&cl, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_NOT_AUTHORIZED);
    assert_true(sasl_failure_is_attempt(s));
    sasl_free(s);
    cl.cbdata = cb.unique;
    cl.cbdata_len = 11;
    assert_int_equal(run_client(&cl, NULL), SASL_FAIL);
}

/* ---- malformed -------------------------------------------------------- */

static void test_malformed_first(void **state)
{
    (void)state;
    static const char *bad[] = {
        "n",
        "n,",
        "n,,",
        "x,,n=user,r=abc",
        "n,,n=,r=abc",
        "n,,r=abc,n=user",
        "n,,m=ext,n=user,r=abc",
        "n,,n=user",
        "n,,n=user,r=",
        "n,,n=us=2Xer,r=abc",
        "n,,n=user=,r=abc",
        "n,,n=user,r=a b",
        "n,,n=user,r=abc,",
        "n,,n=user,r=abc,x",
        "n,,n=user,r=abc,=x",
        "n,b=x,n=user,r=abc",
        "n,a=,n=user,r=abc",
        "n,a=x,y,n=user,r=abc",
        "n,,n=\xff,r=abc",
        "n,,n=\xe2\x80\xa8\x07,r=abc",
        "p=,,n=user,r=abc",
        "n,,n=user,r=ab,c",
        "p,,n=user,r=abc",
        " n,,n=user,r=abc",
        "n,,n=user,r=abc\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_first_fails(SASL_SCRAM_SHA256, NULL, bad[i], SASLF_MALFORMED_REQUEST);

    /* Embedded NUL, nonce and message length limits. */
    struct sasl *s = sasl_new(SASL_SCRAM_SHA1, NULL);
    uint8_t *out;
    size_t ol;
    assert_int_equal(sasl_step(s, (const uint8_t *)"n,,n=us\0er,r=abc", 16, &out, &ol), SASL_FAIL);
    sasl_free(s);
    char big[5000];
    memcpy(big, "n,,n=user,r=", 12);
    memset(big + 12, 'x', 257);
    big[12 + 257] = '\0';
    expect_first_fails(SASL_SCRAM_SHA1, NULL, big, SASLF_MALFORMED_REQUEST);
    big[12 + 256] = '\0';
    s = sasl_new(SASL_SCRAM_SHA1, NULL);
    char *reply;
    assert_int_equal(step_str(s, big, &reply), SASL_NEED_CREDS);
    sasl_free(s);
    memset(big + 12, 'x', 4100);
    big[12 + 4100] = '\0';
    expect_first_fails(SASL_SCRAM_SHA1, NULL, big, SASLF_MALFORMED_REQUEST);

    /* Well-formed oddities that are accepted. */
    s = sasl_new(SASL_SCRAM_SHA1, NULL);
    assert_int_equal(step_str(s, "n,,n=us=3Der=2C,r=abc,x=ext", &reply), SASL_NEED_CREDS);
    assert_string_equal(sasl_username(s), "us=er,");
    sasl_free(s);
    s = sasl_new(SASL_SCRAM_SHA1, NULL);
    assert_int_equal(step_str(s,
                              "n,,n=\xe2\x85\xa8"
                              "a,r=abc",
                              &reply),
                     SASL_NEED_CREDS);
    assert_string_equal(sasl_username(s), "IXa"); /* SASLprep of U+2168 */
    sasl_free(s);
}

/* Runs the RFC 5802 exchange up to server-first, then feeds final. */
static void expect_final_fails(const char *final, enum sasl_failure f)
{
    struct sasl *s = sasl_new(SASL_SCRAM_SHA1, NULL);
    char *reply;
    sasl_set_server_nonce(s, "3rfcNHYJY1ZVvWVs7j");
    assert_int_equal(step_str(s, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", &reply), SASL_NEED_CREDS);
    struct scram_creds c = derive_b64salt(SCRAM_SHA1, "pencil", "QSXCR+Q6sek8bf92");
    free(creds_str(s, &c, SASL_CONTINUE));
    expect_fail(s, final, f);
    /* Binding data, nonce and proof are checked against the account's
     * keys: an attempt. A message that cannot be read is not. */
    assert_int_equal(sasl_failure_is_attempt(s), f == SASLF_NOT_AUTHORIZED);
    sasl_free(s);
}

#define NONCE "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
#define PROOF "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="

static void test_malformed_final(void **state)
{
    (void)state;
    expect_final_fails("c=biws," NONCE, SASLF_MALFORMED_REQUEST);
    expect_final_fails(NONCE ",c=biws," PROOF, SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=biws," PROOF "," NONCE, SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=biws," NONCE "," PROOF ",x=y", SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=biws," NONCE ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts", SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=biws," NONCE ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4T s=", SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=biws," NONCE ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=AAAA",
                       SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=biws," NONCE ",p=", SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=biws," NONCE "," PROOF ",", SASLF_MALFORMED_REQUEST);
    expect_final_fails("", SASLF_MALFORMED_REQUEST);
    expect_final_fails("c=bi!s," NONCE "," PROOF, SASLF_NOT_AUTHORIZED);
    expect_final_fails("c=eSws," NONCE "," PROOF, SASLF_NOT_AUTHORIZED); /* "y,," */
    expect_final_fails("c=biws,r=fyko+d2lbbFgONRv9qkxdawL," PROOF, SASLF_NOT_AUTHORIZED);
    expect_final_fails("c=biws," NONCE "x," PROOF, SASLF_NOT_AUTHORIZED);
    /* An extension before the proof is allowed, but it changes the
     * AuthMessage, so the RFC proof no longer matches. */
    expect_final_fails("c=biws," NONCE ",x=ext," PROOF, SASLF_NOT_AUTHORIZED);
    char big[4200];
    snprintf(big, sizeof(big), "c=biws," NONCE ",x=%04100d," PROOF, 0);
    expect_final_fails(big, SASLF_MALFORMED_REQUEST);
}

static void test_state_machine(void **state)
{
    (void)state;
    char *reply;
    uint8_t *out;
    size_t ol;
    /* Empty initial response: one empty challenge, then the real one. */
    struct sasl *s = sasl_new(SASL_SCRAM_SHA256, NULL);
    assert_int_equal(sasl_step(s, NULL, 0, &out, &ol), SASL_CONTINUE);
    assert_null(out);
    assert_int_equal(ol, 0);
    assert_int_equal(step_str(s, "n,,n=user,r=abc", &reply), SASL_NEED_CREDS);
    /* A step while credentials are awaited is refused. */
    expect_fail(s, "c=biws,r=abc,p=AAAA", SASLF_MALFORMED_REQUEST);
    sasl_free(s);

    s = sasl_new(SASL_PLAIN, NULL);
    assert_int_equal(sasl_step(s, NULL, 0, &out, &ol), SASL_CONTINUE);
    assert_int_equal(sasl_step(s, NULL, 0, &out, &ol), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_MALFORMED_REQUEST);
    sasl_free(s);

    s = sasl_new(SASL_MECH_NONE, NULL);
    expect_fail(s, "n,,n=user,r=abc", SASLF_INVALID_MECHANISM);
    sasl_free(s);

    /* Credentials for the other hash, or at the wrong time. */
    struct scram_creds c1;
    assert_int_equal(scram_derive(SCRAM_SHA1, "pencil", 4096, &c1), 0);
    s = sasl_new(SASL_SCRAM_SHA256, NULL);
    free(creds_str(s, &c1, SASL_FAIL));
    assert_int_equal(sasl_failure(s), SASLF_TEMPORARY_AUTH_FAILURE);
    sasl_free(s);
    s = sasl_new(SASL_SCRAM_SHA256, NULL);
    assert_int_equal(step_str(s, "n,,n=user,r=abc", &reply), SASL_NEED_CREDS);
    free(creds_str(s, &c1, SASL_FAIL));
    assert_int_equal(sasl_failure(s), SASLF_TEMPORARY_AUTH_FAILURE);
    sasl_free(s);

    /* After success nothing more is accepted. */
    s = sasl_new(SASL_SCRAM_SHA1, NULL);
    sasl_set_server_nonce(s, "3rfcNHYJY1ZVvWVs7j");
    step_str(s, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", &reply);
    c1 = derive_b64salt(SCRAM_SHA1, "pencil", "QSXCR+Q6sek8bf92");
    free(creds_str(s, &c1, SASL_CONTINUE));
    assert_int_equal(step_str(s, "c=biws," NONCE "," PROOF, &reply), SASL_OK);
    free(reply);
    expect_fail(s, "c=biws," NONCE "," PROOF, SASLF_MALFORMED_REQUEST);
    sasl_free(s);

    assert_int_equal(sasl_set_server_nonce(s = sasl_new(SASL_SCRAM_SHA1, NULL), "a,b"), -EINVAL);
    assert_int_equal(sasl_set_server_nonce(s, ""), -EINVAL);
    sasl_free(s);
    sasl_free(NULL);
}

/* ---- PLAIN ------------------------------------------------------------ */

static enum sasl_result plain(const char *msg, size_t len, const struct scram_creds *c,
                              struct sasl **keep)
{
    struct sasl *s = sasl_new(SASL_PLAIN, NULL);
    uint8_t *out = NULL;
    size_t ol;
    enum sasl_result r = sasl_step(s, (const uint8_t *)msg, len, &out, &ol);
    if (r == SASL_NEED_CREDS) {
        r = sasl_creds(s, c, secret, sizeof(secret) - 1, &out, &ol);
        assert_null(out);
    }
    if (keep)
        *keep = s;
    else
        sasl_free(s);
    return r;
}

static void test_plain(void **state)
{
    (void)state;
    struct scram_creds c;
    struct sasl *s;
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &c), 0);
    assert_int_equal(plain("\0user\0pencil", 12, &c, &s), SASL_OK);
    assert_string_equal(sasl_username(s), "user");
    assert_null(sasl_authzid(s));
    sasl_free(s);
    assert_int_equal(plain("juliet@example.com\0user\0pencil", 30, &c, &s), SASL_OK);
    assert_string_equal(sasl_authzid(s), "juliet@example.com");
    sasl_free(s);
    assert_int_equal(plain("\0user\0pencil!", 13, &c, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_NOT_AUTHORIZED);
    assert_true(sasl_failure_is_attempt(s));
    sasl_free(s);
    assert_int_equal(plain("\0nobody\0pencil", 14, NULL, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_NOT_AUTHORIZED);
    assert_true(sasl_failure_is_attempt(s));
    sasl_free(s);
    /* SASLprep applies to the password: soft hyphen vanishes, U+00A0
     * becomes a space, fullwidth letters are narrowed. */
    struct scram_creds c2;
    assert_int_equal(scram_derive(SCRAM_SHA256, "pen cil", 4096, &c2), 0);
    assert_int_equal(plain("\0user\0pen\xc2\xa0"
                           "c\xc2\xadil",
                           16, &c2, NULL),
                     SASL_OK);
    assert_int_equal(plain("\0user\0\xef\xbd\x90"
                           "en cil",
                           15, &c2, NULL),
                     SASL_OK);
    /* SCRAM-SHA-1 credentials work too. */
    assert_int_equal(scram_derive(SCRAM_SHA1, "pencil", 4096, &c2), 0);
    assert_int_equal(plain("\0user\0pencil", 12, &c2, NULL), SASL_OK);
}

static void test_plain_malformed(void **state)
{
    (void)state;
    struct scram_creds c;
    struct sasl *s;
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &c), 0);
    static const struct {
        const char *m;
        size_t len;
    } bad[] = {
        {"userpencil", 10},
        {"\0userpencil", 11},
        {"\0user\0pen\0cil", 14},
        {"\0\0pencil", 8},
        {"\0user\0", 6},
        {"\0\0", 2},
        {"\0user\0pen\x07", 10},
        {"\0us\x01"
         "er\0p",
         9},
        {"\0user\0\xff", 8},
        {"\xff\0user\0pencil", 13},
        {"\0\xd8\xa7"
         "1\0pencil",
         11},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(plain(bad[i].m, bad[i].len, &c, &s), SASL_FAIL);
        assert_int_equal(sasl_failure(s), SASLF_MALFORMED_REQUEST);
        assert_false(sasl_failure_is_attempt(s));
        assert_non_null(sasl_failure_text(s));
        sasl_free(s);
    }
    /* Each part at most 1023 bytes. */
    char m[3100];
    m[0] = '\0';
    memset(m + 1, 'u', 1023);
    m[1024] = '\0';
    memcpy(m + 1025, "pencil", 6);
    assert_int_equal(plain(m, 1031, &c, NULL), SASL_OK); /* 1023-byte authcid accepted */
    assert_int_equal(plain(m, 1031, NULL, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_NOT_AUTHORIZED);
    sasl_free(s);
    memset(m + 1, 'u', 1024);
    m[1025] = '\0';
    memcpy(m + 1026, "pencil", 6);
    assert_int_equal(plain(m, 1032, &c, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_MALFORMED_REQUEST);
    sasl_free(s);
    memset(m, 'a', 1024);
    memcpy(m + 1024, "\0user\0pencil", 12);
    assert_int_equal(plain(m, 1036, &c, &s), SASL_FAIL);
    assert_int_equal(sasl_failure(s), SASLF_MALFORMED_REQUEST);
    sasl_free(s);
    memcpy(m + 1023, "\0user\0pencil", 12);
    assert_int_equal(plain(m, 1035, &c, NULL), SASL_OK);
}

/* ---- SASLprep, derivation, base64, names ------------------------------ */

static void expect_prep(const char *in, const char *want)
{
    char *out = NULL;
    int rc = sasl_saslprep(in, strlen(in), &out);
    if (want) {
        assert_int_equal(rc, 0);
        assert_string_equal(out, want);
    } else {
        assert_int_equal(rc, -EINVAL);
        assert_null(out);
    }
    free(out);
}

static void test_saslprep_rfc4013(void **state)
{
    (void)state;
    expect_prep("I\xc2\xadX", "IX"); /* soft hyphen mapped to nothing */
    expect_prep("user", "user");
    expect_prep("USER", "USER");       /* case preserved */
    expect_prep("\xc2\xaa", "a");      /* NFKC */
    expect_prep("\xe2\x85\xa8", "IX"); /* NFKC */
    expect_prep("\x07", NULL);         /* prohibited */
    expect_prep("\xd8\xa7"
                "1",
                NULL); /* bidi: RAL then not RAL */
    expect_prep("a\xc2\xa0"
                "b",
                "a b");                                  /* non-ASCII space to space */
    expect_prep("\xc2\xad", NULL);                       /* empty after mapping */
    expect_prep("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* unassigned in 3.2: allowed */
    char *out = NULL;
    assert_int_equal(sasl_saslprep("a\0b", 3, &out), -EINVAL);
    assert_int_equal(sasl_saslprep("a\xc3", 2, &out), -EINVAL);
    assert_int_equal(sasl_saslprep("", 0, &out), -EINVAL);
    assert_null(out);
}

static void test_derive(void **state)
{
    (void)state;
    struct scram_creds a, b;
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &a), 0);
    assert_int_equal(scram_derive(SCRAM_SHA256, "pencil", 4096, &b), 0);
    assert_int_equal(a.salt_len, SCRAM_SALT_LEN);
    assert_memory_not_equal(a.salt, b.salt, SCRAM_SALT_LEN);
    assert_memory_not_equal(a.stored_key, b.stored_key, 32);
    assert_true(scram_verify_password(&a, "pencil"));
    assert_false(scram_verify_password(&a, "pencil "));
    assert_false(scram_verify_password(&a, ""));
    assert_int_equal(scram_hash_len(SCRAM_SHA1), 20);
    assert_int_equal(scram_hash_len(SCRAM_SHA256), 32);
    uint8_t salt[4] = {1, 2, 3, 4};
    assert_int_equal(scram_derive_salt(SCRAM_SHA1, "pw", salt, 0, 4096, &a), -EINVAL);
    assert_int_equal(scram_derive_salt(SCRAM_SHA1, "pw", salt, 4, 0, &a), -EINVAL);
    assert_int_equal(scram_derive_salt(SCRAM_SHA1, "", salt, 4, 1, &a), -EINVAL);
    assert_int_equal(scram_derive_salt(SCRAM_NHASH, "pw", salt, 4, 1, &a), -EINVAL);
    assert_int_equal(scram_derive_salt(SCRAM_SHA1, "pw", salt, 4, 1, &a), 0);
    assert_int_equal(a.iterations, 1);
    assert_int_equal(a.hash, SCRAM_SHA1);
}

static void test_base64(void **state)
{
    (void)state;
    uint8_t data[64], *dec;
    size_t dl, el;
    char *enc;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(data); n++) {
        assert_int_equal(sasl_b64_encode(data, n, &enc, &el), 0);
        assert_int_equal(strlen(enc), el);
        assert_int_equal(sasl_b64_decode(enc, el, &dec, &dl), 0);
        assert_int_equal(dl, n);
        assert_memory_equal(dec, data, n);
        assert_int_equal(dec[dl], 0);
        free(enc);
        free(dec);
    }
    static const struct {
        const char *in, *out;
    } good[] = {{"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
                {"=", ""},     {"", ""},       {"biws", "n,,"}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(sasl_b64_decode(good[i].in, strlen(good[i].in), &dec, &dl), 0);
        assert_int_equal(dl, strlen(good[i].out));
        assert_string_equal((char *)dec, good[i].out);
        free(dec);
    }
    static const char *bad[] = {"Zg",    "Zg=",  "Z===",     "Zm9v YmFy", "Zm9v\nYmFy", "Zh==",
                                "Zm9=",  "Zm=v", "====",     "Zm9vYg=a",  "!!!!",       " Zm9v",
                                "Zm9v=", "==",   "Zg==Zg==", "Zm9v\r\n",  "-_-_"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dec = (uint8_t *)"x";
        int rc = sasl_b64_decode(bad[i], strlen(bad[i]), &dec, &dl);
        if (rc != -EINVAL)
            print_error("decode \"%s\" gave %d\n", bad[i], rc);
        assert_int_equal(rc, -EINVAL);
        assert_null(dec);
    }
    assert_int_equal(sasl_b64_encode(NULL, 0, &enc, &el), 0);
    assert_string_equal(enc, "=");
    free(enc);
}

static void test_names(void **state)
{
    (void)state;
    static const enum sasl_mech all[] = {SASL_PLAIN, SASL_SCRAM_SHA1, SASL_SCRAM_SHA1_PLUS,
                                         SASL_SCRAM_SHA256, SASL_SCRAM_SHA256_PLUS};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_int_equal(sasl_mech_parse(sasl_mech_name(all[i])), all[i]);
    assert_string_equal(sasl_mech_name(SASL_SCRAM_SHA256_PLUS), "SCRAM-SHA-256-PLUS");
    assert_int_equal(sasl_mech_parse("scram-sha-1"), SASL_MECH_NONE);
    assert_int_equal(sasl_mech_parse("DIGEST-MD5"), SASL_MECH_NONE);
    assert_int_equal(sasl_mech_parse(NULL), SASL_MECH_NONE);
    assert_null(sasl_mech_name(SASL_MECH_NONE));
    assert_string_equal(sasl_failure_name(SASLF_NOT_AUTHORIZED), "not-authorized");
    assert_string_equal(sasl_failure_name(SASLF_MALFORMED_REQUEST), "malformed-request");
    assert_string_equal(sasl_failure_name(SASLF_TEMPORARY_AUTH_FAILURE), "temporary-auth-failure");
    assert_string_equal(sasl_failure_name(SASLF_INVALID_MECHANISM), "invalid-mechanism");
    assert_string_equal(sasl_failure_name((enum sasl_failure)99), "not-authorized");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5802_sha1),    cmocka_unit_test(test_rfc7677_sha256),
        cmocka_unit_test(test_wrong_proof),     cmocka_unit_test(test_unknown_user),
        cmocka_unit_test(test_plus_ok),         cmocka_unit_test(test_plus_failures),
        cmocka_unit_test(test_malformed_first), cmocka_unit_test(test_malformed_final),
        cmocka_unit_test(test_state_machine),   cmocka_unit_test(test_plain),
        cmocka_unit_test(test_plain_malformed), cmocka_unit_test(test_saslprep_rfc4013),
        cmocka_unit_test(test_derive),          cmocka_unit_test(test_base64),
        cmocka_unit_test(test_names),           cmocka_unit_test(test_tls_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
