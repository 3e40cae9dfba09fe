/* Modules: every feature, and the whole life of its data.
 *
 * Each feature is a const struct module listed in module_list.h, in a
 * fixed order (no dlopen). The registry allocates its state and its
 * per-session slot from the sizes it declares; module_state and
 * session_ctx find them in O(1) by its id. A module names what it adds to
 * the protocol (iq handlers keyed by namespace, element, type and target;
 * disco features come from the same table, so nothing is advertised
 * without a handler) and its data contract (describe/export/erase/sweep),
 * which the account service's deletion, export, access reports and
 * retention loop over (modules_data_parts). It also
 * declares its options, schema steps, stream-element handlers, delivery
 * filter, account disco identities and features, and ad-hoc and control
 * commands; the registry merges them (docs/architecture.md, "Adding a
 * storage-backed feature").
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
struct disco_identity;    /* modules/caps.h */
struct adhoc_command;     /* modules/adhoc.h */
struct store_migration;   /* store/store.h */
struct store_schema;      /* store/store.h */

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

/* ---- descriptor v2: the parts below are declared in the descriptor and
 * merged by the registry (docs/architecture.md, "Adding a storage-backed
 * feature"). ---- */

/* A top-level stream element that is not a routed stanza (XEP-0077
 * registration before login, XEP-0198 stream management in a session). */
enum {
    STREAM_PREAUTH = 1,  /* on TLS, before SASL succeeded: any element */
    STREAM_SESSION = 2
}; /* after SASL: elements other than message,
                              * presence and iq (those are routed) */

struct stream_ctx {
    struct server *srv;
    void *state;             /* the module's state from init */
    void **slot;             /* the module's own per-stream pointer (NULL at first);
                              * the module frees it in stream_closed */
    const char *domain;      /* the server domain of the stream */
    const char *peer;        /* the client's address (per-address limits; never logged) */
    struct session *session; /* STREAM_SESSION: the bound session, or NULL
                              * before binding (where XEP-0198 resumes) */
    /* Writes st on this stream (does not consume it); may be kept in the
     * slot and called until stream_closed. */
    void (*send)(void *ud, const struct stanza *st);
    void *send_ud;
};

struct stream_handler {
    unsigned phases;        /* STREAM_PREAUTH | STREAM_SESSION */
    const char *ns;         /* of the top-level element */
    const char *name;       /* its name; NULL: any */
    /* A finer test of the element (e.g. an iq's payload), or NULL. */
    bool (*wants)(const struct xml_node *root);
    /* Answers now or later through c->send; st is borrowed. 0, or -errno:
     * the stream is closed with internal-server-error. */
    int (*handle)(const struct stream_ctx *c, const struct stanza *st);
};

/* A filter on the stanzas delivered to one session (carbons, CSI, SM
 * counting), run in registry order before the transport writes them. */
enum filter_result { FILTER_PASS = 0, FILTER_DROP = 1 };
struct filter_ctx {
    struct server *srv;
    void *state;        /* the module's state from init */
    struct session *s;  /* the session it is delivered to */
    /* The stanza (shared with other destinations: never modify it in
     * place). A filter that changes it sets st to its own changed copy,
     * whose one reference it hands over; the registry releases it. */
    struct stanza *st;
};

/* A control-socket request being run (net/control.c). A command that
 * can only answer after a store commit returns CONTROL_LATER and later
 * calls call->answer(call, rc, text) once, on the loop, with a copy of
 * *call: rc 0 answers "ok TEXT", -errno "error TEXT" (TEXT NULL: the
 * error's name). A connection gone meanwhile (its client gave up, the
 * server stops) is ignored. */
struct control_call {
    struct server *srv;
    uint64_t id; /* the connection's */
    void (*answer)(const struct control_call *call, int rc, const char *text);
};
#define CONTROL_LATER 1

/* A control-socket command (reply: one line, no LF). Fills reply and
 * returns 0, -errno with the reason in reply, or CONTROL_LATER (reply
 * unused). */
