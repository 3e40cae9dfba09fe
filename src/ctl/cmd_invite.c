/* taubectl invite create|list|revoke: registration codes (promise P1).
 *
 * A code is printed once, at creation, with the XEP-0401 URI that
 * carries it; the store keeps only its keyed hash (modules/invite.h), so
 * a lost code cannot be shown again: revoke it and make another. Codes
 * are named afterwards by their short id (`invite list`) or the code.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "modules/invite.h"
#include "store/invites.h"
#include "xmpp/jid.h"

#define INVITE_MAX_USES 1000

/* Free text from the command line: 1..INVITE_TEXT_MAX bytes of UTF-8
 * without control characters. CTL_OK or CTL_FAIL after a message. */
static int check_text(const char *what, const char *s)
{
    size_t len = strlen(s);
    bool ok = len > 0 && len <= INVITE_TEXT_MAX && jid_utf8_valid(s, len);
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
    if (ok)
        return CTL_OK;
    ctl_err("%s must be 1 to %d bytes of UTF-8 text without control characters", what,
            INVITE_TEXT_MAX);
    return CTL_FAIL;
}

/* The domain the code is for: --domain, or the only served domain. */
static int invite_domain(const struct ctl *ctl, char *out, size_t cap)
{
    const char *d = ctl_opt(ctl, "domain");
    if (!d && ctl->cfg.domains.n != 1) {
        ctl_err("this server has several domains: say which with --domain");
        return CTL_FAIL;
    }
    if (ctl_prep_server_domain(d ? d : ctl->cfg.domains.items[0], out, cap) != CTL_OK)
        return CTL_FAIL;
    for (size_t i = 0; i < ctl->cfg.domains.n; i++) {
        char served[JID_PART_MAX + 1];
        if (jid_prep_domain(ctl->cfg.domains.items[i], served, sizeof served) == 0 &&
            strcmp(served, out) == 0)
            return CTL_OK;
    }
    ctl_err("'%s' is not one of server.domains", out);
    return CTL_FAIL;
}

/* --expires and --uses, with the configured default lifetime. */
static int invite_limits(const struct ctl *ctl, int64_t *lifetime, unsigned *uses)
{
    const char *e = ctl_opt(ctl, "expires"), *u = ctl_opt(ctl, "uses");
    *lifetime = ctl->cfg.invites_expires;
    *uses = 1;
    if (e && invite_parse_duration(e, lifetime) < 0) {
        ctl_err("--expires: '%s' is not a duration such as 12h, 7d or 2w", e);
        return CTL_FAIL;
    }
    if (u) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(u, &end, 10);
        if (errno || *end || end == u || u[0] == '-' || n == 0 || n > INVITE_MAX_USES) {
            ctl_err("--uses: give a number from 1 to %d", INVITE_MAX_USES);
            return CTL_FAIL;
        }
        *uses = (unsigned)n;
    }
    return CTL_OK;
}

static void print_time(const char *label, int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm) > 0)
        printf("%s%s", label, buf);
    else
        printf("%s%" PRId64, label, t);
}

