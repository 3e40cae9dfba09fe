/* Domain names (domain.h): UTS #46 non-transitional through libidn2, with
 * an ASCII fast path, since every stanza's 'to' and 'from' comes here.
 *
 * The fast path does what UTS #46 does to an ASCII LDH name (lower-case
 * it); anything else (non-ASCII, or an "xn--" label to decode and check)
 * goes the whole way: to an A-label (mapping, NFC, IDNA2008 validity,
 * bidi and contextual rules), LDH and length checks on that, back to the
 * U-labels we keep. The unit test checks both paths agree.
 */
#include "core/domain.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define IDN2_SKIP_LIBIDN_COMPAT
#include <idn2.h>

#define LABEL_MAX 63

static int say(char *why, size_t wn, const char *text)
{
    if (why && wn)
        snprintf(why, wn, "%s", text);
    return -EINVAL;
}

/* LDH labels (lower-case ASCII already), 1..63 bytes, no hyphen at either
 * end, at most DOMAIN_MAX bytes in all. */
static int check_ldh(const char *s, size_t len, char *why, size_t wn)
{
    if (len > DOMAIN_MAX)
        return say(why, wn, "the domain is longer than 253 bytes");
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c != '.') {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
                continue;
            if ((uint8_t)c < 0x20 || c == 0x7f)
                return say(why, wn, "a control character is not allowed in a domain name");
            if (why && wn)
                snprintf(why, wn, "'%c' is not allowed in a domain name", c);
            return -EINVAL;
        }
        size_t l = i - start;
        if (l == 0)
            return say(why, wn, "a label is empty");
        if (l > LABEL_MAX)
            return say(why, wn, "a label is longer than 63 bytes");
        if (s[start] == '-' || s[i - 1] == '-')
            return say(why, wn, "a label starts or ends with '-'");
        start = i + 1;
    }
    return 0;
}

static bool needs_idn(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((uint8_t)s[i] >= 0x80)
            return true;
        if ((i == 0 || s[i - 1] == '.') && i + 4 <= len && (s[i] | 0x20) == 'x' &&
            (s[i + 1] | 0x20) == 'n' && s[i + 2] == '-' && s[i + 3] == '-')
            return true;
    }
    return false;
}

static int put_out(const char *s, size_t len, char *out, size_t cap)
{
    if (len + 1 > cap)
        return -ENOBUFS;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

static int fast(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn)
{
    char work[DOMAIN_MAX + 1];
    if (len > DOMAIN_MAX)
        return say(why, wn, "the domain is longer than 253 bytes");
    for (size_t i = 0; i < len; i++)
        work[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
    int rc = check_ldh(work, len, why, wn);
    if (rc < 0)
        return rc;
    /* "??--" labels are reserved for A-labels (RFC 5890 §2.3.1: only
     * NR-LDH labels and U-labels, RFC 7622 §3.2.1); the "xn--" ones took
     * the slow path. */
    for (size_t i = 0; i + 3 < len; i++)
        if ((i == 0 || work[i - 1] == '.') && work[i + 2] == '-' && work[i + 3] == '-')
            return say(why, wn, "a label has '--' in its third and fourth places");
    return put_out(work, len, out, cap);
}

static int idn_error(int rc, char *why, size_t wn)
{
    if (rc == IDN2_MALLOC)
        return -ENOMEM;
    if (why && wn)
        snprintf(why, wn, "not a valid international domain name (%s)", idn2_strerror(rc));
    return -EINVAL;
}

static int slow(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn)
{
    char work[DOMAIN_RAW_MAX + 1];
    memcpy(work, in, len);
    work[len] = '\0';
    uint8_t *alabel = NULL;
    int rc = idn2_lookup_u8((const uint8_t *)work, &alabel, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK)
        return idn_error(rc, why, wn);
    int r = check_ldh((const char *)alabel, strlen((const char *)alabel), why, wn);
    char *ulabel = NULL;
    if (r == 0 && (rc = idn2_to_unicode_8z8z((const char *)alabel, &ulabel, 0)) != IDN2_OK)
        r = idn_error(rc, why, wn);
    if (r == 0)
        r = put_out(ulabel, strlen(ulabel), out, cap);
    idn2_free(alabel);
    idn2_free(ulabel);
    return r;
}

static int normalize(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn,
                     bool always_idn)
{
    if (len > 0 && in[len - 1] == '.')
        len--; /* RFC 7622 §3.2: before anything else */
    if (len == 0)
        return say(why, wn, "the domain is empty");
    if (len > DOMAIN_RAW_MAX)
        return say(why, wn, "the domain is too long");
    if (memchr(in, '\0', len))
        return say(why, wn, "a NUL byte is not allowed in a domain name");
    if (always_idn || needs_idn(in, len))
        return slow(in, len, out, cap, why, wn);
    return fast(in, len, out, cap, why, wn);
}

int domain_normalize(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn)
{
    return normalize(in, len, out, cap, why, wn, false);
}

int domain_normalize_idn(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn)
{
    return normalize(in, len, out, cap, why, wn, true);
}
