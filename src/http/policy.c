/* The privacy policy and terms page (policy.h): the template filler, the
 * built-in texts and the pages rendered from them at start-up. */
#include "http/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/html.h"

#define MAX_DEPTH 8   /* nested {{#if}} */
#define TAG_MAX 256   /* bytes between "{{" and "}}" */
#define TAG_SHOW 80   /* bytes of a tag quoted in an error */
#define PAGE_MAX (16 * 1024 * 1024) /* one rendered page */

/* ---- the built-in texts ----
 * Our own words, modelled on the structure of a real small server's
 * policy: who is responsible, who may join, what is kept and for how
 * long, logs, rights, what this version does not do, and the terms.
 * Every number is a placeholder, so the page says what the configuration
 * does. When a feature listed under "missing" arrives, its item must
 * move into the text above it. */

static const char text_en[] =
    "<h2 id=\"privacy\">Privacy policy</h2>\n"
    "<p>This page tells you what the chat server {{domain}} stores about you, why, for how long "
    "and who can see it, and which rules apply to its use. The numbers on it are taken from the "
    "server's configuration, so they are the ones in force.</p>\n"
    "\n"
    "<h3 id=\"responsible\">Who is responsible</h3>\n"
    "<p>This server is run by {{operator}}. The operator is responsible for the processing of "
    "your personal data described here.</p>\n"
    "{{#if policy.operator_address}}<p>Address: {{policy.operator_address}}</p>\n{{/if}}"
    "{{#if contact.admin or contact.support or contact.abuse or contact.security or "
    "contact.feedback or contact.status}}"
    "<p>You can reach the operator here:</p>\n"
    "<ul>\n"
    "{{#if contact.admin}}<li>Administration: {{contact.admin}}</li>\n{{/if}}"
    "{{#if contact.support}}<li>Help with your account: {{contact.support}}</li>\n{{/if}}"
    "{{#if contact.abuse}}<li>Reporting abuse: {{contact.abuse}}</li>\n{{/if}}"
    "{{#if contact.security}}<li>Reporting security problems: {{contact.security}}</li>\n{{/if}}"
    "{{#if contact.feedback}}<li>Feedback: {{contact.feedback}}</li>\n{{/if}}"
    "{{#if contact.status}}<li>Service status: {{contact.status}}</li>\n{{/if}}"
    "</ul>\n"
    "{{else}}<p>To reach the operator, ask the person who gave you your registration code.</p>\n"
    "{{/if}}"
    "<p>If you contact the operator, what you write and the address you write from are kept only "
    "as long as it takes to deal with your request, and are passed on to no one.</p>\n"
    "\n"
    "<h3 id=\"joining\">Who may join</h3>\n"
    "<p>{{domain}} is a private server for instant messaging with the open standard XMPP (also "
    "called Jabber). There is no open registration: an account can only be created with a "
    "registration code (an invitation) the operator has issued. A code is valid for "
    "{{invites.expires}} unless the operator sets another period; it creates as many accounts as "
    "the operator allows (usually one) and can be revoked.</p>\n"
    "<p>For each code the server stores for whom the operator issued it (a name and/or an e-mail "
    "address, and a short note if the operator adds one), who created it, when, and until when it "
    "is valid. For each account it stores which code created it, for as long as the account "
    "exists. This tells the operator whom to turn to if an account breaks the terms of use.</p>\n"
    "<p>An account can only be created once you have agreed to this policy. The time of your "
    "consent and the version of the policy you agreed to are stored with your account for as long "
    "as it exists. The current version is {{policy.version}}.</p>\n"
    "\n"
    "<h3 id=\"purpose\">Why your data is processed</h3>\n"
    "<p>Your data is processed only as far as needed to provide the messaging service you signed "
    "up for, and to keep it secure and working. The legal basis is the agreement to use the "
    "service (Art. 6(1)(b) GDPR); the logs, the deletion of unused accounts and the handling of "
    "abuse reports rest on the operator's legitimate interest in a secure and working service "
    "(Art. 6(1)(f) GDPR).</p>\n"
    "<p>Your data is not sold, not used for advertising, and not passed on to third parties "
    "unless the law requires it.</p>\n"
    "\n"
    "<h3 id=\"account\">Your account</h3>\n"
    "<ul>\n"
    "<li>Your address (JID), such as name@{{domain}}: the user name you chose and the "
    "domain.</li>\n"
    "<li>Your password is never stored, nor written to any log. The server keeps only keys "
    "derived from it with a random salt (SCRAM, {{auth.scram_iterations}} iterations). They let "
    "the server check your password when you log in; the password cannot be derived from "
    "them.</li>\n"
    "<li>When the account was created and when you last logged in, so that unused accounts can be "
    "found and deleted (see <a href=\"#inactive\">Unused accounts</a>).</li>\n"
    "<li>Whether the operator has suspended the account, since when, and the reason given.</li>\n"
    "</ul>\n"
    "<p>These are kept until your account is deleted.</p>\n"
    "\n"
    "<h3 id=\"contacts\">Contact list and presence</h3>\n"
    "<p>Your contact list (roster) is kept on the server so that all your clients show the same "
    "list: your contacts' addresses, the names and groups you give them, and whether you see each "
    "other's presence. It holds at most {{roster.max_items}} contacts and is kept until you "
    "remove a contact or your account is deleted. Contact requests you have not answered yet are "
    "kept with the text sent with them until you answer them (at most "
    "{{roster.max_pending}}).</p>\n"
    "<p>Your presence (whether you are online, and your status message) is passed on to the "
    "contacts you share it with; while you are online it is held in memory only. When your last "
    "client goes offline, the server stores the time and the status message sent then, so that "
    "these contacts can see when you were last online.</p>\n"
    "\n"
    "<h3 id=\"offline\">Messages</h3>\n"
    "<p>Messages are passed on to the recipient's clients at once. "
    "{{#if offline.max_messages}}If none of your clients is online, messages to you are stored "
    "until you connect again and they have been delivered; then they are deleted from the server. "
    "At most {{offline.max_messages}} messages and {{offline.max_bytes}} are stored for you; the "
    "senders of further messages are told that they could not be delivered."
    "{{else}}If none of your clients is online, messages to you are not stored: their senders "
    "are told that they could not be delivered.{{/if}}</p>\n"
    "<p>The server could read messages that are not end-to-end encrypted, but handles them only "
    "to deliver them. With end-to-end encryption (OMEMO) only the clients of the people in the "
    "conversation can read the content, never the server. Even then the server sees what it needs "
    "to deliver a message: its sender, its recipient, the time and its size. End-to-end "
    "encryption is recommended; note, though, that OMEMO needs a feature this version of the "
    "server does not have yet (see <a href=\"#missing\">below</a>).</p>\n"
    "\n"
    "<h3 id=\"profile\">Profile and client settings</h3>\n"
    "<p>Your profile (vCard), with your avatar picture if you set one, is stored as your client "
    "sends it, up to {{vcard.max_size}}. Anyone can read it at your address, so put in it only "
    "what you want to show. It is kept until you change it or your account is deleted.</p>\n"
    "<p>Clients may store settings and bookmarks for your account on the server (private "
    "storage, up to {{private.max_total_size}} in all). Only your own clients can read them. They "
    "are kept until your client removes them or your account is deleted.</p>\n"
    "\n"
    "<h3 id=\"blocking\">Blocking</h3>\n"
    "<p>You can block addresses from your client. Your block list (at most "
    "{{blocking.max_items}} entries) is stored until you unblock them or your account is deleted. "
    "Blocked addresses can no longer reach you.</p>\n"
    "\n"
    "<h3 id=\"reports\">Reports of spam and abuse</h3>\n"
    "<p>When you block someone, your client can report them to the operator for spam or abuse. "
    "The report stores your address, the reported address and the reason"
    "{{#if reports.max_text_length}}, and also your own words if you add any and copies of the "
    "messages your client sends with it (each text at most {{reports.max_text_length}} bytes)"
    "{{/if}}. Only the operator sees it. It is deleted once the "
    "operator has dealt with it, and kept for {{reports.max_age}} at most. "
    "{{#if reports.keep_after_reporter_deleted}}If you delete your account, your reports are "
    "kept until then, but without your address: they only show that they came from a deleted "
    "account.{{else}}If you delete your account, your reports are deleted with it.{{/if}} Reports "
    "about an account on this server are deleted when that account is deleted. You can make at "
    "most {{reports.max_per_day}} reports a day.</p>\n"
    "\n"
    "<h3 id=\"connections\">Connection data</h3>\n"
    "<p>For your client to connect, the server must know its IP address. The address is held in "
    "memory only, while the connection is open, to limit the number of connections per address; "
    "it is not stored. Addresses from which someone tries to create an account are counted in "
    "memory for up to an hour, to limit registration attempts (at most "
    "{{registration.max_attempts_per_hour}} an hour).</p>\n"
    "\n"
    "<h3 id=\"logs\">Logs</h3>\n"
    "<p>The server writes a log so that the operator can find and fix faults. Its level is "
    "<q>{{log.level}}</q>.</p>\n"
    "{{#if log.level=info or log.level=debug}}"
    "<p>At this level the log records single connections and events, and may contain IP "
    "addresses, user names and addresses (JIDs); at level debug also the content of messages "
    "that are not end-to-end encrypted. The operator uses this level only for a limited time, to "
    "look into a fault or an attack, and deletes the detailed log once that is done.</p>\n"
    "{{else}}"
    "<p>At this level only {{#if log.level=error}}errors are{{else}}warnings and errors "
    "are{{/if}} logged: no IP addresses, no user names or addresses, and no message content. "
    "Successful logins are not logged.</p>\n"
    "<p>To look into a fault or an attack, the operator may turn on a more detailed log for a "
    "limited time. It may then contain IP addresses and user names, and it is deleted once that "
    "is done.</p>\n"
    "{{/if}}"
    "\n"
    "<h3 id=\"inactive\">Unused accounts</h3>\n"
    "<p>An account nobody has logged in to for {{retention.inactive_after}} is deleted with all "
    "its data. {{retention.warn_before}} before that, the account is sent a message that warns "
    "of the deletion; logging in once is enough to keep it. For an account that was never used, "
    "the time counts from its creation.</p>\n"
    "\n"
    "<h3 id=\"rights\">Your rights</h3>\n"
    "<p>You have the right to access your data, to have it corrected or deleted, to restrict or "
    "object to its processing, and to receive it in a portable format; you can withdraw your "
    "consent at any time, for the future. All of this is free of charge, and you can do most of "
    "it yourself:</p>\n"
    "<ul>\n"
    "<li><strong>Access:</strong> the command <q>What do you store about me?</q> in your "
    "client's command menu (ad-hoc commands) lists what the server stores about you and until "
    "when.</li>\n"
    "<li><strong>Portability:</strong> the command <q>Export my data</q> gives you all your data "
    "as an XEP-0227 document, which other XMPP servers can import.</li>\n"
    "<li><strong>Deletion:</strong> deleting your account from your client (in its account "
    "settings) deletes at once everything stored for it: the link to your registration code, "
    "your consent, your contact list, stored messages, profile, settings, block list and"
    "{{#if reports.keep_after_reporter_deleted}}, except as described under "
    "<a href=\"#reports\">reports</a>,{{/if}} your reports. This also withdraws your "
    "consent.</li>\n"
    "<li>The operator can do all of this for you, and can also correct your data or suspend your "
    "account (it can then no longer log in, and its data is kept).</li>\n"
    "</ul>\n"
    "<p>You also have the right to lodge a complaint with a data protection supervisory "
    "authority.</p>\n"
    "\n"
    "<h3 id=\"security\">Security</h3>\n"
    "<p>Connections to this server are always encrypted (TLS 1.2 or newer); unencrypted "
    "connections are refused. Passwords are stored only as salted SCRAM keys (see "
    "<a href=\"#account\">Your account</a>).</p>\n"
    "\n"
    "<h3 id=\"missing\">What this server does not do</h3>\n"
    "<p>Some features other XMPP servers offer are not in this version. So that you know what "
    "does not happen with your data:</p>\n"
    "<ul>\n"
    "<li>No message archive (MAM): the server keeps no history of your messages; a message is "
    "deleted as soon as it has been delivered.</li>\n"
    "<li>No group chats (MUC): this server hosts none.</li>\n"
    "<li>No file uploads: files cannot be stored on this server.</li>\n"
    "<li>No push notifications: the server never contacts push services (such as Google's, "
    "Apple's or a client developer's) on your behalf.</li>\n"
    "<li>No federation: this server does not exchange messages with other XMPP servers. You can "
    "only write to people with an account on this server, and none of your data is sent to "
    "another server.</li>\n"
    "<li>No storage for keys and data that clients publish (PEP): clients cannot publish the "
    "keys for OMEMO encryption here yet, so OMEMO does not work with this server yet.</li>\n"
    "</ul>\n"
    "{{#if component.port}}{{#if component.secrets}}"
    "<p>The operator has connected further services (such as bridges or bots) at these "
    "addresses: {{component.domains}}. What you send to an address there goes to that "
    "service.</p>\n"
    "{{/if}}{{/if}}"
    "\n"
    "<h2 id=\"terms\">Terms of use</h2>\n"
    "<p>The service is free of charge. It is offered as it is: there is no guarantee that it is "
    "available at all times or that it keeps any particular feature, although the operator aims "
    "to run it reliably.</p>\n"
    "<p>You may not use the service</p>\n"
    "<ul>\n"
    "<li>to break the law;</li>\n"
    "<li>to harass, threaten or harm others, or to stir up hatred;</li>\n"
    "<li>to send spam or other unwanted mass messages;</li>\n"
    "<li>to infringe the rights of others, such as copyright;</li>\n"
    "<li>in ways that overload the server or disturb its operation or its other users;</li>\n"
    "<li>for commercial purposes, unless the operator agrees.</li>\n"
    "</ul>\n"
    "<p>If you receive spam or abuse, block the sender and report them from your client, or write "
    "to the operator{{#if contact.abuse}} ({{contact.abuse}}){{/if}}. If there is credible "
    "evidence that an account breaks these terms, the operator may suspend or delete it, and may "
    "contact the person its registration code was issued for.</p>\n"
    "<p>Children under 16 may use the service only with the permission of a parent or guardian. "
    "Whoever gives a child a registration code, or creates an account for a child, undertakes to "
    "explain these terms to the child, including who can see what the child sends.</p>\n"
    "<p>The operator may change these terms and this policy; a new version appears on this page "
    "with a new version number.</p>\n"
    "\n"
    "<p id=\"version\" class=\"policy-version\">Version {{policy.version}}"
    "{{#if policy.date}} of {{policy.date}}{{/if}}</p>\n";

