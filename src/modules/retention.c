/* Inactivity retention (promises P11, P12): see retention.h for the rules.
 *
 * A run pages through the accounts unused for longer than
 * inactive_after - warn_before (the only ones with anything due), a page
 * at a time, copying each page out of the store before acting on it,
 * because warning and deleting write to the store the listing reads.
 */
#include "modules/retention.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "modules/module.h"
#include "store/offline.h"
#include "store/queue.h"
#include "store/requests.h"
#include "store/retention.h"
#include "store/store.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define NS_DELAY "urn:xmpp:delay"
#define NS_RETENTION "urn:taube:retention:0"        /* our own: no XEP covers it */
#define RETENTION_PAGE 64 /* accounts copied out at a time */
#define DAY_SECS 86400
#define BARE_LEN (2 * JID_PART_MAX + 2)
#define MAX_CLOCK_OFFSET (3650LL * DAY_SECS)

/* ---- the rules ---- */

struct retention_policy retention_policy_of(const struct config *cfg)
{
    return (struct retention_policy){cfg->retention_inactive_after, cfg->retention_warn_before};
}

static bool counts_as_warned(int64_t last_use, int64_t warned_at)
{
    return warned_at > 0 && warned_at >= last_use;
}

enum retention_action retention_decide(const struct retention_policy *p, int64_t now,
                                       int64_t last_use, int64_t warned_at)
{
    int64_t idle = now - last_use;
    if (counts_as_warned(last_use, warned_at))
        return idle > p->inactive_after && now - warned_at >= p->warn_before ? RETENTION_DELETE
                                                                             : RETENTION_WAIT;
    return idle > p->inactive_after - p->warn_before ? RETENTION_WARN : RETENTION_KEEP;
}

int64_t retention_delete_at(const struct retention_policy *p, int64_t now, int64_t last_use,
                            int64_t warned_at)
{
    int64_t warned = counts_as_warned(last_use, warned_at) ? warned_at : now;
    int64_t a = warned + p->warn_before, b = last_use + p->inactive_after;
    return a > b ? a : b;
}

/* ---- listing the candidates ---- */

struct cand {
    int64_t last_use, warned_at;
    bool never_logged_in;
    char domain[JID_PART_MAX + 1];
    char user[JID_PART_MAX + 1];
};

struct page {
    struct cand *c; /* RETENTION_PAGE entries */
    size_t n;
    int64_t last_id;
};

static void collect(void *ud, const struct retention_row *r)
{
    struct page *pg = ud;
    pg->last_id = r->id;
    size_t dl = strlen(r->domain), ul = strlen(r->user);
    if (pg->n == RETENTION_PAGE || dl > JID_PART_MAX || ul > JID_PART_MAX)
        return; /* prepared parts are never longer; skip rather than cut */
    struct cand *c = &pg->c[pg->n++];
    c->last_use = r->last_use;
    c->warned_at = r->warned_at;
    c->never_logged_in = r->never_logged_in;
    memcpy(c->domain, r->domain, dl + 1);
    memcpy(c->user, r->user, ul + 1);
}

typedef void (*cand_fn)(const struct data_ctx *d, const struct retention_policy *p,
                        const struct cand *c, void *ud);

/* Calls fn for each account with something due, a page at a time. */
static int for_each_candidate(const struct data_ctx *d, const struct retention_policy *p,
                              cand_fn fn, void *ud)
{
    struct page pg = {.c = calloc(RETENTION_PAGE, sizeof(struct cand))};
    if (!pg.c)
        return -ENOMEM;
    int64_t cutoff = d->now - (p->inactive_after - p->warn_before);
    int rc;
    do {
        int64_t after = pg.last_id;
        pg.n = 0;
        rc = store_retention_list_sync(d->store, cutoff, after, RETENTION_PAGE, collect, &pg);
        for (size_t i = 0; rc >= 0 && i < pg.n; i++)
            fn(d, p, &pg.c[i], ud);
    } while (rc == RETENTION_PAGE);
    free(pg.c);
    return rc < 0 ? rc : 0;
}

