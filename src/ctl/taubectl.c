/* taubectl: the administrator's command line.
 *
 * Every command is one row of commands[] below (OpenSMTPD smtpctl style):
 * the words that select it, its usage, its options, what it needs (config,
 * store) and its handler. The parser checks a command line against its row
 * before anything runs, and --help is generated from the same table.
 *
 * Exit codes: 0 success, 1 failure, 2 usage error. Passwords are never
 * printed or logged.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "modules/module.h"

#define CTL_DEFAULT_CONFIG "/etc/taube/taube.yaml"
#define CTL_MAX_WORDS 16 /* command words + positional arguments */

static int cmd_config_doc(struct ctl *ctl);

/* Options that take no value (a flag is present or not). */
static const char *const flag_options[] = {"force", "skip-existing"};

/* One command per entry, laid out by hand. */
/* clang-format off */
static const struct ctl_command commands[] = {
    {"init",
     "--dir DIR --domain DOMAIN [--c2s-port N] [--c2s-tls-port N] [--s2s-port N] "
     "[--https-port N]",
     "create DIR with a configuration, a self-signed certificate and the database",
     0, 0, {"dir", "domain", "c2s-port", "c2s-tls-port", "s2s-port", "https-port"},
     CTL_NEEDS_NOTHING, cmd_init},
    {"cert", "DOMAIN [--dir CERTS_DIR] [--force]",
     "create a self-signed certificate and key for another domain in server.certs_dir", 1, 1,
     {"dir", "force"}, CTL_NEEDS_NOTHING, cmd_cert},
    {"config-doc", "", "print the reference of every configuration option (Markdown)", 0, 0,
     {NULL}, CTL_NEEDS_NOTHING, cmd_config_doc},
    {"user add", "JID [--password PASS]",
     "create an account (password read from standard input unless given)", 1, 1,
     {"password"}, CTL_NEEDS_STORE, cmd_user_add},
    {"user passwd", "JID [--password PASS]",
     "set a new password (read from standard input unless given)", 1, 1, {"password"},
     CTL_NEEDS_STORE, cmd_user_passwd},
    {"user delete", "JID", "delete an account and all its data", 1, 1, {NULL},
     CTL_NEEDS_STORE, cmd_user_delete},
    {"user list", "[DOMAIN]", "list accounts, one JID per line, sorted", 0, 1, {NULL},
     CTL_NEEDS_STORE, cmd_user_list},
    {"user suspend", "JID --reason TEXT",
     "suspend an account: its sessions end, logins fail, its data is kept", 1, 1, {"reason"},
     CTL_NEEDS_STORE, cmd_user_suspend},
    {"user unsuspend", "JID", "lift a suspension", 1, 1, {NULL}, CTL_NEEDS_STORE,
     cmd_user_unsuspend},
    {"user show", "JID",
     "print what is known about an account: created, last login, suspension, registration",
     1, 1, {NULL}, CTL_NEEDS_STORE, cmd_user_show},
    {"user export", "JID [--out FILE]",
     "write all of an account's data as XEP-0227 XML (to FILE, created 0600, or stdout)", 1, 1,
     {"out"}, CTL_NEEDS_STORE, cmd_user_export},
    {"user report", "JID [--lang en|de]",
     "print what the server stores about an account and until when (access report, P20)", 1,
     1, {"lang"}, CTL_NEEDS_STORE, cmd_user_report},
    {"import", "FILE [--skip-existing]",
     "create the accounts of a XEP-0227 file with their credentials, rosters, vCards, "
     "private data and offline messages", 1, 1, {"skip-existing"}, CTL_NEEDS_STORE, cmd_import},
    {"invite create",
     "--for \"NAME <EMAIL>\" [--note TEXT] [--expires 7d] [--uses 1] [--domain DOMAIN]",
     "make a registration code and print it with its xmpp: URI (shown only once)", 0, 0,
     {"for", "note", "expires", "uses", "domain"}, CTL_NEEDS_STORE, cmd_invite_create},
    {"invite list", "[DOMAIN]",
     "list registration codes: for whom, created, expires, uses left, accounts made", 0, 1,
     {NULL}, CTL_NEEDS_STORE, cmd_invite_list},
    {"invite revoke", "CODE|ID", "revoke a registration code (by the code or its id)", 1, 1,
     {NULL}, CTL_NEEDS_STORE, cmd_invite_revoke},
    {"report list", "",
     "list the spam and abuse reports users sent with a block, oldest first", 0, 0, {NULL},
     CTL_NEEDS_STORE, cmd_report_list},
    {"report show", "NUMBER",
     "print one report whole: reason, reported address, reporter, text, messages", 1, 1,
     {NULL}, CTL_NEEDS_STORE, cmd_report_show},
    {"report dismiss", "NUMBER", "delete a report the operator has dealt with", 1, 1, {NULL},
     CTL_NEEDS_STORE, cmd_report_dismiss},
    {"retention report", "[--now UNIX_TIME]",
     "list accounts due for an inactivity warning or deletion; changes nothing", 0, 0,
     {"now"}, CTL_NEEDS_STORE, cmd_retention_report},
    {"retention run", "[--now UNIX_TIME]",
     "warn and delete inactive accounts now (through the running server if there is one)",
     0, 0, {"now"}, CTL_NEEDS_STORE, cmd_retention_run},
};
/* clang-format on */
#define NCOMMANDS (sizeof commands / sizeof commands[0])

