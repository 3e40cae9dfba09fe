/* struct server: everything one running taube owns, passed explicitly.
 *
 * Loop thread only. There are no mutable globals: every part reaches the
 * configuration, the store, the router and the module states through this.
 */
#ifndef TAUBE_SERVER_H
#define TAUBE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/hmap.h"

#define SERVER_MAX_LISTENERS 16
#define SERVER_MAX_MODULES 64

struct store;
struct store_queue;
struct tls_ctx;
struct router;
struct control;
struct hosts;
struct components;
struct listener;
struct listener_group;
struct c2s;
struct http;

struct server {
    uv_loop_t *loop;
    struct config *cfg;
    struct store *store;                 /* the loop's connection: reads (store.h) */
    struct store_queue *storeq;          /* writes: the writer thread (store/queue.h) */
    struct tls_ctx *tls;
    struct router *router;
    struct control *control;             /* the control socket (net/control.h), or NULL */
    struct hosts *hosts;                 /* domain -> local, component, remote (xmpp/hosts.h) */
    struct components *components;       /* XEP-0114 listeners and streams (net/component.h) */
    struct http *http;                   /* the HTTPS service (http/http.h), or NULL */
    void *pages;                         /* its pages' state (http/pages.h) */
    struct listener *listeners[SERVER_MAX_LISTENERS];
    size_t nlisteners;
    struct listener_group *conn_group;   /* the client listeners' limits.max_connections */
    struct hmap preauth_addrs;           /* unauthenticated streams per address (c2s_limits.c) */
    void *mod_state[SERVER_MAX_MODULES]; /* indexed like the registry */
    size_t modules_started;              /* modules whose init succeeded, in
                                          * registry order; only they are finied */
    struct c2s *c2s_all;                 /* every c2s stream, for ticks and shutdown */
    size_t c2s_count;
    size_t c2s_peak;                     /* most streams since the last trim */
    struct c2s *dispatching;             /* the client whose stanza is being handled,
                                          * else NULL (backpressure, c2s_session.c) */
    size_t queued_total;                 /* bytes queued on all c2s conns (conn_count_queue) */
    uv_timer_t tick;                     /* 1 s: time-outs, keepalives, rate refill */
    uv_signal_t sigint, sigterm;
    int64_t start_time;                  /* unix seconds */
    bool stopping;
    uint64_t next_id;                    /* ids for sessions and server stanzas */
    struct buf scratch;                  /* serialization scratch, reused */
    int64_t clock_offset;                /* TEST ONLY: seconds added to server_now()
                                          * (control command clock-offset) */
};

/* Is domain one of ours (server.domains)? Returns the configured spelling. */
const char *server_host(const struct server *srv, const char *domain);
/* Unix time in seconds (plus the test-only clock_offset). */
int64_t server_now(const struct server *srv);
/* From the once-a-second tick: gives freed heap back to the system once
 * the number of streams has fallen well below its peak. */
void server_trim_memory(struct server *srv);

#endif
