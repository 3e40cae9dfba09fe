/* The account service: what happens to a local account as a whole.
 *
 * exists, kick, suspend, unsuspend and delete, and the data-contract
 * loops over every part that keeps data about accounts (erase and sweep;
 * describe and export follow the same pattern). The control socket
 * (net/control_commands.c), the admin ad-hoc commands, XEP-0077
 * self-removal, retention, taubectl and the router (through
 * router_hooks.account_exists) all come here, so each rule is written
 * once: a suspension is stored before the streams end, a deletion ends
 * the streams before the data goes.
 *
 * Layer (docs/architecture.md, "Layers"): above store/ (the account rows)
 * and xmpp/ (it ends streams through the router), below modules/ and
 * net/, which call it. It knows no module: the registry hands it the
 * modules' data contracts as struct data_parts (modules_data_parts), in
 * data_ctx.
 *
 * Threads: the functions taking a struct server run on the loop thread;
 * those taking only a data_ctx without srv (taubectl) wherever the store
 * is used. domain and user are prepared (nameprep'd) by the caller.
 */
#ifndef TAUBE_ACCOUNT_H
#define TAUBE_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "xmpp/stanza.h"

struct server;
struct store;
struct data_parts;

/* One kind of data kept about an account, as describe reports it for
 * the access report (promise P20): facts, not prose; the report's text
 * is generated from them (access_report.c) in every language. */
enum data_lang { DATA_EN, DATA_DE, DATA_NLANG };

/* How long a kind of data is kept. */
enum data_keep {
    KEEP_WHILE_ACCOUNT,   /* until the user removes it, or the account goes */
    KEEP_UNTIL_REPLACED,  /* until the next one replaces it, or the account goes */
    KEEP_UNTIL_DELIVERED, /* until delivered to the user (offline messages) */
    KEEP_MAX_AGE,         /* at most keep_secs after it was made */
    KEEP_INACTIVITY,      /* the account itself: until deleted, or keep_secs unused */
};

struct data_fact {
    const char *kind;              /* stable key, e.g. "roster" */
    const char *what[DATA_NLANG];  /* what is stored, one sentence per language */
    const char *unit[DATA_NLANG];  /* what count counts ("contacts") */
    const char *detail;            /* a stored value shown as is, or NULL */
    uint64_t count;                /* items */
    uint64_t bytes;                /* 0: not measured */
    int64_t oldest;                /* unix time of the oldest item; 0: not known */
    enum data_keep keep;
    int64_t keep_secs;             /* KEEP_MAX_AGE, KEEP_INACTIVITY */
    int64_t until;                 /* the latest deletion time if known (unix), else 0 */
};
/* Receives one fact; returns 0 or -errno (which describe passes on). */
typedef int (*data_fact_fn)(void *ud, const struct data_fact *f);

/* What must follow an erase on the loop once it is committed (roster
 * pushes to contacts, in-memory mirrors): see data_after_add. */
struct data_after;

/* What the data contract functions get: no server needed, so taubectl can
 * call them with only the store open. */
struct data_ctx {
    struct store *store;
    const struct config *cfg;
    int64_t now;
    struct server *srv;             /* the running server, or NULL (taubectl) */
    const struct data_parts *parts; /* whose data: modules_data_parts */
    /* Set while erase runs on the store's writer thread for a running
     * server (srv is NULL there: nothing of the server may be touched);
     * NULL otherwise. */
    struct data_after *after;
};

/* For an erase on the writer thread (d->after set): fn(srv, arg) runs on
 * the loop after the erase is committed; if it is not (rolled back, or
 * the server stops first) fn(NULL, arg) runs, to free arg. 0, or -ENOMEM
 * (fn(NULL, arg) has run; the erase should fail, and is undone). */
int data_after_add(const struct data_ctx *d, void (*fn)(struct server *srv, void *arg), void *arg);

/* One part's data contract (a module's; modules/module.h says what each
 * function promises). A NULL function: the part keeps nothing of that. */
