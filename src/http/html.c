/* HTML escaping and form decoding (html.h). */
#include "http/html.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>

int html_text(struct buf *b, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *ent = NULL;
        switch (s[i]) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: continue;
        }
        if (buf_append(b, s + start, i - start) < 0 || buf_append_str(b, ent) < 0)
            return -ENOMEM;
        start = i + 1;
    }
    return buf_append(b, s + start, len - start) < 0 ? -ENOMEM : 0;
}

int html_str(struct buf *b, const char *s) { return html_text(b, s, strlen(s)); }

bool html_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Decodes one url-encoded span into out; the length, or -EINVAL/-E2BIG. */
static int decode(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (len - i < 3)
                return -EINVAL;
            int hi = OPENSSL_hexchar2int((unsigned char)s[i + 1]),
                lo = OPENSSL_hexchar2int((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -EINVAL;
        if (o + 1 >= n)
            return -E2BIG;
        out[o++] = c;
    }
    out[o] = '\0';
    if (!html_utf8_valid(out, o))
        return -EINVAL;
    return (int)o;
}

int html_form_value(const char *body, size_t len, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        const char *eq = memchr(body + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - body) - i : end - i;
        if (klen == nl && memcmp(body + i, name, nl) == 0) {
            size_t v = eq ? (size_t)(eq - body) + 1 : end;
            return decode(body + v, end - v, out, n);
        }
        i = end + 1;
    }
    return -ENOENT;
}
