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
const struct control_command *control_parse(char *line, size_t len, const char **args, int *nargs,
                                            const char **why);

/* Binds the socket (replacing a stale one left by a crash, refusing if a
 * live server answers on it). 0 or -errno with *err set. */
int control_start(struct control **out, struct server *srv, const char *path, char **err);
void control_stop(struct control *c);

/* The live account actions the commands run (kick, suspend, delete) are
 * the account service's (account/account.h), shared with the ad-hoc
 * commands and XEP-0077 self-removal. */

/* ---- client side (taubectl) ---- */

/* Sends one request and reads the reply. Returns 0 (ok; *reply gets the
 * TEXT or ""), -ENOTCONN if no server is running there (the caller then
 * works on the store alone), -EPROTO with the server's error TEXT in
 * *reply, or another -errno. *reply is malloc'ed (may be NULL on -errno). */
int control_call(const char *path, const char *const *args, int nargs, char **reply);

#endif