/* ---- the warning ---- */

/* "2026-11-26" (UTC). */
static void format_day(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d", &tm) == 0)
        strcpy(out, "1970-01-01");
}

/* secs in whole months of 30.44 days, rounded, at least 1. */
static long months_of(int64_t secs)
{
    long m = (long)((secs / DAY_SECS * 100 + 3044 / 2) / 3044);
    return m < 1 ? 1 : m;
}

static int warning_text(const struct data_ctx *d, const struct retention_policy *p,
                        const struct cand *c, struct buf *out)
{
    char since[32], until[32];
    format_day(c->last_use, since);
    format_day(retention_delete_at(p, d->now, c->last_use, 0), until);
    return buf_printf(out,
                      "Your account %s@%s has not been used since %s%s. Accounts unused for "
                      "%ld months are deleted with everything the server keeps for them "
                      "(contacts, stored messages, profile). Yours will be deleted on or "
                      "after %s unless you log in before then: logging in once keeps it.",
                      c->user, c->domain, c->never_logged_in ? "it was created on " : "", since,
                      months_of(p->inactive_after), until);
}

/* XEP-0082 dateTime in UTC: 2026-11-26T23:08:25Z. 0 or -EINVAL. */
static int format_stamp(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -EINVAL;
    return 0;
}

/* XEP-0203 <delay/>, as offline storage would have added it. */
static int add_delay(struct stanza *st, const char *domain, int64_t now)
{
    char stamp[32];
    if (format_stamp(now, stamp) < 0)
        return -EINVAL;
    struct xml_node *n = xml_add_child(st, st->root, "delay", NS_DELAY);
    if (!n || xml_set_attr(st, n, "from", domain) < 0 || xml_set_attr(st, n, "stamp", stamp) < 0)
        return -ENOMEM;
    return 0;
}

/* The warning message (type normal, so that offline storage keeps it). */
static struct stanza *warning_new(const struct data_ctx *d, const struct retention_policy *p,
                                  const struct cand *c)
{
    char to[BARE_LEN], id[64];
    snprintf(to, sizeof to, "%s@%s", c->user, c->domain);
    snprintf(id, sizeof id, "retention-%" PRIx64 "-%" PRIx64, d->srv ? ++d->srv->next_id : 0,
             (uint64_t)d->now);
    struct buf body;
    buf_init(&body, 4096);
    struct stanza *st = warning_text(d, p, c, &body) == 0 ? stanza_new("message", NS_CLIENT) : NULL;
    if (!st || xml_set_attr(st, st->root, "to", to) < 0 ||
        xml_set_attr(st, st->root, "from", c->domain) < 0 ||
        xml_set_attr(st, st->root, "type", "normal") < 0 ||
        xml_set_attr(st, st->root, "id", id) < 0 ||
        xml_add_text_elem(st, st->root, "subject", "Your account will be deleted for inactivity") <
            0 ||
        xml_add_text_elem(st, st->root, "body", body.data) < 0) {
        if (st)
            stanza_unref(st);
        st = NULL;
    }
    buf_free(&body);
    return st;
}

/* Without a server: straight into the account's offline messages. */
static int store_warning(const struct data_ctx *d, const struct cand *c, struct stanza *st)
{
    struct buf out;
    buf_init(&out, d->cfg->max_stanza_size);
    int rc = add_delay(st, c->domain, d->now);
    if (rc == 0)
        rc = xml_serialize(st->root, "", &out);
    if (rc == 0) {
        struct offline_limits lim = {d->cfg->offline_max_messages, d->cfg->offline_max_bytes};
        rc = store_offline_add_sync(d->store, c->domain, c->user, d->now, out.data, out.len, &lim);
    }
    buf_free(&out);
    stanza_unref(st);
    return rc;
}

/* Without a server: records the warning, then stores it. The record
 * comes first: a message without a record would be sent again every day.
 * A message that cannot be stored (the offline store is full) still
 * counts as the warning (P12: "a message to the account, if possible"). */
