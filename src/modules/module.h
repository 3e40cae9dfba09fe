/* Modules: every feature, and the whole life of its data.
 *
 * Each feature is a const struct module listed in module_list.h, in a
 * fixed order (no dlopen). A module names what it adds to the protocol (iq
 * handlers keyed by namespace, element, type and target; disco features
 * come from the same table, so nothing is advertised without a handler),
 * the sizes of its state and of its per-session slot (the registry
 * allocates both; module_state and session_ctx find them in O(1) by its
 * id), and its data contract (describe/export/erase/sweep), which the
 * account service's deletion, export, access reports and retention loop
 * over (modules_data_parts).
 *
 * Loop thread only, except the data contract, which runs wherever the
 * store is used (the server's loop or taubectl) and touches only the store.
 */
#ifndef TAUBE_MODULE_H
#define TAUBE_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "account/account.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/server.h"
#include "xmpp/jid.h"
#include "xmpp/router.h"
#include "xmpp/session.h"
#include "xmpp/stanza.h"

struct store;

/* Each module's id: its place in modules/module_list.h. */
enum module_id {
#define MODULE(name) MOD_ID_##name,
#include "modules/module_list.h"
#undef MODULE
    MOD_COUNT
};

enum { IQ_GET = 1, IQ_SET = 2 };
/* IQ_TO_SERVER, IQ_TO_ACCOUNT, struct hook_ctx and enum hook_result are
 * the router's (xmpp/router.h). */

struct iq_request {
    struct server *srv;
    void *state;                   /* the module's state from init */
    const struct stanza *st;       /* the request; borrowed */
    const struct xml_node *payload;/* its one child element */
    const struct jid *from;        /* full JID of the sender */
    const struct jid *to;          /* domain JID or the account's bare JID */
    int type;                      /* IQ_GET or IQ_SET */
    struct session *origin;        /* sender's local session, or NULL */
};

struct iq_handler {
    const char *ns;
    const char *name;
    unsigned types;    /* IQ_GET | IQ_SET */
    unsigned targets;  /* IQ_TO_SERVER | IQ_TO_ACCOUNT */
    /* The disco#info feature it advertises at each of its targets (the
     * server's disco#info for IQ_TO_SERVER, the account's for
     * IQ_TO_ACCOUNT), or NULL. */
    const char *feature;
    /* Must answer: iq_reply / iq_reply_error (or keep st and answer later). */
    void (*handle)(const struct iq_request *rq);
};

enum session_event {
    SESSION_BOUND,       /* resource bound, registered with the router */
    SESSION_AVAILABLE,   /* initial presence sent (presence module) */
    SESSION_UNAVAILABLE, /* unavailable presence sent, session stays */
    SESSION_CLOSING,     /* about to be unregistered; still routable */
};

struct module {
    const char *name;
    enum module_id id;   /* MOD_ID_<name>: checked at start-up */
    /* Bytes of state the registry allocates (zeroed) before init and frees
     * after fini; 0: none (init gets NULL). */
    size_t state_size;
    /* Bytes of the module's slot in every session (session_ctx), zeroed
     * when the session is made; 0: none. */
    size_t session_size;
    const struct iq_handler *iq;
    size_t n_iq;
    const char *const *features; /* more server disco features; NULL-terminated or NULL */
    /* state: state_size zeroed bytes. fini frees what state points to,
     * not state itself. */
    int (*init)(struct server *srv, void *state);
    void (*fini)(struct server *srv, void *state);
    /* Routing hooks (NULL: not interested). outbound: a stanza a local
     * session sent, before anything else. inbound: a stanza for a local
     * account (bare or full JID), before delivery. undeliverable: a message
     * for a local account with no available resource (offline storage). */
    enum hook_result (*outbound)(struct hook_ctx *c);
    enum hook_result (*inbound)(struct hook_ctx *c);
    enum hook_result (*undeliverable)(struct hook_ctx *c);
    void (*session_event)(struct server *srv, void *state, struct session *s,
                          enum session_event ev);
    /* Appends elements to the stream features offered after binding is
     * possible (e.g. XEP-0115 caps). 0 or -errno. */
    int (*stream_features)(struct server *srv, void *state, struct buf *out);
    /* Data contract; NULL for modules that store nothing about users. */
    /* describe: calls fn once per kind of data it keeps for the account
     * (nothing if it keeps none); export_xml: appends the account's data
     * as children of the XEP-0227 <user/> element (urn:xmpp:pie:0 is the
     * default namespace there). 0 or -errno. */
    int (*describe)(const struct data_ctx *d, const char *domain, const char *user,
                    data_fact_fn fn, void *ud);
    int (*export_xml)(const struct data_ctx *d, const char *domain, const char *user, struct buf *out);
    int (*erase)(const struct data_ctx *d, const char *domain, const char *user);
    int (*sweep)(const struct data_ctx *d);
};

/* The registry (registry.c). */
extern const struct module *const taube_modules[];
extern const size_t taube_nmodules;

int modules_init(struct server *srv);
void modules_fini(struct server *srv);
/* Finds and runs the handler for an iq get/set. Returns 0 if handled,
 * -ENOENT if no module handles it (the router answers service-unavailable). */
int modules_dispatch_iq(struct server *srv, const struct stanza *st, const struct jid *from,
                        const struct jid *to, unsigned target, struct session *origin);
/* The modules' data contracts, for the account service's loops
 * (account_delete, account_sweep, ...): put it in data_ctx.parts. */
extern const struct data_parts modules_data_parts;
/* A data_ctx for the running server, now. */
struct data_ctx modules_data_ctx(struct server *srv);

/* A module's state (state_size bytes), in O(1). */
static inline void *module_state(const struct server *srv, const struct module *m)
{
    return srv->mod_state[m->id];
}
/* A module's slot in session s (session_size bytes), in O(1); NULL if it
 * declared none. */
static inline void *session_ctx(const struct session *s, const struct module *m)
{
    return session_slot(s, m->id);
}

/* Runs one kind of routing hook over the registry. */
enum hook_result modules_run_hooks(enum hook_kind kind, struct hook_ctx *c);
void modules_session_event(struct server *srv, struct session *s, enum session_event ev);
int modules_stream_features(struct server *srv, struct buf *out);

/* Calls fn with each server disco feature (from handlers and lists). */
void modules_features(void (*fn)(void *ud, const char *feature), void *ud);
/* Calls fn with each feature handled at an account's bare JID (from the
 * handlers with target IQ_TO_ACCOUNT); may repeat one. */
void modules_account_features(void (*fn)(void *ud, const char *feature), void *ud);

/* Answers rq with result (consumed; must be an iq result made with
 * iq_result_new) or with an error condition. */
void iq_reply(const struct iq_request *rq, struct stanza *result);
void iq_reply_error(const struct iq_request *rq, enum stanza_cond c, const char *text);

#endif
