/* Unit tests for the configuration: table, defaults, parsing, errors,
 * the default file writer and the reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/log.h"
#include "xmpp/jid.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "modules/module.h"

/* The server's whole option schema: the core's and every module's. */
static const struct config_schema *test_schema(void)
{
    static struct config_schema s;
    if (s.n == 0)
        modules_config_schema(&s);
    return &s;
}

#define assert_contains(hay, needle) \
    do { \
        const char *h_ = (hay), *n_ = (needle); \
        if (!h_ || !strstr(h_, n_)) \
            fail_msg("expected \"%s\" in \"%s\"", n_, h_ ? h_ : "(null)"); \
    } while (0)

static const char minimal[] = "server:\n  domains: [example.org]\n";

/* Loads text as "t.yaml"; returns the result, *err kept for the caller. */
static int load(struct config *c, const char *text, char **err)
{
    return config_load_buffer(c, test_schema(), "t.yaml", text, strlen(text), err);
}

/* Expects text to fail with a message containing every needle. */
static void expect_error(const char *text, const char *const *needles)
{
    struct config c;
    char *err = NULL;
    int r = load(&c, text, &err);
    assert_int_equal(r, -EINVAL);
    for (size_t i = 0; needles[i]; i++)
        assert_contains(err, needles[i]);
    assert_null(c.path);
    free(err);
    config_free(&c);
}

#define EXPECT_ERROR(text, ...) expect_error(text, (const char *const[]){__VA_ARGS__, NULL})

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_table_is_sane(void **state)
{
    (void)state;
    size_t last_section = 0;
    for (size_t i = 0; i < config_schema_noptions(test_schema()); i++) {
        const struct config_option *o = config_schema_option(test_schema(), i);
        const char *dot = strchr(o->key, '.');
        assert_non_null(dot);
        size_t s = 0;
        while (s < config_schema_nsections(test_schema()) &&
               (strlen(config_schema_section(test_schema(), s)->name) != (size_t)(dot - o->key) ||
                strncmp(config_schema_section(test_schema(), s)->name, o->key,
                        (size_t)(dot - o->key)) != 0))
            s++;
        if (s == config_schema_nsections(test_schema()))
            fail_msg("option %s has no section", o->key);
        /* Grouped by section, sections in table order. */
        assert_true(s >= last_section);
        last_section = s;
        assert_true(o->help && strlen(o->help) > 10);
        assert_true(o->min <= o->max || o->type == CFG_BOOL || o->type == CFG_ENUM);
        if (o->size == 4 && (o->type == CFG_INT || o->type == CFG_SIZE || o->type == CFG_DURATION ||
                             o->type == CFG_MILLIS))
            assert_true(o->max <= INT32_MAX);
        if (o->type == CFG_ENUM)
            assert_non_null(o->choices);
        for (size_t j = 0; j < i; j++)
            if (strcmp(config_schema_option(test_schema(), j)->key, o->key) == 0)
                fail_msg("option %s twice", o->key);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c, test_schema());
    assert_int_equal(c.domains.n, 0);
    assert_int_equal(c.admins.n, 0);
    assert_string_equal(c.data_dir, "data");
    assert_string_equal(c.certs_dir, "certs");
    assert_string_equal(c.control_socket, "data/taube.sock");
    assert_int_equal(c.log_level, LOG_WARN);
    assert_int_equal(c.listen.n, 2);
    assert_string_equal(c.listen.items[0], "0.0.0.0");
    assert_string_equal(c.listen.items[1], "::");
    assert_int_equal(c.c2s_port, 5222);
    assert_int_equal(c.c2s_tls_port, 5223);
    assert_int_equal(c.s2s_port, 0); /* not served yet: off unless set (and then warned) */
    assert_int_equal(c.https_port, 5443);
    assert_string_equal(c.http_public_url, "");
    assert_string_equal(c.policy_file_en, ""); /* an optional path: none */
    assert_contains(c.tls_ciphers, "ECDHE-RSA-CHACHA20-POLY1305");
    assert_null(strstr(c.tls_ciphers, "CBC"));
    assert_string_equal(
        c.tls_ciphersuites,
        "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256");
    assert_int_equal(c.max_stanza_size, 262144);
    assert_int_equal(c.max_depth, 32);
    assert_int_equal(c.max_attrs, 64);
    assert_int_equal(c.auth_timeout_ms, 30000);
    assert_int_equal(c.idle_timeout_ms, 300000);
    assert_int_equal(c.keepalive_interval, 120);
    assert_int_equal(c.read_rate, 65536);
    assert_int_equal(c.read_burst, 1048576);
    assert_int_equal(c.max_auth_attempts, 3);
    assert_int_equal(c.max_connections, 10000);
    assert_int_equal(c.send_queue_max, 1048576);
    assert_false(c.version_show_os);
    assert_string_equal(c.version_name, "Taube");
    assert_string_equal(c.store_backend, "sqlite");
    assert_string_equal(c.store_path, "data/taube.db");
    assert_int_equal(c.scram_iterations, 4096);
    config_free(&c);
    assert_null(c.data_dir);
    config_free(&c); /* twice is harmless */
}

