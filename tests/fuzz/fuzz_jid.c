/* Fuzz target: jid_parse on arbitrary bytes. A JID that parses must
 * format to a string that parses again to an equal JID with the same
 * text (preparation is idempotent), and its bare form must too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmpp/jid.h"

static void check_round_trip(const struct jid *j, bool bare)
{
    char *s = jid_to_string(j, bare);
    if (!s)
        return;
    struct jid k;
    if (jid_parse(&k, s, strlen(s)) != 0)
        abort();
    char *t = jid_to_string(&k, bare);
    if (!t || strcmp(s, t) != 0)
        abort();
    if (bare ? !jid_bare_equal(j, &k) : !jid_equal(j, &k))
        abort();
    free(t);
    free(s);
    jid_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jid j;
    if (jid_parse(&j, (const char *)data, size) != 0) {
        if (j.mem || j.domain)
            abort();
        return 0;
    }
    if (!j.domain || strlen(j.domain) > JID_PART_MAX)
        abort();
    check_round_trip(&j, false);
    check_round_trip(&j, true);
    jid_free(&j);
    return 0;
}
