/* Spam and abuse reports (XEP-0377, promise P22).
 *
 * A client attaches a <report/> to an <item/> of a XEP-0191 block
 * request; the blocking module applies the block and then hands each
 * report with its item's JID to reports_take, which stores it for the
 * operator (`taubectl report list|show|dismiss`). Both forms real
 * clients send are accepted:
 *   urn:xmpp:reporting:1  <report reason='urn:xmpp:reporting:spam|abuse'>
 *                         with <text/>, XEP-0359 <stanza-id by= id=/>
 *                         references (current Conversations and
 *                         Cheogram, profanity 0.11+, later slixmpp);
 *   urn:xmpp:reporting:0  <report><spam/>|<abuse/><text/></report>
 *                         (older Conversations, Tigase, slixmpp 1.8).
 * slixmpp 1.8 (Debian 12) puts its :0 report beside the items, in the
 * <block/> itself: it is taken for every item without one of its own.
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

#include <stdbool.h>

#include "core/server.h"
#include "xml/xml.h"
#include "xmpp/jid.h"

#define NS_REPORTING "urn:xmpp:reporting:1"
#define NS_REPORTING_0 "urn:xmpp:reporting:0"
#define REPORT_MAX_REFS 20    /* stanza-id references kept per report */
#define REPORT_REF_ID_MAX 256 /* bytes of one referenced stanza id */

/* Is n a <report/> in either reporting namespace? */
bool reports_is_report(const struct xml_node *n);
/* The first <report/> child of n (an item, or the block itself), or NULL. */
const struct xml_node *reports_find(const struct xml_node *n);

/* report: a <report/> sent with a block that was just applied; jid: the
 * blocked item's JID, prepared; reporter: the blocking account's bare
 * JID. Queues the report for that JID to the store (store/queue.h); the
 * outcome (stored, or a limit reached: -EAGAIN, -EDQUOT, or a store
 * error) is logged on completion, then done(ud) is called, so that the
 * block is answered after the commit. Returns 0 (done will be called) or
 * -errno (nothing queued, done not called) — for logs and tests, never
 * for the block's answer. */
int reports_take(struct server *srv, const struct jid *reporter, const struct xml_node *report,
                 const char *jid, void (*done)(void *ud), void *ud);

#endif
