/* taubectl import FILE [--skip-existing]: accounts from a XEP-0227 file
 * (modules/pie_import.h), each created whole in one transaction
 * (store/import.h) or not at all.
 *
 * An account that exists is refused, with its name, and the others go
 * on; --skip-existing skips it quietly instead. An account of a domain
 * not in server.domains is refused. What the file holds that Taube does
 * not keep is listed on stderr (XEP-0227 §4: notify the operator). The
 * exit status is 0 only if every account of the file was imported or
 * skipped and the file was read to its end.
 *
 * Works with the server running (new accounts have no sessions, so
 * nothing the server holds in memory goes stale) or stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "modules/pie_import.h"

#define READ_CHUNK 65536

struct run {
    struct ctl *ctl;
    bool skip_existing;
    size_t imported, skipped, refused;
};

static void on_notice(void *ud, const char *account, const char *what)
{
    (void)ud;
    fprintf(stderr, "taubectl: %s%s%s\n", account, account[0] ? ": " : "", what);
}

static void imported(const struct pie_account *pa)
{
    const struct import_account *a = &pa->a;
    printf("imported %s@%s: %zu contacts, %s, %zu private, %zu offline, %zu blocked\n", pa->user,
           pa->domain, a->ncontacts, a->vcard ? "vCard" : "no vCard", a->npriv, a->noffline,
           a->nblocked);
}

/* One account: checked, then written in one transaction. */
static void import_one(struct run *r, struct pie_account *pa)
{
    int rc = ctl_domain_served(&r->ctl->cfg, pa->domain)
                 ? store_import_account_sync(r->ctl->store, &pa->a, (int64_t)time(NULL))
                 : -EXDEV;
    if (rc == 0) {
        r->imported++;
        imported(pa);
    } else if (rc == -EEXIST && r->skip_existing) {
        r->skipped++;
        printf("skipped %s@%s: the account exists\n", pa->user, pa->domain);
    } else {
        r->refused++;
        ctl_err("refused %s@%s: %s", pa->user, pa->domain,
                rc == -EEXIST  ? "the account exists; nothing of it was imported "
                                 "(--skip-existing skips existing accounts)"
                : rc == -EXDEV ? "its domain is not in server.domains"
                               : strerror(-rc));
    }
}

static int on_user(void *ud, const char *host, struct stanza *tree)
{
    struct run *r = ud;
    struct pie_account pa;
    char why[PIE_WHY_MAX] = "";
    int rc = pie_account_from(&pa, host, tree, r->ctl->cfg.scram_iterations, (int64_t)time(NULL),
                              on_notice, r, why);
    if (rc == 0) {
        import_one(r, &pa);
    } else {
        r->refused++;
        ctl_err("refused %s@%s: %s", pa.user[0] ? pa.user : "?", host,
                rc == -EINVAL ? why : strerror(-rc));
    }
    pie_account_free(&pa);
    return rc == -ENOMEM ? -1 : 0;
}

/* Reads fd to its end through f. 0 or -errno (message printed). */
static int read_file(int fd, struct pie_file *f, const char *path)
{
    static char chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ctl_err("cannot read %s: %s", path, strerror(errno));
            return -errno;
        }
        int rc = pie_file_feed(f, chunk, (size_t)n, n == 0);
        if (rc == -EINVAL)
            ctl_err("%s: %s", path, pie_file_error(f));
        else if (rc < 0)
            ctl_err("%s: %s", path, strerror(-rc));
        if (rc < 0 || n == 0)
            return rc;
    }
}

int cmd_import(struct ctl *ctl)
{
    const char *path = ctl->args[0];
    struct run r = {.ctl = ctl, .skip_existing = ctl_opt(ctl, "skip-existing") != NULL};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ctl_err("cannot open %s: %s", path, strerror(errno));
        return CTL_FAIL;
    }
    static const struct pie_file_handler h = {on_user, on_notice};
    char *copy = strdup(path);
    const char *dir = copy ? dirname(copy) : NULL; /* where included files are */
    struct pie_file *f = dir ? pie_file_new(&h, &r, dir) : NULL;
    int rc = f ? read_file(fd, f, path) : -ENOMEM;
    if (!f)
        ctl_err("out of memory");
    pie_file_free(f);
    free(copy);
    close(fd);
    printf("%zu imported, %zu skipped, %zu refused%s\n", r.imported, r.skipped, r.refused,
           rc < 0 ? ", the file was not read to its end" : "");
    fflush(stdout);
    return rc == 0 && r.refused == 0 ? CTL_OK : CTL_FAIL;
}
