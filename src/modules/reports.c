/* Spam and abuse reports (XEP-0377, promise P22): see reports.h. */
#include "modules/reports.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "modules/module.h"
#include "store/reports.h"
#include "store/requests.h"
#include "xmpp/ns.h"

#define NS_SID "urn:xmpp:sid:0"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_TAUBE_REPORTS "urn:taube:reports:0" /* our export element: no XEP-0227 one */
#define REASON_SPAM "urn:xmpp:reporting:spam"
#define REASON_ABUSE "urn:xmpp:reporting:abuse"
#define DAY_SECS 86400

/* ---- reading a report ---- */

/* Appends s[0..len) to b without taking b past max bytes, cut back to a
 * UTF-8 character boundary (the parser has checked the encoding). */
static int append_cut(struct buf *b, const char *s, size_t len, size_t max)
{
    if (b->len >= max)
        return 0;
    if (len > max - b->len) {
        len = max - b->len;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    return len ? buf_append(b, s, len) : 0;
}

/* The direct text of n, with a newline between several pieces (several
 * <text/> languages, several messages), cut at max bytes. */
static int add_text(struct buf *b, const struct xml_node *n, size_t max)
{
    int rc = b->len ? append_cut(b, "\n", 1, max) : 0;
    for (const struct xml_node *c = n->children; c && rc == 0; c = c->next)
        if (c->type == XML_TEXT)
            rc = append_cut(b, c->text, c->text_len, max);
    return rc;
}

static bool printable_ascii(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || (unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
            return false;
    return n > 0;
}

/* "spam", "abuse", another reason URN as given (printable ASCII only),
 * or "unspecified" (XEP-0377 requires a reason; the block's intent is
 * clear without one, so the report is kept anyway). */
static const char *reason_of(const struct xml_node *rep)
{
    if (strcmp(rep->ns, NS_REPORTING_0) == 0)
        return xml_child(rep, "abuse", NS_REPORTING_0)  ? "abuse"
               : xml_child(rep, "spam", NS_REPORTING_0) ? "spam"
                                                        : "unspecified";
    const char *r = xml_attr(rep, "reason");
    if (!r)
        return "unspecified";
    if (strcmp(r, REASON_SPAM) == 0)
        return "spam";
    if (strcmp(r, REASON_ABUSE) == 0)
        return "abuse";
    return printable_ascii(r, REPORT_REASON_MAX) ? r : "unspecified";
}

/* One "by<TAB>id" line per XEP-0359 reference, REPORT_MAX_REFS at most;
 * references with control characters or over-long values are skipped. */
static int add_ref(struct buf *ids, const struct xml_node *sid, unsigned *n)
{
    const char *by = xml_attr(sid, "by"), *id = xml_attr(sid, "id");
    if (*n >= REPORT_MAX_REFS || !by || !id || !printable_ascii(id, REPORT_REF_ID_MAX))
        return 0;
    for (const char *p = by; *p; p++)
        if ((unsigned char)*p < 0x20 || p - by >= REPORT_JID_MAX)
            return 0;
    int rc = buf_printf(ids, "%s\t%s\n", by, id);
    if (rc == -ENOBUFS) /* REPORT_IDS_MAX: keep the ones that fitted */
        return 0;
    (*n)++;
    return rc;
}

/* The bodies of XEP-0297 forwarded messages. */
static int add_forwarded(struct buf *msgs, const struct xml_node *fwd, size_t max)
{
    const struct xml_node *m = xml_child(fwd, "message", NS_CLIENT);
    const struct xml_node *body = m ? xml_child(m, "body", NS_CLIENT) : NULL;
    return body ? add_text(msgs, body, max) : 0;
}

struct parsed {
    struct buf text, ids, msgs;
};

static int parse_children(const struct xml_node *rep, struct parsed *p, size_t max)
{
    unsigned nrefs = 0;
    int rc = 0;
    for (const struct xml_node *c = xml_first_elem(rep); c && rc == 0; c = xml_next_elem(c)) {
        if (strcmp(c->name, "text") == 0 && strcmp(c->ns, rep->ns) == 0)
            rc = add_text(&p->text, c, max);
        else if (strcmp(c->name, "stanza-id") == 0 && strcmp(c->ns, NS_SID) == 0)
            rc = add_ref(&p->ids, c, &nrefs);
        else if (strcmp(c->name, "body") == 0 && strcmp(c->ns, NS_CLIENT) == 0)
            rc = add_text(&p->msgs, c, max);
        else if (strcmp(c->name, "forwarded") == 0 && strcmp(c->ns, NS_FORWARD) == 0)
            rc = add_forwarded(&p->msgs, c, max);
    }
    return rc;
}

bool reports_is_report(const struct xml_node *n)
{
    return strcmp(n->name, "report") == 0 &&
           (strcmp(n->ns, NS_REPORTING) == 0 || strcmp(n->ns, NS_REPORTING_0) == 0);
}

const struct xml_node *reports_find(const struct xml_node *n)
{
    for (const struct xml_node *c = xml_first_elem(n); c; c = xml_next_elem(c))
        if (reports_is_report(c))
            return c;
    return NULL;
}

/* ---- storing it ---- */

struct report_pending {
    void (*done)(void *ud);
    void *ud;
};

static void log_outcome(int rc, int64_t id)
{
    if (rc == 0)
        log_info("report %" PRId64 " stored for the operator", id);
    else if (rc == -EAGAIN)
        log_info("a report was not stored: its reporter reached reports.max_per_day");
    else if (rc == -EDQUOT)
        log_info("a report was not stored: its reporter reached reports.max_per_user");
    else
        log_warn("a report could not be stored (%s); the block was applied", strerror(-rc));
}

static void report_stored(void *ud, int rc, int64_t id)
{
    struct report_pending *p = ud;
    log_outcome(rc, id);
    p->done(p->ud);
    free(p);
}

static int queue_parsed(struct server *srv, const struct jid *reporter, const char *jid,
                        const char *reason, struct parsed *p, struct report_pending *rp)
{
    struct jid j;
    if (jid_parse(&j, jid, strlen(jid)) < 0)
        return -EINVAL;
    char *bare = jid_to_string(&j, true);
    jid_free(&j);
    if (!bare)
        return -ENOMEM;
    struct report_new r = {
        .jid = jid,
        .jid_bare = bare,
        .reason = reason,
        .text = p->text.len ? p->text.data : NULL,
        .msg_ids = p->ids.len ? p->ids.data : NULL,
        .msg_text = p->msgs.len ? p->msgs.data : NULL,
        .created = server_now(srv),
    };
    struct report_limits lim = {srv->cfg->reports_max_per_day, srv->cfg->reports_max_per_user};
    int64_t rc = store_report_add_req(srv->storeq, reporter->domain, reporter->local, &r, &lim,
                                      report_stored, rp);
    free(bare);
    return rc >= 0 ? 0 : rc >= INT_MIN ? (int)rc : -EIO;
}

int reports_take(struct server *srv, const struct jid *reporter, const struct xml_node *rep,
                 const char *jid, void (*done)(void *ud), void *ud)
{
    size_t max = srv->cfg->reports_max_text_length;
    struct report_pending *rp = malloc(sizeof *rp);
    if (!rp)
        return -ENOMEM;
    *rp = (struct report_pending){done, ud};
    struct parsed p;
    buf_init(&p.text, max + 1);
    buf_init(&p.ids, REPORT_IDS_MAX);
    buf_init(&p.msgs, max + 1);
    int rc = parse_children(rep, &p, max);
    if (rc > 0) /* the parsers return 0 or -errno: never leave rp unowned */
        rc = -EINVAL;
    if (rc == 0)
        rc = queue_parsed(srv, reporter, jid, reason_of(rep), &p, rp);
    buf_free(&p.text);
    buf_free(&p.ids);
    buf_free(&p.msgs);
    if (rc < 0) {
        free(rp);
        log_outcome(rc, 0);
    }
    return rc;
}

/* ---- the data contract ---- */

struct count {
    uint64_t bytes;
    int64_t oldest;
};

static size_t len_or_0(const char *s) { return s ? strlen(s) : 0; }

static void count_one(void *ud, const struct report_info *r)
{
    struct count *c = ud;
    c->bytes += strlen(r->jid) + strlen(r->reason) + len_or_0(r->text) + len_or_0(r->msg_ids) +
                len_or_0(r->msg_text);
    if (c->oldest == 0 || r->created < c->oldest)
        c->oldest = r->created;
}

static int reports_describe(const struct data_ctx *d, const char *domain, const char *user,
                            data_fact_fn fn, void *ud)
{
    struct count c = {0, 0};
    int n = store_report_list_by_sync(d->store, domain, user, count_one, &c);
    if (n <= 0 || !d->cfg)
        return n == -ENOENT ? 0 : n < 0 ? n : 0;
    bool keep = d->cfg->reports_keep_after_reporter_deleted;
    struct data_fact f = {
        .kind = "reports",
        .what = {keep ? "Your spam and abuse reports (XEP-0377): the address, reason, time and "
                        "any text or message copies your client sent; kept for the operator. "
                        "If your account is deleted they stay, without your name."
                      : "Your spam and abuse reports (XEP-0377): the address, reason, time and "
                        "any text or message copies your client sent; kept for the operator, "
                        "deleted with your account.",
                 keep ? "Ihre Meldungen von Spam und Missbrauch (XEP-0377): Adresse, Grund, Zeit "
                        "und Text oder Nachrichtenkopien, die Ihr Client mitgesendet hat; für den "
                        "Betreiber aufbewahrt. Wird Ihr Konto gelöscht, bleiben sie ohne Ihren "
                        "Namen erhalten."
                      : "Ihre Meldungen von Spam und Missbrauch (XEP-0377): Adresse, Grund, Zeit "
                        "und Text oder Nachrichtenkopien, die Ihr Client mitgesendet hat; für den "
                        "Betreiber aufbewahrt, mit Ihrem Konto gelöscht."},
        .unit = {"reports", "Meldungen"},
        .count = (uint64_t)n,
        .bytes = c.bytes,
        .oldest = c.oldest,
        .keep = KEEP_MAX_AGE,
        .keep_secs = d->cfg->reports_max_age,
        .until = c.oldest + (int64_t)d->cfg->reports_max_age,
    };
    return fn(ud, &f);
}

struct export_ctx {
    struct buf *out;
    int err;
    bool opened;
};

static int export_text(struct buf *out, const char *name, const char *v)
{
    int rc = buf_printf(out, "<%s>", name);
    if (rc == 0)
        rc = xml_escape(out, v, strlen(v), false);
    return rc ? rc : buf_printf(out, "</%s>", name);
}

/* The references, back as XEP-0359 elements. */
static int export_refs(struct buf *out, const char *ids)
{
    int rc = 0;
    for (const char *line = ids; *line && rc == 0;) {
        const char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        if (!tab || !nl || tab > nl)
            break;
        rc = buf_append_str(out, "<stanza-id xmlns='" NS_SID "' by='");
        if (rc == 0)
            rc = xml_escape(out, line, (size_t)(tab - line), true);
        if (rc == 0)
            rc = buf_append_str(out, "' id='");
        if (rc == 0)
            rc = xml_escape(out, tab + 1, (size_t)(nl - tab - 1), true);
        if (rc == 0)
            rc = buf_append_str(out, "'/>");
        line = nl + 1;
    }
    return rc;
}

static int export_report(struct buf *out, const struct report_info *r)
{
    char stamp[32];
    time_t t = (time_t)r->created;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -EINVAL;
    int rc = buf_printf(out, "<report stamp='%s' reason='", stamp);
    if (rc == 0)
        rc = xml_escape(out, r->reason, strlen(r->reason), true);
    if (rc == 0)
        rc = buf_append_str(out, "' jid='");
    if (rc == 0)
        rc = xml_escape(out, r->jid, strlen(r->jid), true);
    if (rc == 0)
        rc = buf_append_str(out, "'>");
    if (rc == 0 && r->text)
        rc = export_text(out, "text", r->text);
    if (rc == 0 && r->msg_ids)
        rc = export_refs(out, r->msg_ids);
    if (rc == 0 && r->msg_text)
        rc = export_text(out, "message-text", r->msg_text);
    return rc ? rc : buf_append_str(out, "</report>");
}

static void export_one(void *ud, const struct report_info *r)
{
    struct export_ctx *e = ud;
    if (e->err == 0 && !e->opened)
        e->err = buf_append_str(e->out, "<reports xmlns='" NS_TAUBE_REPORTS "'>");
    e->opened = true;
    if (e->err == 0)
        e->err = export_report(e->out, r);
}

/* Taube's own element (XEP-0227 has none for reports): one <report/> per
 * report the user made, reason as stored ("spam", "abuse" or a URN). */
static int reports_export(const struct data_ctx *d, const char *domain, const char *user,
                          struct buf *out)
{
    struct export_ctx e = {out, 0, false};
    int n = store_report_list_by_sync(d->store, domain, user, export_one, &e);
    if (n < 0 && n != -ENOENT)
        return n;
    if (e.err || !e.opened) /* no reports: no empty element */
        return e.err;
    return buf_append_str(out, "</reports>");
}

static int reports_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    /* Without a configuration (some tests), the safe default: delete. */
    bool keep = d->cfg && d->cfg->reports_keep_after_reporter_deleted;
    return store_reports_erase_account_sync(d->store, domain, user, keep);
}

static void swept(int n)
{
    if (n > 0)
        log_info("reports: %d report(s) older than reports.max_age deleted", n);
}

static void swept_live(void *ud, int rc, int64_t value)
{
    (void)ud;
    if (rc < 0)
        log_warn("reports: old reports could not be deleted (%d); the next run retries", rc);
    else
        swept((int)value);
}

/* In a running server the delete goes through the store queue. */
static int reports_sweep(const struct data_ctx *d)
{
    if (!d->cfg)
        return 0;
    int64_t before = d->now - (int64_t)d->cfg->reports_max_age;
    if (d->srv && d->srv->storeq) {
        int64_t id = store_reports_sweep_req(d->srv->storeq, before, swept_live, NULL);
        return id < 0 ? (int)id : 0;
    }
    int n = store_reports_sweep_sync(d->store, before);
    swept(n);
    return n < 0 ? n : 0;
}

/* Advertised as Prosody's mod_spam_reporting does: :1 for current
 * clients (profanity checks it), the :0 reason features for older
 * Conversations, which offers "report spam" only when it sees
 * urn:xmpp:reporting:reason:spam:0. The handler is the blocking module's
 * block command, which calls reports_take. */
static const char *const reports_features[] = {
    NS_REPORTING,
    NS_REPORTING_0,
    "urn:xmpp:reporting:reason:spam:0",
    "urn:xmpp:reporting:reason:abuse:0",
    NULL,
};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section reports_cfg_sections[] = {
    {"reports", "Spam and abuse reports (XEP-0377, promise P22) that users send with a block: "
                "the reporter, the reported address, the reason, the time, and the reporter's "
                "text and the reported messages only if the client sends them. They are kept "
                "for the operator (`taubectl report list|show|dismiss`) until dismissed or "
                "reports.max_age old. A report is deleted with its reporter's account unless "
                "reports.keep_after_reporter_deleted is set, and always with the reported "
                "local account (its name may later be given to someone else). The block "
                "itself never fails because of its report: a report over a limit is not "
                "stored, and over-long text is cut."},
};

static const struct config_option reports_cfg_options[] = {
    /* reports */
    {.key = "reports.keep_after_reporter_deleted",
     .type = CFG_BOOL,
     CFG_AS_BOOL(reports_keep_after_reporter_deleted),
     .def = "false",
     .help = "Whether a report outlives its reporter's account: false deletes it with the "
             "account (promise P18); true keeps it as \"reported by a deleted account\", "
             "without the reporter's name, until dismissed or reports.max_age old. Say "
             "which in your privacy policy."},
    {.key = "reports.max_age",
     .type = CFG_DURATION,
     CFG_AS_INT(reports_max_age),
     .min = 1 * CFG_DAY,
     .max = 730 * CFG_DAY,
     .def = "180d",
     .help = "How long a report is kept if the operator does not dismiss it; older "
             "reports are deleted by the daily retention run."},
    {.key = "reports.max_per_day",
     .type = CFG_INT,
     CFG_AS_INT(reports_max_per_day),
     .min = 1,
     .max = 10000,
     .def = "20",
     .help = "Most reports one user can make in 24 hours; further blocks still work, "
             "their reports are not stored."},
    {.key = "reports.max_per_user",
     .type = CFG_INT,
     CFG_AS_INT(reports_max_per_user),
     .min = 1,
     .max = 100000,
     .def = "100",
     .help = "Most reports kept from one user; further blocks still work, their reports "
             "are not stored until the operator dismisses some."},
    {.key = "reports.max_text_length",
     .type = CFG_INT,
     CFG_AS_INT(reports_max_text_length),
     .min = 0,
     .max = 65536,
     .def = "2000",
     .help = "Longest reporter's text, and longest copy of the reported messages, kept "
             "with a report (bytes); longer is cut. 0 keeps neither."},
};

static const struct config_table reports_cfg = {
    .sections = reports_cfg_sections,
    .n_sections = sizeof reports_cfg_sections / sizeof reports_cfg_sections[0],
    .options = reports_cfg_options,
    .n_options = sizeof reports_cfg_options / sizeof reports_cfg_options[0],
};

const struct module mod_reports = {
    .name = "reports",
    .id = MOD_ID_reports,
    .config = &reports_cfg,
    .migrations = store_reports_migrations,
    .features = reports_features,
    .describe = reports_describe,
    .export_xml = reports_export,
    .erase = reports_erase,
    .sweep = reports_sweep,
};
