/* In-band registration before authentication (XEP-0077 §3.1 with a
 * XEP-0004 form, XEP-0401 pre-authentication), for the c2s stream.
 *
 * The c2s stream calls these on a TLS stream before SASL succeeds; it
 * offers the stream feature, hands over the iqs register_wants() picks
 * and sends the reply it gets back. Everything else about registration
 * (codes, consent, the per-address rate limit, the authenticated password
 * change and removal) stays in register.c.
 *
 * Loop thread only. The per-stream state belongs to the stream, which
 * frees it with register_stream_free when it is freed.
 */
#ifndef TAUBE_REGISTER_H
#define TAUBE_REGISTER_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/server.h"
#include "xml/xml.h"

#define NS_REGISTER "jabber:iq:register"
#define NS_REGISTER_FEATURE "http://jabber.org/features/iq-register"
#define NS_PARS "urn:xmpp:pars:0"

struct reg_stream;

/* Appends the <register/> stream feature if registration is enabled.
 * 0 or -ENOMEM. */
int register_stream_feature(struct server *srv, struct buf *out);

/* Whether a top-level element on an unauthenticated stream is an iq for
 * register_preauth_iq (a jabber:iq:register query or a XEP-0401
 * preauth). */
bool register_wants(const struct xml_node *root);

/* Sends a stanza on the stream (does not consume it). */
typedef void (*register_send_fn)(void *ud, const struct stanza *reply);

/* Answers such an iq for the stream to domain from the address peer, now
 * or (account creation, whose SCRAM keys are derived on a worker thread)
 * later, through send(ud, ...) in either case; a result or error iq gets
 * no answer. *rs is the stream's registration state, made on first use
 * and keeping send and ud: they must stay valid until the stream calls
 * register_stream_free. st is borrowed. 0, or -ENOMEM if no answer could
 * be made (close the stream). */
int register_preauth_iq(struct server *srv, struct reg_stream **rs, const char *domain,
                        const char *peer, const struct stanza *st, register_send_fn send, void *ud);

/* The stream is going away. A registration still under way completes
 * (the account is created if all was right) without an answer. */
void register_stream_free(struct reg_stream *rs);

#endif
