/* Domain names: the one normaliser for every domain the server compares
 * (server.domains and component domains in the config, the 'to' of a
 * stream, the domainpart of every JID).
 *
 * RFC 7622 §3.2 makes the domainpart an IDNA2008 name (RFC 5890-5892),
 * A-labels converted to U-labels, with case, width and normalisation
 * mapping. We use UTS #46 non-transitional processing (libidn2), as
 * browsers and registries do: "faß.de" stays "faß.de" (an IDNA2003
 * nameprep would have made it "fass.de", another registered domain),
 * "FAß.DE" and "xn--fa-hia.de" become "faß.de". Labels are LDH once in
 * A-label form (so '_' is refused), 1 to 63 bytes, at most 253 in all
 * (RFC 1034; RFC 7622 keeps those limits).
 *
 * IP literals are not handled here: the JID code accepts them before it
 * calls this, the configuration refuses them. Any thread; no state.
 */
#ifndef TAUBE_DOMAIN_H
#define TAUBE_DOMAIN_H

#include <stddef.h>

#define DOMAIN_MAX 253      /* bytes of the A-label form (RFC 1034) */
#define DOMAIN_RAW_MAX 4096 /* bytes of input considered at all */

/* Normalises in[0..len) (UTF-8, one trailing dot allowed and dropped)
 * into out (cap bytes, NUL-terminated): lower-case, U-labels. Returns the
 * length written (without the NUL);
 * -EINVAL when it is not a valid domain name, with the reason (an English
 * phrase for messages) in why[0..wn) unless why is NULL; -ENOBUFS if out
 * is too small; -ENOMEM. */
int domain_normalize(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn);
/* Test hook: the same, always through libidn2 (no ASCII fast path). The
 * unit tests check that both agree. */
int domain_normalize_idn(const char *in, size_t len, char *out, size_t cap, char *why, size_t wn);

#endif