static const char text_de[] =
    "<h2 id=\"privacy\">Datenschutzerklärung</h2>\n"
    "<p>Diese Seite erklärt, welche Daten der Chat-Server {{domain}} über Sie speichert, wozu, "
    "wie lange und wer sie sehen kann, und welche Regeln für seine Nutzung gelten. Die Zahlen "
    "darauf stammen aus der Konfiguration des Servers; es sind also die, die tatsächlich "
    "gelten.</p>\n"
    "\n"
    "<h3 id=\"responsible\">Verantwortlich</h3>\n"
    "<p>Betreiber dieses Servers und verantwortlich für die hier beschriebene Verarbeitung Ihrer "
    "personenbezogenen Daten ist {{operator}}.</p>\n"
    "{{#if policy.operator_address}}<p>Anschrift: {{policy.operator_address}}</p>\n{{/if}}"
    "{{#if contact.admin or contact.support or contact.abuse or contact.security or "
    "contact.feedback or contact.status}}"
    "<p>So erreichen Sie den Betreiber:</p>\n"
    "<ul>\n"
    "{{#if contact.admin}}<li>Verwaltung: {{contact.admin}}</li>\n{{/if}}"
    "{{#if contact.support}}<li>Hilfe zu Ihrem Konto: {{contact.support}}</li>\n{{/if}}"
    "{{#if contact.abuse}}<li>Missbrauch melden: {{contact.abuse}}</li>\n{{/if}}"
    "{{#if contact.security}}<li>Sicherheitsprobleme melden: {{contact.security}}</li>\n{{/if}}"
    "{{#if contact.feedback}}<li>Rückmeldungen: {{contact.feedback}}</li>\n{{/if}}"
    "{{#if contact.status}}<li>Zustand des Dienstes: {{contact.status}}</li>\n{{/if}}"
    "</ul>\n"
    "{{else}}<p>Wie Sie den Betreiber erreichen, erfahren Sie von der Person, die Ihnen Ihren "
    "Registrierungscode gegeben hat.</p>\n"
    "{{/if}}"
    "<p>Wenn Sie sich an den Betreiber wenden, werden Ihre Nachricht und die Adresse, von der Sie "
    "schreiben, nur so lange aufbewahrt, wie die Bearbeitung Ihres Anliegens es erfordert, und an "
    "niemanden weitergegeben.</p>\n"
    "\n"
    "<h3 id=\"joining\">Wer teilnehmen kann</h3>\n"
    "<p>{{domain}} ist ein privater Server für Sofortnachrichten über den offenen Standard XMPP "
    "(auch Jabber genannt). Eine freie Registrierung gibt es nicht: Ein Konto lässt sich nur mit "
    "einem Registrierungscode (einer Einladung) anlegen, den der Betreiber ausgegeben hat. Ein "
    "Code ist {{invites.expires}} gültig, sofern der Betreiber keine andere Frist wählt; er reicht "
    "für so viele Konten, wie der Betreiber erlaubt (meist eines), und kann widerrufen "
    "werden.</p>\n"
    "<p>Zu jedem Code speichert der Server, für wen der Betreiber ihn ausgestellt hat (Name "
    "und/oder E-Mail-Adresse, dazu eine kurze Notiz, wenn der Betreiber eine hinzufügt), wer ihn "
    "erzeugt hat, wann und bis wann er gültig ist. Zu jedem Konto speichert er, mit welchem Code "
    "es angelegt wurde, solange das Konto besteht. So weiß der Betreiber, an wen er sich wenden "
    "kann, wenn ein Konto gegen die Nutzungsbedingungen verstößt.</p>\n"
    "<p>Ein Konto kann erst angelegt werden, nachdem Sie dieser Datenschutzerklärung zugestimmt "
    "haben. Der Zeitpunkt Ihrer Zustimmung und die Version der Erklärung, der Sie zugestimmt "
    "haben, werden mit Ihrem Konto gespeichert, solange es besteht. Die aktuelle Version ist "
    "{{policy.version}}.</p>\n"
    "\n"
    "<h3 id=\"purpose\">Wozu Ihre Daten verarbeitet werden</h3>\n"
    "<p>Ihre Daten werden nur verarbeitet, soweit es nötig ist, um den Nachrichtendienst zu "
    "erbringen, für den Sie sich angemeldet haben, und ihn sicher und funktionsfähig zu halten. "
    "Rechtsgrundlage ist die Vereinbarung über die Nutzung des Dienstes (Art. 6 Abs. 1 lit. b "
    "DSGVO); die Protokolle, das Löschen ungenutzter Konten und die Bearbeitung von "
    "Missbrauchsmeldungen beruhen auf dem berechtigten Interesse des Betreibers an einem sicheren "
    "und funktionierenden Dienst (Art. 6 Abs. 1 lit. f DSGVO).</p>\n"
    "<p>Ihre Daten werden nicht verkauft, nicht für Werbung genutzt und nicht an Dritte "
    "weitergegeben, es sei denn, ein Gesetz verlangt es.</p>\n"
    "\n"
    "<h3 id=\"account\">Ihr Konto</h3>\n"
    "<ul>\n"
    "<li>Ihre Adresse (JID), etwa name@{{domain}}: der Benutzername, den Sie gewählt haben, und "
    "die Domain.</li>\n"
    "<li>Ihr Passwort wird nie gespeichert und in kein Protokoll geschrieben. Der Server bewahrt "
    "nur Schlüssel auf, die mit einem zufälligen Salt daraus abgeleitet sind (SCRAM, "
    "{{auth.scram_iterations}} Iterationen). Mit ihnen prüft er Ihr Passwort bei der Anmeldung; "
    "das Passwort selbst lässt sich daraus nicht ableiten.</li>\n"
    "<li>Wann das Konto angelegt wurde und wann Sie sich zuletzt angemeldet haben, damit "
    "ungenutzte Konten erkannt und gelöscht werden können (siehe <a href=\"#inactive\">Ungenutzte "
    "Konten</a>).</li>\n"
    "<li>Ob der Betreiber das Konto gesperrt hat, seit wann und mit welcher Begründung.</li>\n"
    "</ul>\n"
    "<p>Diese Angaben werden aufbewahrt, bis Ihr Konto gelöscht wird.</p>\n"
    "\n"
    "<h3 id=\"contacts\">Kontaktliste und Online-Status</h3>\n"
    "<p>Ihre Kontaktliste (Roster) wird auf dem Server gespeichert, damit alle Ihre Clients "
    "dieselbe Liste zeigen: die Adressen Ihrer Kontakte, die Namen und Gruppen, die Sie ihnen "
    "geben, und ob Sie gegenseitig Ihren Online-Status sehen. Die Liste umfasst höchstens "
    "{{roster.max_items}} Kontakte und wird aufbewahrt, bis Sie einen Kontakt entfernen oder Ihr "
    "Konto gelöscht wird. Kontaktanfragen, die Sie noch nicht beantwortet haben, werden mit dem "
    "mitgeschickten Text aufbewahrt, bis Sie sie beantworten (höchstens "
    "{{roster.max_pending}}).</p>\n"
    "<p>Ihr Online-Status (ob Sie erreichbar sind, und Ihre Statusnachricht) wird an die "
    "Kontakte weitergegeben, mit denen Sie ihn teilen; solange Sie online sind, liegt er nur im "
    "Arbeitsspeicher. Wenn Ihr letzter Client offline geht, speichert der Server die Uhrzeit und "
    "die dabei gesendete Statusnachricht, damit diese Kontakte sehen können, wann Sie zuletzt "
    "online waren.</p>\n"
    "\n"
    "<h3 id=\"offline\">Nachrichten</h3>\n"
    "<p>Nachrichten werden sofort an die Clients des Empfängers weitergeleitet. "
    "{{#if offline.max_messages}}Ist keiner Ihrer Clients online, werden Nachrichten an Sie "
    "gespeichert, bis Sie sich wieder verbinden und sie zugestellt sind; danach werden sie auf dem "
    "Server gelöscht. Für Sie werden höchstens {{offline.max_messages}} Nachrichten und "
    "{{offline.max_bytes}} gespeichert; wer darüber hinaus schreibt, erfährt, dass die Nachricht "
    "nicht zugestellt werden konnte."
    "{{else}}Ist keiner Ihrer Clients online, werden Nachrichten an Sie nicht gespeichert: Der "
    "Absender erfährt, dass sie nicht zugestellt werden konnten.{{/if}}</p>\n"
    "<p>Nachrichten, die nicht Ende-zu-Ende-verschlüsselt sind, könnte der Server lesen; er "
    "verarbeitet sie aber nur, um sie zuzustellen. Mit Ende-zu-Ende-Verschlüsselung (OMEMO) "
    "können nur die Clients der Gesprächsteilnehmer den Inhalt lesen, nie der Server. Auch dann "
    "sieht der Server, was er für die Zustellung braucht: Absender, Empfänger, Zeitpunkt und "
    "Größe einer Nachricht. Wir empfehlen Ende-zu-Ende-Verschlüsselung; beachten Sie aber, dass "
    "OMEMO eine Funktion braucht, die diese Version des Servers noch nicht hat (siehe "
    "<a href=\"#missing\">unten</a>).</p>\n"
    "\n"
    "<h3 id=\"profile\">Profil und Client-Einstellungen</h3>\n"
    "<p>Ihr Profil (vCard), samt Profilbild, wenn Sie eines festlegen, wird so gespeichert, wie "
    "Ihr Client es schickt, bis zu {{vcard.max_size}}. Jeder kann es unter Ihrer Adresse abrufen; "
    "tragen Sie also nur ein, was Sie zeigen möchten. Es wird aufbewahrt, bis Sie es ändern oder "
    "Ihr Konto gelöscht wird.</p>\n"
    "<p>Clients können Einstellungen und Lesezeichen für Ihr Konto auf dem Server ablegen "
    "(privater Speicher, insgesamt bis zu {{private.max_total_size}}). Nur Ihre eigenen Clients "
    "können sie lesen. Die Daten werden aufbewahrt, bis Ihr Client sie entfernt oder Ihr Konto "
    "gelöscht "
    "wird.</p>\n"
    "\n"
    "<h3 id=\"blocking\">Blockieren</h3>\n"
    "<p>Sie können in Ihrem Client Adressen blockieren. Ihre Sperrliste (höchstens "
    "{{blocking.max_items}} Einträge) wird gespeichert, bis Sie die Sperren aufheben oder Ihr "
    "Konto gelöscht wird. Blockierte Adressen erreichen Sie nicht mehr.</p>\n"
    "\n"
    "<h3 id=\"reports\">Meldungen von Spam und Missbrauch</h3>\n"
    "<p>Wenn Sie jemanden blockieren, kann Ihr Client ihn dem Betreiber wegen Spam oder "
    "Missbrauch melden. Gespeichert werden dann Ihre Adresse, die gemeldete Adresse und der Grund"
    "{{#if reports.max_text_length}}, außerdem Ihr eigener Text, falls Sie einen hinzufügen, und "
    "Kopien der Nachrichten, die Ihr Client mitschickt (jeder Text höchstens "
    "{{reports.max_text_length}} Bytes){{/if}}. Nur der Betreiber sieht die Meldung. Die Meldung "
    "wird gelöscht, sobald der Betreiber sie bearbeitet hat, und höchstens "
    "{{reports.max_age}} lang aufbewahrt. "
    "{{#if reports.keep_after_reporter_deleted}}Löschen Sie Ihr Konto, bleiben Ihre Meldungen "
    "bis dahin erhalten, aber ohne Ihre Adresse: Die Meldungen zeigen dann nur noch, dass sie von "
    "einem gelöschten Konto stammen.{{else}}Löschen Sie Ihr Konto, werden Ihre Meldungen mit ihm "
    "gelöscht.{{/if}} Meldungen über ein Konto dieses Servers werden gelöscht, wenn dieses Konto "
    "gelöscht wird. Sie können höchstens {{reports.max_per_day}} Meldungen am Tag abgeben.</p>\n"
    "\n"
    "<h3 id=\"connections\">Verbindungsdaten</h3>\n"
    "<p>Damit Ihr Client sich verbinden kann, muss der Server seine IP-Adresse kennen. Die Adresse "
    "liegt nur im Arbeitsspeicher, solange die Verbindung besteht, und dient dazu, die Zahl der "
    "Verbindungen je Adresse zu begrenzen; gespeichert wird sie nicht. Adressen, von denen aus "
    "jemand ein Konto anzulegen versucht, werden bis zu einer Stunde im Arbeitsspeicher gezählt, "
    "um Registrierungsversuche zu begrenzen (höchstens "
    "{{registration.max_attempts_per_hour}} pro Stunde).</p>\n"
    "\n"
    "<h3 id=\"logs\">Protokolle</h3>\n"
    "<p>Der Server schreibt ein Protokoll, damit der Betreiber Fehler erkennen und beheben kann. "
    "Die eingestellte Stufe ist <q>{{log.level}}</q>.</p>\n"
    "{{#if log.level=info or log.level=debug}}"
    "<p>Auf dieser Stufe verzeichnet das Protokoll einzelne Verbindungen und Vorgänge und kann "
    "IP-Adressen, Benutzernamen und Adressen (JIDs) enthalten, auf der Stufe debug auch den "
    "Inhalt von Nachrichten, die nicht Ende-zu-Ende-verschlüsselt sind. Der Betreiber nutzt diese "
    "Stufe nur für begrenzte Zeit, um einen Fehler oder einen Angriff zu untersuchen, und löscht "
    "das ausführliche Protokoll, sobald das erledigt ist.</p>\n"
    "{{else}}"
    "<p>Auf dieser Stufe werden nur {{#if log.level=error}}Fehler{{else}}Warnungen und "
    "Fehler{{/if}} protokolliert: keine IP-Adressen, keine Benutzernamen oder Adressen und keine "
    "Nachrichteninhalte. Erfolgreiche Anmeldungen werden nicht protokolliert.</p>\n"
    "<p>Um einen Fehler oder einen Angriff zu untersuchen, kann der Betreiber für begrenzte Zeit "
    "ein ausführlicheres Protokoll einschalten. Es kann dann IP-Adressen und Benutzernamen "
    "enthalten und wird gelöscht, sobald die Untersuchung abgeschlossen ist.</p>\n"
    "{{/if}}"
    "\n"
    "<h3 id=\"inactive\">Ungenutzte Konten</h3>\n"
    "<p>Ein Konto, bei dem sich {{retention.inactive_after}} lang niemand angemeldet hat, wird "
    "mit allen seinen Daten gelöscht. {{retention.warn_before}} vorher erhält das Konto eine "
    "Nachricht, die vor der Löschung warnt; einmal anmelden genügt, um es zu behalten. Bei einem "
    "Konto, das nie benutzt wurde, zählt die Zeit ab seiner Einrichtung.</p>\n"
    "\n"
    "<h3 id=\"rights\">Ihre Rechte</h3>\n"
    "<p>Sie haben das Recht auf Auskunft über Ihre Daten, auf ihre Berichtigung und Löschung, "
    "auf Einschränkung ihrer Verarbeitung, auf Widerspruch dagegen und auf "
    "Datenübertragbarkeit; Ihre Einwilligung können Sie jederzeit mit Wirkung für die Zukunft "
    "widerrufen. All das ist für Sie kostenlos, und das meiste können Sie selbst erledigen:</p>\n"
    "<ul>\n"
    "<li><strong>Auskunft:</strong> Der Befehl <q>What do you store about me?</q> im Befehlsmenü "
    "Ihres Clients (Ad-hoc-Befehle) zeigt, was der Server über Sie speichert und bis wann.</li>\n"
    "<li><strong>Datenübertragbarkeit:</strong> Der Befehl <q>Export my data</q> liefert alle "
    "Ihre Daten als XEP-0227-Dokument, das andere XMPP-Server einlesen können.</li>\n"
    "<li><strong>Löschung:</strong> Löschen Sie Ihr Konto in den Kontoeinstellungen Ihres "
    "Clients, wird sofort alles gelöscht, was dafür gespeichert ist: die Verknüpfung mit Ihrem "
    "Registrierungscode, Ihre Einwilligung, Ihre Kontaktliste, gespeicherte Nachrichten, Profil, "
    "Einstellungen, Sperrliste und"
    "{{#if reports.keep_after_reporter_deleted}}, mit der unter "
    "<a href=\"#reports\">Meldungen</a> beschriebenen Ausnahme,{{/if}} Ihre Meldungen. Damit "
    "widerrufen Sie auch Ihre Einwilligung.</li>\n"
    "<li>All das erledigt auf Wunsch auch der Betreiber; er kann außerdem Ihre Daten berichtigen "
    "oder Ihr Konto sperren (es kann sich dann nicht mehr anmelden, seine Daten bleiben "
    "erhalten).</li>\n"
    "</ul>\n"
    "<p>Außerdem haben Sie das Recht, sich bei einer Datenschutz-Aufsichtsbehörde zu "
    "beschweren.</p>\n"
    "\n"
    "<h3 id=\"security\">Sicherheit</h3>\n"
    "<p>Verbindungen zu diesem Server sind immer verschlüsselt (TLS 1.2 oder neuer); "
    "unverschlüsselte Verbindungen werden abgewiesen. Passwörter werden nur als gesalzene "
    "SCRAM-Schlüssel gespeichert (siehe <a href=\"#account\">Ihr Konto</a>).</p>\n"
    "\n"
    "<h3 id=\"missing\">Was dieser Server nicht tut</h3>\n"
    "<p>Einige Funktionen, die andere XMPP-Server bieten, hat diese Version nicht. Damit Sie "
    "wissen, was mit Ihren Daten nicht geschieht:</p>\n"
    "<ul>\n"
    "<li>Kein Nachrichtenarchiv (MAM): Der Server hebt keinen Verlauf Ihrer Nachrichten auf; eine "
    "Nachricht wird gelöscht, sobald sie zugestellt ist.</li>\n"
    "<li>Keine Gruppenchats (MUC): Auf diesem Server gibt es keine.</li>\n"
    "<li>Kein Hochladen von Dateien: Auf diesem Server lassen sich keine Dateien ablegen.</li>\n"
    "<li>Keine Push-Benachrichtigungen: Der Server wendet sich nie in Ihrem Namen an Push-Dienste "
    "(etwa von Google, Apple oder einem Client-Entwickler).</li>\n"
    "<li>Keine Föderation: Dieser Server tauscht keine Nachrichten mit anderen XMPP-Servern aus. "
    "Sie können nur Personen schreiben, die ein Konto auf diesem Server haben, und keine Ihrer "
    "Daten gelangt an einen anderen Server.</li>\n"
    "<li>Keine Ablage für Schlüssel und Daten, die Clients veröffentlichen (PEP): Clients können "
    "hier noch keine Schlüssel für die OMEMO-Verschlüsselung veröffentlichen; OMEMO funktioniert "
    "mit diesem Server daher noch nicht.</li>\n"
    "</ul>\n"
    "{{#if component.port}}{{#if component.secrets}}"
    "<p>Der Betreiber hat unter diesen Adressen weitere Dienste angeschlossen (etwa Brücken oder "
    "Bots): {{component.domains}}. Was Sie an eine Adresse dort schicken, geht an diesen "
    "Dienst.</p>\n"
    "{{/if}}{{/if}}"
    "\n"
    "<h2 id=\"terms\">Nutzungsbedingungen</h2>\n"
    "<p>Die Nutzung ist kostenlos. Der Dienst wird angeboten, wie er ist: Es gibt keine Garantie, "
    "dass er jederzeit verfügbar ist oder eine bestimmte Funktion behält, auch wenn der Betreiber "
    "sich um einen zuverlässigen Betrieb bemüht.</p>\n"
    "<p>Nicht erlaubt ist es, den Dienst zu nutzen,</p>\n"
    "<ul>\n"
    "<li>um gegen Gesetze zu verstoßen;</li>\n"
    "<li>um andere zu belästigen, zu bedrohen, ihnen zu schaden oder gegen sie zu hetzen;</li>\n"
    "<li>um Spam oder andere unerwünschte Massennachrichten zu verschicken;</li>\n"
    "<li>um Rechte anderer zu verletzen, etwa Urheberrechte;</li>\n"
    "<li>auf eine Weise, die den Server überlastet oder seinen Betrieb oder andere Nutzer "
    "stört;</li>\n"
    "<li>für gewerbliche Zwecke, außer der Betreiber ist einverstanden.</li>\n"
    "</ul>\n"
    "<p>Wenn Sie Spam oder Belästigungen erhalten, blockieren Sie den Absender und melden Sie ihn "
    "über Ihren Client, oder schreiben Sie dem Betreiber"
    "{{#if contact.abuse}} ({{contact.abuse}}){{/if}}. Gibt es glaubhafte Hinweise, dass ein "
    "Konto gegen diese Bedingungen verstößt, kann der Betreiber es sperren oder löschen und sich "
    "an die Person wenden, für die sein Registrierungscode ausgestellt wurde.</p>\n"
    "<p>Kinder unter 16 Jahren dürfen den Dienst nur mit Erlaubnis eines Erziehungsberechtigten "
    "nutzen. Wer einem Kind einen Registrierungscode gibt oder ein Konto für ein Kind anlegt, "
    "verpflichtet sich, ihm diese Bedingungen zu erklären und ihm zu sagen, wer sehen kann, was "
    "es verschickt.</p>\n"
    "<p>Der Betreiber kann diese Bedingungen und die Datenschutzerklärung ändern; eine neue "
    "Fassung erscheint auf dieser Seite mit einer neuen Versionsnummer.</p>\n"
    "\n"
    "<p id=\"version\" class=\"policy-version\">Version {{policy.version}}"
    "{{#if policy.date}} vom {{policy.date}}{{/if}}</p>\n";

