/* JIDs: splitting (RFC 7622 §3.2), local and resource parts prepared
 * with the RFC 6122 stringprep profiles from libidn, the domainpart with
 * the server's one domain normaliser (core/domain.h: IDNA2008).
 *
 * Every stanza's to/from goes through jid_parse, so pure-ASCII local and
 * resource parts take a fast path that reproduces what the profiles do
 * to ASCII (nodeprep: lower-case, refuse controls, space and
 * "&'/:<>@; resourceprep: refuse controls); domain.c has its own. The
 * unit test checks both paths agree; jid_prep_slow is the reference path
 * it uses.
 */
#include "xmpp/jid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stringprep.h>

#include "core/domain.h"

/* Raw (unprepared) bytes accepted per part. Preparation can shrink a part
 * (fullwidth forms, mapped-to-nothing code points), so this is above
 * JID_PART_MAX, but bounded so the work buffer can live on the stack. */
#define JID_RAW_MAX 4096

enum part { PART_LOCAL, PART_DOMAIN, PART_RESOURCE };

bool jid_utf8_valid(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len;

    while (p < end) {
        uint8_t c = *p;
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            if (c == 0)
                return false;
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        /* Overlong forms, UTF-16 surrogates and values past U+10FFFF. */
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        p += n + 1;
    }
    return true;
}

static bool all_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)s[i] >= 0x80)
            return false;
    return true;
}

static char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* ASCII code points the profiles prohibit: C.2.1 controls everywhere, plus
 * for nodeprep C.1.1 (space) and the RFC 6122 Appendix A.5 additions. */
static bool ascii_prohibited(enum part kind, char c)
{
    if ((uint8_t)c < 0x20 || c == 0x7F)
        return true;
    return kind == PART_LOCAL && strchr(" \"&'/:<>@", c) != NULL;
}

/* A domain made only of digits and dots is an IPv4 literal or nothing
 * (RFC 7622 §3.2, RFC 3986's IPv4address). */
static int check_ipv4(const char *d)
{
    struct in_addr a4;
    if (d[strspn(d, "0123456789.")] != '\0')
        return 0;
    return inet_pton(AF_INET, d, &a4) == 1 ? 0 : -EINVAL;
}

/* The domainpart through the server's one domain normaliser (domain.h:
 * IDNA2008, UTS #46 non-transitional), the same the configuration uses,
 * so a configured domain and a stream's 'to' always agree. */
static int prep_domain(const char *in, size_t len, char *out, size_t *out_len, bool slow)
{
    int rc = slow ? domain_normalize_idn(in, len, out, JID_PART_MAX + 1, NULL, 0)
                  : domain_normalize(in, len, out, JID_PART_MAX + 1, NULL, 0);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0 || check_ipv4(out) < 0)
        return -EINVAL;
    *out_len = (size_t)rc;
    return 0;
}

/* "[v6]" to its canonical bracketed text form. */
static int prep_ipv6(const char *in, size_t len, char *out, size_t *out_len)
{
    char inner[INET6_ADDRSTRLEN];
    struct in6_addr a6;

    if (len < 3 || in[len - 1] != ']' || len - 2 >= sizeof(inner))
        return -EINVAL;
    memcpy(inner, in + 1, len - 2);
    inner[len - 2] = '\0';
    if (inet_pton(AF_INET6, inner, &a6) != 1 || !inet_ntop(AF_INET6, &a6, inner, sizeof(inner)))
        return -EINVAL;
    *out_len = (size_t)snprintf(out, JID_PART_MAX + 1, "[%s]", inner);
    return 0;
}

/* Pure-ASCII preparation without libidn. out holds JID_PART_MAX + 1. */
static int prep_fast(enum part kind, const char *in, size_t len, char *out, size_t *out_len)
{
    if (len == 0 || len > JID_PART_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (ascii_prohibited(kind, in[i]))
            return -EINVAL;
        out[i] = kind == PART_RESOURCE ? in[i] : ascii_lower(in[i]);
    }
    out[len] = '\0';
    *out_len = len;
    return 0;
}

