/* Ad-hoc commands (XEP-0050): the framework every server command runs in.
 *
 * The server answers disco#items on the node NS_COMMANDS with the commands
 * the requester may run (admin-only commands only for server.admins),
 * disco#info on each command's node, and <command/> iq sets that execute
 * one stage of a command at a time. The framework owns the sessions
 * (sessionid, stage, requester, expiry), the actions and status, and the
 * XEP-0050 §4.4 errors; a command only fills one stage's payload (a data
 * form, notes) and says whether it wants another submission.
 *
 * Commands come from the module descriptors (struct module .commands, in
 * registry order; admin_commands.c is module "admin", member_commands.c module "member"): a module adds its
 * own by declaring them there.
 *
 * Loop thread only.
 */
#ifndef TAUBE_ADHOC_H
#define TAUBE_ADHOC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "modules/module.h"

#define NS_COMMANDS "http://jabber.org/protocol/commands"
#define NS_XDATA "jabber:x:data"

/* What a stage returns (or -errno with the error in the stage). */
enum adhoc_status {
    ADHOC_NEXT = 1,      /* executing: a form to submit, more stages follow */
    ADHOC_LAST = 2,      /* executing: a form whose submission completes */
    ADHOC_COMPLETED = 3, /* the session has ended (failures: a note type='error') */
    ADHOC_LATER = 4,     /* the stage waits for store writes: see adhoc_later */
};

struct adhoc_later;

/* One stage of a command's execution, as the command sees it. */
struct adhoc_stage {
    struct server *srv;
    const struct jid *from;      /* the requester's full JID */
    const char *domain;          /* the server domain the command was sent to */
    const char *lang;            /* the request's xml:lang, or NULL */
    unsigned stage;              /* 0: the first request; +1 after each submission */
    const struct xml_node *form; /* submitted jabber:x:data form, or NULL */
    struct stanza *res;          /* the reply being built; borrowed */
    struct xml_node *cmd;        /* its <command/>: add the payload here */
    /* Set by a command that returns -errno: the stanza error, and a
     * XEP-0050 specific condition ("bad-payload") or NULL. */
    enum stanza_cond err;
    const char *err_app;
    const char *err_text;
    /* The framework's, for adhoc_later. */
    const struct iq_request *rq;
    void *fw_state;
    const char *sessionid;
    struct xml_node *actions;
};

struct adhoc_command {
    const char *node; /* unique among all tables */
    const char *name; /* the disco item's label */
    bool admin_only;  /* only server.admins see and run it */
    /* Runs one stage: adds its payload to s->cmd and returns an enum
     * adhoc_status, or -errno after setting s->err (and s->err_app). */
    int (*run)(struct adhoc_stage *s);
};

/* Hooks for disco.c: answer a disco#info / disco#items query to the
 * server whose node is ours. Return 0 if answered, -ENOENT if the node is
 * not an ad-hoc node (the caller answers). */
int adhoc_disco_info(const struct iq_request *rq, const char *node);
int adhoc_disco_items(const struct iq_request *rq, const char *node);

/* Is the bare JID of from listed in server.admins? */
bool adhoc_is_admin(const struct server *srv, const struct jid *from);

/* ---- helpers for commands ---- */

/* Adds <x xmlns='jabber:x:data' type=type> to the command, with a title
 * and instructions if not NULL, and a hidden FORM_TYPE if form_type is
 * not NULL. NULL on ENOMEM. */
struct xml_node *adhoc_form(struct adhoc_stage *s, const char *type, const char *form_type,
                            const char *title, const char *instructions);
/* Adds a <field/> to form x (type and label may be NULL). NULL on ENOMEM. */
struct xml_node *adhoc_field(struct adhoc_stage *s, struct xml_node *x, const char *var,
                             const char *type, const char *label, bool required);
/* Adds <value>text</value> to a field. 0 or -ENOMEM. */
int adhoc_value(struct adhoc_stage *s, struct xml_node *field, const char *text);
/* Adds <note type=type>text</note> to the command. 0 or -ENOMEM. */
int adhoc_note(struct adhoc_stage *s, const char *type, const char *text);

/* The submitted field var of form (NULL if absent). */
const struct xml_node *adhoc_form_field(const struct xml_node *form, const char *var);
/* Appends the text of one <value/> to out. 0, -ENOBUFS (out's limit) or -ENOMEM. */
int adhoc_value_text(const struct xml_node *value, struct buf *out);
/* Appends every value of field var, separated by sep, to out. Returns the
 * number of values, -ENOENT if the form has no such field, or -errno. */
int adhoc_field_text(const struct xml_node *form, const char *var, const char *sep,
                     struct buf *out);
/* ---- a last stage that answers after store writes ---- */

/* Takes over the reply being built and what answering needs, so that a
 * stage whose outcome depends on writes (store/requests.h) can answer
 * from their completions: the stage returns ADHOC_LATER, and the command
 * calls adhoc_later_done once. Read the submitted form first: it is gone
 * when the stage returns. NULL if out of memory (fail the stage). */
struct adhoc_later *adhoc_later(struct adhoc_stage *s);
/* The stage as the command goes on with it (notes, a form, err): from,
 * domain and srv stay valid; form and lang are NULL. */
struct adhoc_stage *adhoc_later_stage(struct adhoc_later *l);
/* Answers with status (ADHOC_COMPLETED: the result, and the session
 * ends; -errno: the stage's error, and the session stays), if the
 * requester's session is still the one that asked; frees l. May be
 * called from within the stage itself. */
void adhoc_later_done(struct adhoc_later *l, int status);

/* Sets s->err and returns -EINVAL: a short way for a command to fail. */
int adhoc_fail(struct adhoc_stage *s, enum stanza_cond c, const char *app, const char *text);

#endif
