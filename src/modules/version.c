/* Software version (XEP-0092). The operating system is named only when
 * the operator allows it (version.show_os, off by default). */
#include <string.h>
#include <sys/utsname.h>

#include "core/version.h"
#include "modules/module.h"
#include "xmpp/ns.h"

static void version(const struct iq_request *rq)
{
    const struct config *cfg = rq->srv->cfg;
    struct stanza *res = iq_result_new(rq->st);
    struct xml_node *q = res ? xml_add_child(res, res->root, "query", NS_VERSION) : NULL;
    int rc = q ? 0 : -1;
    if (rc == 0)
        rc = xml_add_text_elem(res, q, "name", cfg->version_name);
    if (rc == 0)
        rc = xml_add_text_elem(res, q, "version", TAUBE_VERSION);
    struct utsname u;
    if (rc == 0 && cfg->version_show_os && uname(&u) == 0) {
        char os[sizeof u.sysname + sizeof u.release + 2];
        snprintf(os, sizeof os, "%s %s", u.sysname, u.release);
        rc = xml_add_text_elem(res, q, "os", os);
    }
    if (rc < 0) {
        if (res)
            stanza_unref(res);
        iq_reply_error(rq, SC_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    iq_reply(rq, res);
}

static const struct iq_handler version_iq[] = {
    {NS_VERSION, "query", IQ_GET, IQ_TO_SERVER, NS_VERSION, version},
};

/* Its configuration: merged after the core's options (core/config.h),
 * in registry order, for loading, --check, init and the reference. */
static const struct config_section version_cfg_sections[] = {
    {"version", "Software version answers (XEP-0092)."},
};

static const struct config_option version_cfg_options[] = {
    /* version */
    {.key = "version.show_os",
     .type = CFG_BOOL,
     CFG_AS_BOOL(version_show_os),
     .def = "false",
     .help = "Whether version answers name the operating system."},
    {.key = "version.name",
     .type = CFG_STRING,
     CFG_AS_STR(version_name),
     .max = 64,
     .def = "Taube",
     .help = "Software name given in version answers."},
};

static const struct config_table version_cfg = {
    .sections = version_cfg_sections,
    .n_sections = sizeof version_cfg_sections / sizeof version_cfg_sections[0],
    .options = version_cfg_options,
    .n_options = sizeof version_cfg_options / sizeof version_cfg_options[0],
};

const struct module mod_version = {
    .name = "version",
    .id = MOD_ID_version,
    .config = &version_cfg,
    .iq = version_iq,
    .n_iq = sizeof version_iq / sizeof version_iq[0],
};
