/* SCRAM client (RFC 5802; SHA-256 per RFC 7677) for the load generator.
 *
 * The PBKDF2 result depends only on (hash, password, salt, iterations), so it
 * is cached: a benchmark logs the same accounts in thousands of times and
 * must measure the server, not the client's key derivation.
 */
#include "loadgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SALT_MAX 128 /* base64 salt as the server sent it */

struct scram_keys {
    unsigned char client_key[SCRAM_MAX_HASH];
    unsigned char stored_key[SCRAM_MAX_HASH];
    unsigned char server_key[SCRAM_MAX_HASH];
};

struct cache_entry {
    const EVP_MD *md; /* NULL: empty slot */
    unsigned iter;
    char salt[SALT_MAX + 1];
    char password[64];
    struct scram_keys k;
};

struct scram_cache {
    struct cache_entry *e;
    size_t cap, used; /* cap is a power of two */
};

struct scram_cache *scram_cache_new(size_t cap)
{
    size_t n = 16;
    while (n < cap * 2 && n < ((size_t)1 << 20))
        n *= 2;
    struct scram_cache *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->e = calloc(n, sizeof *sc->e);
    if (!sc->e) {
        free(sc);
        return NULL;
    }
    sc->cap = n;
    return sc;
}

void scram_cache_free(struct scram_cache *sc)
{
    if (!sc)
        return;
    OPENSSL_cleanse(sc->e, sc->cap * sizeof *sc->e);
    free(sc->e);
    free(sc);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static int derive_keys(const EVP_MD *md, const char *password, const char *salt_b64, unsigned iter,
                       struct scram_keys *k)
{
    unsigned char salt[SALT_MAX], salted[SCRAM_MAX_HASH];
    int slen = b64_decode(salt_b64, strlen(salt_b64), salt, sizeof salt);
    int hlen = EVP_MD_get_size(md);
    unsigned len = 0;
    if (slen < 0 || hlen <= 0 || hlen > SCRAM_MAX_HASH)
        return -EPROTO;
    if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, slen, (int)iter, md, hlen,
                           salted))
        return -EIO;
    if (!HMAC(md, salted, hlen, (const unsigned char *)"Client Key", 10, k->client_key, &len) ||
        !HMAC(md, salted, hlen, (const unsigned char *)"Server Key", 10, k->server_key, &len) ||
        !EVP_Digest(k->client_key, (size_t)hlen, k->stored_key, &len, md, NULL))
        return -EIO;
    OPENSSL_cleanse(salted, sizeof salted);
    return 0;
}

/* Finds or derives the keys; a full cache only means no caching. */
static int cached_keys(struct scram_cache *sc, const EVP_MD *md, const char *password,
                       const char *salt_b64, unsigned iter, struct scram_keys *k)
{
    if (strlen(salt_b64) > SALT_MAX || strlen(password) >= sizeof sc->e[0].password)
        return derive_keys(md, password, salt_b64, iter, k);
    uint64_t h = fnv1a(14695981039346656037ULL, salt_b64, strlen(salt_b64));
    h = fnv1a(h, &iter, sizeof iter);
    h = fnv1a(h, &md, sizeof md);
    for (size_t i = h & (sc->cap - 1);; i = (i + 1) & (sc->cap - 1)) {
        struct cache_entry *e = &sc->e[i];
        if (!e->md) {
            int r = derive_keys(md, password, salt_b64, iter, k);
            if (r == 0 && sc->used < sc->cap / 2) {
                *e = (struct cache_entry){.md = md, .iter = iter, .k = *k};
                snprintf(e->salt, sizeof e->salt, "%s", salt_b64);
                snprintf(e->password, sizeof e->password, "%s", password);
                sc->used++;
            }
            return r;
        }
        if (e->md == md && e->iter == iter && !strcmp(e->salt, salt_b64) &&
            !strcmp(e->password, password)) {
            *k = e->k;
            return 0;
        }
    }
}

int scram_client_first(struct scram *s, const EVP_MD *md, const char *user, char *out, size_t outsz)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[sizeof s->nonce - 1];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof rnd; i++)
        s->nonce[i] = alnum[rnd[i] % (sizeof alnum - 1)];
    s->nonce[sizeof rnd] = '\0';
    s->md = md;
    /* Account names here are plain ASCII without ',' or '=': no escaping. */
    int n = snprintf(s->first_bare, sizeof s->first_bare, "n=%s,r=%s", user, s->nonce);
    if (n < 0 || (size_t)n >= sizeof s->first_bare)
        return -ENOSPC;
    n = snprintf(out, outsz, "n,,%s", s->first_bare);
    return n < 0 || (size_t)n >= outsz ? -ENOSPC : n;
}