static int warn(const struct data_ctx *d, const struct retention_policy *p, const struct cand *c)
{
    int rc = store_retention_warn_sync(d->store, c->domain, c->user, d->now);
    if (rc < 0)
        return rc;
    struct stanza *st = warning_new(d, p, c);
    if (!st) {
        log_warn("retention: out of memory building a warning; it is not sent");
        return 0;
    }
    rc = store_warning(d, c, st);
    if (rc < 0)
        log_warn("retention: a warning could not be stored as an offline message (%d)", rc);
    return 0;
}

/* ---- the run ---- */

/* One inactivity pass. In a running server (srv) every warning and
 * deletion goes through the store queue and is counted when it commits;
 * the pass ends (end) when the last one has. Without one, all happens at
 * once on the store. */
struct pass {
    struct retention_counts n;
    struct retention_policy p;
    struct server *srv;
    int64_t now;
    unsigned pending;             /* srv: actions not yet done, +1 while listing */
    int rc;                       /* the listing's outcome */
    void (*end)(struct pass *ps); /* srv: when pending reaches 0; frees ps */
    struct control_call call;     /* retention-run's, for its answer */
    struct pass *next;            /* srv: in the module's list of running passes */
};

/* One warning or deletion in flight (srv). */
struct pass_item {
    struct pass *ps;
    struct cand c;
};

/* The module's state: the passes under way in a running server (each
 * ends by itself once its writes are committed; the list is what owns
 * them meanwhile). */
struct retention_state {
    struct pass *running;
};

extern const struct module mod_retention;

static void pass_start(struct pass *ps)
{
    struct retention_state *st = module_state(ps->srv, &mod_retention);
    ps->next = st->running;
    st->running = ps;
}

static void pass_release(struct pass *ps)
{
    if (--ps->pending > 0)
        return;
    struct retention_state *st = module_state(ps->srv, &mod_retention);
    struct pass **p = &st->running;
    while (*p && *p != ps)
        p = &(*p)->next;
    if (*p)
        *p = ps->next;
    ps->end(ps);
}

static void counted(struct pass *ps, size_t *what, int rc)
{
    if (rc == 0) {
        (*what)++;
    } else {
        ps->n.failed++;
        log_warn("retention: an account could not be warned or deleted (%d); next run retries", rc);
    }
}

/* The record is committed: now the message, through the router
 * (delivered, or stored offline). */
static void warning_recorded(void *ud, int rc, int64_t value)
{
    (void)value;
    struct pass_item *it = ud;
    struct pass *ps = it->ps;
    if (rc == 0) {
        struct data_ctx d = modules_data_ctx(ps->srv);
        d.now = ps->now;
        struct stanza *st = warning_new(&d, &ps->p, &it->c);
        if (st)
            router_send(ps->srv, st);
        else
            log_warn("retention: out of memory building a warning; it is not sent");
    }
    counted(ps, &ps->n.warned, rc);
    free(it);
    pass_release(ps);
}

static void account_deleted(void *ud, int rc)
{
    struct pass_item *it = ud;
    struct pass *ps = it->ps;
    counted(ps, &ps->n.deleted, rc == -ENOENT ? 0 : rc); /* -ENOENT: deleted meanwhile */
    free(it);
    pass_release(ps);
}

/* Queues the warning's record or the deletion; 0 or -errno. */
static int start_live(const struct data_ctx *d, struct pass *ps, const struct cand *c,
                      enum retention_action a)
{
    struct pass_item *it = malloc(sizeof *it);
    if (!it)
        return -ENOMEM;
    *it = (struct pass_item){ps, *c};
    ps->pending++;
    int rc = 0;
    if (a == RETENTION_WARN) {
        int64_t id = store_retention_warn_req(d->srv->storeq, c->domain, c->user, d->now,
                                              warning_recorded, it);
        rc = id < 0 ? (int)id : 0;
    } else {
        rc = account_delete_live(d, c->domain, c->user, account_deleted, it);
    }
    if (rc < 0) {
        ps->pending--;
        free(it);
    }
    return rc;
}

