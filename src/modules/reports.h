/* Spam and abuse reports (XEP-0377, promise P22).
 *
 * A client attaches a <report/> to an <item/> of a XEP-0191 block
 * request; the blocking module applies the block and then hands each
 * item to reports_take, which stores the report for the operator
 * (`taubectl report list|show|dismiss`). Both forms real clients send are
 * accepted:
 *   urn:xmpp:reporting:1  <report reason='urn:xmpp:reporting:spam|abuse'>
 *                         with <text/>, XEP-0359 <stanza-id by= id=/>
 *                         references (Conversations, Cheogram, profanity
 *                         0.11+, slixmpp);
 *   urn:xmpp:reporting:0  <report><spam/>|<abuse/><text/></report>
 *                         (older Conversations, Tigase, slixmpp < 1.8).
 * Copies of the reported messages (<body xmlns='jabber:client'/>, or
 * XEP-0297 <forwarded/> messages) are kept if the client sends them.
 *
 * The block never depends on its report (XEP-0377 §6: the server blocks
 * or fails just as it would without one): a report over a limit
 * (reports.max_per_day, reports.max_per_user) is not stored, text longer
 * than reports.max_text_length is cut, and a store failure is logged.
 * Logs name no JID and quote no text below debug level.
 *
 * The module (mod_reports) advertises the features and carries the data
 * contract: a user's reports are described and exported as theirs,
 * erased with the account (or kept without the reporter's name, by
 * reports.keep_after_reporter_deleted), reports about a deleted local
 * account go with it, and the retention run sweeps reports older than
 * reports.max_age. Loop thread; the data contract also runs in taubectl.
 */
#ifndef TAUBE_REPORTS_H
#define TAUBE_REPORTS_H

#include "core/server.h"
#include "xml/xml.h"
#include "xmpp/jid.h"

#define NS_REPORTING "urn:xmpp:reporting:1"
#define NS_REPORTING_0 "urn:xmpp:reporting:0"
#define REPORT_MAX_REFS 20    /* stanza-id references kept per report */
#define REPORT_REF_ID_MAX 256 /* bytes of one referenced stanza id */

/* item: one <item/> of a block request that was just applied; jid: its
 * JID, prepared; reporter: the blocking account's bare JID. Stores the
 * report the item carries, if any. Returns the report's number (> 0), 0
 * if the item carries no report, or -errno if one was not stored
 * (-EAGAIN, -EDQUOT: a limit; others: the store) — for logs and tests,
 * never for the block's answer. */
long long reports_take(struct server *srv, const struct jid *reporter, const struct xml_node *item,
                       const char *jid);

#endif
