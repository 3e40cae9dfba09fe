/* Unit tests for the privacy policy page: the built-in texts with the
 * default and changed configuration, escaping, the placeholder and
 * conditional syntax, operators' files, and Accept-Language. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "http/policy.h"
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

#define assert_lacks(hay, needle) \
    do { \
        const char *h_ = (hay), *n_ = (needle); \
        if (h_ && strstr(h_, n_)) \
            fail_msg("did not expect \"%s\" in \"%s\"", n_, h_); \
    } while (0)

#define DOMAINS "server:\n  domains: [example.org]\n"

static void load_cfg(struct config *c, const char *yaml)
{
    char *err = NULL;
    int rc = config_load_buffer(c, test_schema(), "/tmp/t.yaml", yaml, strlen(yaml), &err);
    if (rc != 0)
        fail_msg("config: %d %s", rc, err ? err : "");
}

/* The pages for yaml; fails the test if they do not render. */
static struct policy *pages(const char *yaml)
{
    struct config c;
    load_cfg(&c, yaml);
    struct policy *p = NULL;
    char *err = NULL;
    int rc = policy_new(&p, &c, &err);
    if (rc != 0)
        fail_msg("policy_new: %d %s", rc, err ? err : "(no message)");
    assert_null(err);
    config_free(&c); /* the pages are the policy's own */
    return p;
}

/* policy_new's error for yaml: its code, *err kept for the caller. */
static int pages_error(const char *yaml, char **err)
{
    struct config c;
    load_cfg(&c, yaml);
    struct policy *p = (struct policy *)1;
    int rc = policy_new(&p, &c, err);
    assert_null(p);
    assert_non_null(*err);
    assert_null(strchr(*err, '\n')); /* one line */
    config_free(&c);
    return rc;
}

static const char *en(const struct policy *p) { return policy_html(p, NULL, POLICY_EN, NULL); }
static const char *de(const struct policy *p) { return policy_html(p, NULL, POLICY_DE, NULL); }

/* Fills text with the configuration yaml in lang; returns the result,
 * the filled text in *out (caller frees). */
static int fill(const char *yaml, enum policy_lang lang, const char *text, char **out,
                unsigned *line)
{
    struct config c;
    load_cfg(&c, yaml);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_str(&b, "KEEP"), 0);
    int rc = policy_fill(&c, "example.org", lang, text, strlen(text), &b, line);
    if (rc < 0)
        assert_string_equal(b.data, "KEEP"); /* left as it was */
    *out = strdup(b.data + 4);
    assert_non_null(*out);
    buf_free(&b);
    config_free(&c);
    return rc;
}

/* Fills text and expects it to give want. */
static void expect_fill(const char *yaml, enum policy_lang lang, const char *text, const char *want)
{
    char *out;
    int rc = fill(yaml, lang, text, &out, NULL);
    if (rc != 0)
        fail_msg("policy_fill(\"%s\"): %d", text, rc);
    assert_string_equal(out, want);
    free(out);
}

/* Expects text to be refused at line. */
static void expect_bad(const char *text, unsigned line)
{
    char *out;
    unsigned got = 0;
    int rc = fill(DOMAINS, POLICY_EN, text, &out, &got);
    if (rc != -EINVAL)
        fail_msg("policy_fill(\"%s\"): %d, wanted -EINVAL", text, rc);
    assert_int_equal(got, line);
    free(out);
}

/* ---- the built-in texts ---- */

