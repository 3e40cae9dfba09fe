/* Reading XEP-0227 files for `taubectl import` (promise P19's other
 * half: moving to Taube from Prosody or ejabberd).
 *
 * pie_file streams a file through the document reader (xml/reader.h):
 * the root must be <server-data xmlns='urn:xmpp:pie:0'>; each <host/> is
 * checked and prepared; each <user/> under it is handed over as a tree
 * as soon as it is complete, so a file of any number of accounts is read
 * with one account in memory. pie_account_from turns one <user/> into an
 * import_account (store/import.h): SCRAM credentials (XEP-0227 §4.3, or a
 * plaintext 'password' attribute, hashed here and never stored), roster
 * items and pending subscription requests, vCard, private XML, offline
 * messages and the block list (the default privacy list's jid/deny items,
 * XEP-0191 §5). Everything else is reported through notice and skipped
 * (XEP-0227 §4: SHOULD ignore, SHOULD notify).
 *
 * XInclude (§5): <include href='FILE'/> (relative, below the main file's
 * directory, no 'parse' or 'xpointer') is followed where §5.1 puts it: in
 * <server-data/> (a file whose root is <host/>) and in <host/> (a file
 * whose root is <user/>), as ejabberd's export_piefxis writes them. Other
 * includes are refused, and all of them without a base directory.
 *
 * Bounded: PIE_USER_MAX input bytes per <user/>, PIE_MAX_DEPTH nesting,
 * PIE_MAX_ATTRS attributes per element, PIE_HREF_MAX bytes of an href;
 * includes nest at most two deep (host file, then user file).
 *
 * Single-threaded (taubectl); no global state.
 */
#ifndef TAUBE_PIE_IMPORT_H
#define TAUBE_PIE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/import.h"
#include "xml/xml.h"
#include "xmpp/jid.h"

#define PIE_USER_MAX (64u << 20)
#define PIE_MAX_DEPTH 64
#define PIE_MAX_ATTRS 256
#define PIE_WHY_MAX 256
#define PIE_HREF_MAX 1024

/* One account from a file. Every string and array lives in tree. */
struct pie_account {
    struct import_account a;
    struct stanza *tree;
    char domain[JID_PART_MAX + 1];
    char user[JID_PART_MAX + 1];
};

/* Something in the file that is skipped (what: one line). */
typedef void (*pie_notice_fn)(void *ud, const char *account, const char *what);

/* Turns the <user/> tree (consumed, even on failure) of host (prepared)
 * into out, at unix time now, deriving credentials from a plaintext
 * password with iterations. 0, or -EINVAL with why (PIE_WHY_MAX bytes)
 * filled, or -ENOMEM. Free with pie_account_free. */
int pie_account_from(struct pie_account *out, const char *host, struct stanza *tree,
                     uint32_t iterations, int64_t now, pie_notice_fn notice, void *ud,
                     char why[PIE_WHY_MAX]);
/* Wipes the credentials and frees the tree. */
void pie_account_free(struct pie_account *pa);

struct pie_file_handler {
    /* A <user/> of host (prepared); the callee owns tree. 0 goes on,
     * anything else stops the file (pie_file_feed returns -ECANCELED). */
    int (*user)(void *ud, const char *host, struct stanza *tree);
    pie_notice_fn notice;
};

struct pie_file;
/* base_dir: the main file's directory, where included files are found;
 * NULL refuses XInclude. NULL on ENOMEM. */
struct pie_file *pie_file_new(const struct pie_file_handler *h, void *ud, const char *base_dir);
void pie_file_free(struct pie_file *f);
/* Feeds the next bytes (final with the last). 0, -EINVAL (the file is
 * not what XEP-0227 says, or not well-formed XML: pie_file_error says
 * what and where), -ECANCELED (the handler stopped) or -ENOMEM. */
int pie_file_feed(struct pie_file *f, const char *data, size_t len, bool final);
/* The reason of the last -EINVAL, with line and column. */
const char *pie_file_error(const struct pie_file *f);

#endif
