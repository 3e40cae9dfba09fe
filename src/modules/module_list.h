/* Every module, in the order its hooks run: the one list the registry is
 * built from (an X-macro). MODULE(name) stands for the descriptor
 * mod_<name>, defined in modules/<name>.c; its position is its id
 * (MOD_ID_<name>), where the registry keeps its state and its session
 * slot. Adding a module is one line here.
 *
 * Included by module.h (the ids) and registry.c (the table); define
 * MODULE(name) before including it. */

MODULE(disco)
MODULE(ping)
MODULE(version)
MODULE(time)
/* blocking drops stanzas from blocked JIDs before any module below
 * (presence, subscriptions) sees them. */
MODULE(blocking)
/* reports has no hooks: the block handler above hands it the reports
 * (XEP-0377); its erase runs before the account row goes, so that kept
 * reports can be detached from the reporter first. */
MODULE(reports)
/* last and vcard watch the user's broadcast presence (the status of an
 * unavailable one; adding the avatar hash to an available one) before the
 * presence module handles and broadcasts it. */
MODULE(last)
MODULE(vcard)
MODULE(private)
/* roster has no routing hooks; presence needs it (its state holds the
 * rosters of online accounts). */
MODULE(roster)
/* presence after blocking: blocked presence never reaches it. */
MODULE(presence)
/* offline has only the undeliverable hook: its place does not matter. */
MODULE(offline)
/* register (XEP-0077 after login; before login c2s calls it directly) has
 * iq handlers only. */
MODULE(register)
/* adhoc has iq handlers and a session event only: its place does not
 * matter. */
MODULE(adhoc)
/* admin and member have ad-hoc commands only (XEP-0133 and registration
 * codes; a member's own export and access report). */
MODULE(admin)
MODULE(member)
/* retention has no hooks: the data contract, its sweep the inactive
 * accounts. */
MODULE(retention)
/* sweep: the daily scheduler of every module's sweep. */
MODULE(sweep)
