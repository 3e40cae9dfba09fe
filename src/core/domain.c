/* Domain names (domain.h): UTS #46 non-transitional through libidn2, with
 * an ASCII fast path, since every stanza's 'to' and 'from' comes here.
 *
 * The fast path does in one pass what UTS #46 does to an ASCII LDH name
 * (lower-case it); anything else (non-ASCII, or an "xn--" label to decode and check)
 * goes the whole way: to an A-label (mapping, NFC, IDNA2008 validity,
 * bidi and contextual rules), LDH and length checks on that, back to the
 * U-labels we keep. The unit test checks both paths agree.
 */
#include "core/domain.h"

#include <errno.h>
#include <limits.h>
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

/* The label s[start..end): 1..63 bytes, no hyphen at either end. 0 or
 * -EINVAL. */
static int label_shape(const char *s, size_t start, size_t end, char *why, size_t wn)
{
    size_t l = end - start;
    if (l == 0)
        return say(why, wn, "a label is empty");
    if (l > LABEL_MAX)
        return say(why, wn, "a label is longer than 63 bytes");
    if (s[start] == '-' || s[end - 1] == '-')
        return say(why, wn, "a label starts or ends with '-'");
    return 0;
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
        if (label_shape(s, start, i, why, wn) < 0)
            return -EINVAL;
        start = i + 1;
    }
    return 0;
}

static int put_out(const char *s, size_t len, char *out, size_t cap)
{
    if (len + 1 > cap || len > INT_MAX)
        return -ENOBUFS;
    memcpy(out, s, len);
    out[len] = '\0';
    return (int)len;
}

/* The label s[start..end) of an ASCII name being lowered: 1 if it is an
 * "xn--" label (the IDN path decodes and checks it), 0 if good, or
 * -EINVAL. */
static int fast_label(const char *s, size_t start, size_t end, char *why, size_t wn)
{
    if (label_shape(s, start, end, why, wn) < 0)
        return -EINVAL;
    size_t l = end - start;
    /* "??--" labels are reserved for A-labels (RFC 5890 §2.3.1; RFC 7622
     * §3.2.1 allows NR-LDH labels and U-labels only). */
    if (l >= 4 && s[start + 2] == '-' && s[start + 3] == '-')
        return s[start] == 'x' && s[start + 1] == 'n'
                   ? 1
                   : say(why, wn, "a label has '--' in its third and fourth places");
    return 0;
}

/* The ASCII fast path, one pass: lower-cases into out and checks the LDH
 * labels. The length, a negative error, or NEEDS_IDN for a non-ASCII
 * byte, an "xn--" label, or a name too long to decide here. */
#define NEEDS_IDN INT_MIN
static int fast(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn)
{
    if (len > DOMAIN_MAX || len + 1 > cap)
        return NEEDS_IDN;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? in[i] : '.';
        if ((uint8_t)c >= 0x80)
            return NEEDS_IDN;
        if (c == '.') {
            int r = fast_label(out, start, i, why, wn);
            if (r != 0)
                return r > 0 ? NEEDS_IDN : r;
            out[i] = '.';
            start = i + 1;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            out[i] = c;
            continue;
        }
        if ((uint8_t)c < 0x20 || c == 0x7f)
            return say(why, wn, "a control character is not allowed in a domain name");
        if (why && wn)
            snprintf(why, wn, "'%c' is not allowed in a domain name", c);
        return -EINVAL;
    }
    out[len] = '\0';
    return (int)len;
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
    if (len > DOMAIN_RAW_MAX)
        return say(why, wn, "the domain is too long");
    if (memchr(in, '\0', len))
        return say(why, wn, "a NUL byte is not allowed in a domain name");
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
    /* An "xn--" label given as such is only decoded by the lookup, not
     * checked: its U-label must itself be valid and give the same A-label
     * again (RFC 5891 §5.4), or "xn--…" smuggles in a space or a capital. */
    uint8_t *again = NULL;
    if (r == 0 && (rc = idn2_lookup_u8((const uint8_t *)ulabel, &again,
                                       IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)) != IDN2_OK)
        r = idn_error(rc, why, wn);
    if (r == 0 && strcmp((const char *)again, (const char *)alabel) != 0)
        r = say(why, wn, "an \"xn--\" label does not decode to a valid international name");
    if (r == 0)
        r = put_out(ulabel, strlen(ulabel), out, cap);
    idn2_free(again);
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
    int r = always_idn ? NEEDS_IDN : fast(in, len, out, cap, why, wn);
    return r == NEEDS_IDN ? slow(in, len, out, cap, why, wn) : r;
}

int domain_normalize(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn)
{
    return normalize(in, len, out, cap, why, wn, false);
}

int domain_normalize_idn(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn)
{
    return normalize(in, len, out, cap, why, wn, true);
}
