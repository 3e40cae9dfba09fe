/* The configuration engine: reads YAML with libfyaml and applies the option
 * table of config_table.c. The same table gives the defaults, the value
 * checks, the commented default file (config_write_default) and the
 * Markdown reference (config_print_reference).
 *
 * Values are parsed from text by one function per type, whether they come
 * from the file or from the table's defaults, so a default can never be
 * something the file could not say.
 */
#include "core/config.h"

#include "core/buf.h"
#include "core/config_internal.h"
#include "core/domain.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounds on what a config file may make us do. A real file has a few
 * hundred nodes and depth 3; aliases could multiply that (a "billion
 * laughs" document), so the tree is measured before aliases are resolved. */
#define MAX_NODES 20000
#define MAX_DEPTH 16
#define MAX_SHOWN 60 /* bytes of a value or key quoted in a message */

/* ---- Small helpers ---- */

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Copies s into out for a message: at most MAX_SHOWN bytes, control
 * characters replaced, so that a hostile file cannot garble the terminal. */
static const char *shown(const char *s, size_t len, char out[MAX_SHOWN + 4])
{
    size_t n = len < MAX_SHOWN ? len : MAX_SHOWN, i;
    for (i = 0; i < n; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (n < len)
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
    return out;
}

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* The schema's table holding o, and its index. */
static size_t table_of(const struct config_schema *s, const struct config_option *o)
{
    for (size_t t = 0; t < s->n; t++)
        if (o >= s->t[t]->options && o < s->t[t]->options + s->t[t]->n_options)
            return t;
    abort(); /* o comes from the schema */
}

static void *field(struct config *c, const struct config_option *o)
{
    size_t t = table_of(&c->schema, o);
    return (char *)(c->schema.t[t]->block_size ? c->blocks[t] : c) + o->offset;
}

const void *config_value(const struct config *c, const struct config_option *o)
{
    return field((struct config *)c, o);
}

const void *config_block(const struct config *c, const struct config_table *t)
{
    for (size_t i = 0; i < c->schema.n; i++)
        if (c->schema.t[i] == t)
            return c->blocks[i];
    return NULL;
}

bool config_is_list(enum config_type t)
{
    return t == CFG_STRLIST || t == CFG_DOMAINS || t == CFG_JIDS || t == CFG_ADDRS ||
           t == CFG_SECRETS;
}

/* Stores v (already checked against min..max) into an integer field of
 * 4 or 8 bytes; the table keeps 4-byte options below INT32_MAX, so v fits
 * int and unsigned alike. */
static void store_int(struct config *c, const struct config_option *o, uint64_t v)
{
    if (o->size == sizeof(uint64_t)) {
        memcpy(field(c, o), &v, sizeof v);
    } else {
        uint32_t v32 = (uint32_t)v;
        memcpy(field(c, o), &v32, sizeof v32);
    }
}

/* Takes ownership of s. */
static void store_str(struct config *c, const struct config_option *o, char *s)
{
    char **p = field(c, o);
    free(*p);
    *p = s;
}

/* Takes ownership of l's contents. */
static void store_list(struct config *c, const struct config_option *o, struct strlist *l)
{
    struct strlist *p = field(c, o);
    strlist_free(p);
    *p = *l;
}

/* ---- Units ---- */

struct unit {
    const char *name;
    uint64_t factor;
};

/* Decimal and binary units side by side. */
/* clang-format off */
static const struct unit size_units[] = {
    {"B", 1},
    {"KB", 1000ULL}, {"KiB", 1ULL << 10},
    {"MB", 1000000ULL}, {"MiB", 1ULL << 20},
    {"GB", 1000000000ULL}, {"GiB", 1ULL << 30},
    {"TB", 1000000000000ULL}, {"TiB", 1ULL << 40},
    {NULL, 0},
};
/* clang-format on */

/* Largest unit first, for printing. */
static const struct unit duration_units[] = {
    {"w", 7 * 86400}, {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}, {NULL, 0},
};

/* For the timers that tests (and operators) want below a second. */
static const struct unit millis_units[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}, {NULL, 0},
};

static const struct unit *units_of(enum config_type t)
{
    switch (t) {
    case CFG_SIZE: return size_units;
    case CFG_DURATION: return duration_units;
    case CFG_MILLIS: return millis_units;
    default: return NULL;
    }
}

/* What a number without a unit counts: bytes, or seconds. */
static uint64_t bare_factor(enum config_type t) { return t == CFG_MILLIS ? 1000 : 1; }

/* Parses decimal digits only (no sign, no hex: a config value is written by
 * a person); *used counts all the digits, even past an overflow. Returns 0,
 * -ERANGE on overflow, or -EINVAL if there are no digits. */
static int parse_digits(const char *s, size_t len, size_t *used, uint64_t *out)
{
    uint64_t v = 0;
    bool over = false;
    size_t i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        over = over || __builtin_mul_overflow(v, 10, &v) ||
               __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v);
    *used = i;
    *out = v;
    return i == 0 ? -EINVAL : over ? -ERANGE : 0;
}

/* "256KiB", "50 MB", "30s", "500ms", or a plain number (bytes, seconds). Sizes
 * take their unit in any case; durations lower-case only ("M" could be
 * read as months). */
static int parse_scaled(const struct config_option *o, const char *s, size_t len, uint64_t *out,
                        char *why, size_t wn)
{
    char sh[MAX_SHOWN + 4];
    size_t used;
    uint64_t v;
    int r = parse_digits(s, len, &used, &v);
    if (r == -EINVAL)
        return snprintf(why, wn, "'%s' is not a number", shown(s, len, sh)), -EINVAL;
    size_t u = used;
    while (u < len && s[u] == ' ')
        u++;
    const struct unit *unit = NULL;
    for (const struct unit *t = units_of(o->type); u < len && t && t->name; t++) {
        size_t n = strlen(t->name);
        if (n != len - u)
            continue;
        if (o->type == CFG_SIZE ? strncasecmp(s + u, t->name, n) == 0
                                : memcmp(s + u, t->name, n) == 0)
            unit = t;
    }
    if (u < len && !unit)
        return snprintf(why, wn, "'%s' has an unknown unit", shown(s, len, sh)), -EINVAL;
    uint64_t factor = unit ? unit->factor : bare_factor(o->type);
    if (r == -ERANGE || __builtin_mul_overflow(v, factor, &v))
        return snprintf(why, wn, "'%s' is too large", shown(s, len, sh)), -EINVAL;
    *out = v;
    return 0;
}

