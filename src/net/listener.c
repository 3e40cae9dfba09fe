/* Listeners: our own non-blocking listening socket watched by a uv_poll.
 *
 * Why not uv_listen: libuv accepts in a loop until EAGAIN and answers
 * EMFILE by accepting and dropping the pending connections. We want
 * OpenSMTPD's behaviour instead: a cap on accepts per loop turn, and on
 * EMFILE/ENFILE (or at max_connections) we stop watching the socket and
 * leave clients waiting in the backlog until a conn closes or, after fd
 * exhaustion, a back-off timer fires.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "net/net_internal.h"

#define LISTEN_BACKLOG 511
#define ACCEPTS_PER_TURN 32
#define EMFILE_BACKOFF_MS 1000

/* One budget for several listeners: limits.max_connections is per server. */
struct listener_group {
    unsigned max;
    struct listener *members; /* linked by group_next; stopped ones leave */
};

struct listener {
    struct net_ctx *ctx;
    struct listener_group *group;
    struct listener *group_next;
    uv_poll_t poll;
    uv_timer_t retry; /* EMFILE back-off */
    int fd;
    int port;
    listener_accept_cb cb;
    void *ud;
    struct tls_ctx *tls;
    bool direct_tls;
    size_t send_queue_max;
    unsigned max_connections;
    bool polling, backoff, stopped;
    int handles_open;
};

__attribute__((format(printf, 2, 3))) static void set_err(char **err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        *err = NULL;
    va_end(ap);
}

static void on_readable(uv_poll_t *h, int status, int events);

static bool listener_full(const struct listener *l)
{
    if (l->group)
        return listener_group_count(l->group) >= l->group->max;
    return l->max_connections && l->ctx->nconns >= l->max_connections;
}

/* Watches the socket exactly when accepting is allowed. */
static void listener_update(struct listener *l)
{
    bool full = listener_full(l);
    bool want = !l->stopped && !l->backoff && !full;
    if (want == l->polling)
        return;
    l->polling = want;
    if (want)
        uv_poll_start(&l->poll, UV_READABLE, on_readable);
    else
        uv_poll_stop(&l->poll);
}

static void on_retry(uv_timer_t *t)
{
    struct listener *l = t->data;
    l->backoff = false;
    listener_update(l);
}

/* A conn was accepted or freed: every member of the group may change. */
static void group_update(struct listener *l)
{
    if (!l->group) {
        listener_update(l);
        return;
    }
    for (struct listener *m = l->group->members; m; m = m->group_next)
        listener_update(m);
}

void listener_conn_gone(struct listener *l)
{
    /* A closed conn freed a descriptor: worth trying again right away. */
    if (l->backoff) {
        l->backoff = false;
        uv_timer_stop(&l->retry);
    }
    group_update(l);
}

struct listener_group *listener_group_new(unsigned max_connections)
{
    struct listener_group *g = calloc(1, sizeof *g);
    if (g)
        g->max = max_connections;
    return g;
}

void listener_group_free(struct listener_group *g) { free(g); }

/* The members' own counts: conn.c keeps them exact (failed set-ups too). */
unsigned listener_group_count(const struct listener_group *g)
{
    unsigned n = 0;
    for (const struct listener *m = g->members; m; m = m->group_next)
        n += m->ctx->nconns;
    return n;
}

static void group_leave(struct listener *l)
{
    if (!l->group)
        return;
    struct listener **p = &l->group->members;
    while (*p && *p != l)
        p = &(*p)->group_next;
    if (*p)
        *p = l->group_next;
    l->group = NULL;
}

