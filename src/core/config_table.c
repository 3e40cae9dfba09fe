/* The core's configuration options (see config.h for the types); every
 * module's own are in its descriptor, merged after these (config_schema).
 *
 * Order matters: sections appear in table order, options in table order
 * within their section; `taubectl init` and the reference follow it.
 * Defaults are the promises' numbers (policy/PROMISES.md).
 */
#include "core/config.h"

#include <errno.h>
#include <stddef.h>

/* Short names for the shared table macros (config.h). */
#define AS_BOOL CFG_AS_BOOL
#define AS_INT CFG_AS_INT
#define AS_STR CFG_AS_STR
#define AS_LIST CFG_AS_LIST
#define KiB CFG_KiB
#define MiB CFG_MiB
#define GiB CFG_GiB
#define MINUTE CFG_MINUTE
#define HOUR CFG_HOUR
#define DAY CFG_DAY
#define SEC_MS 1000LL /* CFG_MILLIS bounds are in milliseconds */

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const store_backends[] = {"sqlite", NULL};
static const char *const listen_all[] = {"0.0.0.0", "::", NULL};
static const char *const loopback[] = {"127.0.0.1", NULL};
static const char *const default_clients[] = {
    "Android|Conversations|https://conversations.im/",
    "iOS|Monal|https://monal-im.org/",
    "Linux|Dino|https://dino.im/",
    "Windows|Gajim|https://gajim.org/",
    "Linux|Gajim|https://gajim.org/",
    NULL,
};

static const struct config_section core_sections[] = {
    {"server", "Which domains this server hosts, who administers it, and where it keeps its files."},
    {"log", "What the server logs. By default only warnings and errors, which never name a user or an address (promise P14)."},
    {"network", "Where the listeners bind."},
    {"c2s", "Client-to-server connections."},
    {"s2s", "Server-to-server connections (federation): not served by this version yet."},
    {"http", "The HTTPS listener: invite pages, web registration and the privacy policy "
             "(file upload and WebSocket will be served there too). It uses the domains' "
             "certificates (chosen by SNI) and speaks HTTP/1.1."},
    {"policy", "Who runs the server, as the privacy policy and the invite pages name them, "
               "and the policy text (promises P2, P24). The policy page fills every number "
               "from this configuration."},
    {"component", "External components (XEP-0114): bridges, bots, gateways and push app "
                  "servers that connect to the server and serve a domain of their own. The "
                  "protocol has no TLS: bind it to localhost (the default) or a private "
                  "network, never to the Internet."},
    {"tls", "TLS settings shared by every listener. TLS is mandatory (promise P15)."},
    {"limits", "Limits that keep one client from degrading the service for others (promise P23). "
               "The time-outs are checked once a second, so one acts up to a second after it is due."},
    {"store", "Where accounts, rosters, archives and the rest are stored."},
    {"auth", "Password storage (promise P4: only salted SCRAM keys are stored)."},
};