static bool online(struct server *srv, const struct cand *c)
{
    char bare[BARE_LEN];
    snprintf(bare, sizeof bare, "%s@%s", c->user, c->domain);
    return srv->router && router_count(srv->router, bare) != 0;
}

static void run_one(const struct data_ctx *d, const struct retention_policy *p,
                    const struct cand *c, void *ud)
{
    struct pass *ps = ud;
    if (ps->srv && online(ps->srv, c))
        return; /* in use right now */
    enum retention_action a = retention_decide(p, d->now, c->last_use, c->warned_at);
    if (a != RETENTION_WARN && a != RETENTION_DELETE)
        return;
    int rc;
    if (ps->srv) {
        rc = start_live(d, ps, c, a);
        if (rc == -ENOENT && a == RETENTION_DELETE)
            rc = 0; /* deleted meanwhile */
        if (rc == 0)
            return; /* counted when done */
    } else if (a == RETENTION_WARN) {
        rc = warn(d, p, c);
    } else {
        rc = account_delete(d, c->domain, c->user);
        if (rc == -ENOENT)
            rc = 0;
    }
    counted(ps, a == RETENTION_WARN ? &ps->n.warned : &ps->n.deleted, rc);
}

/* The inactivity pass: warns and deletes as due. live (ps->srv set): ps
 * is the module's until ps->end, which follows (perhaps at once). */
static void inactivity_pass(const struct data_ctx *d, struct pass *ps, bool live)
{
    ps->p = retention_policy_of(d->cfg);
    ps->now = d->now;
    ps->pending = 1;
    if (live)
        pass_start(ps);
    ps->rc = for_each_candidate(d, &ps->p, run_one, ps);
    if (ps->rc < 0)
        log_error("retention: cannot list inactive accounts (%d)", ps->rc);
    if (live)
        pass_release(ps);
}

static void log_counts(const struct pass *ps)
{
    if (ps->rc == 0 && (ps->n.warned || ps->n.deleted || ps->n.failed))
        log_info("retention: %zu account(s) warned, %zu deleted, %zu failed", ps->n.warned,
                 ps->n.deleted, ps->n.failed);
}

static void sweep_end(struct pass *ps)
{
    log_counts(ps);
    free(ps);
}

/* This module's sweep (account_sweep, from the daily scheduler in sweep.c). */
static int retention_sweep(const struct data_ctx *d)
{
    if (d->srv && d->srv->storeq) {
        struct pass *ps = calloc(1, sizeof *ps);
        if (!ps)
            return -ENOMEM;
        ps->srv = d->srv;
        ps->end = sweep_end;
        inactivity_pass(d, ps, true);
        return 0; /* ps may be gone already: sweep_end logs how it went */
    }
    struct pass ps = {0};
    inactivity_pass(d, &ps, false);
    log_counts(&ps);
    return ps.rc;
}

int retention_run(const struct data_ctx *d, struct retention_counts *out)
{
    struct pass ps = {0};
    inactivity_pass(d, &ps, false);
    *out = ps.n;
    /* Then every other module's sweep, as the scheduler runs them (this
     * module's own is the pass above, counted for the caller). A failure
     * there is logged and retried on the next run. */
    account_sweep(d, mod_retention.name);
    return ps.rc;
}

/* ---- the report ---- */

struct report_ctx {
    void (*cb)(void *ud, const struct retention_item *it);
    void *ud;
};

static void report_one(const struct data_ctx *d, const struct retention_policy *p,
                       const struct cand *c, void *ud)
{
    struct report_ctx *r = ud;
    struct retention_item it = {
        .domain = c->domain,
        .user = c->user,
        .last_use = c->last_use,
        .never_logged_in = c->never_logged_in,
        .warned_at = counts_as_warned(c->last_use, c->warned_at) ? c->warned_at : 0,
        .action = retention_decide(p, d->now, c->last_use, c->warned_at),
        .delete_at = retention_delete_at(p, d->now, c->last_use, c->warned_at),
    };
    if (it.action != RETENTION_KEEP)
        r->cb(r->ud, &it);
}