/* Copies attribute `key` ("r", "s", "i") of a SCRAM message into out. */
static int scram_attr(const char *msg, size_t n, char key, char *out, size_t outsz)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if ((i == 0 || msg[i - 1] == ',') && msg[i] == key && msg[i + 1] == '=') {
            size_t j = i + 2, len = 0;
            while (j + len < n && msg[j + len] != ',')
                len++;
            if (len >= outsz)
                return -ENOSPC;
            memcpy(out, msg + j, len);
            out[len] = '\0';
            return (int)len;
        }
    }
    return -ENOENT;
}

int scram_client_final(struct scram *s, struct scram_cache *sc, const char *password,
                       const char *server_first, size_t n, char *out, size_t outsz)
{
    char nonce[128], salt[SALT_MAX + 1], iters[16], without_proof[192], auth[512];
    if (scram_attr(server_first, n, 'r', nonce, sizeof nonce) <= 0 ||
        scram_attr(server_first, n, 's', salt, sizeof salt) <= 0 ||
        scram_attr(server_first, n, 'i', iters, sizeof iters) <= 0 ||
        strncmp(nonce, s->nonce, strlen(s->nonce)) != 0)
        return -EPROTO;
    long iter = strtol(iters, NULL, 10);
    if (iter < 1 || iter > 10000000)
        return -EPROTO;
    struct scram_keys k;
    int r = cached_keys(sc, s->md, password, salt, (unsigned)iter, &k);
    if (r < 0)
        return r;
    /* "biws" is base64("n,,"): no channel binding. */
    int wl = snprintf(without_proof, sizeof without_proof, "c=biws,r=%s", nonce);
    int al = snprintf(auth, sizeof auth, "%s,%.*s,%s", s->first_bare, (int)n, server_first,
                      without_proof);
    if (wl < 0 || (size_t)wl >= sizeof without_proof || al < 0 || (size_t)al >= sizeof auth)
        return -EPROTO;
    unsigned char sig[SCRAM_MAX_HASH], proof[SCRAM_MAX_HASH];
    unsigned hlen = 0, slen = 0;
    if (!HMAC(s->md, k.stored_key, EVP_MD_get_size(s->md), (unsigned char *)auth, (size_t)al, sig,
              &hlen) ||
        !HMAC(s->md, k.server_key, EVP_MD_get_size(s->md), (unsigned char *)auth, (size_t)al,
              s->server_sig, &slen))
        return -EIO;
    for (unsigned i = 0; i < hlen; i++)
        proof[i] = k.client_key[i] ^ sig[i];
    char proof64[64];
    if (b64_encode(proof, hlen, proof64, sizeof proof64) < 0)
        return -ENOSPC;
    int len = snprintf(out, outsz, "%s,p=%s", without_proof, proof64);
    return len < 0 || (size_t)len >= outsz ? -ENOSPC : len;
}

int scram_check_server_final(const struct scram *s, const char *msg, size_t n)
{
    char v64[64];
    unsigned char v[SCRAM_MAX_HASH + 2];
    if (scram_attr(msg, n, 'v', v64, sizeof v64) <= 0)
        return -EPROTO;
    int len = b64_decode(v64, strlen(v64), v, sizeof v);
    int hlen = EVP_MD_get_size(s->md);
    if (len != hlen || CRYPTO_memcmp(v, s->server_sig, (size_t)hlen) != 0)
        return -EPROTO;
    return 0;
}

int b64_encode(const void *in, size_t n, char *out, size_t outsz)
{
    if (n > 3 * 1024 * 1024 || outsz < 4 * ((n + 2) / 3) + 1)
        return -ENOSPC;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int b64_decode(const char *in, size_t n, unsigned char *out, size_t outsz)
{
    while (n > 0 && (in[n - 1] == '\n' || in[n - 1] == ' '))
        n--;
    if (n % 4 != 0 || n / 4 * 3 > outsz)
        return -EINVAL;
    if (n == 0)
        return 0;
    int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -EINVAL;
    /* EVP_DecodeBlock counts padding as data. */
    for (size_t i = n; i > 0 && in[i - 1] == '='; i--)
        len--;
    return len;
}