static const struct {
    const char *text;
    size_t len;
    const char *code, *name; /* the lang attribute; the text in messages */
} builtin[POLICY_LANGS] = {
    [POLICY_EN] = {text_en, sizeof text_en - 1, "en", "policy: built-in English text"},
    [POLICY_DE] = {text_de, sizeof text_de - 1, "de", "policy: built-in German text"},
};

/* ---- formatting values for people ---- */

struct unit {
    uint64_t size; /* in the value's base unit */
    const char *one[POLICY_LANGS], *many[POLICY_LANGS];
};

/* Largest first; the last divides everything. In milliseconds. */
#define SECONDS 3 /* the unit zero is said in */
static const struct unit time_units[] = {
    {86400000, {"day", "Tag"}, {"days", "Tage"}},
    {3600000, {"hour", "Stunde"}, {"hours", "Stunden"}},
    {60000, {"minute", "Minute"}, {"minutes", "Minuten"}},
    {1000, {"second", "Sekunde"}, {"seconds", "Sekunden"}},
    {1, {"millisecond", "Millisekunde"}, {"milliseconds", "Millisekunden"}},
};

static const struct unit size_units[] = {
    {1ULL << 30, {"GiB", "GiB"}, {"GiB", "GiB"}},
    {1ULL << 20, {"MiB", "MiB"}, {"MiB", "MiB"}},
    {1ULL << 10, {"KiB", "KiB"}, {"KiB", "KiB"}},
    {1, {"byte", "Byte"}, {"bytes", "Bytes"}},
};

