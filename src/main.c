/* taube: arguments, configuration, start and stop.
 *
 * Start-up order: config → log level → certificates → store → router →
 * hosts → TLS → modules → control socket → listeners → component
 * listeners → loop. A stanza then flows
 * net/conn.c (bytes, TLS) → xml/stream.c (one tree per stanza) →
 * net/c2s*.c (stream state machine, stamping) → xmpp/router.c (who is it
 * for?) → a module's handler or another session's deliver op.
 * SIGINT/SIGTERM: every stream gets <system-shutdown/>, then we exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "core/config.h"
#include "core/log.h"
#include "core/server.h"
#include "core/version.h"
#include "modules/module.h"
#include "net/c2s.h"
#include "net/component.h"
#include "net/conn.h"
#include "net/control.h"
#include "http/http.h"
#include "http/pages.h"
#include "http/policy.h"
#include "store/queue.h"
#include "store/store.h"
#include "xmpp/hosts.h"
#include "xmpp/router.h"

#define SHUTDOWN_GRACE_MS 3000

struct cert_paths {
    char crt[4096];
    char key[4096];
};

static void usage(FILE *f)
{
    fprintf(f, "usage: taube -c FILE [--check]\n"
               "  -c, --config FILE  the configuration (made by `taubectl init`)\n"
               "      --check        validate the configuration and certificates, then exit\n"
               "      --version      print the version\n");
}

static int cert_paths(const struct config *cfg, const char *domain, struct cert_paths *p)
{
    int a = snprintf(p->crt, sizeof p->crt, "%s/%s.crt", cfg->certs_dir, domain);
    int b = snprintf(p->key, sizeof p->key, "%s/%s.key", cfg->certs_dir, domain);
    return a < 0 || b < 0 || (size_t)a >= sizeof p->crt || (size_t)b >= sizeof p->key ? -1 : 0;
}

/* Every domain needs certs_dir/DOMAIN.crt and .key that load and match. */
static int check_certs(const struct config *cfg)
{
    int bad = 0;
    for (size_t i = 0; i < cfg->domains.n; i++) {
        struct cert_paths p;
        char *err = NULL;
        if (cert_paths(cfg, cfg->domains.items[i], &p) < 0 ||
            tls_check_cert(cfg->domains.items[i], p.crt, p.key, &err) < 0) {
            fprintf(stderr, "taube: certificate for %s (%s): %s\n", cfg->domains.items[i], p.crt,
                    err ? err : "path too long");
            bad = 1;
        }
        free(err);
    }
    return bad ? -1 : 0;
}

/* The TLS context of every domain, with the configured ciphers. */
static struct tls_ctx *make_tls(const struct config *cfg)
{
    size_t n = cfg->domains.n;
    struct tls_cert *certs = calloc(n, sizeof *certs);
    struct cert_paths *paths = calloc(n, sizeof *paths);
    int rc = certs && paths ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = cert_paths(cfg, cfg->domains.items[i], &paths[i]);
        certs[i] = (struct tls_cert){cfg->domains.items[i], paths[i].crt, paths[i].key};
    }
    char *err = NULL;
    struct tls_ctx *tls = NULL;
    if (rc == 0 && !(tls = tls_ctx_new(certs, n, cfg->tls_ciphers, cfg->tls_ciphersuites, &err)))
        fprintf(stderr, "taube: %s\n", err ? err : "tls: cannot create the context");
    free(err);
    free(certs);
    free(paths);
    return tls;
}

/* --check: everything start-up loads before it opens ports, without
 * changing anything: certificates, the TLS context, the store. */
static int check_startup(const struct config *cfg)
{
    if (check_certs(cfg) < 0)
        return -1;
    struct tls_ctx *tls = make_tls(cfg);
    if (!tls)
        return -1;
    tls_ctx_free(tls);
    char *err = NULL;
    struct policy *policy = NULL; /* the operator's policy files, if any */
    if (cfg->https_port && policy_new(&policy, cfg, &err) < 0) {
        fprintf(stderr, "taube: %s\n", err ? err : "cannot make the policy page");
        free(err);
        return -1;
    }
    policy_free(policy);
    struct store_schema schema;
    modules_store_schema(&schema);
    int rc = store_check(cfg->store_path, &schema, &err);
    if (rc < 0)
        fprintf(stderr, "taube: store: %s\n", err ? err : strerror(-rc));
    free(err);
    return rc < 0 ? -1 : 0;
}