static const struct config_option core_options[] = {
    /* server */
    {.key = "server.domains", .type = CFG_DOMAINS, AS_LIST(domains), .min = 1, .max = 100,
     .help = "The domains (virtual hosts) this server serves, e.g. example.org. "
             "At least one; no default. Each needs a certificate in server.certs_dir."},
    {.key = "server.admins", .type = CFG_JIDS, AS_LIST(admins), .min = 0, .max = 100,
     .help = "Bare JIDs (user@domain) allowed to run admin commands from their client."},
    {.key = "server.data_dir", .type = CFG_PATH, AS_STR(data_dir), .max = 4000, .def = "data",
     .help = "Directory for the server's data (uploads, exports)."},
    {.key = "server.certs_dir", .type = CFG_PATH, AS_STR(certs_dir), .max = 4000, .def = "certs",
     .help = "Directory holding DOMAIN.crt (full chain) and DOMAIN.key for each served domain."},
    /* sun_path holds 108 bytes with the terminating NUL. */
    {.key = "server.control_socket", .type = CFG_PATH, AS_STR(control_socket), .max = 107,
     .def = "data/taube.sock",
     .help = "Unix socket taubectl talks to the running server through."},

    /* log */
    {.key = "log.level", .type = CFG_ENUM, AS_INT(log_level),
     .def = "warn", .choices = log_levels,
     .help = "Least severe level logged. Levels above warn may name users and "
             "addresses: raise it only for a limited time."},

    /* network */
    {.key = "network.listen", .type = CFG_ADDRS, AS_LIST(listen), .min = 1, .max = 32,
     .def_list = listen_all,
     .help = "IP addresses the listeners bind to. \"0.0.0.0\" is every IPv4 address, "
             "\"::\" every IPv6 address (bound IPv6-only, so both can be listed)."},

    /* c2s */
    {.key = "c2s.port", .type = CFG_INT, AS_INT(c2s_port), .min = 0, .max = 65535, .def = "5222",
     .help = "Port for client connections with STARTTLS; 0 turns it off."},
    {.key = "c2s.tls_port", .type = CFG_INT, AS_INT(c2s_tls_port), .min = 0, .max = 65535,
     .def = "5223",
     .help = "Port for client connections with direct TLS (XEP-0368); 0 turns it off."},

    /* s2s */
    {.key = "s2s.port", .type = CFG_INT, AS_INT(s2s_port), .min = 0, .max = 65535, .def = "0",
     .help = "Port for connections from other servers (5269 is the standard one). This "
             "version does not serve federation yet: nothing listens on it, and any value "
             "but 0 makes `taube --check` and start-up warn."},

    /* http */
    {.key = "http.port", .type = CFG_INT, AS_INT(https_port), .min = 0, .max = 65535,
     .def = "5443",
     .help = "Port of the HTTPS listener (invite pages, web registration, the privacy "
             "policy); 0 turns it off, and then invites have no web page."},
    {.key = "http.public_url", .type = CFG_STRING, AS_STR(http_public_url), .max = 400,
     .def = "",
     .help = "The address members reach the HTTPS listener at, e.g. "
             "\"https://example.org\" behind a reverse proxy; links in invites and the "
             "policy use it. Empty: https://DOMAIN:PORT with the invite's domain and "
             "http.port."},
    {.key = "http.request_timeout", .type = CFG_MILLIS, AS_INT(http_request_timeout_ms),
     .min = 1000, .max = 5 * MINUTE * SEC_MS, .def = "10s",
     .help = "Time a client may take to send a request's headers and body, and to "
             "complete the TLS handshake; a connection that is slower is closed."},
    {.key = "http.keepalive_timeout", .type = CFG_MILLIS, AS_INT(http_keepalive_timeout_ms),
     .min = 1000, .max = 10 * MINUTE * SEC_MS, .def = "60s",
     .help = "Time an idle keep-alive connection stays open."},
    {.key = "http.max_connections", .type = CFG_INT, AS_INT(http_max_connections), .min = 1,
     .max = 100000, .def = "1000",
     .help = "Most HTTPS connections open at once; more are refused."},

    /* policy */
    {.key = "policy.operator", .type = CFG_STRING, AS_STR(policy_operator), .max = 400,
     .def = "",
     .help = "Who runs this server (a person's or a club's name), as the invite page and "
             "the policy name them. Empty: the first domain."},
    {.key = "policy.operator_address", .type = CFG_STRING, AS_STR(policy_operator_address),
     .max = 1000, .def = "",
     .help = "Postal address and e-mail of the operator for the policy's \"who is "
             "responsible\" section, one line; empty leaves it out."},
    {.key = "policy.date", .type = CFG_STRING, AS_STR(policy_date), .max = 40, .def = "",
     .help = "Date of registration.policy_version, e.g. \"2026-12-01\", shown on the "
             "policy page."},
    {.key = "policy.file_en", .type = CFG_PATH, AS_STR(policy_file_en), .max = 4000,
     .def = "",
     .help = "Your own English policy text (HTML body) instead of Taube's; placeholders "
             "{{option.key}} are filled from this configuration. Empty: Taube's text."},
    {.key = "policy.file_de", .type = CFG_PATH, AS_STR(policy_file_de), .max = 4000,
     .def = "",
     .help = "The same in German."},
    {.key = "policy.clients", .type = CFG_STRLIST, AS_LIST(policy_clients), .min = 0,
     .max = 20, .def_list = default_clients,
     .help = "Clients the invite page recommends, each \"PLATFORM|NAME|URL\"."},

    /* component */
    {.key = "component.port", .type = CFG_INT, AS_INT(component_port), .min = 0, .max = 65535,
     .def = "0",
     .help = "Port external components connect to (5347 is usual); 0 (the default) turns "
             "components off."},
    {.key = "component.interface", .type = CFG_ADDRS, AS_LIST(component_interface), .min = 1,
     .max = 32, .def_list = loopback,
     .help = "IP addresses the component port binds to. Components authenticate with a "
             "shared secret over plain TCP: keep this on the loopback address or a private "
             "network."},
    {.key = "component.secrets", .type = CFG_SECRETS, AS_LIST(component_secrets), .min = 0,
     .max = 100,
     .help = "The components that may connect: each component's domain and the shared "
             "secret it authenticates with (the SHA-1 handshake of XEP-0114), e.g. "
             "`push.example.org: \"output of openssl rand -hex 24\"`. Stanzas to any "
             "address at that domain go to the component while it is connected; it may send "
             "from addresses at its domain only. A domain here cannot also be in "
             "server.domains."},

    /* tls */
    {.key = "tls.ciphers", .type = CFG_STRING, AS_STR(tls_ciphers), .max = 4000,
     .def = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
     .help = "TLS 1.2 cipher list (OpenSSL syntax). The default allows only forward-secret "
             "ECDHE key exchange with AES-GCM or ChaCha20-Poly1305."},
    {.key = "tls.ciphersuites", .type = CFG_STRING, AS_STR(tls_ciphersuites), .max = 4000,
     .def = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
     .help = "TLS 1.3 cipher suites (OpenSSL syntax)."},

    /* limits */
    {.key = "limits.max_stanza_size", .type = CFG_SIZE, AS_INT(max_stanza_size),
     .min = 10000, .max = 16 * MiB, .def = "256KiB",
     .help = "Largest stanza accepted; a larger one closes the stream "
             "(RFC 6120 requires at least 10000 bytes). Before authentication the "
             "limit is at most 16KiB."},
    {.key = "limits.max_depth", .type = CFG_INT, AS_INT(max_depth), .min = 4, .max = 256,
     .def = "32", .help = "Deepest XML element nesting accepted inside a stanza."},
    {.key = "limits.max_attributes", .type = CFG_INT, AS_INT(max_attrs), .min = 8, .max = 1024,
     .def = "64",
     .help = "Most attributes accepted on one XML element; namespace declarations "
             "(xmlns) count as attributes."},
    {.key = "limits.auth_timeout", .type = CFG_MILLIS, AS_INT(auth_timeout_ms),
     .min = 500, .max = 10 * MINUTE * SEC_MS, .def = "30s",
     .help = "Time a connection may take to authenticate before it is closed."},
    {.key = "limits.tls_timeout", .type = CFG_MILLIS, AS_INT(tls_timeout_ms),
     .min = 500, .max = 10 * MINUTE * SEC_MS, .def = "10s",
     .help = "Time a connection may take to start and finish TLS (STARTTLS or direct TLS) "
             "before it is closed; shorter than limits.auth_timeout, so that idle sockets "
             "that never speak are dropped early."},
    {.key = "limits.idle_timeout", .type = CFG_MILLIS, AS_INT(idle_timeout_ms),
     .min = 500, .max = DAY * SEC_MS, .def = "5m",
     .help = "After this long without traffic the server pings the peer (XEP-0199); "
             "no answer within limits.ping_timeout closes the connection."},
    {.key = "limits.ping_timeout", .type = CFG_MILLIS, AS_INT(ping_timeout_ms),
     .min = 500, .max = HOUR * SEC_MS, .def = "1m",
     .help = "How long the server waits for the answer to its ping before it "
             "closes the connection as dead (connection-timeout)."},
    {.key = "limits.keepalive_interval", .type = CFG_DURATION, AS_INT(keepalive_interval),
     .min = 10, .max = HOUR, .def = "2m",
     .help = "Whitespace keepalive sent on idle connections, so that NAT routers keep them open."},
    {.key = "limits.read_rate", .type = CFG_SIZE, AS_INT(read_rate),
     .min = 1 * KiB, .max = 1 * GiB, .def = "64KiB",
     .help = "Bytes per second read from one connection, on average."},
    {.key = "limits.read_burst", .type = CFG_SIZE, AS_INT(read_burst),
     .min = 1 * KiB, .max = 1 * GiB, .def = "1MiB",
     .help = "Bytes one connection may send at once above limits.read_rate."},
    {.key = "limits.max_auth_attempts", .type = CFG_INT, AS_INT(max_auth_attempts),
     .min = 1, .max = 100, .def = "3",
     .help = "Wrong passwords allowed per connection before it is closed. SASL failures that "
             "check no password (an unsupported channel binding, a malformed message) do not "
             "count; ten of those close the connection."},
    {.key = "limits.max_connections", .type = CFG_INT, AS_INT(max_connections),
     .min = 1, .max = 1000000, .def = "10000",
     .help = "Most simultaneous client connections, all ports together; further ones "
             "wait until others close."},
    {.key = "limits.max_unauthenticated_per_address", .type = CFG_INT,
     AS_INT(max_unauth_per_addr), .min = 1, .max = 1000000, .def = "20",
     .help = "Most connections one address may hold open before they authenticate "
             "(IPv6: one /64); further ones are closed at once. Authenticated streams "
             "do not count."},
    {.key = "limits.send_queue_max", .type = CFG_SIZE, AS_INT(send_queue_max),
     .min = 64 * KiB, .max = 1 * GiB, .def = "1MiB",
     .help = "Bytes queued for one slow reader before its connection is closed."},
    {.key = "limits.congestion_timeout", .type = CFG_MILLIS,
     AS_INT(congestion_timeout_ms), .min = 500, .max = 10 * MINUTE * SEC_MS, .def = "5s",
     .help = "How long a connection may stay congested (more than half of "
             "limits.send_queue_max queued, not yet drained to a quarter) before it "
             "is closed with policy-violation. Senders held back by it wait at most "
             "this long."},
    {.key = "limits.send_queue_total", .type = CFG_SIZE, AS_INT(send_queue_total),
     .min = 1 * MiB, .max = 64 * GiB, .def = "256MiB",
     .help = "Bytes queued for all connections together; past it the connections "
             "with the largest queues (congested ones first) are dropped."},
    {.key = "limits.max_sessions_per_account", .type = CFG_INT,
     AS_INT(max_sessions_per_account), .min = 1, .max = 1000, .def = "10",
     .help = "Most resources one account may have bound at once; binding one more "
             "is refused with resource-constraint."},

    /* store */
    {.key = "store.backend", .type = CFG_STRING, AS_STR(store_backend), .max = 16,
     .def = "sqlite", .choices = store_backends,
     .help = "Storage backend. Only sqlite for now."},
    {.key = "store.path", .type = CFG_PATH, AS_STR(store_path), .max = 4000,
     .def = "data/taube.db", .help = "The SQLite database file."},

    /* auth */
    {.key = "auth.scram_iterations", .type = CFG_INT, AS_INT(scram_iterations),
     .min = 4096, .max = 10000000, .def = "4096",
     .help = "PBKDF2 iterations for new SCRAM password hashes (RFC 7677 asks for at "
             "least 4096). Higher is slower to crack and slower to log in."},
};