/* Writes v with the largest unit that divides it exactly. */
static void format_scaled(enum config_type t, uint64_t v, char *out, size_t n)
{
    const struct unit *best = NULL;
    for (const struct unit *u = units_of(t); u && u->name; u++)
        if (v != 0 && v % u->factor == 0 && (!best || u->factor > best->factor))
            best = u;
    if (best && best->factor > 1)
        snprintf(out, n, "%llu%s", (unsigned long long)(v / best->factor), best->name);
    else
        snprintf(out, n, "%llu%s", (unsigned long long)v,
                 t == CFG_DURATION ? "s"
                 : t == CFG_MILLIS ? "ms"
                                   : "");
}

/* ---- What each option allows, in words (messages, comments, docs) ---- */

static void join_choices(const char *const *ch, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; ch[i] && k < n; i++) {
        const char *sep = i == 0 ? "" : ch[i + 1] ? ", " : " or ";
        int w = snprintf(out + k, n - k, "%s%s", sep, ch[i]);
        k += w > 0 ? (size_t)w : 0;
    }
}

void config_describe_allowed(const struct config_option *o, char *out, size_t n)
{
    char lo[32], hi[32], list[200];
    long long mn = (long long)o->min, mx = (long long)o->max;
    switch (o->type) {
    case CFG_BOOL: snprintf(out, n, "true or false"); break;
    case CFG_INT: snprintf(out, n, "%lld to %lld", mn, mx); break;
    case CFG_SIZE:
        format_scaled(o->type, (uint64_t)o->min, lo, sizeof lo);
        format_scaled(o->type, (uint64_t)o->max, hi, sizeof hi);
        snprintf(out, n, "%s to %s (bytes, or units B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)", lo,
                 hi);
        break;
    case CFG_DURATION:
        format_scaled(o->type, (uint64_t)o->min, lo, sizeof lo);
        format_scaled(o->type, (uint64_t)o->max, hi, sizeof hi);
        snprintf(out, n, "%s to %s (seconds, or units s, m, h, d, w)", lo, hi);
        break;
    case CFG_MILLIS:
        format_scaled(o->type, (uint64_t)o->min, lo, sizeof lo);
        format_scaled(o->type, (uint64_t)o->max, hi, sizeof hi);
        snprintf(out, n, "%s to %s (seconds, or units ms, s, m, h, d)", lo, hi);
        break;
    case CFG_STRING:
        if (o->choices) {
            join_choices(o->choices, list, sizeof list);
            snprintf(out, n, "%s", list);
        } else {
            snprintf(out, n, "text of 1 to %lld printable characters", mx);
        }
        break;
    case CFG_ENUM:
        join_choices(o->choices, list, sizeof list);
        snprintf(out, n, "%s", list);
        break;
    case CFG_PATH: snprintf(out, n, "a path of at most %lld bytes once made absolute", mx); break;
    case CFG_STRLIST: snprintf(out, n, "a list of %lld to %lld strings", mn, mx); break;
    case CFG_DOMAINS:
        snprintf(out, n, "a list of %lld to %lld domain names (no port, no trailing dot)", mn, mx);
        break;
    case CFG_JIDS:
        snprintf(out, n, "a list of %lld to %lld bare JIDs (user@domain)", mn, mx);
        break;
    case CFG_ADDRS:
        snprintf(out, n, "a list of %lld to %lld IPv4 or IPv6 addresses", mn, mx);
        break;
    case CFG_SECRETS:
        snprintf(out, n,
                 "a mapping of %lld to %lld domain names to secrets of %d to %d printable "
                 "characters",
                 mn, mx, CONFIG_SECRET_MIN, CONFIG_SECRET_MAX);
        break;
    }
}

const char *config_type_name(enum config_type t)
{
    /* clang-format off */
    static const char *const names[] = {
        [CFG_BOOL] = "bool",       [CFG_INT] = "integer",
        [CFG_SIZE] = "size",       [CFG_DURATION] = "duration",
        [CFG_MILLIS] = "duration",
        [CFG_STRING] = "string",   [CFG_ENUM] = "enum",
        [CFG_PATH] = "path",       [CFG_STRLIST] = "list of strings",
        [CFG_DOMAINS] = "list of domains", [CFG_JIDS] = "list of JIDs",
        [CFG_ADDRS] = "list of addresses", [CFG_SECRETS] = "domain: secret",
    };
    /* clang-format on */
    return names[t];
}

/* ---- Checking single values ---- */

