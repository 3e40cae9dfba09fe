/* SCRAM key derivation (RFC 5802 §3), base64 and SASLprep (RFC 4013).
 *
 * OpenSSL 3 for the primitives; secrets that pass through local buffers
 * (SaltedPassword, ClientKey, password copies) are wiped before return.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stringprep.h>

#include "xmpp/jid.h"
#include "xmpp/sasl_int.h"

static const EVP_MD *scram_md(enum scram_hash h)
{
    return h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t scram_hash_len(enum scram_hash h) { return h == SCRAM_SHA1 ? 20 : 32; }

int scram_hmac(enum scram_hash h, const uint8_t *key, size_t key_len, const void *data, size_t len,
               uint8_t out[SCRAM_MAX_KEY])
{
    static const uint8_t empty[1];
    unsigned int olen = 0;

    if (key_len > INT_MAX)
        return -EINVAL;
    /* OpenSSL wants a non-NULL key even when it is empty. */
    if (!HMAC(scram_md(h), key_len ? key : empty, (int)key_len, data, len, out, &olen))
        return -ENOMEM;
    return 0;
}

int scram_digest(enum scram_hash h, const uint8_t *data, size_t len, uint8_t out[SCRAM_MAX_KEY])
{
    unsigned int olen = 0;
    return EVP_Digest(data, len, out, &olen, scram_md(h), NULL) == 1 ? 0 : -ENOMEM;
}

int scram_fake_salt(enum scram_hash h, const char *username, const uint8_t *secret,
                    size_t secret_len, uint8_t salt[SCRAM_SALT_LEN])
{
    static const char label[] = "taube scram fake salt";
    uint8_t data[sizeof(label) + 1 + SASL_MAX_NAME], mac[SCRAM_MAX_KEY];
    size_t ul = strnlen(username, SASL_MAX_NAME + 1);

    if (ul > SASL_MAX_NAME)
        return -EINVAL;
    /* label NUL hash-id username: the two hashes get unrelated salts, as
     * two independently derived real credentials would have. */
    memcpy(data, label, sizeof(label));
    data[sizeof(label)] = (uint8_t)h;
    memcpy(data + sizeof(label) + 1, username, ul);
    int rc = scram_hmac(SCRAM_SHA256, secret, secret_len, data, sizeof(label) + 1 + ul, mac);
    if (rc == 0)
        memcpy(salt, mac, SCRAM_SALT_LEN);
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

int scram_derive_salt(enum scram_hash h, const char *password, const uint8_t *salt, size_t salt_len,
                      uint32_t iterations, struct scram_creds *out)
{
    uint8_t salted[SCRAM_MAX_KEY], client_key[SCRAM_MAX_KEY];
    size_t hl = scram_hash_len(h);
    size_t pl = password ? strnlen(password, SASL_MAX_NAME + 1) : 0;
    int rc;

    if ((unsigned)h >= SCRAM_NHASH || pl == 0 || pl > SASL_MAX_NAME || !salt || salt_len == 0 ||
        salt_len > SCRAM_MAX_SALT || iterations == 0 || iterations > SCRAM_MAX_ITER)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (PKCS5_PBKDF2_HMAC(password, (int)pl, salt, (int)salt_len, (int)iterations, scram_md(h),
                          (int)hl, salted) != 1) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = scram_hmac(h, salted, hl, "Client Key", 10, client_key)) < 0 ||
        (rc = scram_digest(h, client_key, hl, out->stored_key)) < 0 ||
        (rc = scram_hmac(h, salted, hl, "Server Key", 10, out->server_key)) < 0)
        goto out;
    out->hash = h;
    memcpy(out->salt, salt, salt_len);
    out->salt_len = salt_len;
    out->iterations = iterations;
out:
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    if (rc < 0)
        OPENSSL_cleanse(out, sizeof(*out));
    return rc;
}

int scram_derive(enum scram_hash h, const char *password, uint32_t iterations,
                 struct scram_creds *out)
{
    uint8_t salt[SCRAM_SALT_LEN];

    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return -ENOMEM;
    return scram_derive_salt(h, password, salt, sizeof(salt), iterations, out);
}

bool scram_verify_password(const struct scram_creds *c, const char *password)
{
    struct scram_creds d;

    if (!c || (unsigned)c->hash >= SCRAM_NHASH)
        return false;
    if (scram_derive_salt(c->hash, password, c->salt, c->salt_len, c->iterations, &d) < 0)
        return false;
    bool ok = CRYPTO_memcmp(d.stored_key, c->stored_key, scram_hash_len(c->hash)) == 0;
    OPENSSL_cleanse(&d, sizeof(d));
    return ok;
}

/* Unassigned code points (Unicode 3.2 tables) are allowed, as in query
 * strings: a stored-string profile would refuse every emoji in a
 * password. Derivation and verification both come through here, so the
 * two sides always agree. */
int sasl_saslprep(const char *in, size_t len, char **out)
{
    *out = NULL;
    if (!in || len == 0 || len > SASL_MAX_MSG || !jid_utf8_valid(in, len))
        return -EINVAL;
    char *tmp = malloc(len + 1);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, in, len);
    tmp[len] = '\0';
    char *res = NULL;
    int rc = stringprep_profile(tmp, &res, "SASLprep", 0);
    OPENSSL_cleanse(tmp, len);
    free(tmp);
    if (rc != STRINGPREP_OK || !res || res[0] == '\0') {
        if (res)
            OPENSSL_cleanse(res, strlen(res));
        free(res);
        return rc == STRINGPREP_MALLOC_ERROR ? -ENOMEM : -EINVAL;
    }
    *out = res;
    return 0;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : 63;
}

/* Strict RFC 4648: length a multiple of 4, alphabet only (EVP_DecodeBlock
 * would skip whitespace), '=' only as 1 or 2 final pads, and the unused
 * bits before the padding zero, so each byte string has one encoding. */
static int b64_check(const char *in, size_t len, size_t *pad)
{
    if (len % 4 != 0 || len > INT_MAX)
        return -EINVAL;
    *pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < len - *pad; i++)
        if (!b64_char(in[i]))
            return -EINVAL;
    if (*pad == 2 && (b64_value(in[len - 3]) & 0x0F) != 0)
        return -EINVAL;
    if (*pad == 1 && (b64_value(in[len - 2]) & 0x03) != 0)
        return -EINVAL;
    return 0;
}

int sasl_b64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
    size_t pad;

    *out = NULL;
    *out_len = 0;
    if (len == 0 || (len == 1 && in[0] == '=')) {
        *out = calloc(1, 1);
        return *out ? 0 : -ENOMEM;
    }
    if (b64_check(in, len, &pad) < 0)
        return -EINVAL;
    uint8_t *buf = malloc(len / 4 * 3 + 1);
    if (!buf)
        return -ENOMEM;
    int n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
    if (n < 0 || (size_t)n < pad) {
        free(buf);
        return -EINVAL;
    }
    /* DecodeBlock counts the padding as zero bytes: drop them. */
    *out_len = (size_t)n - pad;
    buf[*out_len] = '\0';
    *out = buf;
    return 0;
}

/* Zero-length data encodes as "=", the XMPP form (RFC 6120 §6.4.2). */
int sasl_b64_encode(const uint8_t *in, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len > INT_MAX / 2)
        return -EINVAL;
    size_t cap = (len + 2) / 3 * 4 + 2;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    if (len == 0) {
        memcpy(buf, "=", 2);
        *out_len = 1;
    } else {
        *out_len = (size_t)EVP_EncodeBlock((unsigned char *)buf, in, (int)len);
    }
    *out = buf;
    return 0;
}
