/* The one scheduler of the data contract's sweeps: once a minute after
 * start, then every 24 hours, account_sweep runs every module's sweep,
 * each deleting its own data past its retention period (the inactive
 * accounts in retention.c, the reports past reports.max_age in
 * reports.c, and whatever a later module keeps for a limited time).
 *
 * On the loop: a sweep is a few indexed queries and, rarely, deletions.
 * `taubectl retention run` (the control command retention-run) runs the
 * same sweeps at once.
 */
#include <errno.h>
#include <stdlib.h>

#include <uv.h>

#include "core/log.h"
#include "modules/module.h"

#define SWEEP_FIRST_MS (60 * 1000)              /* first run after start */
#define SWEEP_EVERY_MS (24 * 60 * 60 * 1000ULL) /* then daily */

struct sweep {
    struct server *srv;
    uv_timer_t timer;
};

static void sweep_now(struct server *srv)
{
    struct data_ctx d = modules_data_ctx(srv);
    account_sweep(&d, NULL); /* a failing module is logged there and retried next time */
}

static void on_timer(uv_timer_t *t)
{
    struct sweep *s = t->data;
    if (!s->srv->stopping)
        sweep_now(s->srv);
}

/* TEST ONLY: "sweep-now" starts the daily run at once, as the timer
 * would (its writes complete later; the reply says only that it began). */
static int ctl_sweep_now(const struct control_call *call, const char *const *args, int nargs,
                         struct buf *reply)
{
    (void)args;
    (void)nargs;
    sweep_now(call->srv);
    return buf_append_str(reply, "sweep started");
}

static const struct control_command sweep_control[] = {
    {"sweep-now", 0, 0, ctl_sweep_now},
};

static int sweep_init(struct server *srv, void *state)
{
    struct sweep *s = state;
    s->srv = srv;
    if (uv_timer_init(srv->loop, &s->timer) < 0)
        return -ENOMEM;
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, SWEEP_FIRST_MS, SWEEP_EVERY_MS);
    /* The daily timer alone must not keep a stopping server's loop alive.
     * The loop closes every handle (the timer too) before modules_fini
     * frees the state. */
    uv_unref((uv_handle_t *)&s->timer);
    return 0;
}

const struct module mod_sweep = {
    .name = "sweep",
    .id = MOD_ID_sweep,
    .state_size = sizeof(struct sweep),
    .init = sweep_init,
    .control = sweep_control,
    .n_control = sizeof sweep_control / sizeof sweep_control[0],
};