static bool printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Domain name as a server or JID domain: the one normaliser the JID
 * code uses too (core/domain.h: IDNA2008, UTS #46 non-transitional), so
 * a configured domain is spelled exactly as a stream's 'to' will be once
 * prepared. A file may not write a port, a trailing dot or an IP address
 * where a domain name belongs. */
int config_normalize_domain(const char *s, size_t len, char **out, char *why, size_t wn)
{
    char d[DOMAIN_RAW_MAX + 1];
    if (len == 0)
        return snprintf(why, wn, "the domain is empty"), -EINVAL;
    if (memchr(s, ':', len))
        return snprintf(why, wn, "a domain has no port"), -EINVAL;
    if (s[len - 1] == '.')
        return snprintf(why, wn, "a domain has no trailing dot"), -EINVAL;
    int r = domain_normalize(s, len, d, sizeof d, why, wn);
    if (r < 0)
        return r == -ENOBUFS ? (snprintf(why, wn, "the domain is too long"), -EINVAL) : r;
    const char *last = strrchr(d, '.');
    last = last ? last + 1 : d;
    if (strspn(last, "0123456789") == strlen(last))
        return snprintf(why, wn, "an IP address is not a domain name"), -EINVAL;
    *out = strdup(d);
    return *out ? 0 : -ENOMEM;
}

/* A bare JID "local@domain": the domain normalised, the local part checked
 * for the characters RFC 6122 nodeprep always forbids. Full preparation is
 * jid.c's job. */
static int normalize_jid(const char *s, size_t len, char **out, char *why, size_t wn)
{
    const char *at = memchr(s, '@', len);
    if (!at || at == s)
        return snprintf(why, wn, "a JID needs a user part and '@'"), -EINVAL;
    size_t llen = (size_t)(at - s);
    if (memchr(s, '/', len))
        return snprintf(why, wn, "a bare JID has no '/resource'"), -EINVAL;
    if (llen > 1023)
        return snprintf(why, wn, "the user part is longer than 1023 bytes"), -EINVAL;
    for (size_t i = 0; i < llen; i++)
        if (isspace((unsigned char)s[i]) || strchr("\"&':<>", s[i]))
            return snprintf(why, wn, "'%c' is not allowed in the user part", s[i]), -EINVAL;
    char *dom;
    int r = config_normalize_domain(at + 1, len - llen - 1, &dom, why, wn);
    if (r < 0)
        return r;
    size_t dlen = strlen(dom);
    char *j = malloc(llen + 1 + dlen + 1);
    if (j) {
        memcpy(j, s, llen);
        j[llen] = '@';
        memcpy(j + llen + 1, dom, dlen + 1);
    }
    free(dom);
    *out = j;
    return j ? 0 : -ENOMEM;
}

/* An IP address, kept in its canonical spelling ("::0" becomes "::"). */
static int normalize_addr(const char *s, size_t len, char **out, char *why, size_t wn)
{
    char in[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    int af = 0;
    if (len < sizeof in) {
        memcpy(in, s, len);
        in[len] = '\0';
        af = inet_pton(AF_INET, in, bin) == 1    ? AF_INET
             : inet_pton(AF_INET6, in, bin) == 1 ? AF_INET6
                                                 : 0;
    }
    if (!af || !inet_ntop(af, bin, canon, sizeof canon)) {
        char sh[MAX_SHOWN + 4];
        return snprintf(why, wn, "'%s' is not an IP address", shown(s, len, sh)), -EINVAL;
    }
    *out = strdup(canon);
    return *out ? 0 : -ENOMEM;
}

/* A string or path may be empty only where that is its default. */
static bool empty_allowed(const struct config_option *o) { return o->def && !o->def[0]; }

static int check_text(const struct config_option *o, const char *s, size_t len, char *why,
                      size_t wn)
{
    char sh[MAX_SHOWN + 4];
    if (len == 0 && !empty_allowed(o))
        return snprintf(why, wn, "the value is empty"), -EINVAL;
    if ((int64_t)len > o->max)
        return snprintf(why, wn, "the value is %zu bytes long", len), -EINVAL;
    if (!printable(s, len))
        return snprintf(why, wn, "'%s' contains control characters", shown(s, len, sh)), -EINVAL;
    return 0;
}

/* One list item, checked and normalised into *out. */
static int parse_item(const struct config_option *o, const char *s, size_t len, char **out,
                      char *why, size_t wn)
{
    switch (o->type) {
    case CFG_DOMAINS: return config_normalize_domain(s, len, out, why, wn);
    case CFG_JIDS: return normalize_jid(s, len, out, why, wn);
    case CFG_ADDRS: return normalize_addr(s, len, out, why, wn);
    default: break;
    }
    if (len == 0)
        return snprintf(why, wn, "an item is empty"), -EINVAL;
    if (!printable(s, len))
        return snprintf(why, wn, "an item contains control characters"), -EINVAL;
    *out = xstrndup(s, len);
    return *out ? 0 : -ENOMEM;
}

static int parse_number(const struct config_option *o, const char *s, size_t len, uint64_t *v,
                        char *why, size_t wn)
{
    char sh[MAX_SHOWN + 4];
    size_t used;
    int r;
    if (o->type == CFG_INT) {
        r = parse_digits(s, len, &used, v);
        if (r == -EINVAL || (r == 0 && used != len))
            return snprintf(why, wn, "'%s' is not a whole number", shown(s, len, sh)), -EINVAL;
        if (r == -ERANGE)
            return snprintf(why, wn, "'%s' is too large", shown(s, len, sh)), -EINVAL;
    } else if ((r = parse_scaled(o, s, len, v, why, wn)) < 0) {
        return r;
    }
    if (*v < (uint64_t)o->min || *v > (uint64_t)o->max)
        return snprintf(why, wn, "'%s' is out of range", shown(s, len, sh)), -EINVAL;
    return 0;
}

static int choice_index(const char *const *ch, const char *s, size_t len)
{
    for (int i = 0; ch && ch[i]; i++)
        if (strlen(ch[i]) == len && memcmp(ch[i], s, len) == 0)
            return i;
    return -1;
}

/* Joins a relative path to dir (if any); absolute paths stay as they are. */
static int resolve_path(const char *dir, const char *s, size_t len, char **out)
{
    if (s[0] == '/' || !dir) {
        *out = xstrndup(s, len);
        return *out ? 0 : -ENOMEM;
    }
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *p = malloc(dl + 1 + len + 1);
    if (!p)
        return -ENOMEM;
    memcpy(p, dir, dl);
    if (!slash)
        p[dl++] = '/';
    memcpy(p + dl, s, len);
    p[dl + len] = '\0';
    *out = p;
    return 0;
}

/* Parses one scalar value of option o and stores it into c. dir resolves
 * relative paths (NULL: leave them relative). 0, -EINVAL (why says what is
 * wrong) or -ENOMEM. */
static int set_scalar(struct config *c, const struct config_option *o, const char *dir,
                      const char *s, size_t len, char *why, size_t wn)
{
    char sh[MAX_SHOWN + 4];
    uint64_t v;
    char *str;
    int r, i = -1;
    if (memchr(s, '\0', len))
        return snprintf(why, wn, "the value contains a NUL byte"), -EINVAL;
    switch (o->type) {
    case CFG_BOOL:
        i = choice_index(
            (const char *const[]){"false", "true", "False", "True", "FALSE", "TRUE", NULL}, s, len);
        if (i < 0)
            return snprintf(why, wn, "'%s' is not a boolean", shown(s, len, sh)), -EINVAL;
        *(bool *)field(c, o) = i % 2;
        return 0;
    case CFG_INT:
    case CFG_SIZE:
    case CFG_DURATION:
    case CFG_MILLIS:
        if ((r = parse_number(o, s, len, &v, why, wn)) < 0)
            return r;
        store_int(c, o, v);
        return 0;
    case CFG_ENUM:
    case CFG_STRING:
        if (o->choices && (i = choice_index(o->choices, s, len)) < 0)
            return snprintf(why, wn, "'%s' is not a known value", shown(s, len, sh)), -EINVAL;
        if (o->type == CFG_ENUM)
            return store_int(c, o, (uint64_t)i), 0;
        if ((r = check_text(o, s, len, why, wn)) < 0)
            return r;
        if (!(str = xstrndup(s, len)))
            return -ENOMEM;
        store_str(c, o, str);
        return 0;
    case CFG_PATH:
        if (len == 0 && empty_allowed(o)) { /* optional: empty means none */
            if (!(str = xstrndup(s, 0)))
                return -ENOMEM;
            store_str(c, o, str);
            return 0;
        }
        if (len == 0)
            return snprintf(why, wn, "the path is empty"), -EINVAL;
        if ((r = resolve_path(dir, s, len, &str)) < 0)
            return r;
        if ((int64_t)strlen(str) > o->max || !printable(str, strlen(str))) {
            if ((int64_t)strlen(str) > o->max)
                snprintf(why, wn, "'%s' is %zu bytes long", shown(str, strlen(str), sh),
                         strlen(str));
            else
                snprintf(why, wn, "'%s' contains control characters", shown(str, strlen(str), sh));
            return free(str), -EINVAL;
        }
        store_str(c, o, str);
        return 0;
    default: return snprintf(why, wn, "a list is expected"), -EINVAL;
    }
}

/* Appends item to l unless it is already there. 0, 1 (duplicate: item
 * freed) or -ENOMEM. */
static int list_add(struct strlist *l, char *item)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], item) == 0)
            return free(item), 1;
    char **n = realloc(l->items, (l->n + 1) * sizeof *n);
    if (!n)
        return free(item), -ENOMEM;
    l->items = n;
    l->items[l->n++] = item;
    return 0;
}