static void accept_failed(struct listener *l, int e)
{
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        log_warn("listener %d: cannot accept (%s); pausing", l->port, strerror(e));
        l->backoff = true;
        uv_timer_start(&l->retry, on_retry, EMFILE_BACKOFF_MS, 0);
        listener_update(l);
        return;
    }
    log_warn("listener %d: accept: %s", l->port, strerror(e));
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    struct listener *l = h->data;
    if (status < 0) {
        log_warn("listener %d: poll: %s", l->port, uv_strerror(status));
        return;
    }
    /* Level-triggered: what is left after the cap comes back next turn. */
    for (int i = 0; i < ACCEPTS_PER_TURN && l->polling; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                accept_failed(l, errno);
            return;
        }
        struct conn *c = conn_from_fd(l->ctx, fd, (struct sockaddr *)&ss, l->tls, l->direct_tls,
                                      l->send_queue_max);
        if (c)
            l->cb(l->ud, c);
        if (l->stopped)
            return;
        group_update(l);
    }
}

/* Creates, binds and listens; returns the fd or a negative errno. */
static int open_socket(const struct sockaddr *sa, socklen_t salen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* IPV6_V6ONLY lets "::" and "0.0.0.0" be bound side by side. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (sa->sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, sa, salen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int parse_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(addr, port, (struct sockaddr_in *)ss) == 0) {
        *len = sizeof(struct sockaddr_in);
        return 0;
    }
    if (uv_ip6_addr(addr, port, (struct sockaddr_in6 *)ss) == 0) {
        *len = sizeof(struct sockaddr_in6);
        return 0;
    }
    return UV_EINVAL;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss); /* the analyzer does not know getsockname fills it */
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static struct listener *listener_new(uv_loop_t *loop, int fd, const struct listener_opts *o)
{
    struct listener *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->ctx = net_ctx_new(loop);
    if (!l->ctx || uv_poll_init_socket(loop, &l->poll, fd) < 0) {
        if (l->ctx)
            net_ctx_unref(l->ctx);
        free(l);
        return NULL;
    }
    uv_timer_init(loop, &l->retry);
    l->poll.data = l->retry.data = l;
    l->ctx->listener = l;
    l->fd = fd;
    l->tls = o->tls ? tls_ctx_ref(o->tls) : NULL;
    l->direct_tls = o->direct_tls;
    l->send_queue_max = o->send_queue_max;
    l->max_connections = o->max_connections;
    if ((l->group = o->group)) {
        l->group_next = l->group->members;
        l->group->members = l;
    }
    return l;
}

int listener_start(struct listener **out, uv_loop_t *loop, const struct listener_opts *o,
                   listener_accept_cb cb, void *ud, char **err)
{
    struct sockaddr_storage ss;
    socklen_t salen;
    if (err)
        *err = NULL;
    *out = NULL;
    if (!o->addr || o->port < 0 || o->port > 65535 || parse_addr(o->addr, o->port, &ss, &salen)) {
        set_err(err, "listen: invalid address or port");
        return UV_EINVAL;
    }
    if (o->direct_tls && !o->tls) {
        set_err(err, "listen %s:%d: direct TLS without certificates", o->addr, o->port);
        return UV_EINVAL;
    }
    int fd = open_socket((struct sockaddr *)&ss, salen);
    if (fd < 0) {
        set_err(err, "listen %s:%d: %s", o->addr, o->port, strerror(-fd));
        return fd;
    }
    struct listener *l = listener_new(loop, fd, o);
    if (!l) {
        close(fd);
        set_err(err, "listen %s:%d: out of memory", o->addr, o->port);
        return UV_ENOMEM;
    }
    l->port = bound_port(fd);
    l->cb = cb;
    l->ud = ud;
    listener_update(l);
    *out = l;
    return 0;
}

int listener_port(const struct listener *l) { return l->port; }

static void on_listener_closed(uv_handle_t *h)
{
    struct listener *l = h->data;
    if (--l->handles_open > 0)
        return;
    close(l->fd); /* uv_poll does not own it */
    tls_ctx_free(l->tls);
    free(l);
}

void listener_stop(struct listener *l)
{
    if (!l || l->stopped)
        return;
    l->stopped = true;
    group_leave(l);
    l->ctx->listener = NULL;
    net_ctx_unref(l->ctx);
    net_close_handle(&l->handles_open, (uv_handle_t *)&l->poll, on_listener_closed);
    net_close_handle(&l->handles_open, (uv_handle_t *)&l->retry, on_listener_closed);
}
