/* The configuration: one YAML file, described by one declarative table.
 *
 * The tables (the core's in config_table.c, each module's in its
 * descriptor, merged into one struct config_schema) list every option:
 * its dotted key ("c2s.port"), type, bounds, default and help text. The
 * same schema parses and validates the file (unknown keys are errors),
 * writes the commented default file for `taubectl init`, and prints the
 * reference that docs/configuration.md is made from (`taubectl
 * config-doc`).
 *
 * Ownership: struct config owns all its strings (free with config_free).
 * Loaded on the loop thread at start-up; read-only afterwards.
 */
#ifndef TAUBE_CONFIG_H
#define TAUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct strlist {
    char **items;
    size_t n;
};

/* The tables a configuration is read with: the core's first, then the
 * modules' in registry order (see below). Held by value. */
struct config_table;
#define CONFIG_MAX_TABLES 32
struct config_schema {
    const struct config_table *t[CONFIG_MAX_TABLES];
    size_t n;
};

/* The comments are aligned by hand, group by group. */
/* clang-format off */
struct config {
    struct config_schema schema; /* the tables it was read with */
    void *blocks[CONFIG_MAX_TABLES]; /* per table with a block_size: its own
                                      * values (config_block), else NULL */
    char *path;            /* file it was loaded from (absolute) */
    char *dir;             /* its directory: relative paths below resolve here */

    /* server */
    struct strlist domains;   /* server.domains: virtual hosts, at least one;
                               * lower-cased (IDNs as lower-case U-labels) */
    struct strlist admins;    /* server.admins: bare JIDs "local@domain"; the
                               * domain is normalised like server.domains, the
                               * local part is as written (prep it with jid.c) */
    char *data_dir;           /* server.data_dir ("data"): resolved to absolute */
    char *certs_dir;          /* server.certs_dir ("certs"): DOMAIN.crt + DOMAIN.key */
    char *control_socket;     /* server.control_socket ("data/taube.sock") */

    /* log */
    int log_level;            /* log.level: enum log_level, default warn */

    /* network */
    struct strlist listen;    /* network.listen: IP addresses, default ["0.0.0.0", "::"]
                               * (the listener sets IPV6_V6ONLY on "::") */
    int c2s_port;             /* c2s.port 5222, 0 = off */
    int c2s_tls_port;         /* c2s.tls_port 5223 (XEP-0368), 0 = off */
    int s2s_port;             /* s2s.port 0: not served yet (config_warn_unserved) */
    int https_port;           /* http.port 5443, 0 = off */
    char *http_public_url;    /* http.public_url "": https://DOMAIN:PORT */
    unsigned http_request_timeout_ms;   /* http.request_timeout 10 s */
    unsigned http_keepalive_timeout_ms; /* http.keepalive_timeout 60 s */
    unsigned http_max_connections;      /* http.max_connections 1000 */

    /* policy (P2, P24): who runs it, and the text */
    char *policy_operator;    /* policy.operator "": the first domain */
    char *policy_operator_address; /* policy.operator_address "" */
    char *policy_date;        /* policy.date "" */
    char *policy_file_en, *policy_file_de; /* policy.file_en/_de "": built-in text */
    struct strlist policy_clients; /* policy.clients "PLATFORM|NAME|URL" */

    /* tls */
    char *tls_ciphers;        /* tls.ciphers: TLS 1.2 cipher list */
    char *tls_ciphersuites;   /* tls.ciphersuites: TLS 1.3 suites */