static int listen_one(struct server *srv, const char *addr, int port, bool direct_tls)
{
    if (port == 0)
        return 0;
    if (srv->nlisteners == SERVER_MAX_LISTENERS) {
        fprintf(stderr, "taube: too many listeners\n");
        return -1;
    }
    struct listener_opts o = {
        .addr = addr,
        .port = port,
        .direct_tls = direct_tls,
        .tls = srv->tls,
        .send_queue_max = srv->cfg->send_queue_max,
        .max_connections = srv->cfg->max_connections,
        .group = srv->conn_group,
    };
    char *err = NULL;
    int rc = listener_start(&srv->listeners[srv->nlisteners], srv->loop, &o, c2s_accept, srv, &err);
    if (rc < 0) {
        fprintf(stderr, "taube: cannot listen on [%s]:%d: %s\n", addr, port,
                err ? err : uv_strerror(rc));
        free(err);
        return rc;
    }
    srv->nlisteners++;
    return 0;
}

static int start_listeners(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    /* limits.max_connections counts every client port together */
    if (!(srv->conn_group = listener_group_new(cfg->max_connections)))
        return -1;
    for (size_t i = 0; i < cfg->listen.n; i++) {
        if (listen_one(srv, cfg->listen.items[i], cfg->c2s_port, false) < 0 ||
            listen_one(srv, cfg->listen.items[i], cfg->c2s_tls_port, true) < 0)
            return -1;
    }
    return 0;
}

/* The hosts table: server.domains as local hosts, component.secrets as
 * component hosts (the config has checked that they do not overlap). */
