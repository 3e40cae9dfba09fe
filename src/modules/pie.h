/* XEP-0227 (Portable Import/Export, "PIE") pieces shared by the export
 * paths: `taubectl user export` and the member's ad-hoc "Export my data"
 * (promise P19). The import side is in src/ctl/pie_import.c.
 *
 * The data itself comes from the modules (account_export, through
 * pie_export_user); this file writes what belongs to the account, not to
 * a module: the document around it and the SCRAM credentials (XEP-0227
 * §4.3, the 'urn:xmpp:pie:0#scram' namespace). No plaintext password is ever written: only a salted hash
 * is stored (promise P4).
 *
 * Any thread that owns the store (the loop, or taubectl).
 */
#ifndef TAUBE_PIE_H
#define TAUBE_PIE_H

#include "core/buf.h"
#include "modules/module.h"
#include "xmpp/sasl.h"

#define NS_PIE "urn:xmpp:pie:0"
#define NS_PIE_SCRAM "urn:xmpp:pie:0#scram"

/* Appends "<user name='USER'>" and the account's SCRAM credentials.
 * 0, -ENOENT (no such account) or -errno. */
int pie_user_open(struct store *store, const char *domain, const char *user, struct buf *out);

/* The account's data as one XEP-0227 <user/> element (promise P19): its
 * SCRAM credentials, then every module's export_xml (account_export), in
 * registry order. 0, -ENOENT (no such account) or -errno; out is left as
 * it was on failure. */
int pie_export_user(const struct data_ctx *d, const char *domain, const char *user,
                    struct buf *out);

/* Appends a whole XEP-0227 document holding one account: the XML
 * declaration, <server-data/>, <host jid='DOMAIN'/> and the <user/> of
 * pie_export_user. Children of <user/> start on their own lines,
 * so the document splits into readable lines. 0, -ENOENT or -errno; out is
 * left as it was on failure. */
int pie_export_document(const struct data_ctx *d, const char *domain, const char *user,
                        struct buf *out);

/* The SCRAM mechanism name of hash h ("SCRAM-SHA-1", "SCRAM-SHA-256"). */
const char *pie_mechanism_name(enum scram_hash h);

#endif