static void test_defaults_render_in_both_languages(void **state)
{
    (void)state;
    struct policy *p = pages(DOMAINS);
    const char *e = en(p), *d = de(p);
    size_t len;
    assert_ptr_equal(policy_html(p, "example.org", POLICY_EN, &len), e);
    assert_int_equal(len, strlen(e));
    assert_true(strncmp(e, "<article class=\"policy\" lang=\"en\">", 34) == 0);
    assert_true(strncmp(d, "<article class=\"policy\" lang=\"de\">", 34) == 0);
    assert_contains(e, "</article>\n");
    assert_contains(d, "</article>\n");
    for (const char *page = e; page; page = page == e ? d : NULL) {
        assert_lacks(page, "{{"); /* every placeholder filled */
        assert_lacks(page, "}}");
        assert_lacks(page, "<script");
        assert_lacks(page, "style=");
        static const char *const ids[] = {
            "privacy", "responsible", "joining", "account",     "contacts", "offline",
            "profile", "blocking",    "reports", "connections", "logs",     "inactive",
            "rights",  "security",    "missing", "terms",       "version"};
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            char want[64];
            snprintf(want, sizeof want, "id=\"%s\"", ids[i]);
            assert_contains(page, want);
        }
    }
    /* The defaults' numbers, formatted for each language. */
    assert_contains(e, "At most 1,000 messages and 10 MiB are stored");
    assert_contains(e, "for 365 days is deleted");
    assert_contains(e, "30 days before that");
    assert_contains(e, "kept for 180 days at most");
    assert_contains(e, "valid for 7 days");
    assert_contains(e, "4,096 iterations");
    assert_contains(e, "at most 1,000 contacts");
    assert_contains(e, "up to 128 KiB");
    assert_contains(e, "up to 256 KiB in all");
    assert_contains(e, "at most 2,000 bytes");
    assert_contains(e, "This server is run by example.org."); /* operator: the domain */
    assert_contains(e, "Version 1</p>"); /* no policy.date: no date */
    assert_contains(e, "<q>warn</q>");
    assert_contains(d, "höchstens 1.000 Nachrichten und 10 MiB gespeichert");
    assert_contains(d, "365 Tage lang niemand angemeldet");
    assert_contains(d, "30 Tage vorher");
    assert_contains(d, "höchstens 180 Tage lang aufbewahrt");
    assert_contains(d, "Code ist 7 Tage gültig");
    assert_contains(d, "4.096 Iterationen");
    assert_contains(d, "höchstens 2.000 Bytes");
    assert_contains(d, "verantwortlich für die hier beschriebene Verarbeitung Ihrer "
                       "personenbezogenen Daten ist example.org.");
    assert_contains(d, "Version 1</p>");
    /* No contact addresses configured: say how to find the operator. */
    assert_contains(e, "ask the person who gave you your registration code");
    assert_lacks(e, "You can reach the operator here");
    /* The features this version lacks, said plainly. */
    assert_contains(e, "No message archive (MAM)");
    assert_contains(e, "No federation");
    assert_contains(d, "Keine Föderation");
    assert_lacks(e, "connected further services"); /* no components */
    policy_free(p);
}

static void test_numbers_follow_the_config(void **state)
{
    (void)state;
    struct policy *p = pages(DOMAINS "offline:\n  max_messages: 1234\n"
                                     "retention:\n  inactive_after: 200d\n  warn_before: 1d\n"
                                     "policy:\n  date: \"2026-12-01\"\n"
                                     "registration:\n  policy_version: \"3b\"\n");
    assert_contains(en(p), "At most 1,234 messages");
    assert_contains(en(p), "for 200 days is deleted");
    assert_contains(en(p), "1 day before that");
    assert_lacks(en(p), "365 days");
    assert_lacks(en(p), "1,000 messages");
    assert_contains(en(p), "Version 3b of 2026-12-01</p>");
    assert_contains(en(p), "The current version is 3b.");
    assert_contains(de(p), "höchstens 1.234 Nachrichten");
    assert_contains(de(p), "200 Tage lang niemand");
    assert_contains(de(p), "1 Tag vorher");
    assert_contains(de(p), "Version 3b vom 2026-12-01</p>");
    policy_free(p);

    p = pages(DOMAINS "offline:\n  max_messages: 0\n");
    assert_contains(en(p), "messages to you are not stored");
    assert_lacks(en(p), "At most 0 messages");
    assert_contains(de(p), "werden Nachrichten an Sie nicht gespeichert");
    policy_free(p);
}

