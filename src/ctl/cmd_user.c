/* taubectl user add|passwd|delete|list|suspend|unsuspend|show.
 *
 * Actions the running server must hear of at once (suspend, unsuspend,
 * delete) go through its control socket (net/control.h), and the server
 * applies them; when no server answers there, they are applied to the
 * store alone, and taubectl says so.
 *
 * Passwords come from --password or from standard input: without echo
 * and asked twice on a terminal, one line when piped. They are SASLprep'ed
 * and turned into SCRAM-SHA-1 and SCRAM-SHA-256 credentials (promise P4:
 * only those are stored), then wiped from memory. They are never printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <termios.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "store/invites.h"
#include "modules/module.h"
#include "net/control.h"
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
    buf[0] = '\0'; /* the readers below write it on success; the analyzer cannot see that */
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

int ctl_parse_account_jid(const char *s, struct jid *j)
{
    if (jid_parse(j, s, strlen(s)) < 0 || !j->local || j->resource) {
        jid_free(j);
        ctl_err("invalid JID '%s' (expected user@domain)", s);
        return CTL_FAIL;
    }
    return 0;
}

bool ctl_domain_served(const struct config *cfg, const char *domain)
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
    if (!ctl_domain_served(&ctl->cfg, j->domain)) {
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
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
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
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
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
    int rc =
        store_account_list_sync(ctl->store, ctl->nargs == 1 ? domain : NULL, print_account, NULL);
    if (rc < 0)
        return store_failed("list the accounts", rc);
    return fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}

/* ---- live actions: through the control socket, else the store ---- */

#define OFFLINE_NOTE "(server not running: applied to the store)"

enum live_result { LIVE_DONE, LIVE_OFFLINE, LIVE_FAILED };

/* Sends "cmd user@domain [extra]" to the running server. LIVE_DONE (the
 * server did it), LIVE_OFFLINE (no server: the caller acts on the store)
 * or LIVE_FAILED after a message. */
static enum live_result live_call(const struct ctl *ctl, const char *cmd, const struct jid *j,
                                  const char *extra)
{
    char jid[2 * JID_PART_MAX + 2];
    snprintf(jid, sizeof jid, "%s@%s", j->local, j->domain);
    const char *args[3] = {cmd, jid, extra};
    char *reply = NULL;
    int rc = control_call(ctl->cfg.control_socket, args, extra ? 3 : 2, &reply);
    enum live_result r = rc == 0 ? LIVE_DONE : rc == -ENOTCONN ? LIVE_OFFLINE : LIVE_FAILED;
    if (rc == -EPROTO)
        ctl_err("the server refused: %s", reply ? reply : "malformed reply");
    else if (r == LIVE_FAILED)
        ctl_err("cannot reach the server at %s: %s", ctl->cfg.control_socket, strerror(-rc));
    free(reply);
    return r;
}

/* A reason the store and the control protocol can carry: bounded, UTF-8,
 * one line without TABs. */
static bool reason_valid(const char *r)
{
    size_t len = strlen(r);
    if (len == 0 || len > STORE_REASON_MAX || !jid_utf8_valid(r, len))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
            return false;
    return true;
}

/* Reports the outcome of an action done live or on the store. */
static int report_store(int rc, const struct jid *j, const char *done, bool offline)
{
    if (rc == -ENOENT)
        ctl_err("no account %s@%s", j->local, j->domain);
    else if (rc == -EINVAL)
        ctl_err("invalid value");
    else if (rc < 0)
        ctl_err("cannot change the account: %s", strerror(-rc));
    else
        printf("%s %s@%s%s\n", done, j->local, j->domain, offline ? " " OFFLINE_NOTE : "");
    return rc == 0 ? CTL_OK : CTL_FAIL;
}

