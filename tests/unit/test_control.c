/* Unit tests: suspension in the store (sqlite_account.c) and the control
 * socket (control.c, control_commands.c, control_client.c).
 *
 * The socket tests run the server side on a libuv loop in this thread
 * and control_call in a second thread, which wakes the loop with a
 * uv_async when it has its answer.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "store_fixture.h"

#include <uv.h>

#include "core/server.h"
#include "net/control.h"
#include "store/queue.h"
#include "xmpp/router.h"

static const char *const users[] = {"alice", "bob", NULL};

static int setup(void **state) { return fixture_setup(state, "localhost", users); }

/* ---- the store ---- */

static void test_suspend_keeps_reason_and_flag(void **state)
{
    struct fixture *f = *state;
    int64_t before = (int64_t)time(NULL);
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "bob", true, "spam"), 0);
    struct account_info info;
    assert_int_equal(store_account_info_sync(f->s, "localhost", "bob", &info), 0);
    assert_true(info.suspended);
    assert_string_equal(info.suspended_reason, "spam");
    assert_in_range(info.suspended_at, before, before + 5);
    assert_in_range(info.created, before - 60, before + 5);
    assert_int_equal(info.last_login, 0);
    store_account_info_free(&info);
    struct account_creds c;
    assert_int_equal(store_account_get_creds_sync(f->s, "localhost", "bob", &c), 0);
    assert_true(c.suspended);
    assert_true(c.have[SCRAM_SHA256]); /* credentials untouched */
    /* The other account is not suspended. */
    assert_int_equal(store_account_get_creds_sync(f->s, "localhost", "alice", &c), 0);
    assert_false(c.suspended);
}

static void test_unsuspend_clears_reason(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "bob", true, "x"), 0);
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "bob", false, "y"), 0);
    struct account_info info;
    assert_int_equal(store_account_info_sync(f->s, "localhost", "bob", &info), 0);
    assert_false(info.suspended);
    assert_null(info.suspended_reason);
    assert_int_equal(info.suspended_at, 0);
    store_account_info_free(&info);
    /* A password change neither lifts nor sets a suspension. */
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "bob", true, NULL), 0);
    struct account_creds c = make_creds(9);
    c.suspended = false;
    assert_int_equal(store_account_set_creds_sync(f->s, "localhost", "bob", &c), 0);
    assert_int_equal(store_account_get_creds_sync(f->s, "localhost", "bob", &c), 0);
    assert_true(c.suspended);
}

static void test_suspend_refusals(void **state)
{
    struct fixture *f = *state;
    char long_reason[STORE_REASON_MAX + 2];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "bob", true, long_reason),
                     -EINVAL);
    long_reason[STORE_REASON_MAX] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "bob", true, long_reason),
                     0);
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "bob", true, "\xff\xfe"),
                     -EINVAL);
    assert_int_equal(store_account_set_suspended_sync(f->s, "localhost", "nobody", true, "x"),
                     -ENOENT);
    assert_int_equal(store_account_set_suspended_sync(f->s, "other", "bob", false, NULL), -ENOENT);
    struct account_info info;
    assert_int_equal(store_account_info_sync(f->s, "localhost", "nobody", &info), -ENOENT);
    assert_null(info.suspended_reason);
}

static void test_info_last_login(void **state)
{
    struct fixture *f = *state;
    store_account_touch_login(f->s, "localhost", "alice", 1700000000);
    struct account_info info;
    assert_int_equal(store_account_info_sync(f->s, "localhost", "alice", &info), 0);
    assert_int_equal(info.last_login, 1700000000);
    assert_false(info.suspended);
    store_account_info_free(&info);
}

/* ---- the request line ---- */

/* Parses a copy of text; returns the command's name or the reason. */
static const char *parse(const char *text, int *nargs, char first[64])
{
    char line[256];
    snprintf(line, sizeof line, "%s", text);
    const char *args[CONTROL_MAX_ARGS];
    const char *why = NULL;
    const struct control_command *cmd = control_parse(line, strlen(text), args, nargs, &why);
    first[0] = '\0';
    if (cmd && *nargs > 0)
        snprintf(first, 64, "%s", args[0]);
    return cmd ? cmd->name : why;
}