/* log.level is stored as the index of its name: it must be enum log_level. */
static void test_log_levels_match_log_h(void **state)
{
    (void)state;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < 4; i++) {
        char text[128];
        snprintf(text, sizeof text, "%slog:\n  level: %s\n", minimal, names[i]);
        struct config c;
        char *err = NULL;
        assert_int_equal(load(&c, text, &err), 0);
        assert_int_equal(c.log_level, log_level_parse(names[i]));
        config_free(&c);
    }
}

static void test_minimal_file(void **state)
{
    (void)state;
    struct config c;
    char *err = NULL;
    assert_int_equal(load(&c, minimal, &err), 0);
    assert_null(err);
    assert_int_equal(c.domains.n, 1);
    assert_string_equal(c.domains.items[0], "example.org");
    assert_int_equal(c.c2s_port, 5222);
    assert_true(c.path[0] == '/');
    assert_true(c.data_dir[0] == '/');
    config_free(&c);
}

static const char full[] = "# every section\n"
                           "server:\n"
                           "  domains: [Example.ORG, \"bücher.example\", xn--caf-dma.example]\n"
                           "  admins:\n"
                           "    - alice@Example.org\n"
                           "    - bob@bücher.example\n"
                           "  data_dir: /var/lib/taube\n"
                           "  certs_dir: tls\n"
                           "  control_socket: run/ctl.sock\n"
                           "log:\n"
                           "  level: debug\n"
                           "network:\n"
                           "  listen: [\"127.0.0.1\", \"::0:1\"]\n"
                           "c2s:\n"
                           "  port: 15222\n"
                           "  tls_port: 0\n"
                           "s2s: {port: 15269}\n"
                           "http:\n"
                           "  port: 15443\n"
                           "tls:\n"
                           "  ciphers: 'ECDHE-RSA-AES128-GCM-SHA256'\n"
                           "  ciphersuites: TLS_AES_128_GCM_SHA256\n"
                           "limits:\n"
                           "  max_stanza_size: 50 KB\n"
                           "  max_depth: &n 40\n"
                           "  max_attributes: *n\n"
                           "  auth_timeout: 2m\n"
                           "  idle_timeout: 1d\n"
                           "  keepalive_interval: 90\n"
                           "  read_rate: 1kib\n"
                           "  read_burst: 1GiB\n"
                           "  max_auth_attempts: 5\n"
                           "  max_connections: 20\n"
                           "  send_queue_max: 2MiB\n"
                           "version:\n"
                           "  show_os: true\n"
                           "  name: Taube test\n"
                           "store:\n"
                           "  backend: sqlite\n"
                           "  path: db/t.db\n"
                           "auth:\n"
                           "  scram_iterations: 10000\n";

static void test_single_value_is_a_list(void **state)
{
    (void)state;
    struct config c;
    char *err = NULL;
    assert_int_equal(
        load(&c, "server:\n  domains: example.org\n  admins:\nnetwork: {listen: \"::1\"}\n", &err),
        0);
    assert_int_equal(c.domains.n, 1);
    assert_string_equal(c.domains.items[0], "example.org");
    assert_int_equal(c.admins.n, 0);
    assert_int_equal(c.listen.n, 1);
    assert_string_equal(c.listen.items[0], "::1");
    config_free(&c);
}

/* The defect of issue 8: the configuration normalised "faß.de" with
 * IDNA2008 and the JID code with IDNA2003 nameprep ("fass.de"), so the
 * file passed --check and every stream to the domain was refused. Both
 * now use core/domain.c: what the file keeps is exactly what a stream's
 * 'to' and every JID at the domain become. */
