/* Registration codes: generation, Crockford base32, keyed hashing
 * (see invite.h). */
#include "modules/invite.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

static const char b32_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Value of one typed character, -1 for separators to skip, -2 if it is
 * not part of a code. */
static int b32_value(unsigned char ch)
{
    if (ch == '-' || ch == ' ')
        return -1;
    ch = (unsigned char)toupper(ch);
    if (ch == 'O')
        return 0;
    if (ch == 'I' || ch == 'L')
        return 1;
    const char *p = ch ? strchr(b32_alphabet, ch) : NULL;
    return p ? (int)(p - b32_alphabet) : -2;
}

/* 20 bytes are 160 bits, exactly 32 characters of 5 bits. */
void invite_code_text(const uint8_t code[INVITE_CODE_BYTES], char text[INVITE_CODE_TEXT])
{
    size_t o = 0, nchars = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < INVITE_CODE_BYTES; i++) {
        acc = (acc << 8) | code[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            if (nchars > 0 && nchars % 4 == 0)
                text[o++] = '-';
            text[o++] = b32_alphabet[(acc >> bits) & 31];
            nchars++;
        }
    }
    text[o] = '\0';
}

int invite_code_new(uint8_t code[INVITE_CODE_BYTES], char text[INVITE_CODE_TEXT])
{
    if (RAND_bytes(code, INVITE_CODE_BYTES) != 1)
        return -EIO;
    invite_code_text(code, text);
    return 0;
}

int invite_code_parse(const char *s, size_t len, uint8_t code[INVITE_CODE_BYTES])
{
    if (len > INVITE_CODE_INPUT_MAX)
        return -EINVAL;
    size_t nbytes = 0, nchars = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b32_value((unsigned char)s[i]);
        if (v == -1)
            continue;
        if (v < 0 || nchars == 32)
            return -EINVAL;
        nchars++;
        acc = ((acc << 5) | (unsigned)v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            code[nbytes++] = (uint8_t)(acc >> bits);
        }
    }
    return nchars == 32 ? 0 : -EINVAL;
}

int invite_code_hash(const uint8_t *secret, size_t secret_len,
                     const uint8_t code[INVITE_CODE_BYTES], uint8_t out[INVITE_HASH_LEN])
{
    unsigned int len = 0;
    if (secret_len > INT32_MAX ||
        !HMAC(EVP_sha256(), secret, (int)secret_len, code, INVITE_CODE_BYTES, out, &len) ||
        len != INVITE_HASH_LEN)
        return -EIO;
    return 0;
}

int invite_parse_duration(const char *s, int64_t *secs)
{
    static const struct {
        char unit;
        int64_t mul;
    } units[] = {
        {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400},
    };
    const int64_t max = 10 * 366 * 86400LL;
    int64_t n = 0;
    size_t i = 0;
    for (; isdigit((unsigned char)s[i]); i++) {
        n = n * 10 + (s[i] - '0');
        if (n > max)
            return -EINVAL;
    }
    if (i == 0 || n == 0 || s[i] == '\0' || s[i + 1] != '\0')
        return -EINVAL;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        if (units[u].unit == s[i]) {
            if (n > max / units[u].mul)
                return -EINVAL;
            *secs = n * units[u].mul;
            return 0;
        }
    }
    return -EINVAL;
}

int invite_web_url(const struct config *cfg, const char *domain, const char *path, struct buf *out)
{
    const char *pub = cfg->http_public_url;
    if (pub && pub[0]) {
        size_t n = strlen(pub);
        while (n > 0 && pub[n - 1] == '/')
            n--;
        return buf_append(out, pub, n) < 0 || buf_append_str(out, path) < 0 ? -ENOMEM : 0;
    }
    if (cfg->https_port == 0)
        return -ENOENT;
    int r = cfg->https_port == 443
                ? buf_printf(out, "https://%s%s", domain, path)
                : buf_printf(out, "https://%s:%d%s", domain, cfg->https_port, path);
    return r < 0 ? -ENOMEM : 0;
}
