/* The control socket, server side (contract in control.h).
 *
 * A uv_pipe listening on server.control_socket. Each connection: check the
 * peer's uid (SO_PEERCRED), read one line of at most CONTROL_LINE_MAX
 * bytes, run the command from control_commands[] on the loop, write one
 * reply line, close. A connection that sends nothing is closed after
 * CONTROL_IDLE_MS; at most CONTROL_MAX_CONNS are open at once.
 *
 * The handles are unref'ed: the control socket never keeps the loop (and
 * so a stopping server) alive. control_stop must run before the loop's
 * final uv_walk, so that every handle closes through our callbacks.
 */
#include "net/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "core/log.h"
#include "core/server.h"

#define CONTROL_LINE_MAX 4096 /* bytes of a request line, LF included */
#define CONTROL_IDLE_MS 5000  /* a silent client is dropped after this */
#define CONTROL_MAX_CONNS 16
/* Pending connections the kernel holds before we accept them. Well above
 * CONTROL_MAX_CONNS: a burst of clients that connect and leave must not
 * fill it, or a Unix-socket connect() fails at once with EAGAIN for the
 * next caller (non-blocking clients) instead of getting "busy". */
#define CONTROL_BACKLOG 128
#define CONTROL_REPLY_MAX (1u << 20)

struct control_conn;

struct control {
    struct server *srv;
    uv_pipe_t listener;
    char *path;
    struct control_conn *conns; /* open connections, for control_stop */
    size_t nconns;
    uint64_t next_id;
    bool listening; /* listener handle initialised */
    bool bound;     /* the socket file is ours to unlink */
    int handles;    /* handles not yet closed (listener + conns) */
    bool stopping;
};

struct control_conn {
    struct control *ctl;
    uv_pipe_t pipe;
    uv_timer_t timer;
    uv_write_t wreq;
    char in[CONTROL_LINE_MAX];
    size_t in_len;
    struct buf out;
    int open_handles; /* pipe, timer: freed when both closed */
    bool done;        /* a request was read: ignore further input */
    bool waiting;     /* its command answers later (CONTROL_LATER) */
    uint64_t id;      /* for a later answer (struct control_call) */
    struct control_conn *prev, *next;
};

static void control_maybe_free(struct control *c)
{
    if (c->stopping && c->handles == 0) {
        free(c->path);
        free(c);
    }
}

/* ---- one connection ---- */

static void conn_handle_closed(uv_handle_t *h)
{
    struct control_conn *k = h->data;
    if (--k->open_handles > 0)
        return;
    struct control *c = k->ctl;
    buf_free(&k->out);
    free(k);
    c->handles--;
    control_maybe_free(c);
}

