/* In-band registration (XEP-0077 with a XEP-0004 form, XEP-0401
 * pre-authentication): the names other parts use.
 *
 * Before authentication, a TLS stream hands registration iqs to the
 * module through its STREAM_PREAUTH stream handler (module.h), which also
 * offers the <register/> feature; the stream code knows nothing of
 * registration. After login, password change and removal are iq
 * handlers. Loop thread only.
 */
#ifndef TAUBE_REGISTER_H
#define TAUBE_REGISTER_H

#define NS_REGISTER "jabber:iq:register"
#define NS_REGISTER_FEATURE "http://jabber.org/features/iq-register"
#define NS_PARS "urn:xmpp:pars:0"
/* Stream features saying a <preauth/> token is taken before registering:
 * XEP-0445's, and the older one of XEP-0401 drafts (Siskin sends its
 * token only when it sees one of them; Prosody offers both). */
#define NS_IBR_TOKEN "urn:xmpp:ibr-token:0"
#define NS_INVITE_FEATURE "urn:xmpp:invite"

#include <stdint.h>

#include "modules/invite.h"

struct server;

/* Counts one registration attempt from the address peer against
 * registration.max_attempts_per_hour (IPv6 by its /64), the count
 * in-band registration uses: 0, -EAGAIN over it, -ENOMEM. */
int register_rate(struct server *srv, const char *peer);

/* Web registration (the invite page's form, with its consent box
 * ticked): counts the attempt, then makes the checks and the store
 * request of in-band registration, the consent recorded as given on the
 * web form. A refusal is returned at once: -EAGAIN (too many attempts),
 * -EPERM (registration.enabled is false), the code's errors of
 * store_invite_check_sync, -EINVAL (the user name), -ERANGE (the
 * password's length), -ENOMEM, -EIO; done is then not called. 0: done
 * is called later with 0 (created), -EEXIST (name taken), -EILSEQ (the
 * password's characters), a code error (it was used meanwhile), or
 * another -errno. */
typedef void (*register_web_cb)(void *ud, int rc);
int register_web(struct server *srv, const char *peer, const char *domain,
                 const uint8_t hash[INVITE_HASH_LEN], const char *user, const char *pw,
                 register_web_cb done, void *ud);

#endif