#define NELEM(a) (sizeof(a) / sizeof(a)[0])

/* v with a thousands separator: 1,000 (English), 1.000 (German). */
static int put_uint(struct buf *b, uint64_t v, enum policy_lang lang)
{
    char digits[24], out[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = lang == POLICY_DE ? '.' : ',';
        out[o++] = digits[i];
    }
    return buf_append(b, out, o) < 0 ? -ENOMEM : 0;
}

static int put_int(struct buf *b, int64_t v, enum policy_lang lang)
{
    if (v < 0 && buf_append_str(b, "-") < 0)
        return -ENOMEM;
    return put_uint(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, lang);
}

/* v in the largest unit of u[] that divides it exactly: "365 days"; zero
 * in u[zero] ("0 seconds", not "0 days"). */
static int put_amount(struct buf *b, uint64_t v, const struct unit *u, size_t n, size_t zero,
                      enum policy_lang lang)
{
    size_t i = v == 0 ? zero : 0;
    while (v != 0 && i + 1 < n && v % u[i].size != 0)
        i++;
    uint64_t k = v / u[i].size;
    if (put_uint(b, k, lang) < 0 || buf_append_str(b, " ") < 0 ||
        buf_append_str(b, k == 1 ? u[i].one[lang] : u[i].many[lang]) < 0)
        return -ENOMEM;
    return 0;
}