int cmd_user_suspend(struct ctl *ctl)
{
    const char *reason = ctl_opt(ctl, "reason");
    if (!reason)
        return ctl_usage_error(ctl, "--reason is required (it is kept for `user show`)");
    if (!reason_valid(reason)) {
        ctl_err("the reason must be one line of UTF-8 text, 1 to %d bytes", STORE_REASON_MAX);
        return CTL_FAIL;
    }
    struct jid j;
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    enum live_result r = live_call(ctl, "suspend", &j, reason);
    int rc = r == LIVE_DONE ? 0 : -EIO;
    if (r == LIVE_OFFLINE)
        rc = store_account_set_suspended_sync(ctl->store, j.domain, j.local, true, reason);
    int ret = r == LIVE_FAILED ? CTL_FAIL : report_store(rc, &j, "suspended", r == LIVE_OFFLINE);
    jid_free(&j);
    return ret;
}

int cmd_user_unsuspend(struct ctl *ctl)
{
    struct jid j;
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    enum live_result r = live_call(ctl, "unsuspend", &j, NULL);
    int rc = r == LIVE_DONE ? 0 : -EIO;
    if (r == LIVE_OFFLINE)
        rc = store_account_set_suspended_sync(ctl->store, j.domain, j.local, false, NULL);
    int ret = r == LIVE_FAILED ? CTL_FAIL : report_store(rc, &j, "unsuspended", r == LIVE_OFFLINE);
    jid_free(&j);
    return ret;
}

/* ---- user show ---- */

static void print_time(const char *key, int64_t t, const char *if_zero)
{
    char when[32] = "";
    time_t tt = (time_t)t;
    struct tm tm;
    if (t != 0 && gmtime_r(&tt, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s: %s\n", key, when[0] ? when : if_zero);
}

/* The lines about how the account came to be: the registration code and
 * whom it was given to, the consent time and the policy version (promises
 * P1, P2). An account made by `user add` has none. */
static int show_registration(const struct ctl *ctl, const struct jid *j)
{
    struct account_invite inv;
    int rc = store_account_invite_info_sync(ctl->store, j->domain, j->local, &inv);
    if (rc == -ENOENT) {
        printf("registered_with_code: none (created by an operator)\n");
        return 0;
    }
    if (rc < 0)
        return rc;
    printf("registered_with_code: %" PRId64 " given to %s\n", inv.invite_id, inv.given_to);
    print_time("consent", inv.consent_time, "unknown");
    printf("policy_version: %s\n", inv.policy_version);
    static const char *const via[] = {"the registration form of the client",
                                      "the invite page, then the client registered",
                                      "the web registration form"};
    printf("consent_given_on: %s\n",
           (unsigned)inv.via < sizeof via / sizeof via[0] ? via[inv.via] : "unknown");
    return 0;
}

int cmd_user_show(struct ctl *ctl)
{
    struct jid j;
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    struct account_info info;
    int rc = store_account_info_sync(ctl->store, j.domain, j.local, &info);
    if (rc == 0) {
        printf("jid: %s@%s\n", j.local, j.domain);
        print_time("created", info.created, "unknown");
        print_time("last_login", info.last_login, "never");
        printf("suspended: %s\n", info.suspended ? "yes" : "no");
        if (info.suspended) {
            print_time("suspended_since", info.suspended_at, "unknown");
            printf("suspended_reason: %s\n", info.suspended_reason ? info.suspended_reason : "");
        }
        rc = show_registration(ctl, &j);
    }
    store_account_info_free(&info);
    jid_free(&j);
    if (rc == -ENOENT)
        ctl_err("no account %s", ctl->args[0]);
    else if (rc < 0)
        return store_failed("read the account", rc);
    return rc == 0 && fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
}

int cmd_user_delete(struct ctl *ctl)
{
    struct jid j;
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    /* In the server if it runs: it ends the sessions and pushes the
     * roster removals to the contacts online. */
    enum live_result r = live_call(ctl, "delete", &j, NULL);
    int rc = r == LIVE_DONE ? 0 : -EIO;
    if (r == LIVE_OFFLINE) {
        struct data_ctx d = {ctl->store, &ctl->cfg,           (int64_t)time(NULL),
                             NULL,       &modules_data_parts, NULL};
        rc = account_delete(&d, j.domain, j.local);
    }
    int ret = r == LIVE_FAILED ? CTL_FAIL : report_store(rc, &j, "deleted", r == LIVE_OFFLINE);
    jid_free(&j);
    return ret;
}
