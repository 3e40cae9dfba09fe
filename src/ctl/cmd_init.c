/* taubectl init: a ready-to-run directory for one domain.
 *
 *   DIR/taube.yaml             every option with its default (config.c)
 *   DIR/certs/DOMAIN.crt|.key  self-signed, for a first start (certgen.c)
 *   DIR/data/taube.db          the database, schema migrated (store)
 *
 * An existing configuration is never overwritten. An existing key and
 * certificate pair is kept, so that init can be run again after a
 * failure half-way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IDN2_SKIP_LIBIDN_COMPAT
#include <idn2.h>

#include "ctl/certgen.h"
#include "ctl/ctl.h"
#include "xmpp/jid.h"
#include "modules/module.h"

#define INIT_PATH_MAX 4096

struct init_paths {
    char config[INIT_PATH_MAX];
    char certs[INIT_PATH_MAX];
    char data[INIT_PATH_MAX];
    char crt[INIT_PATH_MAX];
    char key[INIT_PATH_MAX];
};

/* A port option: absent (0) or 1..65535. -1 after a message. */
static int port_opt(const struct ctl *ctl, const char *name)
{
    const char *v = ctl_opt(ctl, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 65535) {
        ctl_err("--%s must be a port number from 1 to 65535, not '%s'", name, v);
        return -1;
    }
    return (int)n;
}

static int make_paths(struct init_paths *p, const char *dir, const char *domain)
{
    int n[5] = {
        snprintf(p->config, sizeof p->config, "%s/taube.yaml", dir),
        snprintf(p->certs, sizeof p->certs, "%s/certs", dir),
        snprintf(p->data, sizeof p->data, "%s/data", dir),
        snprintf(p->crt, sizeof p->crt, "%s/certs/%s.crt", dir, domain),
        snprintf(p->key, sizeof p->key, "%s/certs/%s.key", dir, domain),
    };
    for (int i = 0; i < 5; i++)
        if (n[i] < 0 || n[i] >= INIT_PATH_MAX) {
            ctl_err("the path '%s' is too long", dir);
            return CTL_FAIL;
        }
    return CTL_OK;
}

int ctl_make_dir(const char *path, mode_t mode)
{
    struct stat st;
    if (mkdir(path, mode) == 0)
        return CTL_OK;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return CTL_OK;
    ctl_err("cannot create the directory %s: %s", path,
            errno == EEXIST ? "a file of that name exists" : strerror(errno));
    return CTL_FAIL;
}

