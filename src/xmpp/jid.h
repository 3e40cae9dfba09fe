/* JIDs (RFC 7622 form; local and resource parts prepared with the RFC
 * 6122 stringprep profiles from libidn, since Debian has no PRECIS
 * library; the domainpart with core/domain.h, IDNA2008 as RFC 7622 says,
 * the same normaliser the configuration uses).
 *
 * Ownership: a struct jid owns one heap block holding its three parts,
 * each NUL-terminated. Any thread.
 */
#ifndef TAUBE_JID_H
#define TAUBE_JID_H

#include <stdbool.h>
#include <stddef.h>

#define JID_PART_MAX 1023 /* bytes of each part after preparation */

struct jid {
    char *mem;            /* the one allocation; free with jid_free */
    const char *local;    /* NULL if none */
    const char *domain;   /* never NULL for a parsed JID */
    const char *resource; /* NULL if none */
};

/* Parses and prepares s[0..len). The domain goes through domain_normalize
 * (lower-case U-labels, UTS #46 non-transitional, at most 253 bytes as
 * A-labels, a trailing dot dropped); IPv4 and bracketed IPv6 literals are
 * accepted. Returns 0, -EINVAL for an invalid JID (empty part after '@'
 * or '/', a local or resource part over 1023 bytes, prohibited code
 * points, bad UTF-8, NUL), or -ENOMEM. On error *out is zeroed. */
int jid_parse(struct jid *out, const char *s, size_t len);
void jid_free(struct jid *j);
int jid_copy(struct jid *out, const struct jid *in);
/* A copy without the resource. */
int jid_bare(struct jid *out, const struct jid *in);

/* Writes "local@domain/resource" (bare: without resource). Returns the
 * length it needs (like snprintf); writes at most cap bytes with a NUL. */
size_t jid_format(const struct jid *j, bool bare, char *out, size_t cap);
/* The same, heap-allocated; NULL on ENOMEM. */
char *jid_to_string(const struct jid *j, bool bare);

bool jid_equal(const struct jid *a, const struct jid *b);      /* all parts */
bool jid_bare_equal(const struct jid *a, const struct jid *b); /* local+domain */

/* Prepares one part alone into out (cap bytes). 0, -EINVAL or -ENOBUFS. */
int jid_prep_local(const char *in, char *out, size_t cap);
int jid_prep_domain(const char *in, char *out, size_t cap);
int jid_prep_resource(const char *in, char *out, size_t cap);

/* Added: strict UTF-8 check (no NUL, overlongs, surrogates, > U+10FFFF). */
bool jid_utf8_valid(const char *s, size_t len);
/* Added, test hook: the same preparation always through libidn (part 'l',
 * 'd' or 'r'); the ASCII fast path of jid_prep_* must agree with it. */
int jid_prep_slow(char part, const char *in, char *out, size_t cap);

#endif
