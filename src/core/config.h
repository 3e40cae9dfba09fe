/* The configuration: one YAML file, described by one declarative table.
 *
 * The table (config.c, config_options[]) lists every option: its dotted
 * key ("c2s.port"), type, bounds, default and help text. The same table
 * parses and validates the file (unknown keys are errors), writes the
 * commented default file for `taubectl init`, and prints the reference
 * that docs/configuration.md is made from (`taubectl config-doc`).
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

struct config {
    char *path;            /* file it was loaded from (absolute) */
    char *dir;             /* its directory: relative paths below resolve here */

    /* server */
    struct strlist domains;   /* server.domains: virtual hosts, at least one */
    struct strlist admins;    /* server.admins: bare JIDs */
    char *data_dir;           /* server.data_dir ("data"): resolved to absolute */
    char *certs_dir;          /* server.certs_dir ("certs"): DOMAIN.crt + DOMAIN.key */
    char *control_socket;     /* server.control_socket ("data/taube.sock") */

    /* log */
    int log_level;            /* log.level: enum log_level, default warn */

    /* network */
    struct strlist listen;    /* network.listen: addresses (["127.0.0.1", "::1"] by init) */
    int c2s_port;             /* c2s.port 5222, 0 = off */
    int c2s_tls_port;         /* c2s.tls_port 5223 (XEP-0368), 0 = off */
    int s2s_port;             /* s2s.port 5269, 0 = off */
    int https_port;           /* http.port 5443, 0 = off */

    /* tls */
    char *tls_ciphers;        /* tls.ciphers: TLS 1.2 cipher list */
    char *tls_ciphersuites;   /* tls.ciphersuites: TLS 1.3 suites */

    /* limits */
    uint64_t max_stanza_size;   /* limits.max_stanza_size 262144 bytes */
    unsigned max_depth;         /* limits.max_depth 32 */
    unsigned max_attrs;         /* limits.max_attributes 64 */
    unsigned auth_timeout;      /* limits.auth_timeout 30 s (unauthenticated streams) */
    unsigned idle_timeout;      /* limits.idle_timeout 300 s: then ping; no answer in 60 s drops */
    unsigned keepalive_interval;/* limits.keepalive_interval 120 s: whitespace when idle */
    uint64_t read_rate;         /* limits.read_rate 65536 bytes/s per connection */
    uint64_t read_burst;        /* limits.read_burst 1048576 bytes */
    unsigned max_auth_attempts; /* limits.max_auth_attempts 3 per connection */
    unsigned max_connections;   /* limits.max_connections 10000 */
    uint64_t send_queue_max;    /* limits.send_queue_max 1048576 bytes */

    /* modules */
    bool version_show_os;       /* version.show_os false */
    char *version_name;         /* version.name "Taube" */

    /* storage */
    char *store_backend;        /* store.backend "sqlite" */
    char *store_path;           /* store.path "data/taube.db": resolved */
    uint32_t scram_iterations;  /* auth.scram_iterations 4096 */
};

/* Loads and validates path. On error returns a negative errno, and *err
 * (malloc'ed) says "FILE:LINE: key 'x': what is wrong; allowed: ...". */
int config_load(struct config *c, const char *path, char **err);
/* Defaults only (for tests and init). */
void config_defaults(struct config *c);
void config_free(struct config *c);

/* Writes the default config with every option, its default and a comment,
 * with the given overrides; used by `taubectl init`. 0 or -errno. */
struct config_init_opts {
    const char *domain;
    int c2s_port, c2s_tls_port, s2s_port, https_port; /* 0: the defaults */
};
int config_write_default(const char *path, const struct config_init_opts *o);
/* Prints the Markdown option reference to f (docs/configuration.md). */
void config_print_reference(FILE *f);

#endif
