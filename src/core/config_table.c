/* Every configuration option, in one table (see config.h for the types).
 *
 * Order matters: sections appear in config_sections[] order, options in
 * table order within their section; `taubectl init` and the reference
 * follow it. Defaults are the promises' numbers (policy/PROMISES.md).
 */
#include "core/config.h"

#include <stddef.h>

/* Offset and size of a field, with a compile-time check that the field has
 * one of the C types the option type stores into. */
#define FIELD_OF(f, check) \
    .offset = offsetof(struct config, f) + 0 * sizeof(check), \
    .size = sizeof(((struct config *)0)->f)
#define AS_BOOL(f) FIELD_OF(f, _Generic(((struct config *)0)->f, bool: 1))
#define AS_INT(f) \
    FIELD_OF(f, _Generic(((struct config *)0)->f, int: 1, unsigned: 1, uint64_t: 1))
#define AS_STR(f) FIELD_OF(f, _Generic(((struct config *)0)->f, char *: 1))
#define AS_LIST(f) FIELD_OF(f, _Generic(((struct config *)0)->f, struct strlist: 1))

#define KiB 1024LL
#define MiB (1024LL * KiB)
#define GiB (1024LL * MiB)
#define MINUTE 60LL
#define HOUR (60LL * MINUTE)
#define DAY (24LL * HOUR)
#define SEC_MS 1000LL /* CFG_MILLIS bounds are in milliseconds */

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const store_backends[] = {"sqlite", NULL};
static const char *const listen_all[] = {"0.0.0.0", "::", NULL};
static const char *const loopback[] = {"127.0.0.1", NULL};

const struct config_section config_sections[] = {
    {"server", "Which domains this server hosts, who administers it, and where it keeps its files."},
    {"log", "What the server logs. By default only warnings and errors, which never name a user or an address (promise P14)."},
    {"network", "Where the listeners bind."},
    {"c2s", "Client-to-server connections."},
    {"s2s", "Server-to-server connections (federation): not served by this version yet."},
    {"http", "The HTTPS listener (file upload, BOSH/WebSocket): not served by this version yet."},
    {"component", "External components (XEP-0114): bridges, bots, gateways and push app "
                  "servers that connect to the server and serve a domain of their own. The "
                  "protocol has no TLS: bind it to localhost (the default) or a private "
                  "network, never to the Internet."},
    {"tls", "TLS settings shared by every listener. TLS is mandatory (promise P15)."},
    {"limits", "Limits that keep one client from degrading the service for others (promise P23). "
               "The time-outs are checked once a second, so one acts up to a second after it is due."},
    {"version", "Software version answers (XEP-0092)."},
    {"store", "Where accounts, rosters, archives and the rest are stored."},
    {"auth", "Password storage (promise P4: only salted SCRAM keys are stored)."},
    {"offline", "Messages kept for users who are offline (XEP-0160, promise P7): kept until "
                "the user connects and they are delivered."},
    {"blocking", "Block lists (XEP-0191, promise P22)."},
    {"reports", "Spam and abuse reports (XEP-0377, promise P22) that users send with a block: "
                "the reporter, the reported address, the reason, the time, and the reporter's "
                "text and the reported messages only if the client sends them. They are kept "
                "for the operator (`taubectl report list|show|dismiss`) until dismissed or "
                "reports.max_age old. A report is deleted with its reporter's account unless "
                "reports.keep_after_reporter_deleted is set, and always with the reported "
                "local account (its name may later be given to someone else). The block "
                "itself never fails because of its report: a report over a limit is not "
                "stored, and over-long text is cut."},
    {"roster", "Contact lists (RFC 6121, promise P5): kept until the user removes a "
               "contact or deletes the account."},
    {"presence", "Presence (RFC 6121 section 4, promise P6): held in memory only."},
    {"vcard", "Profiles (vCard, XEP-0054) that users publish, stored as given (promise P13)."},
    {"private", "Private XML storage (XEP-0049): settings clients keep on the server."},
    {"contact", "The operator's contact addresses, published in service discovery "
                "(XEP-0157, promise P24). Each is a list of URIs (xmpp:, mailto:, https:, "
                "tel:); none are published until set."},
    {"invites", "Registration codes (promise P1): `taubectl invite create` makes them; each "
                "account records the code that created it."},
    {"registration", "In-band registration (XEP-0077, with XEP-0401 codes): only over TLS, "
                     "only with a valid code, and only with consent to the policy (promise P2)."},
    {"retention", "Unused accounts (promises P11, P12): an account without a login for "
                  "retention.inactive_after is deleted with all its data, after a warning "
                  "message sent retention.warn_before earlier. Accounts that never logged in "
                  "count from their creation. The server checks one minute after it starts "
                  "and then every 24 hours; `taubectl retention report` shows what is due."},
};
const size_t config_sections_count = sizeof config_sections / sizeof config_sections[0];

