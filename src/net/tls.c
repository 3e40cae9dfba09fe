/* TLS contexts: one SSL_CTX per certificate behind one struct tls_ctx, SNI
 * choosing among them, ALPN for XEP-0368, the custom BIO conns use, and
 * channel-binding data (RFC 9266 tls-exporter, RFC 5929 §4.1
 * tls-server-end-point).
 *
 * The tls_ctx is reference-counted: the caller's reference (dropped by
 * tls_ctx_free) and one per listener and conn using it, because every SSL
 * does its I/O through the BIO_METHOD owned here.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <idn2.h>

#include "core/domain.h"
#include "core/log.h"
#include "net/net_internal.h"

#define TLS_MAX_CERTS 1024
#define TLS_MAX_DOMAIN 253

/* Mozilla "intermediate" TLS 1.2 suites without DHE (forward secrecy by
 * ECDHE only; no DH parameters to manage). */
#define TLS_DEFAULT_CIPHERS \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static const unsigned char alpn_xmpp_client[] = "xmpp-client";

struct tls_cert_ent {
    SSL_CTX *ctx;
    char *domain;
    uint8_t endpoint[EVP_MAX_MD_SIZE]; /* tls-server-end-point of its leaf */
    size_t endpoint_len;               /* 0: undefined for its signature */
};

struct tls_ctx {
    unsigned refs;
    BIO_METHOD *bio;
    size_t n;
    struct tls_cert_ent ent[]; /* ent[0] is the default */
};

__attribute__((format(printf, 2, 3))) static void set_err(char **err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        *err = NULL;
    va_end(ap);
}

