/* taubectl user add|passwd|delete|list.
 *
 * Passwords come from --password or from standard input: without echo
 * and asked twice on a terminal, one line when piped. They are SASLprep'ed
 * and turned into SCRAM-SHA-1 and SCRAM-SHA-256 credentials (promise P4:
 * only those are stored), then wiped from memory. They are never printed.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <termios.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "modules/module.h"
#include "xmpp/jid.h"
#include "xmpp/sasl.h"

#define PW_MAX 1023 /* bytes of a password line */

/* ---- reading a password ---- */

/* Reads one line of at most PW_MAX bytes into buf (PW_MAX + 2 bytes),
 * without its line ending. 0, -ENODATA at end of input, -E2BIG. */
static int read_line(char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, stdin))
        return -ENODATA;
    size_t len = strlen(buf);
    bool complete = len > 0 && buf[len - 1] == '\n';
    if (!complete && len == cap - 1) {
        int ch;
        while ((ch = getchar()) != EOF && ch != '\n')
            ; /* drop the rest of the over-long line */
        return -E2BIG;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    return 0;
}

/* Set by the signal handler while echo is off. A signal handler can only
 * talk through a static; it is written there and read right after. */
static volatile sig_atomic_t pw_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    pw_interrupted = 1;
}

/* Prompts on stderr and reads with echo off. Ctrl-C (or a hang-up, or a
 * TERM) interrupts the read instead of killing the process, so that echo
 * is always switched back on. */
static int read_noecho(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return -errno;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    struct sigaction sa = {.sa_handler = on_interrupt}, saved[3];
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &sa, &saved[i]); /* no SA_RESTART: fgets returns */
    pw_interrupted = 0;
    fputs(prompt, stderr);
    fflush(stderr);
    int rc = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0 ? -errno : 0;
    if (rc == 0)
        rc = read_line(buf, cap);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &saved[i], NULL);
    fputc('\n', stderr);
    if (pw_interrupted) {
        clearerr(stdin);
        return -EINTR;
    }
    return rc;
}

static int read_password_tty(char *buf, size_t cap)
{
    char again[PW_MAX + 2];
    int rc = read_noecho("Password: ", buf, cap);
    if (rc == 0)
        rc = read_noecho("Password again: ", again, sizeof again);
    if (rc == 0 && strcmp(buf, again) != 0) {
        ctl_err("the passwords differ");
        rc = -EINVAL;
    }
    OPENSSL_cleanse(again, sizeof again);
    return rc;
}

/* The password from --password, or from standard input, into buf
 * (PW_MAX + 2 bytes). 0 or CTL_FAIL after a message. */
static int get_password(const struct ctl *ctl, char *buf, size_t cap)
{
    const char *given = ctl_opt(ctl, "password");
    int rc = 0;
    if (given) {
        if (strlen(given) > PW_MAX)
            rc = -E2BIG;
        else
            strcpy(buf, given);
    } else if (isatty(STDIN_FILENO)) {
        rc = read_password_tty(buf, cap);
    } else {
        rc = read_line(buf, cap);
    }
    if (rc == 0 && buf[0] == '\0')
        rc = -ENODATA;
    switch (rc) {
    case 0: return 0;
    case -EINVAL: break; /* already said */
    case -EINTR: ctl_err("interrupted"); break;
    case -E2BIG: ctl_err("the password is longer than %d bytes", PW_MAX); break;
    case -ENODATA: ctl_err("empty password"); break;
    default: ctl_err("cannot read the password: %s", strerror(-rc)); break;
    }
    return CTL_FAIL;
}

/* SASLprep and both SCRAM derivations. 0 or CTL_FAIL after a message. */
static int derive(const struct ctl *ctl, const char *password, struct account_creds *c)
{
    char *prepped = NULL;
    int rc = sasl_saslprep(password, strlen(password), &prepped);
    if (rc < 0 || prepped[0] == '\0') {
        ctl_err(rc == -ENOMEM ? "out of memory"
                : rc < 0      ? "the password contains characters SASLprep forbids"
                              : "empty password");
        free(prepped);
        return CTL_FAIL;
    }
    memset(c, 0, sizeof *c);
    for (int h = 0; h < SCRAM_NHASH && rc == 0; h++) {
        rc = scram_derive((enum scram_hash)h, prepped, ctl->cfg.scram_iterations, &c->scram[h]);
        c->have[h] = rc == 0;
    }
    OPENSSL_cleanse(prepped, strlen(prepped));
    free(prepped);
    if (rc < 0) {
        ctl_err("cannot derive the SCRAM keys: %s", strerror(-rc));
        return CTL_FAIL;
    }
    return 0;
}

/* Reads, prepares and derives: the whole way from input to credentials. */
static int password_creds(const struct ctl *ctl, struct account_creds *c)
{
    char pw[PW_MAX + 2];
    int rc = get_password(ctl, pw, sizeof pw);
    if (rc == 0)
        rc = derive(ctl, pw, c);
    OPENSSL_cleanse(pw, sizeof pw);
    return rc;
}