int retention_report(const struct data_ctx *d,
                     void (*cb)(void *ud, const struct retention_item *it), void *ud)
{
    struct retention_policy p = retention_policy_of(d->cfg);
    struct report_ctx r = {cb, ud};
    return for_each_candidate(d, &p, report_one, &r);
}

/* ---- in the server ---- */

/* retention-run's answer, once the other sweeps it queued have committed. */
static void ctl_answer(void *ud, uint64_t tag)
{
    (void)tag;
    struct pass *ps = ud;
    char text[128];
    snprintf(text, sizeof text, "warned %zu deleted %zu failed %zu", ps->n.warned, ps->n.deleted,
             ps->n.failed);
    ps->call.answer(&ps->call, 0, text);
    free(ps);
}

static void ctl_end(struct pass *ps)
{
    log_counts(ps);
    if (ps->rc < 0) {
        char text[128];
        snprintf(text, sizeof text, "cannot list inactive accounts: %s", strerror(-ps->rc));
        ps->call.answer(&ps->call, ps->rc, text);
        free(ps);
        return;
    }
    struct data_ctx d = modules_data_ctx(ps->srv);
    account_sweep(&d, mod_retention.name);
    struct store_queue *q = ps->srv->storeq;
    if (store_queue_when_done(q, store_queue_last_id(q), ctl_answer, ps, 0) != 0)
        ctl_answer(ps, 0); /* all done already (or no memory for the barrier) */
}

int retention_ctl_run(const struct control_call *call, const char *const *args, int nargs,
                      struct buf *reply)
{
    (void)args;
    (void)nargs;
    struct pass *ps = calloc(1, sizeof *ps);
    if (!ps)
        return -ENOMEM;
    (void)reply;
    ps->srv = call->srv;
    ps->call = *call;
    ps->end = ctl_end;
    struct data_ctx d = modules_data_ctx(call->srv);
    inactivity_pass(&d, ps, true);
    return CONTROL_LATER;
}

int retention_ctl_clock_offset(const struct control_call *call, const char *const *args, int nargs,
                               struct buf *reply)
{
    struct server *srv = call->srv;
    char *end;
    errno = 0;
    long long v = nargs == 1 ? strtoll(args[0], &end, 10) : 0;
    if (nargs != 1 || errno || end == args[0] || *end || v < -MAX_CLOCK_OFFSET ||
        v > MAX_CLOCK_OFFSET) {
        buf_printf(reply, "clock-offset takes seconds, -%lld to %lld", MAX_CLOCK_OFFSET,
                   MAX_CLOCK_OFFSET);
        return -EINVAL;
    }
    srv->clock_offset = v;
    log_warn("clock offset set to %lld s (a test-only command)", v);
    return buf_printf(reply, "clock offset %lld", v);
}

/* ---- the data contract ---- */

/* The account itself (it has no module of its own) and, if sent, the
 * inactivity warning: the account is what inactivity deletes. */
static int retention_describe(const struct data_ctx *d, const char *domain, const char *user,
                              data_fact_fn fn, void *ud)
{
    struct retention_policy p = retention_policy_of(d->cfg);
    int64_t warned = 0;
    struct account_info info = {0}; /* for the analyzer: the store's failures are < 0 */
    int rc = store_retention_get_sync(d->store, domain, user, &warned);
    if (rc == 0)
        rc = store_account_info_sync(d->store, domain, user, &info);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    int64_t last_use = info.last_login ? info.last_login : info.created;
    store_account_info_free(&info);
    struct data_fact a = {
        .kind = "account",
        .what = {"Your address, your password as a salted hash (SCRAM: the password cannot "
                 "be derived from it), when the account was created and when you last logged "
                 "in (to find unused accounts).",
                 "Ihre Adresse, Ihr Passwort als gesalzener Hash (SCRAM: das Passwort lässt "
                 "sich daraus nicht gewinnen), wann das Konto angelegt wurde und wann Sie sich "
                 "zuletzt angemeldet haben (um unbenutzte Konten zu finden)."},
        .unit = {"account", "Konto"},
        .count = 1,
        .oldest = info.created,
        .keep = KEEP_INACTIVITY,
        .keep_secs = p.inactive_after,
        .until = retention_delete_at(&p, d->now, last_use, warned),
    };
    if ((rc = fn(ud, &a)) < 0 || !counts_as_warned(last_use, warned))
        return rc;
    struct data_fact w = {
        .kind = "inactivity-warning",
        .what = {"When you were warned that your unused account will be deleted; logging in "
                 "cancels the deletion and forgets the warning.",
                 "Wann Sie gewarnt wurden, dass Ihr unbenutztes Konto gelöscht wird; eine "
                 "Anmeldung hebt die Löschung auf und verwirft die Warnung."},
        .unit = {"warning", "Warnung"},
        .count = 1,
        .oldest = warned,
        .keep = KEEP_INACTIVITY,
        .keep_secs = p.inactive_after,
        .until = a.until,
    };
    return fn(ud, &w);
}

