/* The SQLite backend as the store queue's writer sees it (store.h,
 * struct store_ops): a group is one BEGIN IMMEDIATE ... COMMIT, each
 * request a savepoint inside it (store_tx_begin nests), and the writes are
 * the area functions themselves, which nest the same way. */
#include <stdbool.h>

#include "store/blocking.h"
#include "store/invites.h"
#include "store/last.h"
#include "store/offline.h"
#include "store/private.h"
#include "store/reports.h"
#include "store/retention.h"
#include "store/roster.h"
#include "store/sqlite_internal.h"
#include "store/vcard.h"

/* A group of only non-durable requests (login and logout times) is not
 * synced by itself; the next durable commit syncs the WAL with it. */
static int group_begin(struct store *s, bool durable)
{
    store_set_sync(s, durable);
    return store_tx_begin(s);
}

static bool group_lost(struct store *s)
{
    if (s->tx_depth > 0 && !sqlite3_get_autocommit(s->db))
        return false;
    s->tx_depth = 0;
    store_offline_usage_forget(s);
    return true;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = store_open,
    .close = store_close,
    .group_begin = group_begin,
    .group_end = store_tx_end,
    .req_begin = store_tx_begin,
    .req_end = store_tx_end,
    .group_lost = group_lost,
    .offline_add = store_offline_add_sync,
    .offline_delete = store_offline_delete_sync,
    .touch_login = store_account_touch_login,
    .last_set = store_last_set,
    .vcard_set = store_vcard_set,
    .private_set = store_private_set,
    .blocking_add = store_blocking_add_sync,
    .blocking_remove = store_blocking_remove_sync,
    .report_add = store_report_add_sync,
    .account_create_invited = store_account_create_invited_sync,
    .account_set_creds = store_account_set_creds_sync,
    .roster_put = roster_put_sync,
    .roster_delete = roster_delete_sync,
    .account_set_suspended = store_account_set_suspended_sync,
    .invite_create = store_invite_create_sync,
    .invite_consent = store_invite_consent_sync,
    .retention_warn = store_retention_warn_sync,
    .reports_sweep = store_reports_sweep_sync,
};