const struct config_option config_options[] = {
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
    {.key = "http.port", .type = CFG_INT, AS_INT(https_port), .min = 0, .max = 65535, .def = "0",
     .help = "Port of the HTTPS listener (file upload, BOSH, WebSocket; 5443 is usual). This "
             "version does not serve HTTP yet: nothing listens on it, and any value but 0 "
             "makes `taube --check` and start-up warn."},

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

    /* version */
    {.key = "version.show_os", .type = CFG_BOOL, AS_BOOL(version_show_os), .def = "false",
     .help = "Whether version answers name the operating system."},
    {.key = "version.name", .type = CFG_STRING, AS_STR(version_name), .max = 64, .def = "Taube",
     .help = "Software name given in version answers."},

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

    /* offline */
    {.key = "offline.max_messages", .type = CFG_INT, AS_INT(offline_max_messages),
     .min = 0, .max = 1000000, .def = "1000",
     .help = "Most messages kept for one offline user; when full, senders get a "
             "resource-constraint error and nothing more is stored. 0 stores none."},
    {.key = "offline.max_bytes", .type = CFG_SIZE, AS_INT(offline_max_bytes),
     .min = 0, .max = 1 * GiB, .def = "10MiB",
     .help = "Most bytes of messages kept for one offline user (as stored XML); "
             "when full, senders get a resource-constraint error."},

    /* blocking */
    {.key = "blocking.max_items", .type = CFG_INT, AS_INT(blocking_max_items),
     .min = 1, .max = 100000, .def = "1000",
     .help = "Most JIDs on one user's block list; blocking more is refused with "
             "resource-constraint."},

    /* reports */
    {.key = "reports.keep_after_reporter_deleted", .type = CFG_BOOL,
     AS_BOOL(reports_keep_after_reporter_deleted), .def = "false",
     .help = "Whether a report outlives its reporter's account: false deletes it with the "
             "account (promise P18); true keeps it as \"reported by a deleted account\", "
             "without the reporter's name, until dismissed or reports.max_age old. Say "
             "which in your privacy policy."},
    {.key = "reports.max_age", .type = CFG_DURATION, AS_INT(reports_max_age),
     .min = 1 * DAY, .max = 730 * DAY, .def = "180d",
     .help = "How long a report is kept if the operator does not dismiss it; older "
             "reports are deleted by the daily retention run."},
    {.key = "reports.max_per_day", .type = CFG_INT, AS_INT(reports_max_per_day),
     .min = 1, .max = 10000, .def = "20",
     .help = "Most reports one user can make in 24 hours; further blocks still work, "
             "their reports are not stored."},
    {.key = "reports.max_per_user", .type = CFG_INT, AS_INT(reports_max_per_user),
     .min = 1, .max = 100000, .def = "100",
     .help = "Most reports kept from one user; further blocks still work, their reports "
             "are not stored until the operator dismisses some."},
    {.key = "reports.max_text_length", .type = CFG_INT, AS_INT(reports_max_text_length),
     .min = 0, .max = 65536, .def = "2000",
     .help = "Longest reporter's text, and longest copy of the reported messages, kept "
             "with a report (bytes); longer is cut. 0 keeps neither."},

    /* roster */
    {.key = "roster.max_items", .type = CFG_INT, AS_INT(roster_max_items),
     .min = 1, .max = 100000, .def = "1000",
     .help = "Most contacts in one user's roster; adding more is refused with "
             "policy-violation."},
    {.key = "roster.max_name_length", .type = CFG_INT, AS_INT(roster_max_name_length),
     .min = 1, .max = 4096, .def = "256",
     .help = "Longest contact name (handle) in bytes; longer is refused with not-acceptable."},
    {.key = "roster.max_groups", .type = CFG_INT, AS_INT(roster_max_groups),
     .min = 1, .max = 1000, .def = "32",
     .help = "Most groups one contact can be in; more is refused with not-acceptable."},
    {.key = "roster.max_group_length", .type = CFG_INT, AS_INT(roster_max_group_length),
     .min = 1, .max = 4096, .def = "256",
     .help = "Longest group name in bytes; longer is refused with not-acceptable."},
    {.key = "roster.max_pending", .type = CFG_INT, AS_INT(roster_max_pending),
     .min = 1, .max = 100000, .def = "100",
     .help = "Most unanswered subscription requests kept for one user; further "
             "requests are dropped until the user answers some."},
    {.key = "roster.version_log", .type = CFG_INT, AS_INT(roster_version_log),
     .min = 1, .max = 100000, .def = "200",
     .help = "Roster changes remembered per user for versioned roster requests; a client "
             "whose cached version is older gets the whole roster."},

    /* presence */
    {.key = "presence.max_directed", .type = CFG_INT, AS_INT(presence_max_directed),
     .min = 1, .max = 10000, .def = "100",
     .help = "Most entities one session's directed presence is remembered for (they "
             "get unavailable presence when the session ends)."},

    /* vcard */
    {.key = "vcard.max_size", .type = CFG_SIZE, AS_INT(vcard_max_size),
     .min = 1 * KiB, .max = 1 * MiB, .def = "128KiB",
     .help = "Largest vCard (with its avatar image) one user can store; a larger one is "
             "refused with not-acceptable and the old one kept."},

    /* private */
    {.key = "private.max_element_size", .type = CFG_SIZE, AS_INT(private_max_element_size),
     .min = 1 * KiB, .max = 1 * MiB, .def = "64KiB",
     .help = "Largest single element a client can keep in private storage; larger is "
             "refused with not-acceptable."},
    {.key = "private.max_total_size", .type = CFG_SIZE, AS_INT(private_max_total_size),
     .min = 1 * KiB, .max = 64 * MiB, .def = "256KiB",
     .help = "Most private storage one user can fill in all; a store that would go over "
             "is refused with resource-constraint and nothing of it is kept."},

    /* contact */
    {.key = "contact.abuse", .type = CFG_STRLIST, AS_LIST(contact_abuse), .min = 0, .max = 10,
     .help = "Where to report abuse (abuse-addresses)."},
    {.key = "contact.admin", .type = CFG_STRLIST, AS_LIST(contact_admin), .min = 0, .max = 10,
     .help = "How to reach the administrators (admin-addresses)."},
    {.key = "contact.feedback", .type = CFG_STRLIST, AS_LIST(contact_feedback), .min = 0, .max = 10,
     .help = "Where to send feedback (feedback-addresses)."},
    {.key = "contact.sales", .type = CFG_STRLIST, AS_LIST(contact_sales), .min = 0, .max = 10,
     .help = "Sales contact (sales-addresses)."},
    {.key = "contact.security", .type = CFG_STRLIST, AS_LIST(contact_security), .min = 0, .max = 10,
     .help = "Where to report security issues (security-addresses)."},
    {.key = "contact.status", .type = CFG_STRLIST, AS_LIST(contact_status), .min = 0, .max = 10,
     .help = "Pages or accounts that tell the service status (status-addresses)."},
    {.key = "contact.support", .type = CFG_STRLIST, AS_LIST(contact_support), .min = 0, .max = 10,
     .help = "Where users get help (support-addresses)."},
    {.key = "contact.policy", .type = CFG_STRLIST, AS_LIST(contact_policy), .min = 0, .max = 5,
     .help = "Web addresses of the terms of service and privacy policy. XEP-0157 "
             "registers no field for them, so they are not published over XMPP; the "
             "web page and the registration form show them."},

    /* invites */
    {.key = "invites.expires", .type = CFG_DURATION, AS_INT(invites_expires),
     .min = 1 * HOUR, .max = 365 * DAY, .def = "7d",
     .help = "How long a new registration code stays valid unless `invite create "
             "--expires` says otherwise."},

    /* registration */
    {.key = "registration.enabled", .type = CFG_BOOL, AS_BOOL(registration_enabled),
     .def = "true",
     .help = "Offer in-band registration (with a registration code) to clients over TLS."},
    {.key = "registration.policy_version", .type = CFG_STRING,
     AS_STR(registration_policy_version), .max = 64, .def = "1",
     .help = "Version of the policy (contact.policy, which the consent field of the "
             "registration form names and links); stored with each account's consent. "
             "Change it when the policy changes."},
    {.key = "registration.min_password_length", .type = CFG_INT,
     AS_INT(registration_min_password), .min = 1, .max = 128, .def = "8",
     .help = "Shortest password (bytes) accepted at registration or password change; "
             "shorter is refused with not-acceptable."},
    {.key = "registration.max_password_length", .type = CFG_INT,
     AS_INT(registration_max_password), .min = 16, .max = 1023, .def = "256",
     .help = "Longest password (bytes) accepted at registration or password change."},
    {.key = "registration.max_attempts_per_hour", .type = CFG_INT,
     AS_INT(registration_max_attempts), .min = 1, .max = 100000, .def = "10",
     .help = "Registration attempts (and XEP-0401 code checks) allowed per IP address "
             "(IPv6: per /64) per hour; more are refused with policy-violation."},
    {.key = "registration.tracked_addresses", .type = CFG_INT,
     AS_INT(registration_tracked_addresses), .min = 16, .max = 1000000, .def = "4096",
     .help = "How many addresses the per-address limit above remembers (about 100 bytes "
             "each). When more addresses than this try to register within the hour, the "
             "least recently seen are forgotten first (their count starts again); nobody is "
             "refused because the table is full."},

    /* retention */
    {.key = "retention.inactive_after", .type = CFG_DURATION, AS_INT(retention_inactive_after),
     .min = 182 * DAY, .max = 366 * DAY, .def = "365d",
     .help = "How long an account may go without a login before it is deleted: 6 to 12 "
             "months (182d to 366d)."},
    {.key = "retention.warn_before", .type = CFG_DURATION, AS_INT(retention_warn_before),
     .min = 1 * DAY, .max = 90 * DAY, .def = "30d",
     .help = "How long before the deletion the account is sent a warning message. An "
             "account is never deleted less than this long after its warning, even if the "
             "server was down when the warning was due."},
};
const size_t config_options_count = sizeof config_options / sizeof config_options[0];