/* No XEP-0227 element exists for it: Taube's own, with the XEP-0082 time
 * of the warning; nothing if the account was not warned. */
static int retention_export(const struct data_ctx *d, const char *domain, const char *user,
                            struct buf *out)
{
    int64_t warned = 0;
    int rc = store_retention_get_sync(d->store, domain, user, &warned);
    if (rc < 0 || warned == 0)
        return rc == -ENOENT ? 0 : rc;
    char stamp[32];
    if (format_stamp(warned, stamp) < 0)
        return -EINVAL;
    return buf_printf(out, "<inactivity-warning xmlns='" NS_RETENTION "' stamp='%s'/>", stamp);
}

static int retention_erase(const struct data_ctx *d, const char *domain, const char *user)
{
    return store_retention_clear_sync(d->store, domain, user);
}

static const struct control_command retention_control[] = {
    {"retention-run", 0, 0, retention_ctl_run},
    /* TEST ONLY: shifts the server's clock (see modules/retention.h). */
    {"clock-offset", 1, 1, retention_ctl_clock_offset},
};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section retention_cfg_sections[] = {
    {"retention", "Unused accounts (promises P11, P12): an account without a login for "
                  "retention.inactive_after is deleted with all its data, after a warning "
                  "message sent retention.warn_before earlier. Accounts that never logged in "
                  "count from their creation. The server checks one minute after it starts "
                  "and then every 24 hours; `taubectl retention report` shows what is due."},
};

static const struct config_option retention_cfg_options[] = {
    /* retention */
    {.key = "retention.inactive_after",
     .type = CFG_DURATION,
     CFG_AS_INT(retention_inactive_after),
     .min = 182 * CFG_DAY,
     .max = 366 * CFG_DAY,
     .def = "365d",
     .help = "How long an account may go without a login before it is deleted: 6 to 12 "
             "months (182d to 366d)."},
    {.key = "retention.warn_before",
     .type = CFG_DURATION,
     CFG_AS_INT(retention_warn_before),
     .min = 1 * CFG_DAY,
     .max = 90 * CFG_DAY,
     .def = "30d",
     .help = "How long before the deletion the account is sent a warning message. An "
             "account is never deleted less than this long after its warning, even if the "
             "server was down when the warning was due."},
};

static const struct config_table retention_cfg = {
    .sections = retention_cfg_sections,
    .n_sections = sizeof retention_cfg_sections / sizeof retention_cfg_sections[0],
    .options = retention_cfg_options,
    .n_options = sizeof retention_cfg_options / sizeof retention_cfg_options[0],
};

const struct module mod_retention = {
    .name = "retention",
    .id = MOD_ID_retention,
    .config = &retention_cfg,
    .migrations = store_retention_migrations,
    .state_size = sizeof(struct retention_state),
    .control = retention_control,
    .n_control = sizeof retention_control / sizeof retention_control[0],
    .describe = retention_describe,
    .export_xml = retention_export,
    .erase = retention_erase,
    .sweep = retention_sweep,
};