static void conn_close(struct control_conn *k)
{
    if (uv_is_closing((uv_handle_t *)&k->pipe))
        return;
    struct control *c = k->ctl;
    k->done = true;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    c->nconns--;
    uv_close((uv_handle_t *)&k->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&k->pipe, conn_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* the client may be gone: nothing to do either way */
    conn_close(req->data);
}

/* Sends reply (one line: LFs and TABs of free text are the command's
 * business, a stray LF is turned into a space here) and closes. */
static void conn_reply(struct control_conn *k, const char *status, const char *text)
{
    k->done = true;
    uv_read_stop((uv_stream_t *)&k->pipe);
    uv_timer_stop(&k->timer);
    buf_reset(&k->out);
    int rc = buf_append_str(&k->out, status);
    if (rc == 0 && text && *text)
        rc = buf_printf(&k->out, "\t%s", text);
    for (size_t i = 0; rc == 0 && i < k->out.len; i++)
        if (k->out.data[i] == '\n' || k->out.data[i] == '\r')
            k->out.data[i] = ' ';
    if (rc == 0)
        rc = buf_append(&k->out, "\n", 1);
    if (rc < 0) {
        conn_close(k);
        return;
    }
    uv_buf_t b = uv_buf_init(k->out.data, (unsigned)k->out.len);
    k->wreq.data = k;
    if (uv_write(&k->wreq, (uv_stream_t *)&k->pipe, &b, 1, on_written) < 0)
        conn_close(k);
}

static const struct control_command *find_command(const char *name)
{
    for (size_t i = 0; i < control_ncommands; i++)
        if (strcmp(control_commands[i].name, name) == 0)
            return &control_commands[i];
    return modules_control_command(name);
}

/* Splits line at TABs into argv (at most max words). -E2BIG if more. */
static int split_line(char *line, const char **argv, int max)
{
    int n = 0;
    for (char *p = line;;) {
        if (n == max)
            return -E2BIG;
        argv[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            return n;
        *tab = '\0';
        p = tab + 1;
    }
}

/* A request is text without control characters other than TAB (bytes
 * above 0x7f pass: the commands check UTF-8 where it matters). */
static bool line_clean(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return false;
    return true;
}

const struct control_command *control_parse(char *line, size_t len, const char **args, int *nargs,
                                            const char **why)
{
    const char *argv[CONTROL_MAX_ARGS + 1];
    *nargs = 0;
    if (len == 0 || strlen(line) != len || !line_clean(line, len)) {
        *why = "malformed request";
        return NULL;
    }
    int n = split_line(line, argv, CONTROL_MAX_ARGS + 1);
    const struct control_command *cmd = n < 0 ? NULL : find_command(argv[0]);
    if (!cmd) {
        *why = n < 0 ? "too many arguments" : "unknown command";
        return NULL;
    }
    if (n - 1 < cmd->min_args || n - 1 > cmd->max_args) {
        *why = "wrong number of arguments";
        return NULL;
    }
    for (int i = 1; i < n; i++)
        args[i - 1] = argv[i];
    *nargs = n - 1;
    return cmd;
}

/* call->answer for a command that answered CONTROL_LATER. */
static void answer_later(const struct control_call *call, int rc, const char *text)
{
    struct control *c = call->srv->control;
    struct control_conn *k = c ? c->conns : NULL;
    while (k && k->id != call->id)
        k = k->next;
    if (!k || !k->waiting)
        return; /* the client went away, or the server stops */
    k->waiting = false;
    log_info("control: a command answered later: %s", rc < 0 ? "failed" : "done");
    conn_reply(k, rc < 0 ? "error" : "ok", text ? text : rc < 0 ? strerror(-rc) : "");
}

static void run_line(struct control_conn *k, char *line, size_t len)
{
    const char *args[CONTROL_MAX_ARGS];
    int nargs;
    const char *why = NULL;
    const struct control_command *cmd = control_parse(line, len, args, &nargs, &why);
    if (!cmd) {
        conn_reply(k, "error", why);
        return;
    }
    struct buf reply;
    buf_init(&reply, CONTROL_REPLY_MAX);
    struct control_call call = {k->ctl->srv, k->id, answer_later};
    k->done = true;
    k->waiting = true; /* an answer during run (an inline store) finds it */
    int rc = cmd->run(&call, args, nargs, &reply);
    if (rc == CONTROL_LATER) {
        /* No idle limit while the command waits: the client has its own. */
        if (k->waiting)
            uv_timer_stop(&k->timer);
        buf_free(&reply);
        return;
    }
    k->waiting = false;
    if (rc < 0 && reply.len == 0)
        buf_append_str(&reply, strerror(-rc));
    log_info("control: command %s: %s", cmd->name, rc < 0 ? "failed" : "done");
    conn_reply(k, rc < 0 ? "error" : "ok", reply.data ? reply.data : "");
    buf_free(&reply);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    struct control_conn *k = h->data;
    size_t room = sizeof k->in - k->in_len;
    *b = uv_buf_init(k->in + k->in_len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct control_conn *k = s->data;
    if (k->done)
        return;
    if (nread < 0) {
        conn_close(k); /* EOF or error before a whole line */
        return;
    }
    size_t start = k->in_len;
    k->in_len += (size_t)nread;
    char *lf = memchr(k->in + start, '\n', k->in_len - start);
    if (!lf) {
        if (k->in_len == sizeof k->in)
            conn_reply(k, "error", "request too long");
        return;
    }
    size_t len = (size_t)(lf - k->in);
    if (len > 0 && k->in[len - 1] == '\r')
        len--;
    k->in[len] = '\0';
    run_line(k, k->in, len);
}

static void on_idle(uv_timer_t *t)
{
    struct control_conn *k = t->data;
    conn_reply(k, "error", "timed out");
}

/* The peer runs as our uid or as root; anyone else is refused. */
static bool peer_allowed(uv_pipe_t *p)
{
    uv_os_fd_t fd;
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (uv_fileno((uv_handle_t *)p, &fd) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof cred)
        return false;
    return cred.uid == getuid() || cred.uid == 0;
}

static int conn_open(struct control *c, struct control_conn *k)
{
    k->ctl = c;
    k->id = ++c->next_id;
    buf_init(&k->out, CONTROL_REPLY_MAX + 16);
    if (uv_pipe_init(c->srv->loop, &k->pipe, 0) < 0)
        return -EIO;
    uv_timer_init(c->srv->loop, &k->timer);
    k->pipe.data = k->timer.data = k;
    k->open_handles = 2;
    c->handles++;
    k->next = c->conns;
    if (c->conns)
        c->conns->prev = k;
    c->conns = k;
    c->nconns++;
    uv_unref((uv_handle_t *)&k->pipe);
    uv_unref((uv_handle_t *)&k->timer);
    return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct control *c = server->data;
    if (status < 0 || c->stopping)
        return;
    struct control_conn *k = calloc(1, sizeof *k);
    if (!k || conn_open(c, k) < 0) {
        free(k); /* the pending connection stays in the backlog; retried later */
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&k->pipe) < 0) {
        conn_close(k);
        return;
    }
    if (c->nconns > CONTROL_MAX_CONNS) {
        conn_reply(k, "error", "busy");
        return;
    }
    if (!peer_allowed(&k->pipe)) {
        log_warn("control: refused a connection from another user");
        conn_reply(k, "error", "permission denied");
        return;
    }
    uv_timer_start(&k->timer, on_idle, CONTROL_IDLE_MS, 0);
    if (uv_read_start((uv_stream_t *)&k->pipe, on_alloc, on_read) < 0)
        conn_close(k);
}

/* ---- the listening socket ---- */

/* What is at path now: 0 nothing (or a stale socket, removed), -EADDRINUSE
 * a server answers there, -EEXIST something that is not a socket. */
static int clear_stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? -EADDRINUSE : -errno;
    close(fd);
    if (rc == -EADDRINUSE)
        return rc;
    if (rc != -ECONNREFUSED)
        return rc;
    /* Nobody listens: left over by a server that was killed. */
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int set_err(char **err, int rc, const char *what, const char *path)
{
    char msg[512];
    snprintf(msg, sizeof msg, "control socket %s: %s", path, what);
    *err = strdup(msg);
    return rc;
}

/* The socket should sit in a directory only we can enter (the data
 * directory, 0700). The uid check still guards it otherwise: a warning. */
static void warn_open_dir(const char *path)
{
    char dir[sizeof((struct sockaddr_un *)0)->sun_path];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0'; /* "/x.sock" keeps "/" */
    struct stat st;
    if (stat(dir, &st) == 0 && (st.st_mode & 077))
        log_warn("control: %s can be entered by other users; make it 0700", dir);
}

/* Binds with umask 0177 so that the socket is born 0600: no moment in
 * which another user could connect. */
static int bind_listen(struct control *c)
{
    int rc = uv_pipe_init(c->srv->loop, &c->listener, 0);
    if (rc < 0)
        return rc;
    c->listening = true;
    c->handles++;
    c->listener.data = c;
    mode_t old = umask(0177);
    rc = uv_pipe_bind(&c->listener, c->path);
    umask(old);
    c->bound = rc == 0;
    if (rc == 0 && chmod(c->path, 0600) < 0)
        rc = -errno;
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&c->listener, CONTROL_BACKLOG, on_connection);
    uv_unref((uv_handle_t *)&c->listener);
    return rc;
}

int control_start(struct control **out, struct server *srv, const char *path, char **err)
{
    *out = NULL;
    *err = NULL;
    if (strlen(path) >= sizeof((struct sockaddr_un *)0)->sun_path)
        return set_err(err, -ENAMETOOLONG, "path too long", path);
    int rc = clear_stale(path);
    if (rc == -EADDRINUSE)
        return set_err(err, rc, "another server answers on it", path);
    if (rc == -EEXIST)
        return set_err(err, rc, "exists and is not a socket", path);
    if (rc < 0)
        return set_err(err, rc, strerror(-rc), path);
    struct control *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return set_err(err, -ENOMEM, "out of memory", path);
    }
    c->srv = srv;
    srv->control = c;
    warn_open_dir(path);
    rc = bind_listen(c);
    if (rc < 0) {
        set_err(err, rc, uv_strerror(rc), path);
        control_stop(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct control *c = h->data;
    c->handles--;
    control_maybe_free(c);
}

void control_stop(struct control *c)
{
    if (!c || c->stopping)
        return;
    c->stopping = true;
    if (c->srv->control == c)
        c->srv->control = NULL;
    while (c->conns)
        conn_close(c->conns);
    if (c->bound)
        unlink(c->path);
    if (c->listening)
        uv_close((uv_handle_t *)&c->listener, listener_closed);
    control_maybe_free(c);
}