static void test_idn_domains_match_the_jid_code(void **state)
{
    (void)state;
    struct config c;
    char *err = NULL;
    int r = load(&c,
                 "server:\n  domains: [\"FA\xc3\x9f.de\", fass.de, xn--bcher-kva.example]\n"
                 "  admins: [\"a@XN--FA-HIA.DE\"]\n",
                 &err);
    if (r != 0)
        fail_msg("load: %d %s", r, err ? err : "");
    assert_int_equal(c.domains.n, 3); /* faß.de and fass.de are two domains */
    assert_string_equal(c.domains.items[0], "fa\xc3\x9f.de");
    assert_string_equal(c.domains.items[1], "fass.de");
    assert_string_equal(c.domains.items[2], "b\xc3\xbc"
                                            "cher.example");
    assert_string_equal(c.admins.items[0], "a@fa\xc3\x9f.de");
    static const char *spellings[] = {"fa\xc3\x9f.de", "FA\xc3\x9f.DE", "xn--fa-hia.de",
                                      "Xn--Fa-Hia.De.", "\xef\xbd\x86\xef\xbd\x81\xc3\x9f.de"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char out[JID_PART_MAX + 1];
        assert_int_equal(jid_prep_domain(spellings[i], out, sizeof out), 0);
        assert_string_equal(out, c.domains.items[0]);
    }
    for (size_t i = 0; i < c.domains.n; i++) {
        char out[JID_PART_MAX + 1];
        assert_int_equal(jid_prep_domain(c.domains.items[i], out, sizeof out), 0);
        assert_string_equal(out, c.domains.items[i]);
    }
    config_free(&c);
    EXPECT_ERROR("server:\n  domains: [\"fa\xc3\x9f.de\", xn--fa-hia.de]\n", "listed twice");
    EXPECT_ERROR("server:\n  domains: [\"\xe2\x98\x83.net\"]\n",
                 "not a valid international domain name");
}

static void test_component_secrets(void **state)
{
    (void)state;
    struct config c;
    char *err = NULL;
    int r = load(&c,
                 "server:\n  domains: [example.org]\ncomponent:\n  port: 5347\n"
                 "  secrets:\n    Bot.Example.org: \"sixteen chars ok\"\n"
                 "    \"FA\xc3\x9f.example\": 0123456789abcdef0123\n",
                 &err);
    if (r != 0)
        fail_msg("load: %d %s", r, err ? err : "");
    assert_int_equal(c.component_port, 5347);
    assert_int_equal(c.component_interface.n, 1);
    assert_string_equal(c.component_interface.items[0], "127.0.0.1");
    assert_int_equal(c.component_secrets.n, 2);
    assert_string_equal(c.component_secrets.items[0], "bot.example.org sixteen chars ok");
    assert_string_equal(c.component_secrets.items[1], "fa\xc3\x9f.example 0123456789abcdef0123");
    config_free(&c);
    config_defaults(&c, test_schema());
    assert_int_equal(c.component_port, 0); /* off by default */
    assert_int_equal(c.component_secrets.n, 0);
    config_free(&c);
    assert_int_equal(
        load(&c, "server:\n  domains: [example.org]\ncomponent:\n  secrets: {}\n", &err), 0);
    config_free(&c);
    EXPECT_ERROR("server:\n  domains: [a.example]\ncomponent:\n  secrets: {b.example: short}\n",
                 "t.yaml:4:13:", "key 'component.secrets'", "secret must be 16 to 1023");
    EXPECT_ERROR(
        "server:\n  domains: [a.example]\ncomponent:\n  secrets: {A.example: 0123456789abcdef}\n",
        "'a.example' is also in 'server.domains'");
    EXPECT_ERROR(
        "server:\n  domains: [a.example]\ncomponent:\n  secrets:\n    b.example: 0123456789abcdef\n"
        "    B.example: 0123456789abcdef\n",
        "'b.example' is listed twice");
    EXPECT_ERROR("server:\n  domains: [a.example]\ncomponent:\n  secrets: [b.example]\n",
                 "a mapping of domain: secret is expected");
    EXPECT_ERROR(
        "server:\n  domains: [a.example]\ncomponent:\n  secrets: {b_x.example: 0123456789abcdef}\n",
        "'_' is not allowed");
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  port: 5347\ncomponent:\n  port: 5347\n",
                 "key 'component.port': port 5347 is also 'c2s.port'");
}