/* The newest OpenSSL error as text (and clears the queue). */
static const char *ssl_err_text(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (!e)
        snprintf(buf, len, "unknown error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

void tls_log_errors(const char *id, const char *what)
{
    unsigned long e;
    char text[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, text, sizeof text);
        log_debug("conn %s: %s: %s", id, what, text);
    }
}

/* ---- custom BIO: reads from the libuv buffer, writes to the wire buf ---- */

static int bio_write(BIO *b, const char *data, int len)
{
    struct tls_io *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    int rc = buf_append(io->out, data, (size_t)len);
    if (rc < 0) {
        io->err = rc;
        return -1;
    }
    return len;
}

static int bio_read(BIO *b, char *out, int len)
{
    struct tls_io *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (io->in_len == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = io->in_len < (size_t)len ? io->in_len : (size_t)len;
    memcpy(out, io->in, n);
    io->in += n;
    io->in_len -= n;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* OpenSSL flushes the wbio after each flight; everything is already
     * in the wire buffer. Other controls (pending, ktls...) do not apply. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "taube-conn");
    if (!m)
        return NULL;
    if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

SSL *tls_ssl_new(struct tls_ctx *t, struct tls_io *io)
{
    SSL *ssl = SSL_new(t->ent[0].ctx);
    BIO *b = BIO_new(t->bio);
    if (!ssl || !b) {
        SSL_free(ssl);
        BIO_free(b);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_data(b, io);
    SSL_set_bio(ssl, b, b); /* one reference, used for both directions */
    SSL_set_accept_state(ssl);
    return ssl;
}

/* ---- SNI and ALPN ---- */

/* name equals domain, or is a subdomain of it (conference.DOMAIN). */
static bool domain_covers(const char *domain, const char *name)
{
    size_t dl = strlen(domain), nl = strlen(name);
    if (nl == dl)
        return strcasecmp(domain, name) == 0;
    return nl > dl && name[nl - dl - 1] == '.' && strcasecmp(name + nl - dl, domain) == 0;
}

/* The entry with the longest domain covering name, or NULL. */
static const struct tls_cert_ent *find_cert(const struct tls_ctx *t, const char *name)
{
    const struct tls_cert_ent *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t dl = strlen(t->ent[i].domain);
        if (dl > best_len && domain_covers(t->ent[i].domain, name)) {
            best = &t->ent[i];
            best_len = dl;
        }
    }
    return best;
}

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    const struct tls_ctx *t = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK; /* no SNI: the default certificate */
    /* SNI carries A-labels; server.domains keeps U-labels (core/domain.h). */
    char uname[DOMAIN_RAW_MAX + 1];
    if (domain_normalize(name, strlen(name), uname, sizeof uname, NULL, 0) >= 0)
        name = uname;
    const struct tls_cert_ent *e = find_cert(t, name);
    if (e && e->ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, e->ctx))
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

/* Selects "xmpp-client" if offered. A client offering only other
 * protocols is refused (no_application_protocol), so a TLS session meant
 * for another service cannot be redirected here (ALPACA). */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    const size_t want = sizeof alpn_xmpp_client - 1;
    unsigned int i = 0;
    while (i < inlen) {
        unsigned int l = in[i];
        if (l == 0 || l > inlen - i - 1)
            break;
        if (l == want && memcmp(in + i + 1, alpn_xmpp_client, want) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)l;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + l;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* ---- contexts ---- */

/* RFC 5929 §4.1: hash of the leaf certificate with the hash of its
 * signature algorithm, SHA-256 for MD5/SHA-1; undefined (len 0) without a
 * single hash (Ed25519). */
static void compute_endpoint(struct tls_cert_ent *e)
{
    X509 *x = SSL_CTX_get0_certificate(e->ctx);
    int mdnid = NID_undef;
    e->endpoint_len = 0;
    if (!x || !X509_get_signature_info(x, &mdnid, NULL, NULL, NULL) || mdnid == NID_undef) {
        ERR_clear_error();
        return;
    }
    if (mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md5_sha1)
        mdnid = NID_sha256;
    const EVP_MD *md = EVP_get_digestbynid(mdnid);
    unsigned int len = 0;
    if (md && X509_digest(x, md, e->endpoint, &len) && len <= sizeof e->endpoint)
        e->endpoint_len = len;
    ERR_clear_error();
}

static int ctx_setup(SSL_CTX *x, struct tls_ctx *t, const char *ciphers, const char *suites,
                     char **err)
{
    char text[256];
    static const unsigned char sid_ctx[] = "taube";
    SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
    SSL_CTX_set_options(x, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Stateless tickets give resumption; no server-side session cache
     * to grow with the number of logins. */
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(x, 1);
    SSL_CTX_set_session_id_context(x, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_dh_auto(x, 1);
    SSL_CTX_set_tlsext_servername_callback(x, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(x, t);
    SSL_CTX_set_alpn_select_cb(x, alpn_cb, t);
    if (!SSL_CTX_set_cipher_list(x, ciphers && *ciphers ? ciphers : TLS_DEFAULT_CIPHERS)) {
        set_err(err, "tls: cipher list: %s", ssl_err_text(text, sizeof text));
        return -EINVAL;
    }
    if (suites && *suites && !SSL_CTX_set_ciphersuites(x, suites)) {
        set_err(err, "tls: ciphersuites: %s", ssl_err_text(text, sizeof text));
        return -EINVAL;
    }
    return 0;
}

static int ctx_load(SSL_CTX *x, const struct tls_cert *c, char **err)
{
    char text[256];
    if (SSL_CTX_use_certificate_chain_file(x, c->cert_file) != 1) {
        set_err(err, "tls: %s: certificate %s: %s", c->domain, c->cert_file,
                ssl_err_text(text, sizeof text));
        return -EINVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(x, c->key_file, SSL_FILETYPE_PEM) != 1) {
        set_err(err, "tls: %s: key %s: %s", c->domain, c->key_file,
                ssl_err_text(text, sizeof text));
        return -EINVAL;
    }
    if (SSL_CTX_check_private_key(x) != 1) {
        set_err(err, "tls: %s: key %s does not match certificate %s", c->domain, c->key_file,
                c->cert_file);
        ERR_clear_error();
        return -EINVAL;
    }
    X509 *leaf = SSL_CTX_get0_certificate(x);
    if (leaf && X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
        log_warn("tls: the certificate for %s has expired", c->domain);
    return 0;
}

static int ent_init(struct tls_ctx *t, struct tls_cert_ent *e, const struct tls_cert *c,
                    const char *ciphers, const char *suites, char **err)
{
    if (!c->domain || !c->cert_file || !c->key_file || strlen(c->domain) > TLS_MAX_DOMAIN) {
        set_err(err, "tls: certificate entry without a valid domain, cert or key");
        return -EINVAL;
    }
    e->domain = strdup(c->domain);
    e->ctx = SSL_CTX_new(TLS_server_method());
    if (!e->domain || !e->ctx) {
        set_err(err, "tls: out of memory");
        ERR_clear_error();
        return -ENOMEM;
    }
    int rc = ctx_setup(e->ctx, t, ciphers, suites, err);
    if (rc == 0)
        rc = ctx_load(e->ctx, c, err);
    if (rc == 0)
        compute_endpoint(e);
    return rc;
}

struct tls_ctx *tls_ctx_new(const struct tls_cert *certs, size_t n, const char *ciphers,
                            const char *ciphersuites, char **err)
{
    if (err)
        *err = NULL;
    if (n == 0 || n > TLS_MAX_CERTS) {
        set_err(err, "tls: need 1 to %d certificates, got %zu", TLS_MAX_CERTS, n);
        return NULL;
    }
    struct tls_ctx *t = calloc(1, sizeof *t + n * sizeof t->ent[0]);
    if (!t) {
        set_err(err, "tls: out of memory");
        return NULL;
    }
    t->refs = 1;
    t->bio = bio_method_new();
    if (!t->bio) {
        set_err(err, "tls: out of memory");
        tls_ctx_free(t);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        t->n = i + 1;
        if (ent_init(t, &t->ent[i], &certs[i], ciphers, ciphersuites, err) < 0) {
            tls_ctx_free(t);
            return NULL;
        }
    }
    return t;
}

struct tls_ctx *tls_ctx_ref(struct tls_ctx *t)
{
    t->refs++;
    return t;
}

void tls_ctx_free(struct tls_ctx *t)
{
    if (!t || --t->refs > 0)
        return;
    for (size_t i = 0; i < t->n; i++) {
        SSL_CTX_free(t->ent[i].ctx);
        free(t->ent[i].domain);
    }
    BIO_meth_free(t->bio);
    free(t);
}

/* ---- channel binding ---- */

/* RFC 5929 §3.1: the first Finished message of the handshake: the
 * client's in a full handshake, ours in an abbreviated one. Only on TLS
 * 1.2 (undefined on 1.3, RFC 9266 §3) and only with the extended master
 * secret (RFC 7627), without which the triple-handshake attack breaks it;
 * renegotiation, which would change it, is off (tls_ctx_new). Offered
 * because some clients know no other type (slixmpp 1.8, poezio). */
static void tls_unique(SSL *ssl, struct sasl_cb *out)
{
    if (SSL_version(ssl) != TLS1_2_VERSION || SSL_get_extms_support(ssl) != 1)
        return;
    size_t n = SSL_session_reused(ssl)
                   ? SSL_get_finished(ssl, out->unique, sizeof out->unique)
                   : SSL_get_peer_finished(ssl, out->unique, sizeof out->unique);
    out->unique_len = n > 0 && n <= sizeof out->unique ? n : 0;
}

void tls_channel_binding(const struct tls_ctx *t, SSL *ssl, struct sasl_cb *out)
{
    static const char label[] = "EXPORTER-Channel-Binding";
    out->tls = true;
    out->tls13 = SSL_version(ssl) >= TLS1_3_VERSION;
    tls_unique(ssl, out);
    /* RFC 9266 §3: on TLS 1.2 only with the extended master secret. */
    if (SSL_version(ssl) >= TLS1_3_VERSION || SSL_get_extms_support(ssl) == 1)
        out->have_exporter = SSL_export_keying_material(ssl, out->exporter, sizeof out->exporter,
                                                        label, sizeof label - 1, NULL, 0, 0) == 1;
    ERR_clear_error();
    const SSL_CTX *cur = SSL_get_SSL_CTX(ssl);
    for (size_t i = 0; i < t->n; i++) {
        const struct tls_cert_ent *e = &t->ent[i];
        if (e->ctx == cur && e->endpoint_len <= sizeof out->endpoint) {
            memcpy(out->endpoint, e->endpoint, e->endpoint_len);
            out->endpoint_len = e->endpoint_len;
        }
    }
}

/* ---- tls_check_cert ---- */

static int check_validity(X509 *x, const char *cert_file, char **err)
{
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
        set_err(err, "tls: certificate %s has expired", cert_file);
        return -EINVAL;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        set_err(err, "tls: certificate %s is not valid yet", cert_file);
        return -EINVAL;
    }
    return 0;
}

/* Clients check the certificate against the domain they asked for: its
 * names (or a wildcard) must cover the domain's A-label. */
static int check_names(X509 *x, const char *domain, char **err)
{
    uint8_t *alabel = NULL;
    if (idn2_lookup_u8((const uint8_t *)domain, &alabel, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
        IDN2_OK) {
        set_err(err, "tls: %s is not a valid domain name", domain);
        return -EINVAL;
    }
    int ok = X509_check_host(x, (const char *)alabel, 0, 0, NULL) == 1;
    idn2_free(alabel);
    if (!ok) {
        set_err(err,
                "it does not name %s, so clients would refuse it; use one that does "
                "(or make a self-signed one with `taubectl cert`)",
                domain);
        return -EINVAL;
    }
    return 0;
}

int tls_check_cert(const char *domain, const char *cert_file, const char *key_file, char **err)
{
    char text[256];
    if (err)
        *err = NULL;
    FILE *cf = fopen(cert_file, "r");
    if (!cf) {
        int e = errno;
        set_err(err, "tls: cannot open certificate %s: %s", cert_file, strerror(e));
        return -e;
    }
    X509 *x = PEM_read_X509(cf, NULL, NULL, NULL);
    fclose(cf);
    if (!x) {
        set_err(err, "tls: %s: %s", cert_file, ssl_err_text(text, sizeof text));
        return -EINVAL;
    }
    FILE *kf = fopen(key_file, "r");
    if (!kf) {
        int e = errno;
        set_err(err, "tls: cannot open key %s: %s", key_file, strerror(e));
        X509_free(x);
        return -e;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    fclose(kf);
    int rc = 0;
    if (!k) {
        set_err(err, "tls: %s: %s", key_file, ssl_err_text(text, sizeof text));
        rc = -EINVAL;
    } else if (X509_check_private_key(x, k) != 1) {
        set_err(err, "tls: key %s does not match certificate %s", key_file, cert_file);
        rc = -EINVAL;
    } else {
        rc = check_validity(x, cert_file, err);
        if (rc == 0)
            rc = check_names(x, domain, err);
    }
    ERR_clear_error();
    EVP_PKEY_free(k);
    X509_free(x);
    return rc;
}