    /* limits */
    uint64_t max_stanza_size;   /* limits.max_stanza_size 262144 bytes */
    unsigned max_depth;         /* limits.max_depth 32 */
    unsigned max_attrs;         /* limits.max_attributes 64 */
    unsigned auth_timeout_ms;   /* limits.auth_timeout 30 s (unauthenticated streams) */
    unsigned tls_timeout_ms;    /* limits.tls_timeout 10 s (streams not yet encrypted) */
    unsigned idle_timeout_ms;   /* limits.idle_timeout 300 s: then ping; no answer in 60 s drops */
    unsigned ping_timeout_ms;   /* limits.ping_timeout 60 s */
    unsigned keepalive_interval;/* limits.keepalive_interval 120 s: whitespace when idle */
    uint64_t read_rate;         /* limits.read_rate 65536 bytes/s per connection */
    uint64_t read_burst;        /* limits.read_burst 1048576 bytes */
    unsigned max_auth_attempts; /* limits.max_auth_attempts 3 per connection */
    unsigned max_connections;   /* limits.max_connections 10000 */
    unsigned max_unauth_per_addr; /* limits.max_unauthenticated_per_address 20 */
    uint64_t send_queue_max;    /* limits.send_queue_max 1048576 bytes */
    unsigned congestion_timeout_ms; /* limits.congestion_timeout 5 s */
    uint64_t send_queue_total;  /* limits.send_queue_total 256 MiB, all connections */
    unsigned max_sessions_per_account; /* limits.max_sessions_per_account 10 */

    /* modules */
    bool version_show_os;       /* version.show_os false */
    char *version_name;         /* version.name "Taube" */

    /* storage */
    char *store_backend;        /* store.backend "sqlite" */
    char *store_path;           /* store.path "data/taube.db": resolved */
    uint32_t scram_iterations;  /* auth.scram_iterations 4096 */

    /* offline messages (XEP-0160, promise P7) */
    unsigned offline_max_messages; /* offline.max_messages 1000 per user */
    uint64_t offline_max_bytes;    /* offline.max_bytes 10 MiB per user */

    /* spam and abuse reports (XEP-0377, promise P22) */
    bool reports_keep_after_reporter_deleted; /* reports.keep_after_reporter_deleted false */
    unsigned reports_max_age;         /* reports.max_age 180d (1d..730d) */
    unsigned reports_max_per_day;     /* reports.max_per_day 20 per reporter */
    unsigned reports_max_per_user;    /* reports.max_per_user 100 kept per reporter */
    unsigned reports_max_text_length; /* reports.max_text_length 2000 bytes */

    /* roster (RFC 6121 §2, promise P5) and presence (§4) */
    unsigned roster_max_items;        /* roster.max_items 1000 contacts per user */
    unsigned roster_max_name_length;  /* roster.max_name_length 256 bytes */
    unsigned roster_max_groups;       /* roster.max_groups 32 per item */
    unsigned roster_max_group_length; /* roster.max_group_length 256 bytes */
    unsigned roster_max_pending;      /* roster.max_pending 100 stored requests per user */
    unsigned roster_version_log;      /* roster.version_log 200 changes kept per user */
    unsigned presence_max_directed;   /* presence.max_directed 100 per session */

    /* vCards (XEP-0054), private storage (XEP-0049) and blocking
     * (XEP-0191) keep their options in their own blocks (config_block) */

    /* contact addresses (XEP-0157, promise P24): URIs, default none */
    struct strlist contact_abuse, contact_admin, contact_feedback, contact_sales,
        contact_security, contact_status, contact_support;
    struct strlist contact_policy;     /* terms and privacy policy URLs (web page) */

    /* registration codes and in-band registration (XEP-0077/0401, P1, P2) */
    unsigned invites_expires;          /* invites.expires 7d: default lifetime of a code */
    bool registration_enabled;         /* registration.enabled true: with a code, over TLS */
    char *registration_policy_version; /* registration.policy_version "1": stored with consent
                                        * to contact.policy (the URLs the form links) */
    unsigned registration_min_password;/* registration.min_password_length 8 bytes */
    unsigned registration_max_password;/* registration.max_password_length 256 bytes */
    unsigned registration_max_attempts;/* registration.max_attempts_per_hour 10 per address */
    unsigned registration_tracked_addresses; /* registration.tracked_addresses 4096 */

    /* external components (XEP-0114, net/component.c) */
    int component_port;                /* component.port 0 = off */
    struct strlist component_interface;/* component.interface ["127.0.0.1"] */
    struct strlist component_secrets;  /* component.secrets: items "DOMAIN SECRET", the
                                        * domain normalised like server.domains */