/* ---- Defaults ---- */

/* Sets o to its default; why (if not NULL) says what is wrong on -EINVAL. */
static int set_default(struct config *c, const struct config_option *o, char *why)
{
    char spare[WHY_LEN];
    why = why ? why : spare;
    if (!config_is_list(o->type))
        return set_scalar(c, o, c->dir, o->def, strlen(o->def), why, WHY_LEN);
    struct strlist l = {0};
    for (size_t i = 0; o->def_list && o->def_list[i]; i++) {
        char *item;
        int r = parse_item(o, o->def_list[i], strlen(o->def_list[i]), &item, why, WHY_LEN);
        if (r == 0)
            r = list_add(&l, item) < 0 ? -ENOMEM : 0;
        if (r < 0)
            return strlist_free(&l), r;
    }
    store_list(c, o, &l);
    return 0;
}

static int fill_defaults(struct config *c, const struct config_schema *s)
{
    memset(c, 0, sizeof *c);
    c->schema = *s;
    for (size_t t = 0; t < s->n; t++)
        if (s->t[t]->block_size && !(c->blocks[t] = calloc(1, s->t[t]->block_size)))
            return config_free(c), -ENOMEM;
    for (size_t i = 0, n = config_schema_noptions(s); i < n; i++) {
        int r = set_default(c, config_schema_option(s, i), NULL);
        if (r < 0)
            return config_free(c), r;
    }
    return 0;
}

void config_defaults(struct config *c, const struct config_schema *s)
{
    int r = fill_defaults(c, s);
    if (r < 0) {
        /* A bad table default is a bug caught by the unit tests; out of
         * memory at start-up leaves nothing sensible to do. */
        fprintf(stderr, "taube: config defaults: %s\n", strerror(-r));
        abort();
    }
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0, n = config_schema_noptions(&c->schema); i < n; i++) {
        const struct config_option *o = config_schema_option(&c->schema, i);
        size_t t = table_of(&c->schema, o);
        if (c->schema.t[t]->block_size && !c->blocks[t])
            continue; /* its block was never made (out of memory) */
        if (config_is_list(o->type))
            strlist_free(field(c, o));
        else if (o->type == CFG_STRING || o->type == CFG_PATH)
            store_str(c, o, NULL);
    }
    for (size_t t = 0; t < c->schema.n; t++)
        free(c->blocks[t]);
    free(c->path);
    free(c->dir);
    memset(c, 0, sizeof *c);
}

/* ---- Loading: the YAML side ---- */

struct load {
    struct config *c;
    const char *name;         /* file name for messages */
    struct buf errs;
    int nerr;
    bool oom;
    struct fy_mark *where;    /* per option of the schema: where it was set (line -1: not set) */
};

/* o's place in the schema (the index of ld->where). */
static size_t option_index(const struct config_schema *s, const struct config_option *o)
{
    size_t base = 0;
    for (size_t t = 0; t < s->n; base += s->t[t]->n_options, t++)
        if (o >= s->t[t]->options && o < s->t[t]->options + s->t[t]->n_options)
            return base + (size_t)(o - s->t[t]->options);
    abort(); /* o comes from the schema */
}