void ctl_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("taubectl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *ctl_opt(const struct ctl *ctl, const char *name)
{
    for (int i = 0; i < CTL_MAX_OPTS && ctl->cmd->opts[i]; i++)
        if (strcmp(ctl->cmd->opts[i], name) == 0)
            return ctl->optval[i];
    return NULL;
}

static void print_command(FILE *f, const struct ctl_command *c)
{
    fprintf(f, "  taubectl %s%s%s\n      %s\n", c->name, c->args[0] ? " " : "", c->args, c->help);
}

static void print_help(FILE *f)
{
    fputs(
        "usage: taubectl [-c FILE] COMMAND [ARGS]\n\n"
        "  -c, --config FILE   configuration file (default: $TAUBE_CONFIG, else " CTL_DEFAULT_CONFIG
        ")\n"
        "  -h, --help          this help; COMMAND --help for one command\n\n"
        "commands:\n",
        f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        print_command(f, &commands[i]);
}

int ctl_usage_error(const struct ctl *ctl, const char *why)
{
    if (why)
        ctl_err("%s", why);
    fprintf(stderr, "usage: taubectl %s%s%s\n", ctl->cmd->name, ctl->cmd->args[0] ? " " : "",
            ctl->cmd->args);
    return CTL_USAGE;
}

static int cmd_config_doc(struct ctl *ctl)
{
    (void)ctl;
    struct config_schema schema;
    modules_config_schema(&schema);
    config_print_reference(stdout, &schema);
    return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}

/* ---- command line ---- */

/* The command line split up: the words (command and arguments) in order,
 * the "--name value" options, and the global flags. */
struct cmdline {
    const char *words[CTL_MAX_WORDS];
    int nwords;
    const char *opt_name[CTL_MAX_OPTS];
    size_t opt_len[CTL_MAX_OPTS];
    const char *opt_value[CTL_MAX_OPTS];
    int nopts;
    const char *config;
    bool help;
};

static bool is_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++)
        if (strlen(flag_options[i]) == len && strncmp(flag_options[i], name, len) == 0)
            return true;
    return false;
}

/* Takes one "--name[=value]" option at argv[*i]; the value may be the
 * next argument. Every command option but the flags takes a value. */
static int take_option(struct cmdline *cl, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    bool flag = is_flag(name, len);
    if (eq && flag) {
        ctl_err("option --%.*s takes no value", (int)len, name);
        return -EINVAL;
    }
    const char *value = eq ? eq + 1 : flag ? "yes" : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!value) {
        ctl_err("option --%s needs a value", name);
        return -EINVAL;
    }
    if (len == 6 && strncmp(name, "config", 6) == 0) {
        cl->config = value;
        return 0;
    }
    if (cl->nopts == CTL_MAX_OPTS) {
        ctl_err("too many options");
        return -EINVAL;
    }
    cl->opt_name[cl->nopts] = name;
    cl->opt_len[cl->nopts] = len;
    cl->opt_value[cl->nopts++] = value;
    return 0;
}

static int take_arg(struct cmdline *cl, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        cl->help = true;
    } else if (strcmp(a, "-c") == 0) {
        if (++*i >= argc) {
            ctl_err("option -c needs a value");
            return -EINVAL;
        }
        cl->config = argv[*i];
    } else if (strncmp(a, "--", 2) == 0 && a[2]) {
        return take_option(cl, argc, argv, i);
    } else if (a[0] == '-' && a[1]) {
        ctl_err("unknown option %s", a);
        return -EINVAL;
    } else if (cl->nwords == CTL_MAX_WORDS) {
        ctl_err("too many arguments");
        return -EINVAL;
    } else {
        cl->words[cl->nwords++] = a;
    }
    return 0;
}

/* Options may come before or after the command words; "--" ends them. */
static int split(struct cmdline *cl, int argc, char **argv)
{
    bool only_words = false;
    for (int i = 1; i < argc; i++) {
        if (!only_words && strcmp(argv[i], "--") == 0) {
            only_words = true;
        } else if (only_words) {
            if (cl->nwords == CTL_MAX_WORDS)
                return -EINVAL;
            cl->words[cl->nwords++] = argv[i];
        } else if (take_arg(cl, argc, argv, &i) < 0) {
            return -EINVAL;
        }
    }
    return 0;
}

/* Number of words of the command name, if words[] starts with it; else 0. */
static int match_words(const char *name, const char *const *words, int nwords)
{
    int n = 0;
    const char *p = name;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (n >= nwords || strlen(words[n]) != len || strncmp(words[n], p, len) != 0)
            return 0;
        n++;
        p += len;
        p += *p == ' ';
    }
    return n;
}