/* ---- JIDs ---- */

/* Parses a bare JID with a local part. CTL_FAIL after a message. */
static int parse_account_jid(const char *s, struct jid *j)
{
    if (jid_parse(j, s, strlen(s)) < 0 || !j->local || j->resource) {
        jid_free(j);
        ctl_err("invalid JID '%s' (expected user@domain)", s);
        return CTL_FAIL;
    }
    return 0;
}

/* Whether domain (prepared) is one of server.domains. */
static bool domain_served(const struct config *cfg, const char *domain)
{
    char prepped[JID_PART_MAX + 1];
    for (size_t i = 0; i < cfg->domains.n; i++)
        if (jid_prep_domain(cfg->domains.items[i], prepped, sizeof prepped) == 0 &&
            strcmp(prepped, domain) == 0)
            return true;
    return false;
}

static int store_failed(const char *what, int rc)
{
    ctl_err("cannot %s: %s", what, strerror(-rc));
    return CTL_FAIL;
}

/* ---- commands ---- */

/* The account may be created: its domain is served, it is not taken.
 * Checked before the password is asked for. 0 or CTL_FAIL. */
static int check_new_account(const struct ctl *ctl, const struct jid *j)
{
    if (!domain_served(&ctl->cfg, j->domain)) {
        ctl_err("the domain '%s' is not in server.domains", j->domain);
        return CTL_FAIL;
    }
    int rc = store_account_exists_sync(ctl->store, j->domain, j->local);
    if (rc < 0)
        return store_failed("look the account up", rc);
    if (rc > 0) {
        ctl_err("the account %s@%s exists", j->local, j->domain);
        return CTL_FAIL;
    }
    return 0;
}

int cmd_user_add(struct ctl *ctl)
{
    struct jid j;
    if (parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    int ret = CTL_FAIL;
    struct account_creds c;
    memset(&c, 0, sizeof c);
    if (check_new_account(ctl, &j) == 0 && password_creds(ctl, &c) == 0) {
        int rc = store_account_create_sync(ctl->store, j.domain, j.local, &c);
        if (rc == -EEXIST)
            ctl_err("the account %s@%s exists", j.local, j.domain);
        else if (rc < 0)
            store_failed("create the account", rc);
        else
            ret = CTL_OK;
    }
    if (ret == CTL_OK)
        printf("created %s@%s\n", j.local, j.domain);
    OPENSSL_cleanse(&c, sizeof c);
    jid_free(&j);
    return ret;
}

int cmd_user_passwd(struct ctl *ctl)
{
    struct jid j;
    if (parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    int ret = CTL_FAIL;
    struct account_creds c;
    memset(&c, 0, sizeof c);
    int rc = store_account_exists_sync(ctl->store, j.domain, j.local);
    if (rc == 0)
        ctl_err("no account %s@%s", j.local, j.domain);
    else if (rc < 0)
        store_failed("look the account up", rc);
    else if (password_creds(ctl, &c) == 0) {
        rc = store_account_set_creds_sync(ctl->store, j.domain, j.local, &c);
        if (rc == -ENOENT)
            ctl_err("no account %s@%s", j.local, j.domain);
        else if (rc < 0)
            store_failed("set the password", rc);
        else
            ret = CTL_OK;
    }
    if (ret == CTL_OK)
        printf("password of %s@%s changed\n", j.local, j.domain);
    OPENSSL_cleanse(&c, sizeof c);
    jid_free(&j);
    return ret;
}

int cmd_user_delete(struct ctl *ctl)
{
    struct jid j;
    if (parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    struct data_ctx d = {ctl->store, &ctl->cfg, (int64_t)time(NULL), NULL};
    int rc = modules_delete_account(&d, j.domain, j.local);
    if (rc == -ENOENT)
        ctl_err("no account %s@%s", j.local, j.domain);
    else if (rc < 0)
        store_failed("delete the account", rc);
    else
        printf("deleted %s@%s\n", j.local, j.domain);
    jid_free(&j);
    return rc == 0 ? CTL_OK : CTL_FAIL;
}

static void print_account(void *ud, const char *user, const char *domain)
{
    (void)ud;
    printf("%s@%s\n", user, domain);
}

int cmd_user_list(struct ctl *ctl)
{
    char domain[JID_PART_MAX + 1];
    if (ctl->nargs == 1 && jid_prep_domain(ctl->args[0], domain, sizeof domain) < 0) {
        ctl_err("invalid domain '%s'", ctl->args[0]);
        return CTL_FAIL;
    }
    int rc = store_account_list_sync(ctl->store, ctl->nargs == 1 ? domain : NULL,
                                     print_account, NULL);
    if (rc < 0)
        return store_failed("list the accounts", rc);
    return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}