static void report_at(struct load *ld, const struct fy_mark *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends one "FILE:LINE:COL: message" line; m NULL or line < 0 means no
 * position. */
static void report_at(struct load *ld, const struct fy_mark *m, const char *fmt, ...)
{
    if (ld->nerr++ >= CONFIG_MAX_ERRORS)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int r;
    if (m && m->line >= 0)
        r = buf_printf(&ld->errs, "%s:%d:%d: %s\n", ld->name, m->line + 1, m->column + 1, msg);
    else
        r = buf_printf(&ld->errs, "%s: %s\n", ld->name, msg);
    if (r == -ENOMEM)
        ld->oom = true;
}

/* Position of a node: its own token for scalars, else its first child's. */
static struct fy_mark node_mark(struct fy_node *n)
{
    struct fy_mark none = {.line = -1};
    for (int depth = 0; n && depth < MAX_DEPTH; depth++) {
        if (fy_node_is_scalar(n)) {
            struct fy_token *t = fy_node_get_scalar_token(n);
            const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
            if (!m)
                return none;
            /* libfyaml marks a quoted scalar's text; point at its quote. */
            enum fy_node_style st = fy_node_get_style(n);
            struct fy_mark q = *m;
            if ((st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED) && q.column > 0)
                q.column--;
            return q;
        }
        void *it = NULL;
        if (fy_node_is_sequence(n)) {
            n = fy_node_sequence_iterate(n, &it);
        } else {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
        }
    }
    return none;
}

/* YAML's null: an empty plain value, "~" or "null". */
static bool is_null(struct fy_node *n)
{
    if (!n)
        return true;
    if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    return !s || len == 0 ||
           choice_index((const char *const[]){"~", "null", "Null", "NULL", NULL}, s, len) >= 0;
}

static void report_bad(struct load *ld, const struct config_option *o, struct fy_node *at,
                       struct fy_node *fallback, const char *why)
{
    char allowed[400];
    config_describe_allowed(o, allowed, sizeof allowed);
    struct fy_mark m = node_mark(at);
    if (m.line < 0)
        m = node_mark(fallback);
    report_at(ld, &m, "key '%s': %s; allowed: %s", o->key, why, allowed);
}

/* Checks one list item and appends it to l. 0, -EINVAL (why says what is
 * wrong) or -ENOMEM. */
static int add_item(const struct config_option *o, struct strlist *l, struct fy_node *item,
                    char *why)
{
    char sh[MAX_SHOWN + 4];
    size_t len;
    const char *s = fy_node_is_scalar(item) ? fy_node_get_scalar(item, &len) : NULL;
    if (!s)
        return snprintf(why, WHY_LEN, "an item is not a single value"), -EINVAL;
    if (memchr(s, '\0', len))
        return snprintf(why, WHY_LEN, "an item contains a NUL byte"), -EINVAL;
    if ((int64_t)l->n >= o->max)
        return snprintf(why, WHY_LEN, "the list has more than %lld items", (long long)o->max),
               -EINVAL;
    char *out;
    int r = parse_item(o, s, len, &out, why, WHY_LEN);
    if (r == 0 && (r = list_add(l, out)) == 1)
        return snprintf(why, WHY_LEN, "'%s' is listed twice", shown(s, len, sh)), -EINVAL;
    return r;
}

/* One "domain: secret" pair of a CFG_SECRETS mapping, appended to l as
 * "DOMAIN SECRET" (a domain has no space). 0, -EINVAL or -ENOMEM. */
static int add_secret(const struct config_option *o, struct strlist *l, struct fy_node_pair *p,
                      char *why)
{
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    size_t kl = 0, vl = 0;
    const char *ks = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &kl) : NULL;
    const char *vs = v && fy_node_is_scalar(v) ? fy_node_get_scalar(v, &vl) : NULL;
    if (!ks || !vs || memchr(ks, '\0', kl) || memchr(vs, '\0', vl))
        return snprintf(why, WHY_LEN, "each entry is 'domain: secret'"), -EINVAL;
    if ((int64_t)l->n >= o->max)
        return snprintf(why, WHY_LEN, "more than %lld entries", (long long)o->max), -EINVAL;
    if (vl < CONFIG_SECRET_MIN || vl > CONFIG_SECRET_MAX || !printable(vs, vl))
        return snprintf(why, WHY_LEN, "a secret must be %d to %d printable characters",
                        CONFIG_SECRET_MIN, CONFIG_SECRET_MAX),
               -EINVAL;
    char *dom;
    int r = config_normalize_domain(ks, kl, &dom, why, WHY_LEN);
    if (r < 0)
        return r;
    size_t dl = strlen(dom);
    for (size_t i = 0; i < l->n; i++)
        if (strncmp(l->items[i], dom, dl) == 0 && l->items[i][dl] == ' ') {
            snprintf(why, WHY_LEN, "'%s' is listed twice", dom);
            return free(dom), -EINVAL;
        }
    char *item = malloc(dl + 1 + vl + 1);
    if (item) {
        memcpy(item, dom, dl);
        item[dl] = ' ';
        memcpy(item + dl + 1, vs, vl);
        item[dl + 1 + vl] = '\0';
    }
    free(dom);
    return item ? list_add(l, item) : -ENOMEM;
}

/* A CFG_SECRETS value: a mapping, or null, {} or [] (none). */
static int secrets_value(const struct config_option *o, struct strlist *l, struct fy_node **v,
                         char *why)
{
    void *it = NULL;
    if (fy_node_is_sequence(*v) && !fy_node_sequence_iterate(*v, &it))
        return 0;
    if (!fy_node_is_mapping(*v))
        return snprintf(why, WHY_LEN, "a mapping of domain: secret is expected"), -EINVAL;
    int r = 0;
    for (struct fy_node_pair *p; r == 0 && (p = fy_node_mapping_iterate(*v, &it));)
        if ((r = add_secret(o, l, p, why)) == -EINVAL)
            *v = fy_node_pair_key(p);
    return r;
}

/* A list value: a sequence, a single scalar (a list of one) or null (the
 * empty list). Stored only if every item is good. */
static void set_list(struct load *ld, const struct config_option *o, struct fy_node *key,
                     struct fy_node *v)
{
    char why[WHY_LEN];
    struct strlist l = {0};
    int r = 0;
    void *it = NULL;
    if (is_null(v))
        v = NULL;
    else if (o->type == CFG_SECRETS)
        r = secrets_value(o, &l, &v, why);
    else if (!fy_node_is_sequence(v))
        r = add_item(o, &l, v, why);
    else
        for (struct fy_node *item; r == 0 && (item = fy_node_sequence_iterate(v, &it));)
            if ((r = add_item(o, &l, item, why)) == -EINVAL)
                v = item; /* report where the bad item is */
    if (r == 0 && (int64_t)l.n < o->min) {
        snprintf(why, sizeof why, "the list has %zu items", l.n);
        r = -EINVAL;
    }
    if (r == -EINVAL)
        report_bad(ld, o, v, key, why);
    if (r == -ENOMEM)
        ld->oom = true;
    if (r == 0)
        store_list(ld->c, o, &l);
    else
        strlist_free(&l);
}