static const struct ctl_command *find_command(const struct cmdline *cl, int *used)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        int n = match_words(commands[i].name, cl->words, cl->nwords);
        if (n > 0) {
            *used = n;
            return &commands[i];
        }
    }
    return NULL;
}

/* When the words name no command: the commands that start with the first
 * word ("taubectl user"), or the whole list. */
static int unknown_command(const struct cmdline *cl)
{
    size_t w0 = cl->nwords ? strlen(cl->words[0]) : 0;
    bool any = false;
    for (size_t i = 0; w0 && i < NCOMMANDS; i++) {
        const char *n = commands[i].name;
        if (strncmp(n, cl->words[0], w0) == 0 && (n[w0] == ' ' || n[w0] == '\0')) {
            if (!any)
                fputs("usage:\n", stderr);
            print_command(stderr, &commands[i]);
            any = true;
        }
    }
    if (!any) {
        if (cl->nwords)
            ctl_err("unknown command '%s'", cl->words[0]);
        print_help(stderr);
    }
    return CTL_USAGE;
}

/* Checks the arguments and options against the command's row. */
static int bind_args(struct ctl *ctl, const struct cmdline *cl, int used)
{
    const struct ctl_command *c = ctl->cmd;
    ctl->nargs = cl->nwords - used;
    if (ctl->nargs < c->min_args)
        return ctl_usage_error(ctl, "missing argument");
    if (ctl->nargs > c->max_args)
        return ctl_usage_error(ctl, "too many arguments");
    for (int i = 0; i < ctl->nargs; i++)
        ctl->args[i] = cl->words[used + i];
    for (int k = 0; k < cl->nopts; k++) {
        int found = -1;
        for (int i = 0; i < CTL_MAX_OPTS && c->opts[i] && found < 0; i++)
            if (strlen(c->opts[i]) == cl->opt_len[k] &&
                strncmp(c->opts[i], cl->opt_name[k], cl->opt_len[k]) == 0)
                found = i;
        if (found < 0) {
            ctl_err("unknown option --%.*s", (int)cl->opt_len[k], cl->opt_name[k]);
            return ctl_usage_error(ctl, NULL);
        }
        ctl->optval[found] = cl->opt_value[k];
    }
    return CTL_OK;
}

/* ---- running ---- */

static int prepare(struct ctl *ctl)
{
    char *err = NULL;
    struct config_schema schema;
    modules_config_schema(&schema);
    int rc = config_load(&ctl->cfg, &schema, ctl->config_path, &err);
    if (rc < 0) {
        ctl_err("%s", err ? err : "cannot load the configuration");
        free(err);
        return CTL_FAIL;
    }
    if (ctl->cmd->needs < CTL_NEEDS_STORE)
        return CTL_OK;
    if (strcmp(ctl->cfg.store_backend, "sqlite") != 0) {
        ctl_err("store.backend '%s' is not supported by this taubectl", ctl->cfg.store_backend);
        return CTL_FAIL;
    }
    struct store_schema store_schema;
    modules_store_schema(&store_schema);
    rc = store_open(&ctl->store, ctl->cfg.store_path, &store_schema, &err);
    if (rc < 0) {
        ctl_err("cannot open the database: %s", err ? err : strerror(-rc));
        free(err);
        return CTL_FAIL;
    }
    return CTL_OK;
}

static int run(struct ctl *ctl)
{
    int rc = CTL_OK;
    if (ctl->cmd->needs >= CTL_NEEDS_CONFIG)
        rc = prepare(ctl);
    if (rc == CTL_OK)
        rc = ctl->cmd->run(ctl);
    store_close(ctl->store);
    if (ctl->cmd->needs >= CTL_NEEDS_CONFIG)
        config_free(&ctl->cfg);
    return rc;
}

int main(int argc, char **argv)
{
    struct cmdline cl = {0};
    if (split(&cl, argc, argv) < 0) {
        fputs("usage: taubectl [-c FILE] COMMAND [ARGS]; taubectl --help lists commands\n", stderr);
        return CTL_USAGE;
    }
    int used = 0;
    struct ctl ctl = {0};
    ctl.cmd = find_command(&cl, &used);
    bool help_word = cl.nwords == 1 && strcmp(cl.words[0], "help") == 0;
    if (!ctl.cmd && ((cl.help && cl.nwords == 0) || help_word)) {
        print_help(stdout);
        return CTL_OK;
    }
    if (!ctl.cmd)
        return unknown_command(&cl);
    if (cl.help) {
        print_command(stdout, ctl.cmd);
        return CTL_OK;
    }
    int rc = bind_args(&ctl, &cl, used);
    if (rc != CTL_OK)
        return rc;
    ctl.config_path = cl.config ? cl.config : getenv("TAUBE_CONFIG");
    if (!ctl.config_path)
        ctl.config_path = CTL_DEFAULT_CONFIG;
    return run(&ctl);
}