static void test_operator_is_escaped(void **state)
{
    (void)state;
    struct policy *p = pages(DOMAINS "policy:\n  operator: \"<script>alert('x')</script> & Co\"\n"
                                     "  operator_address: \"Street 1 <b>\"\n");
    for (const char *page = en(p); page; page = page == en(p) ? de(p) : NULL) {
        assert_lacks(page, "<script>");
        assert_lacks(page, "<b>");
        assert_contains(page, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co");
        assert_contains(page, "Street 1 &lt;b&gt;");
    }
    assert_contains(en(p), "<p>Address: Street 1 &lt;b&gt;</p>");
    assert_contains(de(p), "<p>Anschrift: Street 1 &lt;b&gt;</p>");
    policy_free(p);
}

static void test_log_level_changes_the_logs_text(void **state)
{
    (void)state;
    static const char quiet_en[] = "no IP addresses, no user names or addresses, and no message";
    static const char loud_en[] = "may contain IP addresses, user names and addresses (JIDs)";
    static const char loud_de[] = "kann IP-Adressen, Benutzernamen und Adressen (JIDs) enthalten";
    struct policy *p = pages(DOMAINS);
    assert_contains(en(p), quiet_en);
    assert_contains(en(p), "only warnings and errors are logged");
    assert_lacks(en(p), loud_en);
    assert_lacks(de(p), loud_de);
    policy_free(p);

    p = pages(DOMAINS "log:\n  level: debug\n");
    assert_contains(en(p), "<q>debug</q>");
    assert_contains(en(p), loud_en);
    assert_lacks(en(p), quiet_en);
    assert_contains(de(p), loud_de);
    assert_lacks(de(p), "keine IP-Adressen");
    policy_free(p);

    p = pages(DOMAINS "log:\n  level: info\n");
    assert_contains(en(p), loud_en);
    policy_free(p);

    p = pages(DOMAINS "log:\n  level: error\n");
    assert_contains(en(p), "only errors are logged");
    assert_contains(de(p), "nur Fehler protokolliert");
    policy_free(p);
}

static void test_reports_kept_after_reporter_deleted(void **state)
{
    (void)state;
    struct policy *p = pages(DOMAINS "reports:\n  keep_after_reporter_deleted: false\n");
    assert_contains(en(p), "your reports are deleted with it.");
    assert_lacks(en(p), "but without your address");
    assert_contains(de(p), "werden Ihre Meldungen mit ihm gelöscht.");
    assert_contains(en(p), "block list and your reports.");
    policy_free(p);

    p = pages(DOMAINS "reports:\n  keep_after_reporter_deleted: true\n  max_age: 30d\n");
    assert_contains(en(p), "your reports are kept until then, but without your address");
    assert_lacks(en(p), "your reports are deleted with it.");
    assert_contains(de(p), "bleiben Ihre Meldungen bis dahin erhalten, aber ohne Ihre Adresse");
    assert_contains(en(p), "kept for 30 days at most");
    assert_contains(en(p), "except as described under <a href=\"#reports\">reports</a>");
    policy_free(p);

    p = pages(DOMAINS "reports:\n  max_text_length: 0\n"); /* no text, no copies kept */
    assert_contains(en(p), "the reported address and the reason. Only the operator");
    assert_lacks(en(p), "copies of the messages");
    assert_contains(de(p), "die gemeldete Adresse und der Grund. Nur der Betreiber");
    policy_free(p);
}

static void test_contacts_are_links(void **state)
{
    (void)state;
    struct policy *p = pages(DOMAINS "contact:\n"
                                     "  admin: [\"mailto:admin@example.org\", "
                                     "\"xmpp:admin@example.org?message\"]\n"
                                     "  abuse: [\"https://example.org/abuse?a=1&b=2\"]\n"
                                     "  security: [\"tel:+49 30 1234\"]\n");
    const char *e = en(p);
    assert_contains(e, "You can reach the operator here:");
    assert_contains(e, "<li>Administration: <a href=\"mailto:admin@example.org\">"
                       "admin@example.org</a>, <a href=\"xmpp:admin@example.org?message\">"
                       "admin@example.org</a></li>");
    assert_contains(e, "<a href=\"https://example.org/abuse?a=1&amp;b=2\">"
                       "https://example.org/abuse?a=1&amp;b=2</a>");
    assert_contains(e, "<li>Reporting security problems: tel:+49 30 1234</li>"); /* no link */
    assert_contains(e, "write to the operator (<a href=\"https://example.org/abuse");
    assert_lacks(e, "Help with your account"); /* contact.support is not set */
    assert_lacks(e, "ask the person who gave you");
    assert_contains(de(p), "<li>Verwaltung: <a href=\"mailto:admin@example.org\">");
    policy_free(p);
}

static void test_components_are_named_not_their_secrets(void **state)
{
    (void)state;
    static const char yaml[] = DOMAINS "component:\n  port: 5347\n  secrets:\n"
                                       "    bridge.example.org: \"sixteen chars ok\"\n"
                                       "    bot.example.org: 0123456789abcdef0123\n";
    struct policy *p = pages(yaml);
    assert_contains(en(p), "at these addresses: bridge.example.org, bot.example.org.");
    assert_lacks(en(p), "sixteen");
    assert_lacks(de(p), "sixteen");
    policy_free(p);
    char *out;
    unsigned line = 0;
    assert_int_equal(fill(yaml, POLICY_EN, "x\n{{component.secrets}}", &out, &line), -EINVAL);
    assert_int_equal(line, 2);
    free(out);
}

/* ---- operators' files ---- */

struct tmp {
    char dir[64];
    char path[3][128];
};

static const char *tmp_file(struct tmp *t, int i, const char *name, const char *data, size_t n)
{
    if (!t->dir[0]) {
        snprintf(t->dir, sizeof t->dir, "/tmp/test_policy.XXXXXX");
        assert_non_null(mkdtemp(t->dir));
    }
    size_t dl = strlen(t->dir); /* copied apart: snprintf from t into t may overlap */
    memcpy(t->path[i], t->dir, dl);
    snprintf(t->path[i] + dl, sizeof t->path[i] - dl, "/%s", name);
    FILE *f = fopen(t->path[i], "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return t->path[i];
}

static void tmp_clean(struct tmp *t)
{
    for (int i = 0; i < 3; i++)
        if (t->path[i][0])
            unlink(t->path[i]);
    if (t->dir[0])
        rmdir(t->dir);
}

/* The YAML that points policy.file_en (and file_de if de) at paths. */
static char *file_yaml(const char *en_path, const char *de_path)
{
    char *y;
    assert_true(
        asprintf(&y, DOMAINS "offline:\n  max_messages: 1234\npolicy:\n  file_en: \"%s\"\n%s%s%s",
                 en_path, de_path ? "  file_de: \"" : "", de_path ? de_path : "",
                 de_path ? "\"\n" : "") > 0);
    return y;
}

static void test_override_file_is_filled(void **state)
{
    (void)state;
    struct tmp t = {0};
    static const char en_text[] = "<h2>Ours</h2>\n<p>At most {{ offline.max_messages }} "
                                  "messages on {{domain}}.</p>\n";
    static const char de_text[] = "<p>Höchstens {{offline.max_messages}} Nachrichten.</p>\n";
    const char *pe = tmp_file(&t, 0, "en.html", en_text, sizeof en_text - 1);
    char *y = file_yaml(pe, NULL);
    struct policy *p = pages(y);
    assert_string_equal(en(p), "<article class=\"policy\" lang=\"en\">\n<h2>Ours</h2>\n"
                               "<p>At most 1,234 messages on example.org.</p>\n</article>\n");
    assert_contains(de(p), "Datenschutzerklärung"); /* German: still the built-in text */
    assert_contains(de(p), "1.234 Nachrichten");
    policy_free(p);
    free(y);

    const char *pd = tmp_file(&t, 1, "de.html", de_text, sizeof de_text - 1);
    y = file_yaml(pe, pd);
    p = pages(y);
    assert_string_equal(de(p), "<article class=\"policy\" lang=\"de\">\n"
                               "<p>Höchstens 1.234 Nachrichten.</p>\n</article>\n");
    policy_free(p);
    free(y);
    tmp_clean(&t);
}

/* policy_new's error for an English file holding text. */
static int file_error(const char *text, size_t n, char **err, struct tmp *t)
{
    const char *path = tmp_file(t, 0, "en.html", text, n);
    char *y = file_yaml(path, NULL);
    int rc = pages_error(y, err);
    free(y);
    assert_contains(*err, "policy.file_en: ");
    assert_contains(*err, path);
    return rc;
}

static void test_unknown_placeholder_fails_with_its_line(void **state)
{
    (void)state;
    struct tmp t = {0};
    char *err = NULL;
    static const char bad[] = "<p>one</p>\n<p>{{domain}}</p>\n<p>{{foo.bar}}</p>\n";
    assert_int_equal(file_error(bad, sizeof bad - 1, &err, &t), -EINVAL);
    assert_contains(err, ": line 3: unknown placeholder \"{{foo.bar}}\"");
    free(err);
    err = NULL;
    /* Also in a branch the configuration does not take. */
    static const char hidden[] = "\n{{#if reports.keep_after_reporter_deleted}}\n{{nope}}\n"
                                 "{{/if}}\n";
    assert_int_equal(file_error(hidden, sizeof hidden - 1, &err, &t), -EINVAL);
    assert_contains(err, ": line 3: unknown placeholder \"{{nope}}\"");
    free(err);
    tmp_clean(&t);
}

static void test_unterminated_placeholder_fails(void **state)
{
    (void)state;
    struct tmp t = {0};
    char *err = NULL;
    static const char bad[] = "<p>a</p>\n<p>{{offline.max_messages</p>\n}}\n";
    assert_int_equal(file_error(bad, sizeof bad - 1, &err, &t), -EINVAL);
    assert_contains(err, ": line 2: unterminated \"{{\"");
    free(err);
    tmp_clean(&t);
    expect_bad("abc {{", 1);
    expect_bad("\n\nabc {{domain}", 3);
}

static void test_bad_files_are_refused(void **state)
{
    (void)state;
    struct tmp t = {0};
    char *err = NULL;
    static const char latin1[] = "<p>Gr\xfc\xdf Gott</p>\n";
    assert_int_equal(file_error(latin1, sizeof latin1 - 1, &err, &t), -EINVAL);
    assert_contains(err, "not valid UTF-8");
    free(err);
    err = NULL;
    static const char nul[] = "<p>a\0b</p>\n";
    assert_int_equal(file_error(nul, sizeof nul - 1, &err, &t), -EINVAL);
    assert_contains(err, "NUL byte");
    free(err);
    err = NULL;
    char *big = malloc(POLICY_MAX_FILE + 1);
    assert_non_null(big);
    memset(big, 'a', POLICY_MAX_FILE + 1);
    assert_int_equal(file_error(big, POLICY_MAX_FILE + 1, &err, &t), -EFBIG);
    assert_contains(err, "larger than 256 KiB");
    free(err);
    err = NULL;
    free(big);
    tmp_clean(&t);

    char *y = file_yaml("/nonexistent/policy.en.html", NULL);
    assert_int_equal(pages_error(y, &err), -ENOENT);
    assert_contains(err, "policy.file_en: /nonexistent/policy.en.html: cannot open");
    free(y);
    free(err);
}

/* A file of exactly POLICY_MAX_FILE bytes is accepted. */
static void test_file_at_the_limit_is_read(void **state)
{
    (void)state;
    struct tmp t = {0};
    char *big = malloc(POLICY_MAX_FILE);
    assert_non_null(big);
    memset(big, 'a', POLICY_MAX_FILE);
    memcpy(big, "{{domain}}", 10);
    const char *path = tmp_file(&t, 0, "en.html", big, POLICY_MAX_FILE);
    char *y = file_yaml(path, NULL);
    struct policy *p = pages(y);
    size_t len;
    const char *html = policy_html(p, NULL, POLICY_EN, &len);
    assert_int_equal(len, strlen("<article class=\"policy\" lang=\"en\">\n") + 11 +
                              POLICY_MAX_FILE - 10 + strlen("</article>\n"));
    assert_contains(html, "\">\nexample.orgaaa");
    policy_free(p);
    free(y);
    free(big);
    tmp_clean(&t);
}

/* ---- the template syntax ---- */

static void test_values_are_formatted_for_people(void **state)
{
    (void)state;
    static const char yaml[] = DOMAINS "offline:\n  max_bytes: 1500\n"
                                       "invites:\n  expires: 12h\n"
                                       "limits:\n  ping_timeout: 1m\n  auth_timeout: 1500ms\n"
                                       "  max_stanza_size: 1MiB\n"
                                       "version:\n  show_os: true\n";
    static const char text[] = "{{offline.max_bytes}}|{{invites.expires}}|{{limits.ping_timeout}}|"
                               "{{limits.auth_timeout}}|{{limits.idle_timeout}}|"
                               "{{limits.max_stanza_size}}|{{version.show_os}}|"
                               "{{registration.enabled}}|{{log.level}}|{{c2s.port}}|"
                               "{{limits.max_connections}}|{{server.domains}}|{{operator}}";
    expect_fill(yaml, POLICY_EN, text,
                "1,500 bytes|12 hours|1 minute|1,500 milliseconds|5 minutes|1 MiB|yes|yes|warn|"
                "5,222|10,000|example.org|example.org");
    expect_fill(yaml, POLICY_DE, text,
                "1.500 Bytes|12 Stunden|1 Minute|1.500 Millisekunden|5 Minuten|1 MiB|ja|ja|warn|"
                "5.222|10.000|example.org|example.org");
    expect_fill(DOMAINS "invites:\n  expires: 1d\nretention:\n  warn_before: 36h\n", POLICY_DE,
                "{{invites.expires}}, {{retention.warn_before}}", "1 Tag, 36 Stunden");
    expect_fill(DOMAINS "offline:\n  max_bytes: 0\n  max_messages: 1\n", POLICY_EN,
                "{{offline.max_bytes}} {{offline.max_messages}}", "0 bytes 1");
    expect_fill(DOMAINS "offline:\n  max_bytes: 1GiB\n", POLICY_EN, "{{offline.max_bytes}}",
                "1 GiB");
    expect_fill(DOMAINS, POLICY_EN, "{{version.show_os}} {{   domain   }}", "no example.org");
    expect_fill(DOMAINS "policy:\n  operator: \"Ann & Bob\"\n", POLICY_EN, "{{operator}}",
                "Ann &amp; Bob");
}

static void test_conditionals(void **state)
{
    (void)state;
    static const char text[] =
        "{{#if reports.keep_after_reporter_deleted}}kept{{else}}gone{{/if}}|"
        "{{#if log.level=info or log.level=debug}}loud{{else}}quiet{{/if}}|"
        "{{#if contact.admin}}A{{#if contact.abuse}}B{{else}}C{{/if}}D{{/if}}|"
        "{{#if policy.date}}{{policy.date}}{{/if}}|"
        "{{#if contact.abuse or offline.max_messages}}any{{/if}}|"
        "{{#if store.backend=sqlite}}sql{{/if}}";
    expect_fill(DOMAINS, POLICY_EN, text, "gone|quiet|||any|sql");
    expect_fill(DOMAINS "reports:\n  keep_after_reporter_deleted: true\nlog:\n  level: info\n"
                        "contact:\n  admin: [\"xmpp:a@example.org\"]\n"
                        "policy:\n  date: \"1 May\"\noffline:\n  max_messages: 0\n",
                POLICY_EN, text, "kept|loud|ACD|1 May||sql");
    expect_fill(DOMAINS "contact:\n  admin: [\"x\"]\n  abuse: [\"y\"]\n", POLICY_EN, text,
                "gone|quiet|ABD||any|sql");
    /* Errors, with the line of the tag. */
    expect_bad("{{#if log.level=chatty}}x{{/if}}", 1);         /* not a choice */
    expect_bad("\n{{#if log.level}}x{{/if}}", 2);              /* enum without =VALUE */
    expect_bad("{{#if offline.max_messages=3}}x{{/if}}", 1);  /* =VALUE on a number */
    expect_bad("{{#if nope.key}}x{{/if}}", 1);
    expect_bad("{{#if policy.date and policy.date}}x{{/if}}", 1);
    expect_bad("{{#if policy.date or}}x{{/if}}", 1);
    expect_bad("{{#if }}x{{/if}}", 1);
    expect_bad("x\n{{else}}", 2);
    expect_bad("x\n\n{{/if}}", 3);
    expect_bad("{{#if policy.date}}a{{else}}b{{else}}c{{/if}}", 1);
    expect_bad("a\n{{#if policy.date}}\nb\n", 2); /* the line of the unclosed #if */
    expect_bad("{{#if policy.date}}{{#if policy.date}}{{#if policy.date}}{{#if policy.date}}"
               "{{#if policy.date}}{{#if policy.date}}{{#if policy.date}}{{#if policy.date}}"
               "{{#if policy.date}}{{/if}}{{/if}}{{/if}}{{/if}}{{/if}}{{/if}}{{/if}}{{/if}}"
               "{{/if}}",
               1); /* nine deep */
    expect_bad("{{}}", 1);
}

/* ---- domains and languages ---- */

static void test_unknown_domain_gives_the_first(void **state)
{
    (void)state;
    struct policy *p = pages("server:\n  domains: [a.example, b.example]\n");
    const char *a = policy_html(p, "a.example", POLICY_EN, NULL);
    const char *b = policy_html(p, "B.Example", POLICY_EN, NULL);
    assert_ptr_not_equal(a, b);
    assert_contains(a, "chat server a.example stores");
    assert_contains(b, "chat server b.example stores");
    assert_ptr_equal(policy_html(p, "c.example", POLICY_EN, NULL), a);
    assert_ptr_equal(policy_html(p, NULL, POLICY_EN, NULL), a);
    assert_ptr_equal(policy_html(p, "", POLICY_DE, NULL),
                     policy_html(p, "a.example", POLICY_DE, NULL));
    assert_contains(policy_html(p, "b.example", POLICY_DE, NULL), "Chat-Server b.example");
    policy_free(p);
    policy_free(NULL);
}

static void test_no_domain_is_an_error(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c, test_schema());
    struct policy *p = NULL;
    char *err = NULL;
    assert_int_equal(policy_new(&p, &c, &err), -EINVAL);
    assert_null(p);
    assert_contains(err, "server.domains");
    free(err);
    config_free(&c);
}

static void test_lang_pick(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        enum policy_lang want;
    } cases[] = {
        {"de-DE,de;q=0.9,en;q=0.8", POLICY_DE},
        {"en-US,en;q=0.9,de;q=0.8", POLICY_EN},
        {"fr, de;q=0.5", POLICY_DE},
        {"de;q=0, en", POLICY_EN},
        {NULL, POLICY_EN},
        {"", POLICY_EN},
        {"garbage", POLICY_EN},
        {";;;,,,=q", POLICY_EN},
        {"DE", POLICY_DE},
        {"de-AT", POLICY_DE},
        {"fr-CH, fr;q=0.9, de;q=0.7, *;q=0.5", POLICY_DE},
        {"fr, *;q=0.5", POLICY_EN},                  /* both by "*": tie, en first */
        {"*;q=0.9, de;q=0.5", POLICY_EN},            /* en gets the star's 0.9 */
        {"de;q=0.5, en;q=0.5", POLICY_DE},           /* tie: header order */
        {"en;q=0.5, de;q=0.5", POLICY_EN},
        {"en;q=0.4 , de ; q=0.6", POLICY_DE},        /* spaces */
        {"de;q=2, en;q=0.1", POLICY_EN},             /* a broken weight: ignored */
        {"de;q=0.0001", POLICY_EN},                  /* four decimals: broken */
        {"de;q=0.001", POLICY_DE},
        {"de;q=0, en;q=0", POLICY_EN},
        {"deu, de1, d-e", POLICY_EN},                /* not "de" */
        {"de-1996, en;q=0.9", POLICY_DE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum policy_lang got = policy_lang_pick(cases[i].header);
        if (got != cases[i].want)
            fail_msg("\"%s\": got %d, wanted %d", cases[i].header ? cases[i].header : "(null)",
                     (int)got, (int)cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_render_in_both_languages),
        cmocka_unit_test(test_numbers_follow_the_config),
        cmocka_unit_test(test_operator_is_escaped),
        cmocka_unit_test(test_log_level_changes_the_logs_text),
        cmocka_unit_test(test_reports_kept_after_reporter_deleted),
        cmocka_unit_test(test_contacts_are_links),
        cmocka_unit_test(test_components_are_named_not_their_secrets),
        cmocka_unit_test(test_override_file_is_filled),
        cmocka_unit_test(test_unknown_placeholder_fails_with_its_line),
        cmocka_unit_test(test_unterminated_placeholder_fails),
        cmocka_unit_test(test_bad_files_are_refused),
        cmocka_unit_test(test_file_at_the_limit_is_read),
        cmocka_unit_test(test_values_are_formatted_for_people),
        cmocka_unit_test(test_conditionals),
        cmocka_unit_test(test_unknown_domain_gives_the_first),
        cmocka_unit_test(test_no_domain_is_an_error),
        cmocka_unit_test(test_lang_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