/* One list item: a link for the URI schemes a browser opens in a useful
 * way; its text without "mailto:"/"xmpp:" and any "?query". */
static int put_item(struct buf *b, const char *s)
{
    static const char *const linked[] = {"mailto:", "xmpp:", "https:"};
    for (size_t i = 0; i < NELEM(linked); i++) {
        size_t pre = strlen(linked[i]);
        if (strncasecmp(s, linked[i], pre) != 0)
            continue;
        const char *text = i < 2 ? s + pre : s;
        size_t tlen = i < 2 ? strcspn(text, "?") : strlen(text);
        if (buf_append_str(b, "<a href=\"") < 0 || html_str(b, s) < 0 ||
            buf_append_str(b, "\">") < 0 || html_text(b, text, tlen) < 0 ||
            buf_append_str(b, "</a>") < 0)
            return -ENOMEM;
        return 0;
    }
    return html_str(b, s);
}

static int put_list(struct buf *b, const struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        if ((i > 0 && buf_append_str(b, ", ") < 0) || put_item(b, l->items[i]) < 0)
            return -ENOMEM;
    return 0;
}

/* An integer option's value: fields are 4 bytes (int or unsigned, told
 * apart by the bounds) or 8 bytes (uint64_t). */
static int64_t int_value(const struct config *cfg, const struct config_option *o)
{
    const void *p = config_value(cfg, o);
    if (o->size == sizeof(uint64_t)) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return v > INT64_MAX ? INT64_MAX : (int64_t)v;
    }
    if (o->min < 0) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static const char *str_value(const struct config *cfg, const struct config_option *o)
{
    const char *const *p = config_value(cfg, o);
    return *p ? *p : "";
}