static void test_full_file(void **state)
{
    (void)state;
    struct config c;
    char *err = NULL;
    int r = load(&c, full, &err);
    if (r != 0)
        fail_msg("load: %d %s", r, err ? err : "");
    assert_int_equal(c.domains.n, 3);
    assert_string_equal(c.domains.items[0], "example.org");
    assert_string_equal(c.domains.items[1], "bücher.example");
    assert_string_equal(c.domains.items[2], "café.example");
    assert_string_equal(c.admins.items[0], "alice@example.org");
    assert_string_equal(c.admins.items[1], "bob@bücher.example");
    assert_string_equal(c.data_dir, "/var/lib/taube");
    char *cwd = getcwd(NULL, 0);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/tls", cwd);
    assert_string_equal(c.certs_dir, want);
    snprintf(want, sizeof want, "%s/db/t.db", cwd);
    assert_string_equal(c.store_path, want);
    snprintf(want, sizeof want, "%s/t.yaml", cwd);
    assert_string_equal(c.path, want);
    assert_string_equal(c.dir, cwd);
    free(cwd);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_string_equal(c.listen.items[1], "::1");
    assert_int_equal(c.c2s_port, 15222);
    assert_int_equal(c.c2s_tls_port, 0);
    assert_int_equal(c.s2s_port, 15269);
    assert_int_equal(c.https_port, 15443);
    assert_string_equal(c.tls_ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    assert_string_equal(c.tls_ciphersuites, "TLS_AES_128_GCM_SHA256");
    assert_int_equal(c.max_stanza_size, 50000);
    assert_int_equal(c.max_depth, 40);
    assert_int_equal(c.max_attrs, 40);
    assert_int_equal(c.auth_timeout_ms, 120000);
    assert_int_equal(c.idle_timeout_ms, 86400000);
    assert_int_equal(c.keepalive_interval, 90);
    assert_int_equal(c.read_rate, 1024);
    assert_int_equal(c.read_burst, 1073741824);
    assert_int_equal(c.max_auth_attempts, 5);
    assert_int_equal(c.max_connections, 20);
    assert_int_equal(c.send_queue_max, 2097152);
    assert_true(c.version_show_os);
    assert_string_equal(c.version_name, "Taube test");
    assert_int_equal(c.scram_iterations, 10000);
    config_free(&c);
}

static void test_type_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  port: 70000\n",
                 "t.yaml:4:9: key 'c2s.port': '70000' is out of range; allowed: 0 to 65535");
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  port: -1\n",
                 "t.yaml:4:9:", "key 'c2s.port'", "not a whole number", "allowed: 0 to 65535");
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  port: 0x10\n",
                 "t.yaml:4:9:", "not a whole number");
    EXPECT_ERROR("server:\n  domains: [a.example]\nversion:\n  show_os: yes\n",
                 "t.yaml:4:12:", "key 'version.show_os'", "allowed: true or false");
    EXPECT_ERROR("server:\n  domains: [a.example]\nlog:\n  level: loud\n",
                 "t.yaml:4:10:", "key 'log.level'", "allowed: error, warn, info or debug");
    EXPECT_ERROR("server:\n  domains: [a.example]\nstore:\n  backend: postgres\n",
                 "t.yaml:4:12:", "key 'store.backend'", "allowed: sqlite");
    EXPECT_ERROR("server:\n  domains: [a.example]\nversion:\n  name: ''\n",
                 "t.yaml:4:9:", "key 'version.name'", "empty", "allowed:");
    EXPECT_ERROR("server:\n  domains: [a.example]\nversion:\n  name: \"a\\tb\"\n",
                 "t.yaml:4:9:", "control characters", "allowed:");
    EXPECT_ERROR("server:\n  domains: [a.example]\nversion:\n  name:\n",
                 "key 'version.name': no value", "allowed:");
    EXPECT_ERROR("server:\n  domains: [a.example]\nversion:\n  name: [a]\n",
                 "t.yaml:4:", "key 'version.name': a single value is expected");
    EXPECT_ERROR("server:\n  domains: [a.example]\n  data_dir: ''\n",
                 "t.yaml:3:13:", "key 'server.data_dir'", "allowed:");
    EXPECT_ERROR("server:\n  domains: [a.example]\nlimits:\n  max_stanza_size: 10 parsecs\n",
                 "t.yaml:4:20:", "key 'limits.max_stanza_size'", "unknown unit",
                 "allowed: 10KB to 16MiB");
    EXPECT_ERROR("server:\n  domains: [a.example]\nlimits:\n  auth_timeout: 1M\n",
                 "t.yaml:4:17:", "key 'limits.auth_timeout'", "unknown unit",
                 "allowed: 500ms to 10m");
    EXPECT_ERROR("server:\n  domains: [a.example]\nlimits:\n  auth_timeout: 499ms\n",
                 "out of range", "allowed: 500ms");
    EXPECT_ERROR("server:\n  domains: [a.example]\nlimits:\n  auth_timeout: 500MS\n",
                 "unknown unit");
    EXPECT_ERROR("server:\n  domains: [a.example]\nlimits:\n  auth_timeout: s\n", "not a number");
    EXPECT_ERROR("server:\n  domains: [a.example]\nauth:\n  scram_iterations: 4095\n",
                 "key 'auth.scram_iterations'", "allowed: 4096 to");
    EXPECT_ERROR("server:\n  domains: [a.example]\nnetwork:\n  listen: [\"1.2.3.4\", localhost]\n",
                 "t.yaml:4:23:", "key 'network.listen'", "not an IP address", "allowed:");
    EXPECT_ERROR("server:\n  domains: [a.example]\nnetwork:\n  listen: []\n",
                 "t.yaml:4:", "key 'network.listen': the list has 0 items",
                 "allowed: a list of 1 to 32");
    EXPECT_ERROR("server:\n  domains: [a.example]\nnetwork:\n  listen: [\"::\", \"::0\"]\n",
                 "listed twice");
}