static void set_option(struct load *ld, const struct config_option *o, struct fy_node *key,
                       struct fy_node *v)
{
    ld->where[option_index(&ld->c->schema, o)] = node_mark(key);
    if (config_is_list(o->type))
        return set_list(ld, o, key, v);
    char why[WHY_LEN];
    size_t len;
    const char *s = v && fy_node_is_scalar(v) ? fy_node_get_scalar(v, &len) : NULL;
    if (is_null(v) || !s) {
        report_bad(ld, o, v, key, is_null(v) ? "no value is given" : "a single value is expected");
        return;
    }
    int r = set_scalar(ld->c, o, ld->c->dir, s, len, why, sizeof why);
    if (r == -EINVAL)
        report_bad(ld, o, v, key, why);
    else if (r == -ENOMEM)
        ld->oom = true;
}

/* The keys of a section, "a, b, c", for "unknown key" messages. */
static void section_keys(const struct config_schema *sc, const char *section, size_t slen,
                         char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0, no = config_schema_noptions(sc); i < no && k < n; i++) {
        const char *key = config_schema_option(sc, i)->key;
        if (strncmp(key, section, slen) == 0 && key[slen] == '.') {
            int w = snprintf(out + k, n - k, "%s%s", k ? ", " : "", key + slen + 1);
            k += w > 0 ? (size_t)w : 0;
        }
    }
}

static const struct config_option *find_option(const struct config_schema *sc, const char *section,
                                               const char *key, size_t klen)
{
    size_t slen = strlen(section);
    for (size_t i = 0, n = config_schema_noptions(sc); i < n; i++) {
        const char *k = config_schema_option(sc, i)->key;
        if (strncmp(k, section, slen) == 0 && k[slen] == '.' && strlen(k + slen + 1) == klen &&
            memcmp(k + slen + 1, key, klen) == 0)
            return config_schema_option(sc, i);
    }
    return NULL;
}

static void load_section(struct load *ld, const struct config_section *sec, struct fy_node *map)
{
    char sh[MAX_SHOWN + 4], keys[800];
    if (is_null(map))
        return;
    if (!fy_node_is_mapping(map)) {
        struct fy_mark m = node_mark(map);
        section_keys(&ld->c->schema, sec->name, strlen(sec->name), keys, sizeof keys);
        report_at(ld, m.line >= 0 ? &m : NULL, "section '%s' is not a mapping; allowed: keys %s",
                  sec->name, keys);
        return;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        size_t len = 0;
        const char *s = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &len) : NULL;
        const struct config_option *o = s ? find_option(&ld->c->schema, sec->name, s, len) : NULL;
        if (o) {
            set_option(ld, o, k, fy_node_pair_value(p));
            continue;
        }
        struct fy_mark m = node_mark(k);
        section_keys(&ld->c->schema, sec->name, strlen(sec->name), keys, sizeof keys);
        report_at(ld, m.line >= 0 ? &m : NULL, "unknown key '%s' in section '%s'; allowed: %s",
                  s ? shown(s, len, sh) : "(not a name)", sec->name, keys);
    }
}

static void load_root(struct load *ld, struct fy_node *root)
{
    char sh[MAX_SHOWN + 4], names[400];
    names[0] = '\0';
    const struct config_schema *sc = &ld->c->schema;
    size_t nsec = config_schema_nsections(sc);
    for (size_t i = 0, k = 0; i < nsec && k < sizeof names; i++) {
        int w = snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "",
                         config_schema_section(sc, i)->name);
        k += w > 0 ? (size_t)w : 0;
    }
    if (is_null(root))
        return;
    if (!fy_node_is_mapping(root)) {
        struct fy_mark m = node_mark(root);
        report_at(ld, m.line >= 0 ? &m : NULL, "the file is not a mapping of sections; allowed: %s",
                  names);
        return;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(root, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        size_t len = 0;
        const char *s = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &len) : NULL;
        const struct config_section *sec = NULL;
        for (size_t i = 0; s && i < nsec; i++) {
            const struct config_section *c = config_schema_section(sc, i);
            if (strlen(c->name) == len && memcmp(c->name, s, len) == 0)
                sec = c;
        }
        if (sec) {
            load_section(ld, sec, fy_node_pair_value(p));
            continue;
        }
        struct fy_mark m = node_mark(k);
        report_at(ld, m.line >= 0 ? &m : NULL, "unknown section '%s'; allowed: %s",
                  s ? shown(s, len, sh) : "(not a name)", names);
    }
}

/* Counts nodes as they will be once aliases are expanded, stopping at the
 * bounds; follows aliases itself, so cycles end at MAX_DEPTH. */
static int measure(struct fy_node *n, int depth, size_t *count)
{
    if (!n)
        return 0;
    if (++*count > MAX_NODES || depth > MAX_DEPTH)
        return -E2BIG;
    if (fy_node_is_alias(n))
        return measure(fy_node_resolve_alias(n), depth + 1, count);
    void *it = NULL;
    int r = 0;
    if (fy_node_is_sequence(n)) {
        struct fy_node *item;
        while (r == 0 && (item = fy_node_sequence_iterate(n, &it)))
            r = measure(item, depth + 1, count);
    } else if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p;
        while (r == 0 && (p = fy_node_mapping_iterate(n, &it)))
            if ((r = measure(fy_node_pair_key(p), depth + 1, count)) == 0)
                r = measure(fy_node_pair_value(p), depth + 1, count);
    }
    return r;
}