static const char *enum_value(const struct config *cfg, const struct config_option *o)
{
    int64_t i = int_value(cfg, o);
    for (int64_t k = 0; o->choices && o->choices[k]; k++)
        if (k == i)
            return o->choices[k];
    return "";
}

/* Appends option o's value for people; -ENOMEM. */
static int put_value(struct buf *b, const struct config *cfg, const struct config_option *o,
                     enum policy_lang lang)
{
    switch (o->type) {
    case CFG_BOOL: {
        static const char *const yes[] = {"yes", "ja"}, *const no[] = {"no", "nein"};
        bool v = *(const bool *)config_value(cfg, o);
        return buf_append_str(b, v ? yes[lang] : no[lang]) < 0 ? -ENOMEM : 0;
    }
    case CFG_INT: return put_int(b, int_value(cfg, o), lang);
    case CFG_SIZE:
        return put_amount(b, (uint64_t)int_value(cfg, o), size_units, NELEM(size_units),
                          NELEM(size_units) - 1, lang);
    case CFG_DURATION:
        return put_amount(b, (uint64_t)int_value(cfg, o) * 1000, time_units, NELEM(time_units),
                          SECONDS, lang);
    case CFG_MILLIS:
        return put_amount(b, (uint64_t)int_value(cfg, o), time_units, NELEM(time_units), SECONDS,
                          lang);
    case CFG_ENUM: return html_str(b, enum_value(cfg, o));
    case CFG_STRING:
    case CFG_PATH: return html_str(b, str_value(cfg, o));
    case CFG_STRLIST:
    case CFG_DOMAINS:
    case CFG_JIDS:
    case CFG_ADDRS: return put_list(b, config_value(cfg, o));
    case CFG_SECRETS: break; /* refused before */
    }
    return 0;
}

/* ---- the template filler ---- */

struct fill_error {
    unsigned line;
    const char *what;   /* the problem, a literal */
    char tag[TAG_SHOW]; /* the tag as written, cut; may be empty */
};

struct fill {
    const struct config *cfg;
    const char *domain;
    enum policy_lang lang;
    struct buf *out;
    struct fill_error *err;
    unsigned line;
    struct {
        bool cond, in_else;
        unsigned line;
    } ifs[MAX_DEPTH];
    size_t depth;
};

/* Records the problem with the tag s[0..n) at the current line. */
static int bad(struct fill *f, const char *what, const char *s, size_t n)
{
    f->err->line = f->line;
    f->err->what = what;
    if (n == 0) {
        f->err->tag[0] = '\0';
        return -EINVAL;
    }
    size_t max = sizeof f->err->tag - 6; /* "{{", "}}", "..." would not fit: cut */
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* not in the middle of a UTF-8 character */
    }
    snprintf(f->err->tag, sizeof f->err->tag, "{{%.*s}}", (int)n, s);
    return -EINVAL;
}

static bool emitting(const struct fill *f)
{
    for (size_t i = 0; i < f->depth; i++)
        if (f->ifs[i].cond == f->ifs[i].in_else)
            return false;
    return true;
}

static int put(struct fill *f, const char *s, size_t n)
{
    if (!emitting(f))
        return 0;
    return buf_append(f->out, s, n) < 0 ? -ENOMEM : 0;
}

static const struct config_option *find_option(const struct config *cfg, const char *k, size_t n)
{
    size_t count = config_schema_noptions(&cfg->schema);
    for (size_t i = 0; i < count; i++) {
        const struct config_option *o = config_schema_option(&cfg->schema, i);
        if (strlen(o->key) == n && memcmp(o->key, k, n) == 0)
            return o;
    }
    return NULL;
}

static bool is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* One term of a condition: KEY or KEY=VALUE (see policy.h). */
static int eval_term(struct fill *f, const char *s, size_t n, const char *tag, size_t tn, bool *v)
{
    const char *eq = memchr(s, '=', n);
    size_t kn = eq ? (size_t)(eq - s) : n;
    const struct config_option *o = find_option(f->cfg, s, kn);
    if (!o)
        return bad(f, "unknown option in", tag, tn);
    if (eq) {
        const char *want = eq + 1;
        size_t wn = n - kn - 1;
        if (o->type == CFG_ENUM) {
            bool known = false;
            for (size_t i = 0; o->choices && o->choices[i]; i++)
                known |= is(want, wn, o->choices[i]);
            if (!known)
                return bad(f, "value is not a choice of its option in", tag, tn);
            *v = is(want, wn, enum_value(f->cfg, o));
        } else if (o->type == CFG_STRING) {
            *v = is(want, wn, str_value(f->cfg, o));
        } else {
            return bad(f, "KEY=VALUE needs an enum or string option in", tag, tn);
        }
        return 0;
    }
    switch (o->type) {
    case CFG_BOOL: *v = *(const bool *)config_value(f->cfg, o); break;
    case CFG_INT:
    case CFG_SIZE:
    case CFG_DURATION:
    case CFG_MILLIS: *v = int_value(f->cfg, o) != 0; break;
    case CFG_STRING:
    case CFG_PATH: *v = *str_value(f->cfg, o) != '\0'; break;
    case CFG_ENUM: return bad(f, "an enum option needs KEY=VALUE in", tag, tn);
    default: *v = ((const struct strlist *)config_value(f->cfg, o))->n > 0; break;
    }
    return 0;
}

