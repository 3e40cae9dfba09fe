/* taubectl report list|show|dismiss: the spam and abuse reports users
 * sent with their blocks (XEP-0377, promise P22; modules/reports.h).
 *
 * The store alone: the server keeps no report in memory, so these work
 * the same with or without a running server. Reports hold text from
 * users: control characters (C0, DEL and C1, which terminals may obey)
 * are printed as '?', so a report cannot drive the operator's terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "store/reports.h"

#define LIST_TEXT_MAX 60 /* bytes of text shown per report by `report list` */

/* Prints s (at most max bytes, cut at a character boundary; 0: all),
 * with control characters as '?'; newlines kept if keep_nl, else as
 * spaces. */
static void print_safe(const char *s, size_t max, bool keep_nl)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (max && n > max) {
        n = max;
        while (n > 0 && (p[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F) {
            putchar('?'); /* U+0080..U+009F */
            i++;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            putchar(keep_nl && c == '\n' ? '\n' : ' ');
        } else {
            putchar(c < 0x20 || c == 0x7f ? '?' : c);
        }
    }
    if (max && strlen(s) > n)
        fputs("...", stdout);
}

static void print_time(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm) > 0)
        fputs(buf, stdout);
    else
        printf("%" PRId64, t);
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static void print_line(void *ud, const struct report_info *r)
{
    (void)ud;
    printf("%" PRId64 "\t", r->id);
    print_time(r->created);
    fputs("\t", stdout);
    print_safe(r->reason, 0, false);
    fputs("\treported: ", stdout);
    print_safe(r->jid, 0, false);
    fputs("\tby: ", stdout);
    print_safe(r->reporter ? r->reporter : "a deleted account", 0, false);
    if (r->msg_ids || r->msg_text)
        printf("\tmessages: %u referenced%s", count_lines(r->msg_ids),
               r->msg_text ? ", copied" : "");
    if (r->text) {
        fputs("\ttext: ", stdout);
        print_safe(r->text, LIST_TEXT_MAX, false);
    }
    putchar('\n');
}

int cmd_report_list(struct ctl *ctl)
{
    int n = store_report_list_sync(ctl->store, 0, print_line, NULL);
    if (n < 0) {
        ctl_err("cannot list the reports: %s", strerror(-n));
        return CTL_FAIL;
    }
    return CTL_OK;
}

/* Each "by<TAB>id" line as "  id (by BY)". */
static void print_refs(const char *ids)
{
    for (const char *line = ids; *line;) {
        const char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        if (!tab || !nl || tab > nl)
            break;
        char by[REPORT_JID_MAX + 1], id[REPORT_JID_MAX + 1];
        snprintf(by, sizeof by, "%.*s", (int)(tab - line), line);
        snprintf(id, sizeof id, "%.*s", (int)(nl - tab - 1), tab + 1);
        fputs("  ", stdout);
        print_safe(id, 0, false);
        fputs(" (by ", stdout);
        print_safe(by, 0, false);
        fputs(")\n", stdout);
        line = nl + 1;
    }
}

static void print_full(void *ud, const struct report_info *r)
{
    (void)ud;
    printf("report: %" PRId64 "\ntime: ", r->id);
    print_time(r->created);
    fputs("\nreason: ", stdout);
    print_safe(r->reason, 0, false);
    fputs("\nreported: ", stdout);
    print_safe(r->jid, 0, false);
    fputs("\nreported by: ", stdout);
    print_safe(r->reporter ? r->reporter : "a deleted account", 0, false);
    putchar('\n');
    if (r->text) {
        fputs("text:\n", stdout);
        print_safe(r->text, 0, true);
        putchar('\n');
    }
    if (r->msg_ids) {
        fputs("referenced messages (stanza ids):\n", stdout);
        print_refs(r->msg_ids);
    }
    if (r->msg_text) {
        fputs("copies of the reported messages:\n", stdout);
        print_safe(r->msg_text, 0, true);
        putchar('\n');
    }
}

/* The report number from the command line: 1..2^53. */
static int report_id(struct ctl *ctl, int64_t *id)
{
    const char *s = ctl->args[0];
    *id = 0; /* the analyzer cannot see that ctl_usage_error is never CTL_OK */
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 15 || s[n] != '\0' || (*id = strtoll(s, NULL, 10)) <= 0)
        return ctl_usage_error(ctl, "give the report's number, as `report list` shows it");
    return CTL_OK;
}

int cmd_report_show(struct ctl *ctl)
{
    int64_t id;
    if (report_id(ctl, &id) != CTL_OK)
        return CTL_USAGE;
    int n = store_report_list_sync(ctl->store, id, print_full, NULL);
    if (n < 0) {
        ctl_err("cannot read the report: %s", strerror(-n));
        return CTL_FAIL;
    }
    if (n == 0) {
        ctl_err("no report %" PRId64, id);
        return CTL_FAIL;
    }
    return CTL_OK;
}

int cmd_report_dismiss(struct ctl *ctl)
{
    int64_t id;
    if (report_id(ctl, &id) != CTL_OK)
        return CTL_USAGE;
    int rc = store_report_dismiss_sync(ctl->store, id);
    if (rc == -ENOENT) {
        ctl_err("no report %" PRId64, id);
        return CTL_FAIL;
    }
    if (rc < 0) {
        ctl_err("cannot dismiss the report: %s", strerror(-rc));
        return CTL_FAIL;
    }
    printf("dismissed\n");
    return CTL_OK;
}
