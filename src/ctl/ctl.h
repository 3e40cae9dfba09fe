/* taubectl internals: the command table's types and what the command
 * files share.
 *
 * taubectl.c parses the command line against the one table of commands
 * (name, usage, options, handler), loads the configuration and opens the
 * store when the command needs them, then calls the handler. Handlers
 * return an exit code. Single-threaded; runs beside a live server (the
 * store is SQLite in WAL mode, so both can use it at once).
 */
#ifndef TAUBE_CTL_H
#define TAUBE_CTL_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/config.h"
#include "store/store.h"

enum ctl_exit { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

#define CTL_MAX_ARGS 4 /* positional arguments of a command */
#define CTL_MAX_OPTS 8 /* options of a command */

/* What the command needs prepared before its handler runs. */
enum ctl_needs { CTL_NEEDS_NOTHING, CTL_NEEDS_CONFIG, CTL_NEEDS_STORE };

struct ctl;
struct ctl_command {
    const char *name;  /* "user add": the words that select it */
    const char *args;  /* "JID [--password PASS]": usage after the name */
    const char *help;  /* one line */
    int min_args, max_args;
    const char *opts[CTL_MAX_OPTS]; /* long options, each taking a value */
    enum ctl_needs needs;
    int (*run)(struct ctl *ctl);
};

struct ctl {
    const struct ctl_command *cmd;
    const char *args[CTL_MAX_ARGS];
    int nargs;
    const char *optval[CTL_MAX_OPTS]; /* by index in cmd->opts; NULL if absent */
    const char *config_path;
    struct config cfg;      /* loaded if cmd->needs >= CTL_NEEDS_CONFIG */
    struct store *store;    /* open if cmd->needs == CTL_NEEDS_STORE */
};

/* The value of option name ("password") or NULL. */
const char *ctl_opt(const struct ctl *ctl, const char *name);
/* "taubectl: " + message + newline on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "usage: taubectl NAME ARGS" for the running command to stderr and
 * returns CTL_USAGE. */
int ctl_usage_error(const struct ctl *ctl, const char *why);

/* A server domain from the command line, prepared like a JID domain;
 * IP literals are refused. CTL_OK or CTL_FAIL (message printed). */
int ctl_prep_server_domain(const char *in, char *out, size_t cap);

/* Parses a bare JID with a local part (user@domain) into j (free with
 * jid_free). 0, or CTL_FAIL after a message. */
struct jid;
int ctl_parse_account_jid(const char *s, struct jid *j);

/* Whether domain (prepared) is one of server.domains. */
bool ctl_domain_served(const struct config *cfg, const char *domain);

/* mkdir that accepts an existing directory. CTL_OK or CTL_FAIL (printed). */
int ctl_make_dir(const char *path, mode_t mode);
/* Is there anything at path (lstat: a dangling link counts)? */
bool ctl_exists(const char *path);

int cmd_init(struct ctl *ctl);
int cmd_cert(struct ctl *ctl);
int cmd_user_add(struct ctl *ctl);
int cmd_user_passwd(struct ctl *ctl);
int cmd_user_delete(struct ctl *ctl);
int cmd_user_list(struct ctl *ctl);
int cmd_invite_create(struct ctl *ctl);
int cmd_invite_list(struct ctl *ctl);
int cmd_invite_revoke(struct ctl *ctl);
int cmd_user_suspend(struct ctl *ctl);
int cmd_user_unsuspend(struct ctl *ctl);
int cmd_user_show(struct ctl *ctl);
int cmd_report_list(struct ctl *ctl);
int cmd_report_show(struct ctl *ctl);
int cmd_report_dismiss(struct ctl *ctl);
int cmd_retention_report(struct ctl *ctl);
int cmd_retention_run(struct ctl *ctl);
int cmd_user_export(struct ctl *ctl);
int cmd_user_report(struct ctl *ctl);
int cmd_import(struct ctl *ctl);

#endif