/* COND: TERM (" or " TERM)*, words separated by spaces. */
static int eval_cond(struct fill *f, const char *s, size_t n, const char *tag, size_t tn, bool *v)
{
    bool want_term = true;
    *v = false;
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        size_t w = i;
        while (w < n && s[w] != ' ' && s[w] != '\t')
            w++;
        if (want_term) {
            bool t = false;
            int rc = eval_term(f, s + i, w - i, tag, tn, &t);
            if (rc < 0)
                return rc;
            *v |= t;
        } else if (!is(s + i, w - i, "or")) {
            return bad(f, "expected \"or\" in", tag, tn);
        }
        want_term = !want_term;
        i = w;
    }
    return want_term ? bad(f, "incomplete condition in", tag, tn) : 0;
}

static int open_if(struct fill *f, const char *cond, size_t n, const char *tag, size_t tn)
{
    if (f->depth == MAX_DEPTH)
        return bad(f, "conditionals nested too deep at", tag, tn);
    bool v;
    int rc = eval_cond(f, cond, n, tag, tn, &v);
    if (rc < 0)
        return rc;
    f->ifs[f->depth].cond = v;
    f->ifs[f->depth].in_else = false;
    f->ifs[f->depth].line = f->line;
    f->depth++;
    return 0;
}

static int put_components(struct fill *f)
{
    const struct strlist *l = &f->cfg->component_secrets;
    for (size_t i = 0; i < l->n; i++) {
        const char *d = l->items[i];
        if ((i > 0 && buf_append_str(f->out, ", ") < 0) ||
            html_text(f->out, d, strcspn(d, " ")) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* A placeholder: the special names first, then the schema's keys. */
static int placeholder(struct fill *f, const char *k, size_t n)
{
    const struct config *c = f->cfg;
    const char *s = NULL;
    if (is(k, n, "domain"))
        s = f->domain;
    else if (is(k, n, "operator"))
        s = c->policy_operator && *c->policy_operator ? c->policy_operator : f->domain;
    else if (is(k, n, "policy.version"))
        s = c->registration_policy_version ? c->registration_policy_version : "";
    else if (is(k, n, "component.domains"))
        return emitting(f) ? put_components(f) : 0;
    if (s)
        return emitting(f) ? html_str(f->out, s) : 0;
    const struct config_option *o = find_option(c, k, n);
    if (!o)
        return bad(f, "unknown placeholder", k, n);
    if (o->type == CFG_SECRETS)
        return bad(f, "secrets are never shown:", k, n);
    return emitting(f) ? put_value(f->out, c, o, f->lang) : 0;
}

/* The tag between "{{" and "}}", spaces trimmed. */
static int directive(struct fill *f, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 4 && memcmp(s, "#if", 3) == 0 && (s[3] == ' ' || s[3] == '\t'))
        return open_if(f, s + 4, n - 4, s, n);
    if (is(s, n, "else")) {
        if (f->depth == 0)
            return bad(f, "no {{#if}} open for", s, n);
        if (f->ifs[f->depth - 1].in_else)
            return bad(f, "a second", s, n);
        f->ifs[f->depth - 1].in_else = true;
        return 0;
    }
    if (is(s, n, "/if")) {
        if (f->depth == 0)
            return bad(f, "no {{#if}} open for", s, n);
        f->depth--;
        return 0;
    }
    return placeholder(f, s, n);
}

static unsigned count_lines(const char *s, size_t n)
{
    unsigned k = 0;
    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))) != NULL; p++)
        k++;
    return k;
}

/* Where the tag opened at text[at] ("{{") closes: the index of its "}}",
 * or 0 when it does not close on its line within TAG_MAX bytes. */
static size_t tag_end(const char *text, size_t len, size_t at)
{
    for (size_t j = at + 2; j + 1 < len && j - at - 2 <= TAG_MAX; j++) {
        if (text[j] == '\n')
            return 0;
        if (text[j] == '}' && text[j + 1] == '}')
            return j;
    }
    return 0;
}

static int fill_run(struct fill *f, const char *text, size_t len)
{
    size_t i = 0;
    f->line = 1;
    while (i < len) {
        const char *open = memmem(text + i, len - i, "{{", 2);
        size_t at = open ? (size_t)(open - text) : len;
        int rc = put(f, text + i, at - i);
        if (rc < 0)
            return rc;
        f->line += count_lines(text + i, at - i);
        if (!open)
            break;
        size_t end = tag_end(text, len, at);
        if (end == 0)
            return bad(f, "unterminated \"{{\"", NULL, 0);
        rc = directive(f, text + at + 2, end - at - 2);
        if (rc < 0)
            return rc;
        i = end + 2;
    }
    if (f->depth > 0) {
        f->line = f->ifs[f->depth - 1].line;
        return bad(f, "no {{/if}} for this {{#if}}", NULL, 0);
    }
    return 0;
}