/* Turns libfyaml's collected diagnostics into our lines. */
static void report_diag(struct load *ld, struct fy_diag *diag)
{
    char sh[MAX_SHOWN + 4];
    void *it = NULL;
    struct fy_diag_error *e;
    while ((e = fy_diag_errors_iterate(diag, &it))) {
        if (e->type < FYET_ERROR)
            continue;
        struct fy_mark m = {.line = e->line - 1, .column = e->column - 1};
        if (e->msg && strcmp(e->msg, "duplicate key") == 0) {
            size_t tl = 0;
            const char *t = e->fyt ? fy_token_get_text(e->fyt, &tl) : NULL;
            report_at(ld, &m, "duplicate key '%s'; allowed: each key once",
                      t ? shown(t, tl, sh) : "?");
        } else {
            report_at(ld, &m, "YAML: %s", e->msg ? e->msg : "syntax error");
        }
    }
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

/* A config file is UTF-8 text without control characters but line ends;
 * tabs are refused too (YAML indents with spaces). Checked before libfyaml
 * sees it, because libfyaml 0.7.12 loops forever on some malformed input
 * ("%\x84") and crashes freeing its parser after "? r:<TAB>:"; both
 * found by fuzz_config. */
static bool check_bytes(struct load *ld, const char *data, size_t len)
{
    struct fy_mark m = {.line = 0, .column = 0};
    for (size_t i = 0, n; i < len; i += n, m.column++) {
        unsigned char b = (unsigned char)data[i];
        n = utf8_len((const unsigned char *)data + i, len - i);
        if (b == '\t') {
            report_at(ld, &m, "a tab character; allowed: spaces (YAML indents with spaces)");
            return false;
        }
        if (n == 0 || (b < 0x20 && b != '\n' && b != '\r') || b == 0x7f) {
            report_at(ld, &m,
                      "byte 0x%02x is not text; allowed: UTF-8 text without control characters", b);
            return false;
        }
        if (b == '\n')
            m.line++, m.column = -1;
    }
    return true;
}

/* Parses one YAML document from data, resolves its aliases (as
 * FYPCF_RESOLVE_DOCUMENT would, after bounding the expansion) and applies
 * it. Problems go to ld. */
static int parse_yaml(struct load *ld, const char *data, size_t len)
{
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (!diag)
        return -ENOMEM;
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pc = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_parser *p = fy_parser_create(&pc);
    if (!p || fy_parser_set_string(p, data, len) != 0) {
        fy_parser_destroy(p);
        fy_diag_destroy(diag);
        return -ENOMEM;
    }
    struct fy_document *doc = fy_parse_load_document(p);
    size_t count = 0;
    if (doc && !fy_diag_got_error(diag)) {
        struct fy_document *extra = fy_parse_load_document(p);
        if (extra) {
            struct fy_mark m = node_mark(fy_document_root(extra));
            report_at(ld, m.line >= 0 ? &m : NULL, "a second YAML document; allowed: one document");
            fy_parse_document_destroy(p, extra);
        } else if (measure(fy_document_root(doc), 0, &count) < 0) {
            report_at(ld, NULL,
                      "the document is too large once aliases are expanded; "
                      "allowed: %d nodes, nested %d deep",
                      MAX_NODES, MAX_DEPTH);
        } else if (fy_document_resolve(doc) == 0 && !fy_diag_got_error(diag)) {
            load_root(ld, fy_document_root(doc));
        }
    }
    report_diag(ld, diag);
    if (doc)
        fy_parse_document_destroy(p, doc);
    fy_parser_destroy(p);
    fy_diag_destroy(diag);
    return 0;
}

/* ---- Checks across options ---- */

static const struct config_option *option_by_key(const struct config_schema *sc, const char *key)
{
    for (size_t i = 0, n = config_schema_noptions(sc); i < n; i++)
        if (strcmp(config_schema_option(sc, i)->key, key) == 0)
            return config_schema_option(sc, i);
    return NULL;
}

/* A list with a minimum its default does not meet must be in the file. */
static void check_required(struct load *ld)
{
    char allowed[400];
    for (size_t i = 0, n = config_schema_noptions(&ld->c->schema); i < n; i++) {
        const struct config_option *o = config_schema_option(&ld->c->schema, i);
        const struct strlist *l = field(ld->c, o);
        if (config_is_list(o->type) && ld->where[i].line < 0 && (int64_t)l->n < o->min) {
            config_describe_allowed(o, allowed, sizeof allowed);
            report_at(ld, NULL, "key '%s' is missing; allowed: %s", o->key, allowed);
        }
    }
}

/* A domain is served as accounts or by a component, not both. */
static void check_component_domains(struct load *ld)
{
    const struct config_option *o = option_by_key(&ld->c->schema, "component.secrets");
    if (!o) /* core options are always in the schema; a test schema may lack them */
        return;
    const struct strlist *sec = field(ld->c, o), *dom = &ld->c->domains;
    for (size_t i = 0; i < sec->n; i++)
        for (size_t j = 0; j < dom->n; j++) {
            size_t dl = strlen(dom->items[j]);
            if (strncmp(sec->items[i], dom->items[j], dl) == 0 && sec->items[i][dl] == ' ')
                report_at(ld, &ld->where[option_index(&ld->c->schema, o)],
                          "key '%s': '%s' is also in 'server.domains'; allowed: a domain "
                          "that is not a virtual host",
                          o->key, dom->items[j]);
        }
}

static void check_ports(struct load *ld)
{
    static const char *const keys[] = {"c2s.port", "c2s.tls_port", "s2s.port", "http.port",
                                       "component.port"};
    const size_t n = sizeof keys / sizeof keys[0];
    for (size_t j = 1; j < n; j++) {
        const struct config_option *b = option_by_key(&ld->c->schema, keys[j]);
        if (!b)
            continue;
        int pb = *(const int *)field(ld->c, b);
        for (size_t i = 0; i < j && pb != 0; i++) {
            const struct config_option *a = option_by_key(&ld->c->schema, keys[i]);
            if (!a || *(const int *)field(ld->c, a) != pb)
                continue;
            /* The mark is copied: the position of b if the file sets it, else a's. */
            struct fy_mark m = ld->where[option_index(&ld->c->schema, b)];
            if (m.line < 0)
                m = ld->where[option_index(&ld->c->schema, a)];
            report_at(ld, &m,
                      "key '%s': port %d is also '%s'; allowed: a port no other listener uses, or "
                      "0 (off)",
                      b->key, pb, a->key);
        }
    }
}

/* Paths the file did not set are the defaults, resolved against the file's
 * directory now that it is known; a deep directory can make one too long. */
static void resolve_default_paths(struct load *ld)
{
    char why[WHY_LEN], allowed[400];
    for (size_t i = 0, n = config_schema_noptions(&ld->c->schema); i < n; i++) {
        const struct config_option *o = config_schema_option(&ld->c->schema, i);
        if (o->type != CFG_PATH || ld->where[i].line >= 0)
            continue;
        int r = set_default(ld->c, o, why);
        if (r == -ENOMEM)
            ld->oom = true;
        if (r == -EINVAL) {
            config_describe_allowed(o, allowed, sizeof allowed);
            report_at(ld, NULL, "key '%s': the default, resolved, %s; allowed: %s (set the key)",
                      o->key, why, allowed);
        }
    }
}

/* ---- Loading: entry points ---- */

/* c->path = abs (taken), c->dir = its directory. */
static int set_file_names(struct config *c, char *abs)
{
    c->path = abs;
    char *slash = strrchr(abs, '/');
    size_t dl = slash == abs ? 1 : (size_t)(slash - abs);
    c->dir = xstrndup(abs, dl);
    return c->dir ? 0 : -ENOMEM;
}

static char *absolute_name(const char *name)
{
    if (name[0] == '/')
        return strdup(name);
    char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return NULL;
    size_t cl = strlen(cwd), nl = strlen(name);
    char *p = malloc(cl + 1 + nl + 1);
    if (p) {
        memcpy(p, cwd, cl);
        p[cl] = '/';
        memcpy(p + cl + 1, name, nl + 1);
    }
    free(cwd);
    return p;
}

/* Hands the collected lines to the caller as *err. */
static int finish(struct load *ld, int r, char **err)
{
    if (ld->nerr > CONFIG_MAX_ERRORS)
        buf_printf(&ld->errs, "%s: %d more errors not shown\n", ld->name,
                   ld->nerr - CONFIG_MAX_ERRORS);
    if (r == 0 && ld->oom)
        r = -ENOMEM;
    else if (r == 0 && ld->nerr)
        r = -EINVAL;
    if (r < 0) {
        config_free(ld->c);
        if (err && r == -ENOMEM && !ld->errs.len)
            *err = strdup("out of memory while reading the configuration");
        else if (err && ld->errs.len) {
            if (ld->errs.data[ld->errs.len - 1] == '\n') /* none after the last line */
                ld->errs.data[--ld->errs.len] = '\0';
            *err = ld->errs.data, ld->errs.data = NULL;
        }
    }
    buf_free(&ld->errs);
    free(ld->where);
    return r;
}

/* abs is taken over; name is used in messages. */
static int load_named(struct config *c, const struct config_schema *s, const char *name, char *abs,
                      const char *data, size_t len, char **err)
{
    struct load ld = {.c = c, .name = name};
    buf_init(&ld.errs, 64 * 1024);
    int r = fill_defaults(c, s);
    if (r < 0)
        return free(abs), finish(&ld, r, err);
    if ((r = set_file_names(c, abs)) < 0)
        return finish(&ld, r, err);
    size_t nopt = config_schema_noptions(s);
    ld.where = malloc(nopt * sizeof *ld.where);
    if (!ld.where)
        return finish(&ld, -ENOMEM, err);
    for (size_t i = 0; i < nopt; i++)
        ld.where[i] = (struct fy_mark){.line = -1};
    if (len > CONFIG_MAX_FILE)
        report_at(&ld, NULL, "the file is %zu bytes; allowed: at most %d", len, CONFIG_MAX_FILE);
    else if (check_bytes(&ld, data, len) && (r = parse_yaml(&ld, data, len)) < 0)
        return finish(&ld, r, err);
    if (ld.nerr == 0)
        resolve_default_paths(&ld);
    if (ld.nerr == 0)
        check_required(&ld);
    if (ld.nerr == 0)
        check_ports(&ld);
    if (ld.nerr == 0)
        check_component_domains(&ld);
    return finish(&ld, 0, err);
}

int config_load_buffer(struct config *c, const struct config_schema *s, const char *name,
                       const char *data, size_t len, char **err)
{
    if (err)
        *err = NULL;
    memset(c, 0, sizeof *c);
    char *abs = absolute_name(name);
    if (!abs)
        return -ENOMEM;
    return load_named(c, s, name, abs, data, len, err);
}

static int read_file(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = fstat(fd, &st) < 0             ? -errno
            : !S_ISREG(st.st_mode)         ? -EINVAL
            : st.st_size > CONFIG_MAX_FILE ? -EFBIG
                                           : 0;
    char *d = r == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    if (r == 0 && !d)
        r = -ENOMEM;
    size_t got = 0;
    while (r == 0 && got < (size_t)st.st_size) {
        ssize_t n = read(fd, d + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r = n < 0 ? -errno : -EIO;
        else
            got += (size_t)n;
    }
    close(fd);
    if (r < 0)
        return free(d), r;
    *data = d;
    *len = got;
    return 0;
}

int config_load(struct config *c, const struct config_schema *s, const char *path, char **err)
{
    if (err)
        *err = NULL;
    memset(c, 0, sizeof *c);
    char *abs = realpath(path, NULL);
    char *data = NULL;
    size_t len = 0;
    int r = abs ? read_file(abs, &data, &len) : -errno;
    if (r < 0 || !abs) { /* !abs: r < 0 too (errno is set), but the analyzer cannot tell */
        free(abs);
        if (err && asprintf(err, "%s: cannot read: %s", path,
                            r == -EFBIG    ? "larger than 1 MiB"
                            : r == -EINVAL ? "not a regular file"
                                           : strerror(-r)) < 0)
            *err = NULL;
        return r;
    }
    r = load_named(c, s, path, abs, data, len, err);
    free(data);
    return r;
}

/* ---- Options accepted before their feature exists ---- */

size_t config_warn_unserved(const struct config *c, FILE *f)
{
    const struct {
        const char *key, *what;
        int port;
    } later[] = {
        {"s2s.port", "federation (server-to-server connections)", c->s2s_port},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
        if (later[i].port == 0)
            continue;
        fprintf(f,
                "taube: warning: %s is %d, but this version of Taube does not serve %s yet: "
                "nothing listens on that port. Set %s to 0 (or remove it) until a version "
                "that does.\n",
                later[i].key, later[i].port, later[i].what, later[i].key);
        n++;
    }
    if (c->component_secrets.n > 0 && c->component_port == 0) {
        fprintf(f,
                "taube: warning: component.secrets lists %zu component(s), but "
                "component.port is 0: none can connect, and stanzas to them are refused.\n",
                c->component_secrets.n);
        n++;
    }
    return n;
}
