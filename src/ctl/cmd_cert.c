/* taubectl cert: a self-signed certificate for one more virtual host.
 *
 * The server loads CERTS_DIR/DOMAIN.crt and DOMAIN.key for every domain in
 * server.domains at start, so adding a domain means adding its pair. The
 * pair is made by certgen.c, exactly as `init` makes the first one.
 *
 * Existing files are kept unless --force is given; then the new pair is
 * written beside them under temporary names and renamed over them, so an
 * interrupted run never leaves a half-written key or certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDN2_SKIP_LIBIDN_COMPAT
#include <idn2.h>

#include "ctl/certgen.h"
#include "ctl/ctl.h"
#include "xmpp/jid.h"
#include "modules/module.h"

#define CERT_PATH_MAX 4096

struct cert_files {
    char crt[CERT_PATH_MAX], key[CERT_PATH_MAX];         /* final names */
    char crt_new[CERT_PATH_MAX], key_new[CERT_PATH_MAX]; /* with --force */
};

/* The domain as server.domains keeps it (it names the files) and as an
 * A-label (it goes into the certificate). IP literals are refused: the
 * server needs a domain name. */
static int prep_names(const char *in, char *domain, size_t cap, char **ascii)
{
    if (ctl_prep_server_domain(in, domain, cap) != CTL_OK)
        return CTL_FAIL;
    uint8_t *a = NULL;
    if (idn2_lookup_u8((const uint8_t *)domain, &a, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
        IDN2_OK) {
        ctl_err("the domain '%s' is not a valid DNS name", in);
        return CTL_FAIL;
    }
    *ascii = (char *)a;
    return CTL_OK;
}

static int make_paths(struct cert_files *f, const char *dir, const char *domain)
{
    int n[4] = {
        snprintf(f->crt, sizeof f->crt, "%s/%s.crt", dir, domain),
        snprintf(f->key, sizeof f->key, "%s/%s.key", dir, domain),
        snprintf(f->crt_new, sizeof f->crt_new, "%s/.%s.crt.new", dir, domain),
        snprintf(f->key_new, sizeof f->key_new, "%s/.%s.key.new", dir, domain),
    };
    for (int i = 0; i < 4; i++)
        if (n[i] < 0 || n[i] >= CERT_PATH_MAX) {
            ctl_err("the path '%s' is too long", dir);
            return CTL_FAIL;
        }
    return CTL_OK;
}

static int refuse_existing(const struct cert_files *f)
{
    const char *which = ctl_exists(f->crt) ? f->crt : ctl_exists(f->key) ? f->key : NULL;
    if (!which)
        return CTL_OK;
    ctl_err("%s exists; refusing to overwrite it (--force replaces the key and certificate)",
            which);
    return CTL_FAIL;
}

static int generate(const char *ascii, const char *crt, const char *key)
{
    char *err = NULL;
    int rc = certgen_write(ascii, crt, key, &err);
    if (rc < 0) {
        ctl_err("cannot create the certificate: %s", err ? err : strerror(-rc));
        free(err);
        return CTL_FAIL;
    }
    return CTL_OK;
}

/* --force: the new pair under temporary names (left-overs of an earlier
 * interrupted run are ours to remove), then renamed over the old one. */
static int replace(const struct cert_files *f, const char *ascii)
{
    unlink(f->crt_new);
    unlink(f->key_new);
    if (generate(ascii, f->crt_new, f->key_new) != CTL_OK)
        return CTL_FAIL;
    if (rename(f->key_new, f->key) < 0 || rename(f->crt_new, f->crt) < 0) {
        ctl_err("cannot move the new files into place: %s", strerror(errno));
        unlink(f->crt_new);
        unlink(f->key_new);
        return CTL_FAIL;
    }
    return CTL_OK;
}

/* Without --dir the configuration says where certificates go; it also
 * tells whether the domain is served yet. */
static int load_config(struct ctl *ctl)
{
    char *err = NULL;
    struct config_schema schema;
    modules_config_schema(&schema);
    if (config_load(&ctl->cfg, &schema, ctl->config_path, &err) < 0) {
        size_t n = err ? strlen(err) : 0;
        while (n > 0 && err[n - 1] == '\n')
            err[--n] = '\0';
        ctl_err("%s (or give --dir)", err ? err : "cannot load the configuration");
        free(err);
        return CTL_FAIL;
    }
    return CTL_OK;
}

static bool served(const struct config *cfg, const char *domain)
{
    for (size_t i = 0; i < cfg->domains.n; i++)
        if (strcmp(cfg->domains.items[i], domain) == 0)
            return true;
    return false;
}

static void print_done(const struct cert_files *f, const struct config *cfg, const char *domain)
{
    printf("created %s (self-signed, valid %d days)\n"
           "created %s (private key, mode 0600)\n",
           f->crt, CERTGEN_DAYS, f->key);
    if (cfg && !served(cfg, domain))
        printf("%s is not in server.domains yet: add it to %s, then restart taube\n", domain,
               cfg->path);
    else
        printf("restart taube to use it\n");
}

static int write_cert(struct ctl *ctl, const char *dir, const char *domain, const char *ascii,
                      bool have_cfg)
{
    struct cert_files *f = calloc(1, sizeof *f);
    if (!f) {
        ctl_err("out of memory");
        return CTL_FAIL;
    }
    bool force = ctl_opt(ctl, "force") != NULL;
    int rc = make_paths(f, dir, domain);
    if (rc == CTL_OK)
        rc = ctl_make_dir(dir, 0700);
    if (rc == CTL_OK && !force)
        rc = refuse_existing(f);
    if (rc == CTL_OK)
        rc = force ? replace(f, ascii) : generate(ascii, f->crt, f->key);
    if (rc == CTL_OK)
        print_done(f, have_cfg ? &ctl->cfg : NULL, domain);
    free(f);
    return rc;
}

int cmd_cert(struct ctl *ctl)
{
    const char *dir = ctl_opt(ctl, "dir");
    char domain[JID_PART_MAX + 1];
    char *ascii = NULL;
    if (prep_names(ctl->args[0], domain, sizeof domain, &ascii) != CTL_OK)
        return CTL_FAIL;
    bool have_cfg = !dir;
    int rc = have_cfg ? load_config(ctl) : CTL_OK;
    if (rc == CTL_OK) {
        rc = write_cert(ctl, have_cfg ? ctl->cfg.certs_dir : dir, domain, ascii, have_cfg);
        if (have_cfg)
            config_free(&ctl->cfg);
    }
    idn2_free(ascii);
    return rc;
}
