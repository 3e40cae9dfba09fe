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

#endif
