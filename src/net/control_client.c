/* The control socket, client side (control_call in control.h): plain
 * blocking sockets, for taubectl. In the library so that tests and
 * taubectl link it alike.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/control.h"

#define CLIENT_REPLY_MAX (1u << 20) /* matches the server's cap on a reply */
#define CLIENT_TIMEOUT_S 30         /* a command (a deletion) may take a while */

/* Connects to path. The fd, -ENOTCONN if nobody listens there, or -errno. */
static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    int rc = errno == ENOENT || errno == ECONNREFUSED ? -ENOTCONN : -errno;
    close(fd);
    return rc;
}

/* Joins args with TAB, ending in LF. -EINVAL if an argument holds a TAB,
 * CR or LF (the protocol could not carry it). */
static int make_request(const char *const *args, int nargs, struct buf *out)
{
    if (nargs < 1)
        return -EINVAL;
    for (int i = 0; i < nargs; i++) {
        if (strpbrk(args[i], "\t\r\n"))
            return -EINVAL;
        int rc = buf_printf(out, "%s%s", i ? "\t" : "", args[i]);
        if (rc < 0)
            return rc;
    }
    return buf_append(out, "\n", 1);
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads up to the first LF (dropped) into in. -EPROTO if the server
 * closes before one. */
static int read_line(int fd, struct buf *in)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (n == 0)
            return -EPROTO;
        char *lf = memchr(chunk, '\n', (size_t)n);
        int rc = buf_append(in, chunk, lf ? (size_t)(lf - chunk) : (size_t)n);
        if (rc < 0 || lf)
            return rc;
    }
}

/* Splits "ok[TAB TEXT]" / "error TAB TEXT" into the result and *reply. */
static int parse_reply(const struct buf *in, char **reply)
{
    const char *s = in->data ? in->data : "";
    bool ok = strncmp(s, "ok", 2) == 0 && (s[2] == '\0' || s[2] == '\t');
    bool error = strncmp(s, "error", 5) == 0 && (s[5] == '\0' || s[5] == '\t');
    if (!ok && !error)
        return -EPROTO;
    const char *text = s + (ok ? 2 : 5);
    if (*text == '\t')
        text++;
    if (!(*reply = strdup(text)))
        return -ENOMEM;
    return ok ? 0 : -EPROTO;
}

int control_call(const char *path, const char *const *args, int nargs, char **reply)
{
    *reply = NULL;
    struct buf req, in;
    buf_init(&req, 64 * 1024);
    buf_init(&in, CLIENT_REPLY_MAX);
    int rc = make_request(args, nargs, &req);
    int fd = rc < 0 ? rc : connect_to(path);
    if (fd >= 0) {
        rc = write_all(fd, req.data, req.len);
        if (rc == 0)
            rc = read_line(fd, &in);
        if (rc == 0)
            rc = parse_reply(&in, reply);
        close(fd);
    } else {
        rc = fd;
    }
    buf_free(&req);
    buf_free(&in);
    return rc;
}
