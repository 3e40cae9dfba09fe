/* taubectl user export | user report: promises P19 and P20 for the
 * operator.
 *
 * Both only read the store, so they run the same with the server running
 * or stopped (SQLite in WAL mode: a reader sees the last commit and does
 * not block the server). The export holds the account's SCRAM keys
 * (XEP-0227 §6): with --out the file is created 0600 and never replaces
 * an existing one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "modules/access_report.h"
#include "modules/module.h"
#include "modules/pie.h"
#include "xmpp/jid.h"

/* An export is all of one account in memory: offline messages, vCard and
 * private data each have a configured ceiling far below this. */
#define EXPORT_MAX (256u << 20)

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates path 0600 (refusing an existing one), writes, syncs. On a
 * failure after creating it, the partial file is removed. */
static int write_new_file(const char *path, const struct buf *b)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            ctl_err("%s exists; refusing to overwrite it", path);
        else
            ctl_err("cannot create %s: %s", path, strerror(errno));
        return CTL_FAIL;
    }
    int rc = write_all(fd, b->data, b->len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        ctl_err("cannot write %s: %s", path, strerror(-rc));
        unlink(path);
        return CTL_FAIL;
    }
    return CTL_OK;
}

static int write_stdout(const struct buf *b)
{
    if (fwrite(b->data, 1, b->len, stdout) != b->len || fflush(stdout) != 0) {
        ctl_err("cannot write to standard output: %s", strerror(errno));
        return CTL_FAIL;
    }
    return CTL_OK;
}

static int report_failure(const struct jid *j, const char *what, int rc)
{
    if (rc == -ENOENT)
        ctl_err("no account %s@%s", j->local, j->domain);
    else
        ctl_err("cannot %s %s@%s: %s", what, j->local, j->domain, strerror(-rc));
    return CTL_FAIL;
}

int cmd_user_export(struct ctl *ctl)
{
    struct jid j;
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    const char *out_path = ctl_opt(ctl, "out");
    struct data_ctx d = {ctl->store, &ctl->cfg,           (int64_t)time(NULL),
                         NULL,       &modules_data_parts, NULL};
    struct buf b;
    buf_init(&b, EXPORT_MAX);
    int rc = pie_export_document(&d, j.domain, j.local, &b);
    int ret = rc < 0     ? report_failure(&j, "export", rc)
              : out_path ? write_new_file(out_path, &b)
                         : write_stdout(&b);
    if (ret == CTL_OK && out_path)
        fprintf(stderr, "exported %s@%s to %s (%zu bytes)\n", j.local, j.domain, out_path, b.len);
    buf_free(&b);
    jid_free(&j);
    return ret;
}

int cmd_user_report(struct ctl *ctl)
{
    const char *lang = ctl_opt(ctl, "lang");
    if (lang && strcmp(lang, "en") != 0 && strcmp(lang, "de") != 0)
        return ctl_usage_error(ctl, "--lang is en or de");
    struct jid j;
    if (ctl_parse_account_jid(ctl->args[0], &j) != 0)
        return CTL_FAIL;
    struct data_ctx d = {ctl->store, &ctl->cfg,           (int64_t)time(NULL),
                         NULL,       &modules_data_parts, NULL};
    struct buf b;
    buf_init(&b, 0);
    int rc = access_report(&d, j.domain, j.local, access_report_lang(lang), &b);
    int ret = rc < 0 ? report_failure(&j, "describe", rc) : write_stdout(&b);
    buf_free(&b);
    jid_free(&j);
    return ret;
}