static void test_parse(void **state)
{
    (void)state;
    int n;
    char first[64];
    assert_string_equal(parse("status", &n, first), "status");
    assert_int_equal(n, 0);
    assert_string_equal(parse("suspend\tbob@localhost\tspam and more", &n, first), "suspend");
    assert_int_equal(n, 2);
    assert_string_equal(first, "bob@localhost");
    assert_string_equal(parse("kick\t\t", &n, first), "kick"); /* empty text: allowed */
    assert_int_equal(n, 2);
    assert_string_equal(parse("", &n, first), "malformed request");
    assert_string_equal(parse("sta\x01tus", &n, first), "malformed request");
    assert_string_equal(parse("reboot", &n, first), "unknown command");
    assert_string_equal(parse("Status", &n, first), "unknown command");
    assert_string_equal(parse("status\tx", &n, first), "wrong number of arguments");
    assert_string_equal(parse("delete", &n, first), "wrong number of arguments");
    assert_string_equal(parse("kick\ta\tb\tc", &n, first), "wrong number of arguments");
    assert_string_equal(parse("kick\t1\t2\t3\t4\t5\t6\t7\t8\t9", &n, first), "too many arguments");
    assert_int_equal(n, 0);
    /* A NUL inside the line (len says more than strlen): malformed. */
    char line[] = "status\0x";
    const char *args[CONTROL_MAX_ARGS], *why = NULL;
    assert_null(control_parse(line, sizeof line - 1, args, &n, &why));
    assert_string_equal(why, "malformed request");
}

/* ---- the client alone ---- */