    /* inactivity retention (promises P11, P12) */
    unsigned retention_inactive_after; /* retention.inactive_after 365d (182d..366d) */
    unsigned retention_warn_before;    /* retention.warn_before 30d (1d..90d) */
};
/* clang-format on */

/* Loads and validates path (read whole, at most CONFIG_MAX_FILE bytes).
 * Returns 0, or a negative errno (-EINVAL: the file is wrong; -ENOMEM; the
 * errno of open/read). On error *err (malloc'ed, caller frees) holds one
 * line per problem (at most CONFIG_MAX_ERRORS, then a count of the rest),
 * separated by '\n' with none after the last, each
 *   "FILE:LINE:COL: key 'c2s.port': 70000 is out of range; allowed: 0 to 65535"
 * or, for a missing required key, "FILE: key 'server.domains': ...".
 * On error c is left empty (zeroed; config_free on it is harmless). */
int config_load(struct config *c, const struct config_schema *s, const char *path, char **err);
/* Same, from memory: name is the file name used in messages and whose
 * directory relative paths resolve against (made absolute against the
 * current directory if relative; it need not exist). For tests and fuzzing. */
int config_load_buffer(struct config *c, const struct config_schema *s, const char *name,
                       const char *data, size_t len, char **err);
/* Defaults only (for tests and init). server.domains is empty (it has no
 * default: a file must name it) and relative paths stay relative (there is
 * no file to resolve them against). Strings are heap-allocated, so
 * config_free works. Aborts only if memory runs out at start-up. */
void config_defaults(struct config *c, const struct config_schema *s);
/* Frees everything c owns and zeroes it. */
void config_free(struct config *c);
/* Settings that do nothing: options the file may set before their
 * feature exists (s2s.port, http.port: one warning line to f for each
 * one set to other than 0, saying that nothing listens there yet), and
 * component.secrets without component.port. Returns how many lines.
 * taube --check and start-up call it, so an operator does not believe
 * federation, web clients or components work. */
size_t config_warn_unserved(const struct config *c, FILE *f);

/* Writes the default config with every option, its default and a comment,
 * with the given overrides; used by `taubectl init`. 0 or -errno:
 * -EEXIST if path exists (never overwrites), -EINVAL if o->domain is not a
 * valid domain or a port is out of 1..65535. */
struct config_init_opts {
    const char *domain;
    int c2s_port, c2s_tls_port, s2s_port, https_port; /* 0: the defaults */
};
int config_write_default(const char *path, const struct config_schema *s,
                         const struct config_init_opts *o);
/* Prints the Markdown option reference to f (docs/configuration.md). */
void config_print_reference(FILE *f, const struct config_schema *s);

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_ERRORS 20

/* ---- The option tables, read by config.c and tools ----
 * The core's options are in config_table.c (config_core_table); every
 * module declares its own in its descriptor (struct module .config) and
 * the registry merges them (modules_config_schema in modules/module.h):
 * main and taubectl pass the merged schema to config_load. The values
 * stay typed fields of struct config, which modules and taubectl read.
 * To add an option: add the field to struct config and one entry to its
 * module's table (a new section: one entry to the table's sections).
 * Parsing, checking, `taubectl init` and the reference follow. */
enum config_type {
    CFG_BOOL,     /* true | false */
    CFG_INT,      /* decimal integer, min..max */
    CFG_SIZE,     /* bytes: 262144, 256KiB, 50MB, 1GiB; min..max */
    CFG_DURATION, /* seconds: 30, 30s, 5m, 2h, 7d, 2w; min..max */
    CFG_MILLIS,   /* milliseconds: 30 (seconds), 500ms, 30s, 5m, 2h, 1d; min..max */
    CFG_STRING,   /* max = longest length; choices: if set, one of them */
    CFG_ENUM,     /* one of choices, stored as its index (an int) */
    CFG_PATH,     /* resolved against the file's directory; max = longest */
    CFG_STRLIST,  /* list of strings; min..max items */
    CFG_DOMAINS,  /* list of domain names; min..max items */
    CFG_JIDS,     /* list of bare JIDs local@domain; min..max items */
    CFG_ADDRS,    /* list of IPv4/IPv6 addresses; min..max items */
    CFG_SECRETS,  /* mapping of domain: shared secret, stored as a list of
                   * "DOMAIN SECRET"; min..max entries */
};

