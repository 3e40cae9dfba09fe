/* Hosts: every domain the router knows, and what kind of host it is.
 *
 * - HOST_LOCAL: a virtual host of server.domains; its JIDs are local
 *   accounts, its bare domain is the server (iq handlers of the module
 *   registry).
 * - HOST_COMPONENT: a service with its own address space, iq handling and
 *   disco. Stanzas to any JID at its domain go to the handler attached
 *   to it: today an external component's connection (XEP-0114,
 *   net/component.c); later the MUC and upload services attach the same
 *   way. With nothing attached, the router bounces them.
 * - HOST_REMOTE: another server, reached over s2s. The kind exists so
 *   that the router has one place to ask; nothing registers it yet.
 *
 * Domains are kept as core/domain.h normalises them (the config does),
 * and looked up with the domainpart of a prepared JID, so one spelling
 * matches. Loop thread only. The table owns its entries; a handler is
 * the attacher's and must be detached before it is freed.
 */
#ifndef TAUBE_HOSTS_H
#define TAUBE_HOSTS_H

#include <stddef.h>

#include "xml/xml.h"

enum host_kind { HOST_LOCAL, HOST_COMPONENT, HOST_REMOTE };

struct hosts;
struct host;

/* What a component host does with a stanza for a JID at its domain.
 * Does not consume st. 0, or -errno if it could not take it (the router
 * then answers as if nothing were attached). */
typedef int (*host_deliver_fn)(void *ud, struct stanza *st);

struct hosts *hosts_new(void);
void hosts_free(struct hosts *t);

/* Adds a host for domain (normalised already). secret: a component's
 * shared secret (XEP-0114), copied; NULL for other kinds. 0, -EEXIST
 * (the domain is there already), -ENOMEM. */
int hosts_add(struct hosts *t, const char *domain, enum host_kind kind, const char *secret);
/* The host for a prepared domain, or NULL (unknown: a remote domain,
 * until s2s registers remote hosts). NULL t finds nothing. */
struct host *hosts_find(const struct hosts *t, const char *domain);
size_t hosts_count(const struct hosts *t);

enum host_kind host_kind(const struct host *h);
const char *host_domain(const struct host *h);
/* A component's shared secret, or NULL. */
const char *host_secret(const struct host *h);

/* Attaches the handler that takes the host's stanzas: 0, or -EBUSY if
 * one is attached (one connection per component), -EINVAL if h is not a
 * component. */
int host_attach(struct host *h, host_deliver_fn fn, void *ud);
/* Detaches it if ud is the one attached (idempotent). */
void host_detach(struct host *h, void *ud);
bool host_attached(const struct host *h);
/* Hands st to the attached handler. 0, -ENOTCONN if none is attached,
 * or the handler's error. Does not consume st. */
int host_deliver(struct host *h, struct stanza *st);

#endif