static void test_call_without_server(void **state)
{
    struct fixture *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/none.sock", f->dir);
    const char *args[] = {"status"};
    char *reply = (char *)"untouched";
    assert_int_equal(control_call(path, args, 1, &reply), -ENOTCONN);
    assert_null(reply);
    /* A socket file nobody listens on (a killed server's) is no server. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    assert_int_equal(control_call(path, args, 1, &reply), -ENOTCONN);
    unlink(path);
    const char *tabbed[] = {"suspend", "bob@localhost", "a\treason"};
    assert_int_equal(control_call(path, tabbed, 3, &reply), -EINVAL);
    const char *lf[] = {"status\n"};
    assert_int_equal(control_call(path, lf, 1, &reply), -EINVAL);
    assert_int_equal(control_call(path, args, 0, &reply), -EINVAL);
}

/* ---- server and client ---- */

struct rig {
    struct fixture *f;
    uv_loop_t loop;
    struct config cfg;
    char *domains[1];
    struct server srv;
    struct control *ctl;
    char path[200];
};

struct call {
    struct rig *r;
    const char *const *args;
    int nargs;
    int rc;
    char *reply;
    bool finished;
    pthread_t thread;
    uv_async_t done;
    uv_timer_t guard;
};

static void rig_start(struct rig *r, struct fixture *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    snprintf(r->path, sizeof r->path, "%s/ctl.sock", f->dir);
    assert_int_equal(uv_loop_init(&r->loop), 0);
    r->domains[0] = (char *)"localhost";
    r->cfg.domains = (struct strlist){r->domains, 1};
    r->srv = (struct server){.loop = &r->loop, .cfg = &r->cfg, .store = f->s};
    buf_init(&r->srv.scratch, 0);
    r->srv.router = router_new(&r->srv);
    assert_non_null(r->srv.router);
    char *err = NULL;
    /* The server's writes go through the store queue's writer thread, and
     * the commands that write answer from its completions. */
    int rc = store_queue_open(&r->srv.storeq, &r->loop, &store_sqlite_ops, f->path,
                              fixture_schema(), &err);
    if (rc != 0 || (rc = store_queue_start(r->srv.storeq)) != 0)
        fail_msg("store queue: %d %s", rc, err ? err : "");
    rc = control_start(&r->ctl, &r->srv, r->path, &err);
    if (rc != 0)
        fail_msg("control_start: %d %s", rc, err ? err : "");
}

static void rig_stop(struct rig *r)
{
    control_stop(r->ctl);
    store_queue_detach(r->srv.storeq);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    store_queue_free(r->srv.storeq);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    router_free(r->srv.router);
    buf_free(&r->srv.scratch);
}

static void *call_thread(void *ud)
{
    struct call *c = ud;
    c->rc = control_call(c->r->path, c->args, c->nargs, &c->reply);
    uv_async_send(&c->done);
    return NULL;
}

static void call_done(uv_async_t *a)
{
    struct call *c = a->data;
    c->finished = true;
    uv_close((uv_handle_t *)&c->done, NULL);
    uv_close((uv_handle_t *)&c->guard, NULL);
}

static void call_timeout(uv_timer_t *t)
{
    (void)t;
    fail_msg("control_call did not return within 10 s");
}

/* Starts one control_call against the rig's server, on a thread of its own. */
static void call_begin(struct rig *r, struct call *c, const char *const *args, int nargs)
{
    *c = (struct call){.r = r, .args = args, .nargs = nargs};
    uv_async_init(&r->loop, &c->done, call_done);
    uv_timer_init(&r->loop, &c->guard);
    c->done.data = c;
    uv_timer_start(&c->guard, call_timeout, 10000, 0);
    assert_int_equal(pthread_create(&c->thread, NULL, call_thread, c), 0);
}

/* Runs the loop until c has its reply. */
static void call_wait(struct rig *r, struct call *c)
{
    while (!c->finished)
        uv_run(&r->loop, UV_RUN_ONCE);
    pthread_join(c->thread, NULL);
}

/* Runs one control_call against the rig's server. *reply: free it. */
static int rig_call(struct rig *r, const char *const *args, int nargs, char **reply)
{
    struct call c;
    call_begin(r, &c, args, nargs);
    call_wait(r, &c);
    *reply = c.reply;
    return c.rc;
}

static void test_socket_roundtrip(void **state)
{
    struct rig r;
    rig_start(&r, *state);
    struct stat st;
    assert_int_equal(stat(r.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    char *reply = NULL;
    const char *status[] = {"status"};
    assert_int_equal(rig_call(&r, status, 1, &reply), 0);
    assert_string_equal(reply, "streams=0\tsessions=0\taccounts=2");
    free(reply);

    const char *suspend[] = {"suspend", "bob@localhost", "ticket 7"};
    assert_int_equal(rig_call(&r, suspend, 3, &reply), 0);
    assert_string_equal(reply, "suspended");
    free(reply);
    struct account_info info;
    assert_int_equal(store_account_info_sync(r.f->s, "localhost", "bob", &info), 0);
    assert_true(info.suspended);
    assert_string_equal(info.suspended_reason, "ticket 7");
    store_account_info_free(&info);

    const char *unknown[] = {"reboot"};
    assert_int_equal(rig_call(&r, unknown, 1, &reply), -EPROTO);
    assert_string_equal(reply, "unknown command");
    free(reply);
    const char *nobody[] = {"unsuspend", "nobody@localhost"};
    assert_int_equal(rig_call(&r, nobody, 2, &reply), -EPROTO);
    assert_string_equal(reply, "no such account");
    free(reply);
    const char *kick[] = {"kick", "alice@localhost", "bye"};
    assert_int_equal(rig_call(&r, kick, 3, &reply), 0);
    assert_string_equal(reply, "0 session(s) ended");
    free(reply);
    rig_stop(&r);
    assert_int_equal(access(r.path, F_OK), -1); /* removed at stop */
}

/* A command that writes waits for the writer thread, not the loop: while
 * another connection holds the database's write lock, "suspend" gets no
 * answer, and "status" is answered at once; the suspension is answered
 * once it is committed. */
static void test_write_answered_after_commit(void **state)
{
    struct fixture *f = *state;
    struct rig r;
    rig_start(&r, f);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

    const char *suspend[] = {"suspend", "bob@localhost", "later"};
    const char *status[] = {"status"};
    struct call w, s;
    call_begin(&r, &w, suspend, 3);
    usleep(100 * 1000);
    call_begin(&r, &s, status, 1);
    call_wait(&r, &s);
    assert_int_equal(s.rc, 0);
    free(s.reply);
    for (int i = 0; i < 20; i++) { /* 200 ms more of the loop: still no answer */
        uv_run(&r.loop, UV_RUN_NOWAIT);
        usleep(10 * 1000);
    }
    assert_false(w.finished);
    struct account_info info;
    assert_int_equal(store_account_info_sync(f->s, "localhost", "bob", &info), 0);
    assert_false(info.suspended);
    store_account_info_free(&info);

    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    call_wait(&r, &w);
    assert_int_equal(w.rc, 0);
    assert_string_equal(w.reply, "suspended");
    free(w.reply);
    assert_int_equal(store_account_info_sync(f->s, "localhost", "bob", &info), 0);
    assert_true(info.suspended);
    store_account_info_free(&info);
    sqlite3_close(db);
    rig_stop(&r);
}

static void test_start_refuses_live_and_foreign(void **state)
{
    struct fixture *f = *state;
    struct rig r;
    rig_start(&r, f);
    struct control *second = NULL;
    char *err = NULL;
    assert_int_equal(control_start(&second, &r.srv, r.path, &err), -EADDRINUSE);
    assert_null(second);
    assert_non_null(strstr(err, "another server"));
    free(err);
    rig_stop(&r);

    /* A regular file is never removed. */
    FILE *fp = fopen(r.path, "w");
    assert_non_null(fp);
    fclose(fp);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct server srv = {.loop = &loop};
    assert_int_equal(control_start(&second, &srv, r.path, &err), -EEXIST);
    free(err);
    assert_int_equal(access(r.path, F_OK), 0);
    unlink(r.path);

    char longpath[200];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(control_start(&second, &srv, longpath, &err), -ENAMETOOLONG);
    free(err);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_stale_socket_replaced(void **state)
{
    struct fixture *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/ctl.sock", f->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd); /* the file stays, as after kill -9 */
    struct rig r;
    rig_start(&r, f); /* fails the test if the stale file is in the way */
    char *reply = NULL;
    const char *status[] = {"status"};
    assert_int_equal(rig_call(&r, status, 1, &reply), 0);
    free(reply);
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_suspend_keeps_reason_and_flag, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unsuspend_clears_reason, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_suspend_refusals, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_info_last_login, setup, fixture_teardown),
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_call_without_server, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_socket_roundtrip, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_answered_after_commit, setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_live_and_foreign, setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
