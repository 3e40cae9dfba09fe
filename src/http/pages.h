/* The pages of the HTTPS service (http.h): the front page, the policy
 * page made from the live configuration (policy.h), and each
 * registration code's invite page with consent (P2), the link and QR
 * code for a phone's client, and web registration.
 *
 * GET  /                     the server's name, links to the policy
 * GET  /policy               the policy (?lang=en|de, else Accept-Language)
 * GET  /taube.css            the style sheet
 * GET  /invite/CODE          the invite: the policy and an "I agree" box
 * POST /invite/CODE          consent given: recorded against the code;
 *                            then the xmpp: link, its QR code, the clients
 *                            and the web registration form
 * POST /invite/CODE/register web registration
 *
 * A code that is unknown, used up, expired or revoked gets a page that
 * says so; each such answer counts against the address like a failed
 * registration (register_rate), so guessing codes is slowed for the
 * guesser only. Codes are never logged. Loop thread only.
 */
#ifndef TAUBE_PAGES_H
#define TAUBE_PAGES_H

#include <stddef.h>

#include "http/http.h"

struct server;

/* Makes the pages' state (srv->pages; the policy is rendered here, so
 * it may read policy.file_*) and fills routes[0..*n). 0, or -errno with
 * *err (malloc'ed, one line). */
int pages_start(struct server *srv, struct http_route *routes, size_t max, size_t *n, char **err);
void pages_free(struct server *srv);

#endif