int cmd_invite_create(struct ctl *ctl)
{
    const char *given_to = ctl_opt(ctl, "for"), *note = ctl_opt(ctl, "note");
    if (!given_to)
        return ctl_usage_error(ctl, "--for \"NAME <EMAIL>\" is required: whom the code is for");
    char domain[JID_PART_MAX + 1];
    int64_t lifetime;
    unsigned uses;
    if (check_text("--for", given_to) || (note && check_text("--note", note)) ||
        invite_domain(ctl, domain, sizeof domain) || invite_limits(ctl, &lifetime, &uses))
        return CTL_FAIL;
    uint8_t code[INVITE_CODE_BYTES], hash[INVITE_HASH_LEN];
    char text[INVITE_CODE_TEXT];
    if (invite_code_new(code, text) < 0 ||
        invite_code_hash(store_server_secret(ctl->store), INVITE_KEY_LEN, code, hash) < 0) {
        ctl_err("cannot make a code: no randomness or no hash");
        return CTL_FAIL;
    }
    int64_t now = (int64_t)time(NULL), id = 0;
    struct invite_new in = {.domain = domain,
                            .hash = hash,
                            .given_to = given_to,
                            .note = note,
                            .created_by = "taubectl",
                            .created = now,
                            .expires = now + lifetime,
                            .uses = uses};
    int rc = store_invite_create_sync(ctl->store, &in, &id);
    if (rc < 0) {
        ctl_err("cannot store the code: %s", strerror(-rc));
        return CTL_FAIL;
    }
    printf("code: %s\nuri: xmpp:%s?register;preauth=%s\n", text, domain, text);
    struct buf page;
    buf_init(&page, 0);
    char path[sizeof "/invite/" + INVITE_CODE_TEXT];
    snprintf(path, sizeof path, "/invite/%s", text);
    if (invite_web_url(&ctl->cfg, domain, path, &page) == 0)
        printf("page: %s\n", page.data);
    buf_free(&page);
    printf("id: %" PRId64 "\n", id);
    print_time("expires: ", now + lifetime);
    printf("\nuses: %u\n", uses);
    return CTL_OK;
}

static void print_invite(void *ud, const struct invite_info *inv)
{
    int64_t now = *(const int64_t *)ud;
    const char *state = inv->revoked          ? "revoked"
                        : inv->expires <= now ? "expired"
                        : inv->uses_left == 0 ? "used"
                                              : "valid";
    printf("%" PRId64 "\t%s\t%s\tfor: %s\t", inv->id, state, inv->domain, inv->given_to);
    print_time("created: ", inv->created);
    print_time("\texpires: ", inv->expires);
    printf("\tuses left: %u\taccounts: %s", inv->uses_left, inv->accounts ? inv->accounts : "-");
    if (inv->note)
        printf("\tnote: %s", inv->note);
    putchar('\n');
}

int cmd_invite_list(struct ctl *ctl)
{
    char domain[JID_PART_MAX + 1];
    if (ctl->nargs == 1 && ctl_prep_server_domain(ctl->args[0], domain, sizeof domain) != CTL_OK)
        return CTL_FAIL;
    int64_t now = (int64_t)time(NULL);
    int rc =
        store_invite_list_sync(ctl->store, ctl->nargs == 1 ? domain : NULL, print_invite, &now);
    if (rc < 0) {
        ctl_err("cannot list the codes: %s", strerror(-rc));
        return CTL_FAIL;
    }
    return CTL_OK;
}

/* A short id is all digits; a code never is that short. */
static bool is_short_id(const char *s, int64_t *id)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 12 || s[n] != '\0')
        return false;
    *id = strtoll(s, NULL, 10);
    return true;
}

int cmd_invite_revoke(struct ctl *ctl)
{
    const char *arg = ctl->args[0];
    int64_t id = 0;
    uint8_t code[INVITE_CODE_BYTES], hash[INVITE_HASH_LEN];
    bool by_id = is_short_id(arg, &id);
    if (!by_id && invite_code_parse(arg, strlen(arg), code) < 0)
        return ctl_usage_error(ctl, "give a code or the id `invite list` shows");
    if (!by_id &&
        invite_code_hash(store_server_secret(ctl->store), INVITE_KEY_LEN, code, hash) < 0) {
        ctl_err("cannot hash the code");
        return CTL_FAIL;
    }
    int rc = store_invite_revoke_sync(ctl->store, by_id ? NULL : hash, id);
    if (rc == -ENOENT) {
        ctl_err("no such code");
        return CTL_FAIL;
    }
    if (rc < 0) {
        ctl_err("cannot revoke the code: %s", strerror(-rc));
        return CTL_FAIL;
    }
    printf("revoked\n");
    return CTL_OK;
}