const struct config_table config_core_table = {
    .sections = core_sections,
    .n_sections = sizeof core_sections / sizeof core_sections[0],
    .options = core_options,
    .n_options = sizeof core_options / sizeof core_options[0],
};

void config_schema_core(struct config_schema *s)
{
    s->t[0] = &config_core_table;
    s->n = 1;
}

int config_schema_add(struct config_schema *s, const struct config_table *t)
{
    if (s->n == CONFIG_MAX_TABLES)
        return -E2BIG;
    s->t[s->n++] = t;
    return 0;
}

size_t config_schema_noptions(const struct config_schema *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->t[i]->n_options;
    return n;
}

const struct config_option *config_schema_option(const struct config_schema *s, size_t i)
{
    for (size_t t = 0; t < s->n; i -= s->t[t]->n_options, t++)
        if (i < s->t[t]->n_options)
            return &s->t[t]->options[i];
    return NULL;
}

size_t config_schema_nsections(const struct config_schema *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->t[i]->n_sections;
    return n;
}

const struct config_section *config_schema_section(const struct config_schema *s, size_t i)
{
    for (size_t t = 0; t < s->n; i -= s->t[t]->n_sections, t++)
        if (i < s->t[t]->n_sections)
            return &s->t[t]->sections[i];
    return NULL;
}