/* policy_fill with the problem described in *e. */
static int fill(const struct config *cfg, const char *domain, enum policy_lang lang,
                const char *text, size_t len, struct buf *out, struct fill_error *e)
{
    struct fill f = {.cfg = cfg, .domain = domain, .lang = lang, .out = out, .err = e};
    size_t start = out->len;
    int rc = fill_run(&f, text, len);
    if (rc < 0 && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

int policy_fill(const struct config *cfg, const char *domain, enum policy_lang lang,
                const char *text, size_t len, struct buf *out, unsigned *bad_line)
{
    struct fill_error e = {0};
    if (lang != POLICY_DE)
        lang = POLICY_EN;
    int rc = fill(cfg, domain ? domain : "", lang, text, len, out, &e);
    if (rc == -EINVAL && bad_line)
        *bad_line = e.line;
    return rc;
}

/* ---- the pages ---- */

struct policy_page {
    char *domain;
    struct buf html[POLICY_LANGS];
};

struct policy {
    size_t n;
    struct policy_page pages[];
};

/* The text of one language: the built-in one, or an operator's file. */
struct source {
    char *owned; /* the file's contents, or NULL */
    const char *text;
    size_t len;
    char *name; /* for messages: "policy.file_en: PATH" or the built-in's name */
};

static int fail(char **err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **err, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        *err = NULL;
    va_end(ap);
    return rc;
}

/* Reads path whole into s->owned (at most POLICY_MAX_FILE bytes). */
static int read_file(struct source *s, const char *path, char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, -errno, "%s: cannot open: %s", s->name, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = fail(err, -errno, "%s: cannot read: %s", s->name, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = fail(err, -EINVAL, "%s: not a regular file", s->name);
    else if ((s->owned = malloc(POLICY_MAX_FILE + 1)) == NULL)
        rc = fail(err, -ENOMEM, "%s: out of memory", s->name);
    /* Reads up to one byte past the limit, so a file that grew is caught. */
    while (rc == 0 && s->len <= POLICY_MAX_FILE) {
        ssize_t r = read(fd, s->owned + s->len, POLICY_MAX_FILE + 1 - s->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = fail(err, -errno, "%s: cannot read: %s", s->name, strerror(errno));
        else if (r == 0)
            break;
        else
            s->len += (size_t)r;
    }
    close(fd);
    if (rc == 0 && s->len > POLICY_MAX_FILE)
        rc = fail(err, -EFBIG, "%s: larger than %d KiB", s->name, POLICY_MAX_FILE / 1024);
    s->text = s->owned;
    return rc;
}

static int load_source(struct source *s, const struct config *cfg, enum policy_lang lang,
                       char **err)
{
    const char *path = lang == POLICY_DE ? cfg->policy_file_de : cfg->policy_file_en;
    const char *key = lang == POLICY_DE ? "policy.file_de" : "policy.file_en";
    if (!path || !*path) {
        s->text = builtin[lang].text;
        s->len = builtin[lang].len;
        s->name = strdup(builtin[lang].name);
        return s->name ? 0 : fail(err, -ENOMEM, "policy: out of memory");
    }
    if (asprintf(&s->name, "%s: %s", key, path) < 0) {
        s->name = NULL;
        return fail(err, -ENOMEM, "policy: out of memory");
    }
    int rc = read_file(s, path, err);
    if (rc < 0)
        return rc;
    if (memchr(s->text, '\0', s->len))
        return fail(err, -EINVAL, "%s: holds a NUL byte", s->name);
    if (!html_utf8_valid(s->text, s->len))
        return fail(err, -EINVAL, "%s: not valid UTF-8", s->name);
    return 0;
}

static void source_free(struct source *s)
{
    free(s->owned);
    free(s->name);
}

/* Renders one page into b: the article around the filled text. */
static int render(struct buf *b, const struct config *cfg, const char *domain,
                  enum policy_lang lang, const struct source *s, char **err)
{
    struct fill_error e = {0};
    buf_init(b, PAGE_MAX);
    if (buf_printf(b, "<article class=\"policy\" lang=\"%s\">\n", builtin[lang].code) < 0)
        return fail(err, -ENOMEM, "policy: out of memory");
    int rc = fill(cfg, domain, lang, s->text, s->len, b, &e);
    if (rc == -EINVAL)
        return fail(err, rc, "%s: line %u: %s%s%s%s", s->name, e.line, e.what, *e.tag ? " \"" : "",
                    e.tag, *e.tag ? "\"" : "");
    if (rc < 0 || buf_append_str(b, "</article>\n") < 0)
        return fail(err, -ENOMEM, "%s: out of memory (or the page is over %d MiB)", s->name,
                    PAGE_MAX >> 20);
    return 0;
}

static int render_all(struct policy *p, const struct config *cfg, const struct source *src,
                      char **err)
{
    for (size_t i = 0; i < p->n; i++) {
        struct policy_page *pg = &p->pages[i];
        pg->domain = strdup(cfg->domains.items[i]);
        if (!pg->domain)
            return fail(err, -ENOMEM, "policy: out of memory");
        for (int l = 0; l < POLICY_LANGS; l++) {
            int rc = render(&pg->html[l], cfg, pg->domain, (enum policy_lang)l, &src[l], err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int policy_new(struct policy **out, const struct config *cfg, char **err)
{
    *out = NULL;
    *err = NULL;
    size_t n = cfg->domains.n;
    if (n == 0)
        return fail(err, -EINVAL, "server.domains: no domain to write the policy for");
    struct policy *p = calloc(1, sizeof *p + n * sizeof p->pages[0]);
    if (!p)
        return fail(err, -ENOMEM, "policy: out of memory");
    p->n = n;
    struct source src[POLICY_LANGS] = {0};
    int rc = 0;
    for (int l = 0; l < POLICY_LANGS && rc == 0; l++)
        rc = load_source(&src[l], cfg, (enum policy_lang)l, err);
    if (rc == 0)
        rc = render_all(p, cfg, src, err);
    for (int l = 0; l < POLICY_LANGS; l++)
        source_free(&src[l]);
    if (rc < 0) {
        policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->pages[i].domain);
        for (int l = 0; l < POLICY_LANGS; l++)
            buf_free(&p->pages[i].html[l]);
    }
    free(p);
}

const char *policy_html(const struct policy *p, const char *domain, enum policy_lang lang,
                        size_t *len)
{
    const struct policy_page *pg = &p->pages[0];
    for (size_t i = 0; domain && i < p->n; i++)
        if (strcasecmp(p->pages[i].domain, domain) == 0)
            pg = &p->pages[i];
    const struct buf *b = &pg->html[lang == POLICY_DE ? POLICY_DE : POLICY_EN];
    if (len)
        *len = b->len;
    return b->data;
}

/* ---- Accept-Language ---- */

/* A qvalue (RFC 9110 §12.4.2): "0", "0.5", "1.000"; in thousandths. */
static bool parse_qvalue(const char *s, size_t n, int *q)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1') || (n > 1 && s[1] != '.') || n > 5)
        return false;
    int v = (s[0] - '0') * 1000;
    for (size_t i = 2, scale = 100; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v += (s[i] - '0') * (int)scale;
    }
    if (v > 1000)
        return false;
    *q = v;
    return true;
}

static size_t trim(const char **s, size_t n)
{
    while (n > 0 && (**s == ' ' || **s == '\t'))
        (*s)++, n--;
    while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
        n--;
    return n;
}

/* Which slot a language range counts for: 0 de, 1 en, 2 "*", -1 others
 * or malformed (alpha 1*8 ( "-" alphanum 1*8 )*). */
static int range_slot(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return 2;
    size_t primary = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (c == '-') {
            if (run == 0)
                return -1;
            if (primary == 0)
                primary = i;
            run = 0;
        } else if ((alpha || (primary && c >= '0' && c <= '9')) && ++run <= 8) {
            continue;
        } else {
            return -1;
        }
    }
    if (run == 0)
        return -1;
    if (primary == 0)
        primary = n;
    if (primary == 2 && strncasecmp(s, "de", 2) == 0)
        return 0;
    if (primary == 2 && strncasecmp(s, "en", 2) == 0)
        return 1;
    return -1;
}

/* One element "range;q=0.5" at position idx: keeps each slot's best q. */
static void weigh_range(const char *s, size_t n, size_t idx, int q[3], size_t pos[3])
{
    const char *semi = memchr(s, ';', n);
    const char *r = s;
    size_t rn = trim(&r, semi ? (size_t)(semi - s) : n);
    int slot = range_slot(r, rn), qv = 1000;
    if (slot < 0)
        return;
    while (semi) {
        const char *p = semi + 1;
        size_t rest = n - (size_t)(p - s);
        semi = memchr(p, ';', rest);
        size_t pn = trim(&p, semi ? (size_t)(semi - p) : rest);
        if (pn >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' &&
            !parse_qvalue(p + 2, pn - 2, &qv))
            return; /* a broken weight: the element is ignored */
    }
    if (qv > q[slot]) {
        q[slot] = qv;
        pos[slot] = idx;
    }
}

enum policy_lang policy_lang_pick(const char *h)
{
    int q[3] = {-1, -1, -1}; /* de, en, "*"; -1: not named */
    size_t pos[3] = {0, 0, 0}, idx = 0;
    for (const char *p = h; p && *p;) {
        size_t n = strcspn(p, ",");
        weigh_range(p, n, idx++, q, pos);
        p += n + (p[n] == ',');
    }
    for (int i = 0; i < 2; i++)
        if (q[i] < 0 && q[2] >= 0)
            q[i] = q[2], pos[i] = pos[2];
    if (q[0] <= 0 && q[1] <= 0)
        return POLICY_EN;
    if (q[0] != q[1])
        return q[0] > q[1] ? POLICY_DE : POLICY_EN;
    return pos[0] < pos[1] ? POLICY_DE : POLICY_EN;
}