struct data_contract {
    const char *name;
    int (*describe)(const struct data_ctx *d, const char *domain, const char *user, data_fact_fn fn,
                    void *ud);
    int (*export_xml)(const struct data_ctx *d, const char *domain, const char *user,
                      struct buf *out);
    int (*erase)(const struct data_ctx *d, const char *domain, const char *user);
    int (*sweep)(const struct data_ctx *d);
};

/* The parts that keep data about accounts, in the order their contracts
 * run (the registry's). */
struct data_parts {
    size_t n;
    /* Part i's contract, filled into *out. */
    void (*get)(size_t i, struct data_contract *out);
};

/* 1 if user@domain exists, 0 if not, or -errno. */
int account_exists(const struct data_ctx *d, const char *domain, const char *user);
/* The same for the router (router_hooks.account_exists). */
int account_exists_live(struct server *srv, const char *domain, const char *user);

/* Ends every stream of the account — bound, or still authenticating —
 * with the stream error cond and text (NULL: none). How many. */
size_t account_kick(struct server *srv, const char *domain, const char *user, enum stream_cond cond,
                    const char *text);
/* What a live action reports, on the loop after its commit: 0 or -errno.
 * It may run before the function that started it returns (a store queue
 * that runs requests inline, at shutdown). */
typedef void (*account_done_fn)(void *ud, int rc);

/* Marks the account suspended with reason (kept for `user show`) and,
 * once that is committed, ends its streams with <policy-violation/>
 * "Account suspended". Its data is kept; logins fail with
 * <account-disabled/>. Returns 0 (done will be called with 0, -ENOENT,
 * -EINVAL: the reason is over STORE_REASON_MAX bytes or not UTF-8, or
 * -errno) or -errno (done is not called). */
int account_suspend(struct server *srv, const char *domain, const char *user, const char *reason,
                    account_done_fn done, void *ud);
/* Lifts a suspension, the same way: done gets 0, -ENOENT or -errno. */
int account_unsuspend(struct server *srv, const char *domain, const char *user,
                      account_done_fn done, void *ud);

/* Deletes an account and everything every part keeps for it (promise
 * P18) on d->store, at once: each part's erase (which also removes the
 * user from other users' data, e.g. rosters), then the account row,
 * whose foreign keys cascade. For taubectl (no server). 0, -ENOENT (no
 * such account) or -errno. */
int account_delete(const struct data_ctx *d, const char *domain, const char *user);
/* The same in a running server (d->srv and its store queue): the
 * account's streams end first with <not-authorized/> "Account deleted"
 * (so their sessions close while the roster still exists, and roster
 * removals reach the contacts online); then the erase is one request to
 * the writer thread, after every write queued before it, in one
 * transaction (all or nothing), and what the parts deferred
 * (data_after_add) follows on the loop before done. Returns 0 (done will
 * get 0 or -errno), -ENOENT (no such account) or -errno (done is not
 * called). */
int account_delete_live(const struct data_ctx *d, const char *domain, const char *user,
                        account_done_fn done, void *ud);

/* Every part's describe for the account, in order (promise P20). 0,
 * -ENOENT (no such account) or the first -errno. */
int account_describe(const struct data_ctx *d, const char *domain, const char *user,
                     data_fact_fn fn, void *ud);
/* Every part's export_xml for the account (promise P19), in order, each
 * part's data on a line of its own: the children of the XEP-0227 <user/>
 * element, which the caller writes (modules/pie.c). 0 or -errno (-ENOBUFS:
 * out's limit, not logged); out may hold a part of it on failure. */
int account_export(const struct data_ctx *d, const char *domain, const char *user, struct buf *out);

/* Runs every part's sweep but the one named except (NULL: none) — data
 * past its retention period, at d->now; a failing part does not stop the
 * others. 0 or the first -errno. */
int account_sweep(const struct data_ctx *d, const char *except);

#endif
