/* The commented default file and the Markdown reference, both made from
 * the option table (config_table.c). */
#include "core/config.h"
#include "core/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- The default file ---- */

/* Writes s as a double-quoted YAML scalar. */
static void put_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Wraps text into "# " comment lines indented by indent. */
static void put_comment(FILE *f, const char *indent, const char *text)
{
    const size_t width = 76;
    while (*text) {
        size_t n = strlen(text), cut = n;
        if (n > width) {
            cut = width;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = n;
        }
        fprintf(f, "%s# %.*s\n", indent, (int)cut, text);
        text += cut;
        while (*text == ' ')
            text++;
    }
}

/* Writes o's value: the init override if any, else the table default. */
static void put_value(FILE *f, const struct config_option *o, const char *domain,
                      const struct config_init_opts *io)
{
    struct {
        const char *key;
        int port;
    } ports[] = {
        {"c2s.port", io->c2s_port},
        {"c2s.tls_port", io->c2s_tls_port},
        {"http.port", io->https_port},
    };
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
        if (strcmp(o->key, ports[i].key) == 0 && ports[i].port)
            return (void)fprintf(f, "%d", ports[i].port);
    /* Nothing listens on these yet: the file must not say they work. A
     * port asked for is kept as a comment, for the version that does. */
    struct {
        const char *key;
        int port;
    } later[] = {
        {"s2s.port", io->s2s_port},
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (strcmp(o->key, later[i].key) == 0 && later[i].port)
            return (void)fprintf(f, "0  # %d when a version of Taube serves it", later[i].port);
    if (o->type == CFG_SECRETS) {
        fputs("{}", f);
    } else if (strcmp(o->key, "server.domains") == 0) {
        fputc('[', f);
        put_quoted(f, domain);
        fputc(']', f);
    } else if (config_is_list(o->type)) {
        fputc('[', f);
        for (size_t i = 0; o->def_list && o->def_list[i]; i++) {
            fputs(i ? ", " : "", f);
            put_quoted(f, o->def_list[i]);
        }
        fputc(']', f);
    } else if (o->type == CFG_STRING || o->type == CFG_PATH) {
        put_quoted(f, o->def);
    } else {
        fputs(o->def, f);
    }
}

static void write_config(FILE *f, const struct config_schema *sc, const char *domain,
                         const struct config_init_opts *io)
{
    char allowed[400], line[600];
    put_comment(f, "",
                "Taube configuration. Every option is listed with its default; change "
                "what you need, or delete what you leave as it is. Relative paths are "
                "relative to the directory of this file. Check the file with "
                "`taube --check -c FILE`. Reference: docs/configuration.md.");
    for (size_t s = 0, ns = config_schema_nsections(sc); s < ns; s++) {
        const char *name = config_schema_section(sc, s)->name;
        size_t nl = strlen(name);
        fprintf(f, "\n");
        put_comment(f, "", config_schema_section(sc, s)->help);
        fprintf(f, "%s:\n", name);
        for (size_t i = 0, no = config_schema_noptions(sc); i < no; i++) {
            const struct config_option *o = config_schema_option(sc, i);
            if (strncmp(o->key, name, nl) != 0 || o->key[nl] != '.')
                continue;
            config_describe_allowed(o, allowed, sizeof allowed);
            snprintf(line, sizeof line, "Allowed: %s.", allowed);
            fprintf(f, "\n");
            put_comment(f, "  ", o->help);
            put_comment(f, "  ", line);
            fprintf(f, "  %s: ", o->key + nl + 1);
            put_value(f, o, domain, io);
            fprintf(f, "\n");
        }
    }
}

int config_write_default(const char *path, const struct config_schema *sc,
                         const struct config_init_opts *o)
{
    char why[WHY_LEN], *domain;
    if (!o || !o->domain ||
        config_normalize_domain(o->domain, strlen(o->domain), &domain, why, sizeof why) < 0)
        return -EINVAL;
    int ports[] = {o->c2s_port, o->c2s_tls_port, o->s2s_port, o->https_port};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
        if (ports[i] < 0 || ports[i] > 65535)
            return free(domain), -EINVAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return free(domain), -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int r = -errno;
        close(fd);
        unlink(path);
        return free(domain), r;
    }
    write_config(f, sc, domain, o);
    free(domain);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        unlink(path);
        return -EIO;
    }
    return 0;
}