static void test_domain_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("server:\n  domains: []\n", "t.yaml:2:", "key 'server.domains'", "0 items",
                 "allowed:");
    EXPECT_ERROR("server:\n  admins: []\n", "t.yaml: key 'server.domains' is missing; allowed:");
    EXPECT_ERROR("server:\n  domains: [example.org:5222]\n", "t.yaml:2:13:", "no port", "allowed:");
    EXPECT_ERROR("server:\n  domains: [example.org.]\n", "t.yaml:2:13:", "trailing dot");
    EXPECT_ERROR("server:\n  domains: [ex_ample.org]\n", "'_' is not allowed");
    EXPECT_ERROR("server:\n  domains: [-a.org]\n", "starts or ends with '-'");
    EXPECT_ERROR("server:\n  domains: [a..org]\n", "a label is empty");
    EXPECT_ERROR("server:\n  domains: [10.0.0.1]\n", "an IP address is not a domain name");
    EXPECT_ERROR("server:\n  domains: "
                 "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org]\n",
                 "longer than 63");
    EXPECT_ERROR("server:\n  domains: [a.example, A.Example]\n", "t.yaml:2:24:", "listed twice");
    EXPECT_ERROR("server:\n  domains: [\"a\\0b.org\"]\n", "NUL byte");
    EXPECT_ERROR("server:\n  domains: [xn--zz.example]\n", "not a valid international domain name");
    EXPECT_ERROR("server:\n  domains: [a.example]\n  admins: [bob]\n",
                 "t.yaml:3:12:", "key 'server.admins'", "user part and '@'",
                 "allowed: a list of 0 to 100 bare JIDs");
    EXPECT_ERROR("server:\n  domains: [a.example]\n  admins: [bob@a.example/phone]\n",
                 "no '/resource'");
    EXPECT_ERROR("server:\n  domains: [a.example]\n  admins: [\"b<b@a.example\"]\n",
                 "not allowed in the user part");
    EXPECT_ERROR("server:\n  domains: [a.example]\n  admins: [bob@a.example:5222]\n", "no port");
}

static void test_list_too_long(void **state)
{
    (void)state;
    char text[4096] = "server:\n  domains:\n";
    for (int i = 0; i < 101; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "    - d%d.example\n", i);
    EXPECT_ERROR(text, "t.yaml:103:7: key 'server.domains': the list has more than 100 items; "
                       "allowed: a list of 1 to 100");
}

static void test_structure_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  prot: 5222\n",
                 "t.yaml:4:3: unknown key 'prot' in section 'c2s'; allowed: port, tls_port");
    EXPECT_ERROR("server:\n  domains: [a.example]\nxmpp:\n  port: 5222\n",
                 "t.yaml:3:1: unknown section 'xmpp'; allowed: server, log, network");
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  port: 1\n  port: 2\n",
                 "t.yaml:5:", "duplicate key 'port'");
    EXPECT_ERROR("server:\n  domains: [a.example]\nserver:\n  admins: []\n",
                 "t.yaml:3:", "duplicate key 'server'");
    EXPECT_ERROR("server:\n  domains: [a.example\n", "t.yaml:3:1: YAML: ");
    EXPECT_ERROR("- server\n",
                 "t.yaml:1:3: the file is not a mapping of sections; allowed: server");
    EXPECT_ERROR("server: 5\n",
                 "t.yaml:1:9: section 'server' is not a mapping; allowed: keys domains, admins");
    EXPECT_ERROR("", "t.yaml: key 'server.domains' is missing");
    EXPECT_ERROR("# only a comment\n", "t.yaml: key 'server.domains' is missing");
}

static void test_document_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("server:\n  domains: [a.example]\n---\nlog: {}\n",
                 "t.yaml:4:1: a second YAML document");
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  port: *nope\n", "t.yaml:4:", "YAML: ");
    EXPECT_ERROR("server:\n  domains: &x [*x]\n", "too large once aliases are expanded");
    /* A "billion laughs" document must be refused before it is expanded. */
    char bomb[2048];
    int n = snprintf(bomb, sizeof bomb, "server:\n  admins: &a0 [a@b.c, a@b.c, a@b.c, a@b.c]\n");
    for (int i = 1; i < 12; i++)
        n += snprintf(bomb + n, sizeof bomb - (size_t)n, "  x%d: &a%d [*a%d, *a%d, *a%d, *a%d]\n",
                      i, i, i - 1, i - 1, i - 1, i - 1);
    EXPECT_ERROR(bomb, "too large once aliases are expanded", "allowed:");
    EXPECT_ERROR("server:\n  domains: [a.example]\nc2s:\n  port: 5269\ns2s:\n  port: 5269\n",
                 "t.yaml:6:3: key 's2s.port': port 5269 is also 'c2s.port'; allowed:");
}

