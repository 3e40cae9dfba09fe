/* The control socket: how taubectl reaches the running server.
 *
 * A Unix stream socket at server.control_socket (mode 0600, in the data
 * directory). Only the server's own uid or root may talk to it (checked
 * with SO_PEERCRED). One request line, one reply line, then the server
 * closes the connection:
 *     request: NAME [TAB ARG]... LF      (no TAB or LF inside an argument)
 *     reply:   "ok" [TAB TEXT] LF   or   "error" TAB TEXT LF
 * A reply is one line; a command that returns a list separates the
 * items with TAB.
 *
 * Loop thread only. Commands run on the loop like any other event.
 */
#ifndef TAUBE_CONTROL_H
#define TAUBE_CONTROL_H

#include <stddef.h>

#include "core/buf.h"
#include "modules/module.h"
#include "xmpp/stanza.h"

struct server;
struct control;

/* struct control_command is in modules/module.h: a module declares its
 * own commands in its descriptor. The table (control_commands.c) has the
 * server's own; control_parse looks there, then in the modules'. */
extern const struct control_command control_commands[];
extern const size_t control_ncommands;

#define CONTROL_MAX_ARGS 8 /* words after the command name */

/* Parses one request line of len bytes (NUL-terminated, its LF removed;
 * split in place) against the table. Returns the command, with its
 * arguments in args[0..*nargs), or NULL with the reason for the error
 * reply in *why (a NUL or control byte, no such command, too many or too
 * few arguments). */
const struct control_command *control_parse(char *line, size_t len, const char **args,
                                            int *nargs, const char **why);

/* Binds the socket (replacing a stale one left by a crash, refusing if a
 * live server answers on it). 0 or -errno with *err set. */
int control_start(struct control **out, struct server *srv, const char *path, char **err);
void control_stop(struct control *c);

/* ---- live account actions (server side, loop thread) ----
 * What the control commands do, for other server parts too (ad-hoc
 * commands, XEP-0077 self-removal). domain and user are prepared. */

/* Ends every stream authenticated (or authenticating) as user@domain with
 * the stream error cond and text (NULL: none). Returns how many. */
size_t control_kick_account(struct server *srv, const char *domain, const char *user,
                            enum stream_cond cond, const char *text);
/* Marks the account suspended with reason (kept for `user show`), then
 * ends its streams with <policy-violation/> "Account suspended". Its data
 * is kept; logins fail with <account-disabled/>. 0, -ENOENT, -EINVAL (the
 * reason is over STORE_REASON_MAX bytes or not UTF-8) or -errno. */
int control_suspend_account(struct server *srv, const char *domain, const char *user,
                            const char *reason);
/* Lifts a suspension. 0, -ENOENT or -errno. */
int control_unsuspend_account(struct server *srv, const char *domain, const char *user);
/* Deletes the account in the running server: its streams end with
 * <not-authorized/> "Account deleted" (so their sessions close while the
 * roster still exists), then modules_delete_account with the server set,
 * so that roster removals are pushed to the contacts online. 0, -ENOENT
 * or -errno. */
int control_delete_account(struct server *srv, const char *domain, const char *user);

/* ---- client side (taubectl) ---- */

/* Sends one request and reads the reply. Returns 0 (ok; *reply gets the
 * TEXT or ""), -ENOTCONN if no server is running there (the caller then
 * works on the store alone), -EPROTO with the server's error TEXT in
 * *reply, or another -errno. *reply is malloc'ed (may be NULL on -errno). */
int control_call(const char *path, const char *const *args, int nargs, char **reply);

#endif