/* Reference path through the stringprep profiles. out holds
 * JID_PART_MAX + 1 bytes. */
static int prep_slow(enum part kind, const char *in, size_t len, char *out, size_t *out_len)
{
    char work[JID_RAW_MAX + 1];
    int rc;

    if (len == 0 || len > JID_RAW_MAX || !jid_utf8_valid(in, len))
        return -EINVAL;
    memcpy(work, in, len);
    work[len] = '\0';
    /* Any valid result fits JID_PART_MAX; larger output is refused anyway. */
    size_t maxlen = (len > JID_PART_MAX ? len : JID_PART_MAX) + 1;
    if (kind == PART_LOCAL)
        rc = stringprep_xmpp_nodeprep(work, maxlen);
    else
        rc = stringprep_xmpp_resourceprep(work, maxlen);
    if (rc == STRINGPREP_MALLOC_ERROR)
        return -ENOMEM;
    size_t wl = strlen(work);
    if (rc != STRINGPREP_OK || wl == 0 || wl > JID_PART_MAX)
        return -EINVAL;
    memcpy(out, work, wl + 1);
    *out_len = wl;
    return 0;
}

static int prep_part(enum part kind, const char *in, size_t len, char *out, size_t *out_len)
{
    if (len == 0 || len > JID_RAW_MAX)
        return -EINVAL;
    if (kind == PART_DOMAIN && in[0] == '[')
        return prep_ipv6(in, len, out, out_len);
    if (kind == PART_DOMAIN)
        return prep_domain(in, len, out, out_len, false);
    if (all_ascii(in, len))
        return prep_fast(kind, in, len, out, out_len);
    return prep_slow(kind, in, len, out, out_len);
}

static int prep_into(enum part kind, const char *in, char *out, size_t cap, bool slow)
{
    char tmp[JID_PART_MAX + 1];
    size_t len = strnlen(in, JID_RAW_MAX + 1), tl;
    int rc;

    if (slow && kind == PART_DOMAIN && in[0] == '[')
        rc = prep_ipv6(in, len, tmp, &tl);
    else if (slow && kind == PART_DOMAIN)
        rc = len == 0 || len > JID_RAW_MAX ? -EINVAL : prep_domain(in, len, tmp, &tl, true);
    else
        rc = slow ? prep_slow(kind, in, len, tmp, &tl) : prep_part(kind, in, len, tmp, &tl);
    if (rc < 0)
        return rc;
    if (tl + 1 > cap)
        return -ENOBUFS;
    memcpy(out, tmp, tl + 1);
    return 0;
}

int jid_prep_local(const char *in, char *out, size_t cap)
{
    return prep_into(PART_LOCAL, in, out, cap, false);
}

int jid_prep_domain(const char *in, char *out, size_t cap)
{
    return prep_into(PART_DOMAIN, in, out, cap, false);
}

int jid_prep_resource(const char *in, char *out, size_t cap)
{
    return prep_into(PART_RESOURCE, in, out, cap, false);
}

int jid_prep_slow(char part, const char *in, char *out, size_t cap)
{
    switch (part) {
    case 'l': return prep_into(PART_LOCAL, in, out, cap, true);
    case 'd': return prep_into(PART_DOMAIN, in, out, cap, true);
    case 'r': return prep_into(PART_RESOURCE, in, out, cap, true);
    default: return -EINVAL;
    }
}