/* ---- The Markdown reference ---- */

/* Writes s for a Markdown table cell: '|' escaped. */
static void put_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

static void put_default_cell(FILE *f, const struct config_option *o)
{
    if (!config_is_list(o->type))
        return (void)fprintf(f, "`%s`", o->def);
    if (o->min > 0 && !o->def_list)
        return (void)fputs("(required)", f);
    if (o->type == CFG_SECRETS)
        return (void)fputs("`{}`", f);
    fputs("`[", f);
    for (size_t i = 0; o->def_list && o->def_list[i]; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", o->def_list[i]);
    fputs("]`", f);
}

void config_print_reference(FILE *f, const struct config_schema *sc)
{
    char allowed[400];
    fputs(
        "# Configuration\n\n"
        "Taube reads one YAML file at start-up, given with `-c FILE`. `taubectl init` "
        "writes one with every option at its default and a comment above each; "
        "`taube.example.yaml` in the source tree is such a file. "
        "`taube --check -c FILE` checks, without starting the server or changing anything, "
        "what start-up loads: the file, every domain's certificate and key (matching, valid "
        "now, naming the domain), the TLS ciphers, and the database (its directory takes new "
        "files; an existing file is a database whose schema this build knows).\n\n"
        "The file is a mapping of sections (`server:`, `c2s:`, ...) to mappings of keys. "
        "Only `server.domains` must be set; every other key has the default below. "
        "The smallest valid file:\n\n"
        "```yaml\nserver:\n  domains: [example.org]\n```\n\n"
        "Relative paths resolve against the directory of the configuration file, not "
        "the current directory. Sizes are bytes, or a number with a unit: `B`, `KB` "
        "(1000), `KiB` (1024), `MB`, `MiB`, `GB`, `GiB`, `TB`, `TiB`. Durations are "
        "seconds, or a number with a unit: `s`, `m`, `h`, `d`, `w`. A list with one "
        "item may be written as that item alone.\n\n"
        "Unknown sections and keys, duplicate keys, and values of the wrong type or out "
        "of range are errors. Each names the file, line and column, the key, what is "
        "wrong and what is allowed:\n\n"
        "```\ntaube.yaml:9:9: key 'c2s.port': '70000' is out of range; allowed: 0 to 65535\n```\n\n"
        "This reference is generated from the option tables (`taubectl config-doc`): the "
        "core's in `src/core/config_table.c`, each module's in its descriptor in "
        "`src/modules/`; edit the tables, not this file.\n",
        f);
    for (size_t s = 0, ns = config_schema_nsections(sc); s < ns; s++) {
        const char *name = config_schema_section(sc, s)->name;
        size_t nl = strlen(name);
        fprintf(f, "\n## `%s`\n\n%s\n\n", name, config_schema_section(sc, s)->help);
        fputs("| Key | Type | Default | Allowed | Description |\n|---|---|---|---|---|\n", f);
        for (size_t i = 0, no = config_schema_noptions(sc); i < no; i++) {
            const struct config_option *o = config_schema_option(sc, i);
            if (strncmp(o->key, name, nl) != 0 || o->key[nl] != '.')
                continue;
            config_describe_allowed(o, allowed, sizeof allowed);
            fprintf(f, "| `%s` | %s | ", o->key, config_type_name(o->type));
            put_default_cell(f, o);
            fputs(" | ", f);
            put_cell(f, allowed);
            fputs(" | ", f);
            put_cell(f, o->help);
            fputs(" |\n", f);
        }
    }
}