bool ctl_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The certificate names the domain in its ASCII (A-label) form. */
static int make_cert(const struct init_paths *p, const char *domain, bool *kept)
{
    bool have_crt = ctl_exists(p->crt), have_key = ctl_exists(p->key);
    *kept = have_crt && have_key;
    if (*kept)
        return CTL_OK;
    if (have_crt || have_key) {
        ctl_err("%s exists without its %s; move it away first", have_crt ? p->crt : p->key,
                have_crt ? "key" : "certificate");
        return CTL_FAIL;
    }
    uint8_t *ascii = NULL;
    if (idn2_lookup_u8((const uint8_t *)domain, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
        IDN2_OK) {
        ctl_err("the domain '%s' is not a valid DNS name", domain);
        return CTL_FAIL;
    }
    char *err = NULL;
    int rc = certgen_write((const char *)ascii, p->crt, p->key, &err);
    idn2_free(ascii);
    if (rc < 0) {
        ctl_err("cannot create the certificate: %s", err ? err : strerror(-rc));
        free(err);
        return CTL_FAIL;
    }
    return CTL_OK;
}

/* Loads the configuration just written (so the database goes where the
 * server will look for it) and creates the database. */
static int make_store(const char *config_path, char **db_path)
{
    struct config cfg;
    char *err = NULL;
    struct config_schema schema;
    modules_config_schema(&schema);
    int rc = config_load(&cfg, &schema, config_path, &err);
    if (rc < 0) {
        ctl_err("the new configuration does not load: %s", err ? err : strerror(-rc));
        free(err);
        return CTL_FAIL;
    }
    struct store *s = NULL;
    struct store_schema store_schema;
    modules_store_schema(&store_schema);
    rc = store_open(&s, cfg.store_path, &store_schema, &err);
    if (rc < 0) {
        ctl_err("cannot create the database: %s", err ? err : strerror(-rc));
        free(err);
    } else {
        store_close(s);
        *db_path = strdup(cfg.store_path);
    }
    config_free(&cfg);
    return rc < 0 ? CTL_FAIL : CTL_OK;
}

static void print_done(const struct init_paths *p, const char *db, const char *domain, bool kept)
{
    printf("created %s\n", p->config);
    if (kept)
        printf("kept the existing %s and %s\n", p->crt, p->key);
    else
        printf("created %s (self-signed, valid %d days)\n"
               "created %s (private key, mode 0600)\n",
               p->crt, CERTGEN_DAYS, p->key);
    printf("created %s\n\n", db ? db : p->data);
    printf("Next steps:\n"
           "  review %s (every option is listed with its default)\n"
           "  start the server:   taube -c %s\n"
           "  create an account:  taubectl -c %s user add USER@%s\n"
           "The certificate is self-signed. Before federating with other servers,\n"
           "put one from a certificate authority in its place (same file names).\n",
           p->config, p->config, p->config, domain);
}

/* The domain as the server will use it (prepared like a JID domain). IP
 * literals are valid JID domains but not server domains: refuse them
 * here rather than after files were written. */
int ctl_prep_server_domain(const char *in, char *out, size_t cap)
{
    if (jid_prep_domain(in, out, cap) < 0 || strchr(out, ':') || out[0] == '[') {
        ctl_err("invalid domain '%s'", in);
        return CTL_FAIL;
    }
    const char *last = strrchr(out, '.');
    last = last ? last + 1 : out;
    if (strspn(last, "0123456789") == strlen(last)) {
        ctl_err("'%s' is an IP address; the server needs a domain name", in);
        return CTL_FAIL;
    }
    return CTL_OK;
}

int cmd_init(struct ctl *ctl)
{
    const char *dir = ctl_opt(ctl, "dir"), *domain_in = ctl_opt(ctl, "domain");
    if (!dir || !domain_in)
        return ctl_usage_error(ctl, "--dir and --domain are required");
    struct config_init_opts o = {
        .c2s_port = port_opt(ctl, "c2s-port"),
        .c2s_tls_port = port_opt(ctl, "c2s-tls-port"),
        .s2s_port = port_opt(ctl, "s2s-port"),
        .https_port = port_opt(ctl, "https-port"),
    };
    if (o.c2s_port < 0 || o.c2s_tls_port < 0 || o.s2s_port < 0 || o.https_port < 0)
        return CTL_USAGE;
    char domain[JID_PART_MAX + 1];
    struct init_paths *p = calloc(1, sizeof *p);
    if (!p) {
        ctl_err("out of memory");
        return CTL_FAIL;
    }
    o.domain = domain;
    int rc = ctl_prep_server_domain(domain_in, domain, sizeof domain);
    if (rc == CTL_OK)
        rc = make_paths(p, dir, domain);
    if (rc == CTL_OK && ctl_exists(p->config)) {
        ctl_err("%s exists; refusing to overwrite it", p->config);
        rc = CTL_FAIL;
    }
    if (rc == CTL_OK)
        rc = ctl_make_dir(dir, 0755);
    if (rc == CTL_OK)
        rc = ctl_make_dir(p->certs, 0700);
    if (rc == CTL_OK)
        rc = ctl_make_dir(p->data, 0700);
    bool kept = false;
    if (rc == CTL_OK)
        rc = make_cert(p, domain, &kept);
    if (rc == CTL_OK) {
        struct config_schema schema;
        modules_config_schema(&schema);
        int w = config_write_default(p->config, &schema, &o);
        if (w < 0) {
            ctl_err("cannot write %s: %s", p->config, strerror(-w));
            rc = CTL_FAIL;
        }
    }
    char *db = NULL;
    if (rc == CTL_OK)
        rc = make_store(p->config, &db);
    if (rc == CTL_OK)
        print_done(p, db, domain, kept);
    free(db);
    free(p);
    return rc;
}
