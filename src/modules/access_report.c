/* The access report (P20): see access_report.h. The words are here, once
 * per language; the numbers and dates come from the modules' facts, so a
 * new module's data appears without a line written here. */
#include "modules/access_report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY_SECS 86400

struct report {
    const struct data_ctx *d;
    enum data_lang lang;
    struct buf *out;
    unsigned n;
};

enum data_lang access_report_lang(const char *tag)
{
    if (tag && strncasecmp(tag, "de", 2) == 0 && (tag[2] == '\0' || tag[2] == '-'))
        return DATA_DE;
    return DATA_EN;
}

/* 2026-12-02 in English, 02.12.2026 in German (UTC). */
static void format_date(int64_t t, enum data_lang lang, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        strcpy(out, "?");
    else if (lang == DATA_DE)
        strftime(out, 32, "%d.%m.%Y", &tm);
    else
        strftime(out, 32, "%Y-%m-%d", &tm);
}

/* "- 3 contacts, 120 bytes, since 2026-11-01: detail" */
static int fact_head(struct report *r, const struct data_fact *f)
{
    static const char *const bytes[DATA_NLANG] = {"bytes", "Bytes"};
    static const char *const since[DATA_NLANG] = {"since", "seit"};
    int rc = buf_printf(r->out, "- %" PRIu64 " %s", f->count, f->unit[r->lang]);
    if (rc == 0 && f->bytes)
        rc = buf_printf(r->out, ", %" PRIu64 " %s", f->bytes, bytes[r->lang]);
    if (rc == 0 && f->oldest > 0) {
        char day[32];
        format_date(f->oldest, r->lang, day);
        rc = buf_printf(r->out, ", %s %s", since[r->lang], day);
    }
    if (rc == 0 && f->detail)
        rc = buf_printf(r->out, ": %s", f->detail);
    return rc ? rc : buf_append_str(r->out, "\n");
}

/* How long it is kept, from the retention the fact names. */
static int fact_keep(struct report *r, const struct data_fact *f)
{
    char until[32];
    format_date(f->until, r->lang, until);
    long days = (long)(f->keep_secs / DAY_SECS);
    bool de = r->lang == DATA_DE;
    switch (f->keep) {
    case KEEP_WHILE_ACCOUNT:
        return buf_append_str(r->out, de ? "  Gespeichert, bis Sie es entfernen oder Ihr Konto "
                                           "gelöscht wird.\n"
                                         : "  Kept until you remove it or your account is "
                                           "deleted.\n");
    case KEEP_UNTIL_REPLACED:
        return buf_append_str(r->out, de ? "  Gespeichert, bis es ersetzt oder Ihr Konto gelöscht "
                                           "wird.\n"
                                         : "  Kept until it is replaced or your account is "
                                           "deleted.\n");
    case KEEP_UNTIL_DELIVERED:
        return buf_append_str(r->out, de ? "  Gespeichert, bis Sie sich verbinden und sie "
                                           "zugestellt sind.\n"
                                         : "  Kept until you connect and they are delivered to "
                                           "you.\n");
    case KEEP_MAX_AGE:
        if (de)
            return buf_printf(r->out, "  Höchstens %ld Tage gespeichert (das Älteste bis %s).\n",
                              days, until);
        return buf_printf(r->out, "  Kept at most %ld days (the oldest until %s).\n", days, until);
    case KEEP_INACTIVITY:
        if (de)
            return buf_printf(r->out,
                              "  Gespeichert, bis Ihr Konto gelöscht wird. Ein Konto, das %ld "
                              "Tage nicht benutzt wurde, wird mit allen Daten gelöscht: Ihres "
                              "frühestens am %s, wenn Sie sich bis dahin nicht anmelden.\n",
                              days, until);
        return buf_printf(r->out,
                          "  Kept until your account is deleted. An account unused for %ld days "
                          "is deleted with all its data: yours on or after %s unless you log "
                          "in before then.\n",
                          days, until);
    }
    return -EINVAL;
}

static int add_fact(void *ud, const struct data_fact *f)
{
    struct report *r = ud;
    int rc = buf_append_str(r->out, "\n");
    if (rc == 0)
        rc = fact_head(r, f);
    if (rc == 0)
        rc = buf_printf(r->out, "  %s\n", f->what[r->lang]);
    if (rc == 0)
        rc = fact_keep(r, f);
    r->n += rc == 0;
    return rc;
}

static int header(struct report *r, const char *domain, const char *user)
{
    char day[32];
    format_date(r->d->now, r->lang, day);
    if (r->lang == DATA_DE)
        return buf_printf(r->out,
                          "Was der Server %s über %s@%s speichert (Stand %s, UTC).\n"
                          "Aus den gespeicherten Daten erzeugt; jede Art von Daten mit Menge, "
                          "Alter und Speicherdauer.\n",
                          domain, user, domain, day);
    return buf_printf(r->out,
                      "What the server %s stores about %s@%s (as of %s, UTC).\n"
                      "Generated from the stored data; each kind of data with its amount, age "
                      "and how long it is kept.\n",
                      domain, user, domain, day);
}

static int footer(struct report *r)
{
    return buf_append_str(
        r->out, r->lang == DATA_DE
                    ? "\nEine vollständige Kopie dieser Daten (XEP-0227) erhalten Sie mit "
                      "dem Befehl \"Meine Daten exportieren\" oder vom Betreiber.\n"
                    : "\nA complete copy of this data (XEP-0227) is available with the "
                      "command \"Export my data\" or from the operator.\n");
}

int access_report(const struct data_ctx *d, const char *domain, const char *user,
                  enum data_lang lang, struct buf *out)
{
    size_t mark = out->len;
    struct report r = {d, lang, out, 0};
    int rc = header(&r, domain, user);
    if (rc == 0)
        rc = account_describe(d, domain, user, add_fact, &r);
    if (rc == 0)
        rc = footer(&r);
    if (rc < 0 && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return rc;
}