static int make_hosts(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    if (!(srv->hosts = hosts_new()))
        return -1;
    for (size_t i = 0; i < cfg->domains.n; i++)
        if (hosts_add(srv->hosts, cfg->domains.items[i], HOST_LOCAL, NULL) < 0)
            return -1;
    for (size_t i = 0; i < cfg->component_secrets.n; i++) {
        /* "DOMAIN SECRET": a domain has no space */
        const char *item = cfg->component_secrets.items[i], *sp = strchr(item, ' ');
        char *domain = sp ? strndup(item, (size_t)(sp - item)) : NULL;
        int rc = domain ? hosts_add(srv->hosts, domain, HOST_COMPONENT, sp + 1) : -1;
        free(domain);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int start_components(struct server *srv)
{
    char *err = NULL;
    int rc = component_start(srv, &err);
    if (rc < 0) {
        fprintf(stderr, "taube: cannot listen on the component port %d: %s\n",
                srv->cfg->component_port, err ? err : uv_strerror(rc));
        free(err);
    }
    return rc;
}

/* The HTTPS service and its pages (http/http.h, http/pages.h). Started
 * before the client listeners: once a client can connect, the invite
 * pages a registration refers to are served too. */
static int start_http(struct server *srv)
{
    if (srv->cfg->https_port == 0)
        return 0;
    char *err = NULL;
    struct http_route routes[HTTP_MAX_ROUTES];
    size_t n = 0;
    int rc = pages_start(srv, routes, HTTP_MAX_ROUTES, &n, &err);
    if (rc == 0)
        rc = http_start(&srv->http, srv, routes, n, &err);
    if (rc < 0) {
        fprintf(stderr, "taube: %s\n", err ? err : strerror(-rc));
        free(err);
    }
    return rc;
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void close_walk(uv_handle_t *h, void *ud)
{
    (void)ud;
    close_handle(h);
}

static void on_tick(uv_timer_t *t)
{
    struct server *srv = t->data;
    c2s_tick(srv);
    component_tick(srv);
    server_trim_memory(srv);
    if (!srv->stopping)
        return;
    if (srv->c2s_count > 0 && (int64_t)uv_now(srv->loop) < srv->start_time)
        return; /* start_time holds the shutdown deadline while stopping */
    close_handle((uv_handle_t *)&srv->tick);
    close_handle((uv_handle_t *)&srv->sigint);
    close_handle((uv_handle_t *)&srv->sigterm);
}

static void server_stop(struct server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    for (size_t i = 0; i < srv->nlisteners; i++)
        listener_stop(srv->listeners[i]);
    srv->nlisteners = 0;
    c2s_close_all(srv, STREAM_SYSTEM_SHUTDOWN);
    component_stop(srv);
    http_stop(srv->http);
    srv->start_time = (int64_t)uv_now(srv->loop) + SHUTDOWN_GRACE_MS;
    uv_timer_start(&srv->tick, on_tick, 50, 50);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    server_stop(s->data);
}

/* The socket taubectl talks to (net/control.h). Its handles do not keep
 * the loop alive, so it serves until the loop ends. */
static int start_control(struct server *srv, struct control **control)
{
    char *err = NULL;
    int rc = control_start(control, srv, srv->cfg->control_socket, &err);
    if (rc < 0) {
        fprintf(stderr, "taube: %s\n", err ? err : uv_strerror(rc));
        free(err);
    }
    return rc;
}

static int run(struct server *srv, struct control **control)
{
    /* The signal handlers go in before any port listens: a SIGTERM sent
     * as soon as a client can connect must stop the server cleanly, not
     * kill it (it is handled once the loop runs). */
    uv_timer_init(srv->loop, &srv->tick);
    srv->tick.data = srv;
    uv_signal_init(srv->loop, &srv->sigint);
    uv_signal_init(srv->loop, &srv->sigterm);
    srv->sigint.data = srv->sigterm.data = srv;
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    srv->router = router_new(srv);
    if (!srv->router || router_add_transport(srv->router, &c2s_transport) < 0 ||
        make_hosts(srv) < 0 || !(srv->tls = make_tls(srv->cfg)) || modules_init(srv) < 0 ||
        start_control(srv, control) < 0 || start_http(srv) < 0 || start_listeners(srv) < 0 ||
        start_components(srv) < 0)
        return 1;
    /* Every write goes through the store queue from now on (docs/
     * architecture.md, "Storage"): one made on the loop's connection
     * would be a bug, and fails instead of taking the loop's time. */
    if (store_read_only(srv->store) < 0)
        return 1;
    uv_timer_start(&srv->tick, on_tick, 1000, 1000);
    srv->start_time = server_now(srv);
    fprintf(stderr,
            "taube %s: ready, %zu domain(s), client port %d, direct TLS port %d, HTTPS port %d\n",
            TAUBE_VERSION, srv->cfg->domains.n, srv->cfg->c2s_port, srv->cfg->c2s_tls_port,
            srv->cfg->https_port);
    uv_run(srv->loop, UV_RUN_DEFAULT);
    return 0;
}

static void cleanup(struct server *srv, struct control *control)
{
    for (size_t i = 0; i < srv->nlisteners; i++)
        listener_stop(srv->listeners[i]);
    component_stop(srv); /* before the walk too: its listeners free in their callbacks */
    /* lws' second destroy call, with the loop run after it (STACK-NOTES),
     * before the walk closes what is left: lws' handles are its own. */
    http_free(srv->http);
    srv->http = NULL;
    control_stop(control); /* before the walk: its handles close through its callbacks */
    store_queue_detach(srv->storeq); /* its completions wait for store_queue_stop */
    uv_walk(srv->loop, close_walk, NULL);
    uv_run(srv->loop, UV_RUN_DEFAULT);
    /* The closing streams' last writes (logout times) are queued: the
     * writer commits everything and exits; the completions run here,
     * while the modules and the router they look things up in exist. */
    store_queue_stop(srv->storeq);
    listener_group_free(srv->conn_group); /* its listeners are stopped */
    component_free(srv);
    pages_free(srv);
    modules_fini(srv);
    router_free(srv->router);
    hosts_free(srv->hosts);
    tls_ctx_free(srv->tls);
    store_queue_free(srv->storeq);
    store_close(srv->store);
    buf_free(&srv->scratch);
    uv_loop_close(srv->loop);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool check = false;
    for (int o; (o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1;) {
        switch (o) {
        case 'c': path = optarg; break;
        case 'k': check = true; break;
        case 'V': printf("taube %s\n", TAUBE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    struct config cfg;
    struct config_schema schema; /* the core's options and every module's */
    modules_config_schema(&schema);
    char *err = NULL;
    if (config_load(&cfg, &schema, path, &err) < 0) {
        fprintf(stderr, "taube: %s\n", err ? err : "cannot load the configuration");
        free(err);
        return 1;
    }
    log_set_level((enum log_level)cfg.log_level);
    config_warn_unserved(&cfg, stderr);
    if (check) {
        int bad = check_startup(&cfg);
        if (!bad)
            printf("taube: %s is valid\n", cfg.path);
        config_free(&cfg);
        return bad ? 1 : 0;
    }
    if (check_certs(&cfg) < 0) {
        config_free(&cfg);
        return 1;
    }

    uv_loop_t loop;
    struct server srv = {.loop = &loop, .cfg = &cfg};
    buf_init(&srv.scratch, 0);
    uv_loop_init(&loop);
    int rc = 1;
    struct control *control = NULL;
    struct store_schema store_schema; /* the store's steps and every module's */
    modules_store_schema(&store_schema);
    store_global_init();
    if (store_open(&srv.store, cfg.store_path, &store_schema, &err) < 0 ||
        store_queue_open(&srv.storeq, &loop, &store_sqlite_ops, cfg.store_path, &store_schema,
                         &err) < 0 ||
        store_queue_start(srv.storeq) < 0) {
        fprintf(stderr, "taube: store: %s\n", err ? err : "cannot open the database");
        free(err);
    } else {
        rc = run(&srv, &control);
    }
    cleanup(&srv, control);
    config_free(&cfg);
    return rc;
}