static void test_bytes_that_are_not_text(void **state)
{
    (void)state;
    /* "%\x84" made libfyaml 0.7 loop forever (found by fuzz_config). */
    static const char hang[] = "%\x84";
    struct config c;
    char *err = NULL;
    assert_int_equal(config_load_buffer(&c, test_schema(), "t.yaml", hang, 2, &err), -EINVAL);
    assert_contains(err, "t.yaml:1:2: byte 0x84 is not text; allowed: UTF-8 text");
    free(err);
    static const char nul[] = "server:\n  domains: [a.example]\n\0";
    err = NULL;
    assert_int_equal(config_load_buffer(&c, test_schema(), "t.yaml", nul, sizeof nul - 1, &err),
                     -EINVAL);
    assert_contains(err, "t.yaml:3:1: byte 0x00 is not text");
    free(err);
    /* "? r:<TAB>:" crashed libfyaml 0.7.12 (found by fuzz_config). */
    EXPECT_ERROR("? r:\t:", "t.yaml:1:5: a tab character; allowed: spaces");
    EXPECT_ERROR("server:\n  domains: [a.example] # a\tcomment\n", "t.yaml:2:27: a tab");
    EXPECT_ERROR("server:\n  domains: [\xed\xa0\x80]\n",
                 "t.yaml:2:13: byte 0xed"); /* a surrogate */
    EXPECT_ERROR("server:\n  domains: [\xc0\xaf]\n", "t.yaml:2:13: byte 0xc0"); /* overlong */
}

static void test_many_errors_are_capped(void **state)
{
    (void)state;
    char text[4096] = "server:\n  domains: [a.example]\nc2s:\n";
    for (int i = 0; i < 30; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "  k%d: 1\n", i);
    struct config c;
    char *err = NULL;
    assert_int_equal(load(&c, text, &err), -EINVAL);
    size_t lines = 1;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, CONFIG_MAX_ERRORS + 1);
    assert_true(err[strlen(err) - 1] != '\n');
    assert_contains(err, "t.yaml: 10 more errors not shown");
    free(err);
}

static void test_sizes_and_durations(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value;
        uint64_t want;
    } ok[] = {
        {"max_stanza_size", "262144", 262144}, {"max_stanza_size", "1MiB", 1048576},
        {"max_stanza_size", "1 MB", 1000000},  {"max_stanza_size", "16MiB", 16777216},
        {"max_stanza_size", "10000B", 10000},  {"send_queue_max", "1gib", 1073741824},
        {"auth_timeout", "10m", 600000},       {"auth_timeout", "5", 5000},
        {"auth_timeout", "500ms", 500},        {"congestion_timeout", "1500ms", 1500},
        {"idle_timeout", "2h", 7200000},       {"idle_timeout", "1d", 86400000},
        {"keepalive_interval", "45s", 45},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%slimits:\n  %s: %s\n", minimal, ok[i].key, ok[i].value);
        struct config c;
        char *err = NULL;
        if (load(&c, text, &err) != 0)
            fail_msg("%s: %s", ok[i].value, err);
        const struct config_option *o = NULL;
        for (size_t j = 0; j < config_schema_noptions(test_schema()); j++)
            if (strcmp(config_schema_option(test_schema(), j)->key + strlen("limits."),
                       ok[i].key) == 0 &&
                strncmp(config_schema_option(test_schema(), j)->key, "limits.", 7) == 0)
                o = config_schema_option(test_schema(), j);
        assert_non_null(o);
        uint64_t got = 0;
        if (o->size == 8)
            memcpy(&got, (char *)&c + o->offset, 8);
        else
            got = *(unsigned *)((char *)&c + o->offset);
        assert_int_equal(got, ok[i].want);
        config_free(&c);
    }
    static const char *const bad[] = {
        "99999999999999999999TiB",
        "18446744073709551616",
        "17000000TiB",
        "16MiB1",
        "1.5MiB",
        "MiB",
        "1 M i B",
        "085Ki", /* a unit prefix: once read past the value (found by fuzz_config) */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%slimits:\n  max_stanza_size: %s\n", minimal, bad[i]);
        EXPECT_ERROR(text, "t.yaml:4:20: key 'limits.max_stanza_size': ", "allowed: 10KB to 16MiB");
    }
    EXPECT_ERROR(
        "server:\n  domains: [a.example]\nlimits:\n  max_stanza_size: 99999999999999999999TiB\n",
        "'99999999999999999999TiB' is too large");
    EXPECT_ERROR("server:\n  domains: [a.example]\nlimits:\n  idle_timeout: 30500000000000000d\n",
                 "too large");
}

