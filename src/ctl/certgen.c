/* Self-signed certificate generation; see certgen.h. */
#include "ctl/certgen.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CERTGEN_SERIAL_LEN 16
#define CERTGEN_NAME_MAX 253 /* a DNS name */
#define CERTGEN_CN_MAX 64    /* RFC 5280 ub-common-name */

__attribute__((format(printf, 3, 4))) static int cert_fail(char **err, int rc, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_get_error();
    char ossl[256] = "";
    if (e)
        ERR_error_string_n(e, ossl, sizeof ossl);
    ERR_clear_error();
    if (err && asprintf(err, "%s%s%s", msg, e ? ": " : "", ossl) < 0)
        *err = NULL;
    return rc;
}

/* Letters, digits, '-' and '.', no empty label: safe to put in a
 * dNSName as it is. */
static bool dns_name_ok(const char *name)
{
    size_t len = strlen(name), label = 0;
    if (len == 0 || len > CERTGEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '-') {
            label++;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* A positive, non-zero random serial of 16 bytes (RFC 5280: at most 20). */
static int set_serial(X509 *x)
{
    unsigned char raw[CERTGEN_SERIAL_LEN];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -EIO;
    raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -EIO;
}

/* subjectAltName with the three DNS names, built as structures rather
 * than from a config string, so that no name can inject another entry. */
static int add_san(X509 *x, const char *domain, bool critical)
{
    static const char *const prefixes[] = {"", "conference.", "upload."};
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int rc = gens ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char name[CERTGEN_NAME_MAX + 16];
        int n = snprintf(name, sizeof name, "%s%s", prefixes[i], domain);
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
        if (!g || !ia5 || ASN1_STRING_set(ia5, name, n) != 1) {
            GENERAL_NAME_free(g);
            ASN1_IA5STRING_free(ia5);
            rc = -ENOMEM;
            break;
        }
        GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
        if (sk_GENERAL_NAME_push(gens, g) <= 0) {
            GENERAL_NAME_free(g);
            rc = -ENOMEM;
        }
    }
    if (rc == 0 &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1)
        rc = -EIO;
    GENERAL_NAMES_free(gens);
    return rc;
}

/* One extension from a constant OpenSSL config value. */
static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -EIO;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -EIO;
}

/* clientAuth besides serverAuth: the server presents the same
 * certificate when it connects out to other servers (s2s, XEP-0178). */
static int add_extensions(X509 *x)
{
    int rc = add_ext(x, NID_basic_constraints, "critical,CA:FALSE");
    if (rc == 0)
        rc = add_ext(x, NID_key_usage, "critical,digitalSignature");
    if (rc == 0)
        rc = add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth");
    if (rc == 0)
        rc = add_ext(x, NID_subject_key_identifier, "hash");
    return rc;
}

/* Subject and issuer CN=domain when it fits a CN; otherwise both are
 * empty and the SAN extension is made critical (RFC 5280 4.2.1.6). */
static int set_names(X509 *x, const char *domain, bool *empty)
{
    X509_NAME *name = X509_get_subject_name(x);
    *empty = strlen(domain) > CERTGEN_CN_MAX;
    if (!*empty && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                              (const unsigned char *)domain, -1, -1, 0) != 1)
        return -EIO;
    return X509_set_issuer_name(x, name) == 1 ? 0 : -EIO;
}

static X509 *make_cert(EVP_PKEY *key, const char *domain)
{
    X509 *x = X509_new();
    bool empty_subject = false;
    int rc = x ? 0 : -ENOMEM;
    if (rc == 0 && X509_set_version(x, X509_VERSION_3) != 1)
        rc = -EIO;
    if (rc == 0)
        rc = set_serial(x);
    if (rc == 0 && (!X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
                    !X509_time_adj_ex(X509_getm_notAfter(x), CERTGEN_DAYS, 0, NULL)))
        rc = -EIO;
    if (rc == 0)
        rc = set_names(x, domain, &empty_subject);
    if (rc == 0 && X509_set_pubkey(x, key) != 1)
        rc = -EIO;
    if (rc == 0)
        rc = add_san(x, domain, empty_subject);
    if (rc == 0)
        rc = add_extensions(x);
    if (rc == 0 && X509_sign(x, key, EVP_sha256()) <= 0)
        rc = -EIO;
    if (rc < 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Opens path for writing, refusing to replace a file. */
static FILE *create_excl(const char *path, mode_t mode, char **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        cert_fail(err, -errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        cert_fail(err, -errno, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
    }
    return f;
}

/* Flushes to disk and closes; 0 or -EIO. */
static int finish(FILE *f, bool ok)
{
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    return (fclose(f) == 0 && ok) ? 0 : -EIO;
}

static int write_pem(X509 *x, EVP_PKEY *key, const char *crt_path, const char *key_path, char **err)
{
    FILE *f = create_excl(key_path, 0600, err);
    if (!f)
        return -EEXIST;
    bool ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (finish(f, ok) < 0) {
        unlink(key_path);
        return cert_fail(err, -EIO, "%s: cannot write the key", key_path);
    }
    f = create_excl(crt_path, 0644, err);
    if (!f) {
        unlink(key_path);
        return -EEXIST;
    }
    ok = PEM_write_X509(f, x) == 1;
    if (finish(f, ok) < 0) {
        unlink(crt_path);
        unlink(key_path);
        return cert_fail(err, -EIO, "%s: cannot write the certificate", crt_path);
    }
    return 0;
}

int certgen_write(const char *dns_name, const char *crt_path, const char *key_path, char **err)
{
    if (err)
        *err = NULL;
    if (!dns_name_ok(dns_name))
        return cert_fail(err, -EINVAL, "'%s' is not a DNS name (letters, digits, '-', '.')",
                         dns_name);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key)
        return cert_fail(err, -EIO, "cannot generate a P-256 key");
    X509 *x = make_cert(key, dns_name);
    int rc = x ? write_pem(x, key, crt_path, key_path, err)
               : cert_fail(err, -EIO, "cannot build the certificate");
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}
