/* Entity time (XEP-0202), in the server's time zone offset. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "modules/module.h"
#include "xmpp/ns.h"

/* "+HH:MM" or "-HH:MM" for the local offset from UTC. */
static void format_tzo(char out[8], long gmtoff)
{
    char sign = gmtoff < 0 ? '-' : '+';
    long off = gmtoff < 0 ? -gmtoff : gmtoff;
    snprintf(out, 8, "%c%02ld:%02ld", sign, (off / 3600) % 100, (off / 60) % 60);
}

static void entity_time(const struct iq_request *rq)
{
    struct timespec ts;
    struct tm utc, local;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &utc);
    localtime_r(&ts.tv_sec, &local);
    char tzo[8], stamp[40];
    format_tzo(tzo, local.tm_gmtoff);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);

    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *t = res ? xml_add_child(res, res->root, "time", NS_TIME) : NULL;
    if (!t || xml_add_text_elem(res, t, "tzo", tzo) < 0 ||
        xml_add_text_elem(res, t, "utc", stamp) < 0) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static const struct iq_handler time_iq[] = {
    {NS_TIME, "time", IQ_GET, IQ_TO_SERVER, NS_TIME, entity_time},
};

const struct module mod_time = {
    .name = "time",
    .id = MOD_ID_time,
    .iq = time_iq,
    .n_iq = sizeof time_iq / sizeof time_iq[0],
};