/* A fresh directory under /tmp, removed by cleanup_dir. */
static void make_dir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/test_config.XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void test_write_default_round_trip(void **state)
{
    (void)state;
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/taube.yaml", dir);
    struct config_init_opts io = {.domain = "Example.org", .c2s_port = 15222, .https_port = 15443};
    assert_int_equal(config_write_default(path, test_schema(), &io), 0);
    struct config c, d;
    char *err = NULL;
    int r = config_load(&c, test_schema(), path, &err);
    if (r != 0)
        fail_msg("load: %d %s", r, err ? err : "");
    config_defaults(&d, test_schema());
    assert_int_equal(c.domains.n, 1);
    assert_string_equal(c.domains.items[0], "example.org");
    assert_int_equal(c.c2s_port, 15222);
    /* Nothing listens on s2s.port yet: init keeps a port asked for in a
     * comment and writes 0, so the file does not say federation works.
     * The HTTPS port is written. */
    assert_int_equal(c.https_port, 15443);
    assert_int_equal(c.s2s_port, 0);
    assert_string_equal(c.path, path);
    assert_string_equal(c.dir, dir);
    /* Every option: the file's value is the default (paths resolved). */
    for (size_t i = 0; i < config_schema_noptions(test_schema()); i++) {
        const struct config_option *o = config_schema_option(test_schema(), i);
        const char *k = o->key;
        if (!strcmp(k, "server.domains") || !strcmp(k, "c2s.port") || !strcmp(k, "http.port"))
            continue;
        const char *pc = config_value(&c, o), *pd = config_value(&d, o);
        if (o->type == CFG_PATH) {
            char want[256]; /* an optional path left empty stays empty */
            snprintf(want, sizeof want, "%s%s%s", **(char *const *)pd ? dir : "",
                     **(char *const *)pd ? "/" : "", *(char *const *)pd);
            assert_string_equal(*(char *const *)pc, want);
        } else if (o->type == CFG_STRING) {
            assert_string_equal(*(char *const *)pc, *(char *const *)pd);
        } else if (o->type >= CFG_STRLIST) {
            const struct strlist *a = (const void *)pc, *b = (const void *)pd;
            assert_int_equal(a->n, b->n);
            for (size_t j = 0; j < a->n; j++)
                assert_string_equal(a->items[j], b->items[j]);
        } else if (memcmp(pc, pd, o->size) != 0) {
            fail_msg("option %s differs after the round trip", k);
        }
    }
    config_free(&c);
    config_free(&d);
    unlink(path);
    rmdir(dir);
}

static void test_write_default_refuses(void **state)
{
    (void)state;
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/taube.yaml", dir);
    write_file(path, "keep me\n");
    struct config_init_opts io = {.domain = "example.org"};
    assert_int_equal(config_write_default(path, test_schema(), &io), -EEXIST);
    char got[32] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof got, f));
    fclose(f);
    assert_string_equal(got, "keep me\n");
    unlink(path);
    io.domain = "not a domain";
    assert_int_equal(config_write_default(path, test_schema(), &io), -EINVAL);
    io.domain = "example.org";
    io.s2s_port = 70000;
    assert_int_equal(config_write_default(path, test_schema(), &io), -EINVAL);
    assert_int_equal(access(path, F_OK), -1);
    rmdir(dir);
}

static void test_relative_paths(void **state)
{
    (void)state;
    char dir[64], sub[96], path[160];
    make_dir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/etc", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/taube.yaml", sub);
    write_file(path,
               "server:\n  domains: [a.example]\n  data_dir: ../var\n  certs_dir: /etc/certs\n"
               "store:\n  path: db.sqlite\n");
    /* Loaded through a relative name from another directory. */
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(dir), 0);
    struct config c;
    char *err = NULL;
    int r = config_load(&c, test_schema(), "etc/taube.yaml", &err);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
    if (r != 0)
        fail_msg("load: %d %s", r, err ? err : "");
    char want[256];
    assert_string_equal(c.path, path);
    assert_string_equal(c.dir, sub);
    snprintf(want, sizeof want, "%s/../var", sub);
    assert_string_equal(c.data_dir, want);
    assert_string_equal(c.certs_dir, "/etc/certs");
    snprintf(want, sizeof want, "%s/db.sqlite", sub);
    assert_string_equal(c.store_path, want);
    snprintf(want, sizeof want, "%s/data/taube.sock", sub);
    assert_string_equal(c.control_socket, want);
    config_free(&c);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* Defaults resolve against the file's directory too; in a deep one the
 * control socket's default no longer fits sun_path. */