struct control_command {
    const char *name; /* "kick", "retention-run", ... */
    int min_args;
    int max_args;
    int (*run)(const struct control_call *call, const char *const *args, int nargs,
               struct buf *reply);
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
     * default namespace there). 0 or -errno.
     * erase: removes what it keeps for the account, on d->store only: for
     * a running server it runs on the store's writer thread (d->srv NULL,
     * d->after set), and what must follow on the loop (pushes, in-memory
     * copies) goes through data_after_add (account/account.h). */
    int (*describe)(const struct data_ctx *d, const char *domain, const char *user, data_fact_fn fn,
                    void *ud);
    int (*export_xml)(const struct data_ctx *d, const char *domain, const char *user,
                      struct buf *out);
    int (*erase)(const struct data_ctx *d, const char *domain, const char *user);
    int (*sweep)(const struct data_ctx *d);

    /* ---- v2 ---- */
    /* Its configuration sections and options (core/config.h), merged
     * into the one table after the core's, in registry order. */
    const struct config_table *config;
    /* Top-level stream elements it takes, and the stream features it
     * offers before authentication (after TLS); stream_closed frees its
     * per-stream slot (called once, only if the slot was set). */
    const struct stream_handler *stream;
    size_t n_stream;
    int (*preauth_features)(struct server *srv, void *state, struct buf *out);
    void (*stream_closed)(struct server *srv, void *state, void *slot);
    /* Filter on delivery to a session (NULL: none). */
    enum filter_result (*deliver_filter)(struct filter_ctx *c);
    /* What an account's bare JID answers to disco#info besides its
     * handlers' features: identities and features (NULL-terminated). */
    const struct disco_identity *account_identities;
    size_t n_account_identities;
    const char *const *account_features;
    /* Ad-hoc commands (XEP-0050, modules/adhoc.h) and control-socket
     * commands. */
    const struct adhoc_command *commands;
    size_t n_commands;
    const struct control_command *control;
    size_t n_control;
    /* Its schema steps: its store area's {0, NULL}-ended list
     * (store/store.h), each step with its version in the one sequence. */
    const struct store_migration *migrations;
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

/* ---- descriptor v2 loops ---- */

/* The per-stream slots of the modules' stream handlers (opaque; NULL
 * until a handler keeps something). */
struct module_slots;
/* Offers every module's pre-authentication stream features. 0 or -errno. */
int modules_preauth_features(struct server *srv, struct buf *out);
/* Hands st to the first module whose stream handler for phase takes it.
 * c is the stream's context without state and slot; *slots is made on
 * first use. 0 handled, -ENOENT nobody takes it, or the handler's -errno. */
int modules_stream_element(unsigned phase, const struct stream_ctx *c, struct module_slots **slots,
                           const struct stanza *st);
/* The stream is gone: every module's stream_closed, then frees *slots. */
void modules_stream_closed(struct server *srv, struct module_slots **slots);
/* Runs the delivery filters for s over st in registry order. Returns the
 * stanza to write, with a reference the caller releases (st itself, with
 * a new reference, unless a filter replaced it), or NULL: dropped. */
struct stanza *modules_filter_delivery(struct server *srv, struct session *s, struct stanza *st);
/* The same over a given list of modules and their states (unit tests). */
struct stanza *modules_filter_list(const struct module *const *mods, size_t n, void *const *states,
                                   struct server *srv, struct session *s, struct stanza *st);
/* Calls fn with each account disco identity (registry order). */
void modules_account_identities(void (*fn)(void *ud, const struct disco_identity *id), void *ud);
/* The control command called name, or NULL. */
const struct control_command *modules_control_command(const char *name);
/* The configuration schema: the core's options, then every module's in
 * registry order; main and taubectl load the file with it. */
void modules_config_schema(struct config_schema *s);
/* The store's schema steps: the store's own, then every module's; main
 * and taubectl open the store with it. */
void modules_store_schema(struct store_schema *s);

/* Answers rq with result (consumed; must be an iq result made with
 * iq_result_new) or with an error condition. */
void iq_reply(const struct iq_request *rq, struct stanza *result);
void iq_reply_error(const struct iq_request *rq, enum stanza_cond c, const char *text);

#endif