struct config_option {
    const char *key;              /* "section.name" */
    enum config_type type;
    size_t offset, size;          /* of the field in struct config */
    int64_t min, max;             /* bounds; see enum config_type */
    const char *def;              /* default, as written in the file */
    const char *const *def_list;  /* list types: NULL-terminated, NULL = [] */
    const char *const *choices;   /* CFG_ENUM / CFG_STRING: NULL-terminated */
    const char *help;             /* one or more sentences */
};

struct config_section {
    const char *name;
    const char *help;
};

/* One part's sections and their options (options in the order of their
 * section, sections in the order they are documented). */
struct config_table {
    const struct config_section *sections;
    size_t n_sections;
    const struct config_option *options;
    size_t n_options;
    /* 0: the options' offsets are into struct config (fields declared
     * there). Else the size of the part's own struct, which the loader
     * allocates per configuration and the offsets point into (made with
     * CFG_IN_*): a module then keeps its options out of core entirely
     * and reads them with config_block. */
    size_t block_size;
};

/* The values of table t in c (a struct of t->block_size bytes), or NULL
 * if t is not in c's schema or keeps its values in struct config. */
const void *config_block(const struct config *c, const struct config_table *t);
/* Where option o of c's schema is stored (a field of struct config or of
 * a block). */
const void *config_value(const struct config *c, const struct config_option *o);

extern const struct config_table config_core_table;
/* *s = the core's table alone. */
void config_schema_core(struct config_schema *s);
/* Appends t. 0, or -E2BIG past CONFIG_MAX_TABLES. */
int config_schema_add(struct config_schema *s, const struct config_table *t);
/* All options, and all sections, of s in order: [0, count). */
size_t config_schema_noptions(const struct config_schema *s);
const struct config_option *config_schema_option(const struct config_schema *s, size_t i);
size_t config_schema_nsections(const struct config_schema *s);
const struct config_section *config_schema_section(const struct config_schema *s, size_t i);

/* For option tables: the field f of struct T (struct config, or a
 * table's own block struct), checked to have a C type the option type
 * stores into; sizes and durations in seconds. */
#define CFG_FIELD_IN(T, f, check) \
    .offset = offsetof(T, f) + 0 * sizeof(check), .size = sizeof(((T *)0)->f)
#define CFG_IN_BOOL(T, f) CFG_FIELD_IN(T, f, _Generic(((T *)0)->f, bool: 1))
#define CFG_IN_INT(T, f) CFG_FIELD_IN(T, f, _Generic(((T *)0)->f, int: 1, unsigned: 1, uint64_t: 1))
#define CFG_IN_STR(T, f) CFG_FIELD_IN(T, f, _Generic(((T *)0)->f, char *: 1))
#define CFG_IN_LIST(T, f) CFG_FIELD_IN(T, f, _Generic(((T *)0)->f, struct strlist: 1))
#define CFG_AS_BOOL(f) CFG_IN_BOOL(struct config, f)
#define CFG_AS_INT(f) CFG_IN_INT(struct config, f)
#define CFG_AS_STR(f) CFG_IN_STR(struct config, f)
#define CFG_AS_LIST(f) CFG_IN_LIST(struct config, f)
#define CFG_KiB 1024LL
#define CFG_MiB (1024LL * CFG_KiB)
#define CFG_GiB (1024LL * CFG_MiB)
#define CFG_MINUTE 60LL
#define CFG_HOUR (60LL * CFG_MINUTE)
#define CFG_DAY (24LL * CFG_HOUR)

#endif