static void test_default_path_too_long(void **state)
{
    (void)state;
    char dir[64], deep[256], path[300];
    make_dir(dir, sizeof dir);
    snprintf(deep, sizeof deep, "%s/%0100d", dir, 0);
    assert_int_equal(mkdir(deep, 0700), 0);
    snprintf(path, sizeof path, "%s/taube.yaml", deep);
    write_file(path, minimal);
    struct config c;
    char *err = NULL;
    assert_int_equal(config_load(&c, test_schema(), path, &err), -EINVAL);
    assert_contains(err, "key 'server.control_socket': the default, resolved,");
    assert_contains(err, "allowed: a path of at most 107 bytes");
    free(err);
    write_file(path, "server:\n  domains: [a.example]\n  control_socket: /run/taube.sock\n");
    err = NULL;
    assert_int_equal(config_load(&c, test_schema(), path, &err), 0);
    assert_string_equal(c.control_socket, "/run/taube.sock");
    config_free(&c);
    unlink(path);
    rmdir(deep);
    rmdir(dir);
}

static void test_load_file_errors(void **state)
{
    (void)state;
    struct config c;
    char *err = NULL;
    assert_int_equal(config_load(&c, test_schema(), "/nonexistent/taube.yaml", &err), -ENOENT);
    assert_contains(err, "/nonexistent/taube.yaml: cannot read");
    free(err);
    err = NULL;
    assert_int_equal(config_load(&c, test_schema(), "/tmp", &err), -EINVAL);
    assert_contains(err, "not a regular file");
    free(err);

    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    write_file(path, "server:\n  domains: [a.example]\nc2s:\n  port: 99999\n");
    err = NULL;
    assert_int_equal(config_load(&c, test_schema(), path, &err), -EINVAL);
    char want[200];
    snprintf(want, sizeof want, "%s:4:9: key 'c2s.port'", path);
    assert_contains(err, want);
    free(err);
    /* The control socket must fit sun_path. */
    write_file(path, "server:\n  domains: [a.example]\n  control_socket: "
                     "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaa.sock\n");
    err = NULL;
    assert_int_equal(config_load(&c, test_schema(), path, &err), -EINVAL);
    assert_contains(err, "key 'server.control_socket'");
    assert_contains(err, "allowed: a path of at most 107 bytes");
    free(err);
    unlink(path);
    rmdir(dir);
}

static void test_reference(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_print_reference(f, test_schema());
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < config_schema_noptions(test_schema()); i++) {
        char cell[128];
        snprintf(cell, sizeof cell, "| `%s` |", config_schema_option(test_schema(), i)->key);
        assert_contains(text, cell);
    }
    for (size_t i = 0; i < config_schema_nsections(test_schema()); i++) {
        char head[64];
        snprintf(head, sizeof head, "## `%s`", config_schema_section(test_schema(), i)->name);
        assert_contains(text, head);
    }
    assert_contains(text, "| `c2s.port` | integer | `5222` | 0 to 65535 |");
    assert_contains(text, "| `server.domains` | list of domains | (required) |");
    free(text);
}

/* A module's options in a block of its own (config_block) load, default
 * and free like those in struct config. */
static void test_module_block(void **state)
{
    (void)state;
    const struct config_option *o = NULL;
    const struct config_table *t = NULL;
    for (size_t i = 0; i < test_schema()->n; i++)
        for (size_t j = 0; j < test_schema()->t[i]->n_options; j++)
            if (strcmp(test_schema()->t[i]->options[j].key, "blocking.max_items") == 0) {
                t = test_schema()->t[i];
                o = &t->options[j];
            }
    assert_non_null(o);
    assert_true(t->block_size > 0);
    struct config c;
    char *err = NULL;
    char text[128];
    snprintf(text, sizeof text, "%sblocking:\n  max_items: 5\n", minimal);
    if (load(&c, text, &err) != 0)
        fail_msg("%s", err);
    const char *block = config_block(&c, t);
    assert_non_null(block);
    assert_ptr_equal(config_value(&c, o), block + o->offset);
    assert_int_equal(*(const unsigned *)config_value(&c, o), 5);
    assert_null(config_block(&c, &config_core_table)); /* its values are in struct config */
    config_free(&c);
    config_defaults(&c, test_schema());
    assert_int_equal(*(const unsigned *)config_value(&c, o), 1000);
    config_free(&c);
    EXPECT_ERROR("server:\n  domains: [example.org]\nblocking:\n  max_items: 0\n",
                 "t.yaml:4:14: key 'blocking.max_items'", "allowed: 1 to 100000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_sane),
        cmocka_unit_test(test_module_block),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_log_levels_match_log_h),
        cmocka_unit_test(test_minimal_file),
        cmocka_unit_test(test_single_value_is_a_list),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_idn_domains_match_the_jid_code),
        cmocka_unit_test(test_component_secrets),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_domain_errors),
        cmocka_unit_test(test_list_too_long),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_document_errors),
        cmocka_unit_test(test_bytes_that_are_not_text),
        cmocka_unit_test(test_many_errors_are_capped),
        cmocka_unit_test(test_sizes_and_durations),
        cmocka_unit_test(test_write_default_round_trip),
        cmocka_unit_test(test_write_default_refuses),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_default_path_too_long),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