/* Builds the single allocation from prepared parts (local/res may be NULL). */
static int jid_assemble(struct jid *out, const char *local, size_t ll, const char *domain,
                        size_t dl, const char *res, size_t rl)
{
    char *m = malloc(ll + dl + rl + 3);
    if (!m)
        return -ENOMEM;
    char *p = m;
    out->mem = m;
    out->local = local ? p : NULL;
    if (local) {
        memcpy(p, local, ll + 1);
        p += ll + 1;
    }
    out->domain = p;
    memcpy(p, domain, dl + 1);
    p += dl + 1;
    out->resource = res ? p : NULL;
    if (res)
        memcpy(p, res, rl + 1);
    return 0;
}

int jid_parse(struct jid *out, const char *s, size_t len)
{
    char lbuf[JID_PART_MAX + 1], dbuf[JID_PART_MAX + 1], rbuf[JID_PART_MAX + 1];
    size_t ll = 0, dl = 0, rl = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!s || len == 0 || memchr(s, '\0', len))
        return -EINVAL;
    /* RFC 7622 §3.2: the first '/' ends the domain, then the first '@'
     * before it ends the localpart. Split before any mapping, which could
     * produce separator characters. */
    const char *slash = memchr(s, '/', len);
    size_t head = slash ? (size_t)(slash - s) : len;
    const char *at = memchr(s, '@', head);
    const char *dom = at ? at + 1 : s;
    size_t dom_len = head - (size_t)(dom - s);

    if (at && (rc = prep_part(PART_LOCAL, s, (size_t)(at - s), lbuf, &ll)) < 0)
        return rc;
    if ((rc = prep_part(PART_DOMAIN, dom, dom_len, dbuf, &dl)) < 0)
        return rc;
    if (slash && (rc = prep_part(PART_RESOURCE, slash + 1, len - head - 1, rbuf, &rl)) < 0)
        return rc;
    return jid_assemble(out, at ? lbuf : NULL, ll, dbuf, dl, slash ? rbuf : NULL, rl);
}

void jid_free(struct jid *j)
{
    if (!j)
        return;
    free(j->mem);
    memset(j, 0, sizeof(*j));
}

static int jid_copy_parts(struct jid *out, const struct jid *in, bool with_resource)
{
    const char *res = with_resource ? in->resource : NULL;

    memset(out, 0, sizeof(*out));
    if (!in->domain)
        return -EINVAL;
    return jid_assemble(out, in->local, in->local ? strlen(in->local) : 0, in->domain,
                        strlen(in->domain), res, res ? strlen(res) : 0);
}

int jid_copy(struct jid *out, const struct jid *in) { return jid_copy_parts(out, in, true); }

int jid_bare(struct jid *out, const struct jid *in) { return jid_copy_parts(out, in, false); }

/* Appends src to out[*pos..cap) like strlcat would, counting the full
 * length in *pos even when it does not fit. */
static void put(char *out, size_t cap, size_t *pos, const char *src)
{
    size_t n = strlen(src);
    if (*pos < cap) {
        size_t room = cap - *pos - 1;
        memcpy(out + *pos, src, n < room ? n : room);
    }
    *pos += n;
}

size_t jid_format(const struct jid *j, bool bare, char *out, size_t cap)
{
    size_t pos = 0;

    if (j->local) {
        put(out, cap, &pos, j->local);
        put(out, cap, &pos, "@");
    }
    put(out, cap, &pos, j->domain ? j->domain : "");
    if (!bare && j->resource) {
        put(out, cap, &pos, "/");
        put(out, cap, &pos, j->resource);
    }
    if (cap > 0)
        out[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

char *jid_to_string(const struct jid *j, bool bare)
{
    size_t n = jid_format(j, bare, NULL, 0);
    char *s = malloc(n + 1);
    if (s)
        jid_format(j, bare, s, n + 1);
    return s;
}

static bool part_equal(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool jid_bare_equal(const struct jid *a, const struct jid *b)
{
    return part_equal(a->local, b->local) && part_equal(a->domain, b->domain);
}

bool jid_equal(const struct jid *a, const struct jid *b)
{
    return jid_bare_equal(a, b) && part_equal(a->resource, b->resource);
}
