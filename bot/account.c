/*
 * account.c — one platform account's session: connection state, reconnect backoff,
 * liveness watchdog, and the inbound event path.
 *
 * Inbound: frame → (sanitise) → adapter parse → response to the outbox, or event →
 * meta bookkeeping → duplicate filter → interaction log → plugin host. After every
 * (re)connect the account back-fills recent group history, because implementations
 * buffer nothing while we are away. Never frees a connection: net.c owns sockets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core.h"
#include "storage.h"

#define STABLE_SECS       60.0 /* a connection up this long resets the backoff */
#define AUTH_RETRY_MIN_MS 30000

void qb_account_init(struct qb_bot *b, struct qb_account *acc, size_t index)
{
    memset(acc, 0, sizeof *acc);
    acc->bot = b;
    acc->index = index;
    acc->cfg = &b->cfg->accounts[index];
    acc->ad = &qb_onebot11;
    acc->online = true;
    qb_id_set(acc->self_id, acc->cfg->self_id);
    acc->dedup = qb_dedup_new(50000, 10 * 60 * 1000);
    acc->group_rate = qb_ratemap_new(
            b->cfg->rate.group_burst,
            60000.0 / (b->cfg->rate.group_per_min > 0 ? b->cfg->rate.group_per_min : 10));
    acc->reconnect.data = acc;
    acc->kick.data = acc;
}

void qb_account_release(struct qb_account *acc)
{
    if (!acc->bot)
        return;
    ev_timer_stop(acc->bot->loop, &acc->reconnect);
    ev_timer_stop(acc->bot->loop, &acc->kick);
    qb_dedup_free(acc->dedup);
    qb_ratemap_free(acc->group_rate);
    acc->dedup = NULL;
    acc->group_rate = NULL;
}

bool qb_account_connected(const struct qb_account *acc)
{
    return (acc->uni && acc->uni->open) || (acc->api && acc->api->open);
}

struct qb_conn *qb_account_api_conn(struct qb_account *acc)
{
    if (acc->uni && acc->uni->open)
        return acc->uni;
    if (acc->api && acc->api->open)
        return acc->api;
    return NULL;
}

static struct qb_conn **slot_for(struct qb_account *acc, enum qb_conn_role role)
{
    return role == QB_CONN_API ? &acc->api : role == QB_CONN_EVENT ? &acc->evt : &acc->uni;
}

/* ---- reconnecting (forward mode) ---- */

static void reconnect_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct qb_account *acc = w->data;
    if (acc->bot->stopping)
        return;
    qb_net_detach(acc->bot, acc, true);
    acc->uni = acc->api = acc->evt = NULL;
    qb_log(QB_LOG_DEBUG, "account %s: connecting (attempt %d)", acc->cfg->name, acc->attempt);
    qb_net_dial(acc);
}

static int64_t backoff_ms(struct qb_account *acc)
{
    const struct qb_config *cfg = acc->bot->cfg;
    double d = (double)cfg->reconnect_min_ms;
    for (int i = 0; i < acc->attempt && d < (double)cfg->reconnect_max_ms; i++)
        d *= 2;
    if (d > (double)cfg->reconnect_max_ms)
        d = (double)cfg->reconnect_max_ms;
    if (acc->auth_failed && d < AUTH_RETRY_MIN_MS)
        d = AUTH_RETRY_MIN_MS;
    /* ±25 % jitter so many bots do not reconnect in step */
    d *= 0.75 + 0.5 * ((double)rand() / RAND_MAX);
    return (int64_t)d;
}

void qb_account_schedule_reconnect(struct qb_account *acc)
{
    struct qb_bot *b = acc->bot;
    if (b->stopping || acc->cfg->mode != QB_MODE_FORWARD || ev_is_active(&acc->reconnect))
        return;
    int64_t ms = backoff_ms(acc);
    acc->attempt++;
    qb_log(acc->attempt > 1 ? QB_LOG_DEBUG : QB_LOG_INFO, "account %s: reconnecting in %.1fs",
           acc->cfg->name, (double)ms / 1000.0);
    ev_timer_init(&acc->reconnect, reconnect_fire, (double)ms / 1000.0, 0.);
    ev_timer_start(b->loop, &acc->reconnect);
}

void qb_account_on_auth_failure(struct qb_account *acc, int http_status)
{
    acc->auth_failed = true;
    qb_log(QB_LOG_ERROR,
           "account %s: the platform refused our access token (%s). Check that \"token\" in the "
           "config matches the token set in NapCat/LLOneBot; retrying every %ds.",
           acc->cfg->name,
           http_status == 401   ? "HTTP 401: none accepted"
           : http_status == 403 ? "HTTP 403: wrong token"
                                : "retcode 1403",
           AUTH_RETRY_MIN_MS / 1000);
}

/* ---- open / close ---- */

static void became_connected(struct qb_account *acc)
{
    acc->up_since = qb_clock_mono();
    acc->last_rx = acc->up_since;
    acc->probing = false;
    acc->auth_failed = false;
    acc->backfill_due = acc->bot->cfg->backfill_count > 0;
    acc->bot->stats.accounts_online++;
    struct qb_conn *c = qb_account_api_conn(acc);
    qb_log(QB_LOG_INFO, "account %s: connected (%s%s%s)", acc->cfg->name,
           acc->cfg->mode == QB_MODE_FORWARD ? "to " : "platform connected",
           acc->cfg->mode == QB_MODE_FORWARD ? (acc->cfg->url ? acc->cfg->url : acc->cfg->api_url)
                                             : "",
           c && c->role == QB_CONN_API ? ", separate API and event sockets" : "");
    struct qb_action *a = qb_action_new(QB_ACT_GET_LOGIN);
    if (a)
        qb_outbox_call(&acc->bot->core, acc, a, NULL, NULL);
    qb_outbox_pump(acc);
}

void qb_account_on_open(struct qb_account *acc, struct qb_conn *c)
{
    bool was = qb_account_connected(acc);
    struct qb_conn **slot = slot_for(acc, c->role);
    if (*slot && *slot != c) {
        struct qb_conn *old = *slot;
        qb_log(QB_LOG_INFO, "account %s: the platform opened a new socket; closing the old one",
               acc->cfg->name);
        qb_outbox_fail_conn(acc, old, QB_EDISCONNECTED);
        old->acc = NULL;
        qb_conn_close(old);
    }
    *slot = c;
    if (!was && qb_account_connected(acc))
        became_connected(acc);
}

void qb_account_on_close(struct qb_account *acc, struct qb_conn *c, const char *why)
{
    bool was = qb_account_connected(acc);
    struct qb_conn **slot = c ? slot_for(acc, c->role) : NULL;
    if (slot && *slot == c)
        *slot = NULL;
    if (c) {
        qb_outbox_fail_conn(acc, c, QB_EDISCONNECTED);
        c->acc = NULL;
    }
    if (was && !qb_account_connected(acc)) {
        struct qb_bot *b = acc->bot;
        b->stats.accounts_online--;
        if (qb_clock_mono() - acc->up_since >= STABLE_SECS)
            acc->attempt = 0;
        acc->up_since = 0;
        if (!b->stopping)
            qb_log(QB_LOG_WARN, "account %s: disconnected (%s); %zu queued action(s) wait",
                   acc->cfg->name, why, acc->queued);
    }
    if (acc->cfg->mode == QB_MODE_FORWARD) {
        /* a half of a split pair is useless alone: drop the rest and dial again */
        qb_net_detach(acc->bot, acc, true);
        acc->uni = acc->api = acc->evt = NULL;
        qb_account_schedule_reconnect(acc);
    }
}

/* ---- liveness ---- */

static void probe_done(struct qb_ctx *c, const struct qb_result *r, void *ud)
{
    (void)c;
    (void)r;
    struct qb_account *acc = ud;
    acc->probing = false;
}

void qb_account_tick(struct qb_account *acc, double mono, int64_t now_ms)
{
    (void)now_ms;
    if (!qb_account_connected(acc))
        return;
    if (mono - acc->up_since >= STABLE_SECS)
        acc->attempt = 0;
    double limit = acc->hb_interval_ms > 0 ? 2.5 * (double)acc->hb_interval_ms / 1000.0
                                           : (double)acc->bot->cfg->heartbeat_fallback_ms / 1000.0;
    double quiet = mono - acc->last_rx;
    if (quiet > limit) {
        qb_log(QB_LOG_WARN, "account %s: no frame from the platform for %.0fs; reconnecting",
               acc->cfg->name, quiet);
        struct qb_conn *c = qb_account_api_conn(acc);
        if (acc->cfg->mode == QB_MODE_FORWARD) {
            qb_account_on_close(acc, c, "liveness timeout");
        } else {
            qb_account_on_close(acc, c, "liveness timeout");
            if (c)
                qb_conn_close(c);
        }
        return;
    }
    if (quiet > limit / 2 && !acc->probing) {
        struct qb_action *a = qb_action_new(QB_ACT_GET_STATUS);
        if (a) {
            a->timeout_ms = (int)(limit * 500);
            acc->probing = qb_outbox_call(&acc->bot->core, acc, a, probe_done, acc) == QB_OK;
        }
    }
}

/* ---- inbound events ---- */

static void dedup_key(const struct qb_event *ev, char *out, size_t n)
{
    const char *id = ev->message_id[0] ? ev->message_id : ev->flag;
    snprintf(out, n, "%s|%s|%s|%s|%s|%s|%lld", ev->self_id, ev->name, ev->sub_type, ev->group_id,
             ev->user_id, id, id[0] ? 0LL : (long long)ev->time_ms);
}

static void meta_event(struct qb_account *acc, const struct qb_event *ev)
{
    if (ev->kind == QB_EV_HEARTBEAT) {
        if (ev->interval_ms > 0)
            acc->hb_interval_ms = ev->interval_ms;
        if (acc->online != ev->online) {
            acc->online = ev->online;
            qb_log(ev->online ? QB_LOG_INFO : QB_LOG_WARN,
                   ev->online ? "account %s: the platform account is online again"
                              : "account %s: the platform says the QQ account is offline; "
                                "sending waits until it is back",
                   acc->cfg->name);
            if (acc->online)
                qb_outbox_pump(acc);
        }
    } else if (ev->kind == QB_EV_BOT_OFFLINE) {
        acc->online = false;
        qb_log(QB_LOG_ERROR, "account %s: the QQ session dropped (%s); sending waits",
               acc->cfg->name, ev->text ? ev->text : "no reason given");
    }
}

static void ingest(struct qb_account *acc, struct qb_event *ev, const char *raw)
{
    struct qb_bot *b = acc->bot;
    if (!ev->self_id[0])
        qb_id_set(ev->self_id, acc->self_id);
    else if (!acc->self_id[0])
        qb_id_set(acc->self_id, ev->self_id);
    if (ev->kind == QB_EV_HEARTBEAT || ev->kind == QB_EV_LIFECYCLE || ev->kind == QB_EV_BOT_OFFLINE)
        meta_event(acc, ev);
    if (ev->kind == QB_EV_HEARTBEAT)
        return; /* liveness only: not worth a log row every 30 s */
    if (ev->kind != QB_EV_LIFECYCLE) {
        char key[1024];
        dedup_key(ev, key, sizeof key);
        if (qb_dedup_check(acc->dedup, key, qb_clock_now())) {
            qb_log(QB_LOG_DEBUG, "account %s: dropped a duplicate %s event", acc->cfg->name,
                   ev->name);
            return;
        }
    }
    b->stats.events_in++;
    qb_store_log_event(b->store, ev, raw);
    if (ev->kind != QB_EV_LIFECYCLE)
        qb_host_dispatch(b, ev);
}

static void backfill_each(struct qb_event *ev, void *ud)
{
    ingest(ud, ev, NULL);
}

void qb_account_ingest_history(struct qb_account *acc, const struct qb_frame *f)
{
    int n = acc->ad->history(f, acc->self_id, backfill_each, acc);
    qb_log(QB_LOG_DEBUG, "account %s: back-fill delivered %d message(s)", acc->cfg->name, n);
}

/* Ask for recent history of every group this account was active in during the last
 * week: events sent while we were away are otherwise lost. */
static void backfill(struct qb_account *acc)
{
    struct qb_bot *b = acc->bot;
    acc->backfill_due = false;
    sqlite3_stmt *st =
            qb_store_stmt(b->store, "SELECT DISTINCT group_id FROM interactions WHERE self_id = ? "
                                    "AND group_id IS NOT NULL AND ts > ? LIMIT 50");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, acc->self_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, qb_clock_now() - 7LL * 86400 * 1000);
    char groups[50][QB_ID_MAX];
    int n = 0;
    while (n < 50 && sqlite3_step(st) == SQLITE_ROW)
        qb_id_set(groups[n++], (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        struct qb_action *a = qb_action_new(QB_ACT_GET_HISTORY);
        if (!a)
            break;
        qb_id_set(a->group_id, groups[i]);
        a->count = b->cfg->backfill_count;
        qb_outbox_call(&b->core, acc, a, NULL, NULL);
    }
    if (n)
        qb_log(QB_LOG_INFO, "account %s: back-filling recent messages of %d group(s)",
               acc->cfg->name, n);
}

static void on_event_frame(struct qb_account *acc, struct qb_conn *c, struct qb_frame *f,
                           const char *raw)
{
    if (c->role == QB_CONN_API) {
        qb_log(QB_LOG_DEBUG, "account %s: ignored an event on the API socket", acc->cfg->name);
        return;
    }
    ingest(acc, &f->ev, raw);
    if (acc->backfill_due && acc->self_id[0])
        backfill(acc);
}

void qb_account_on_frame(struct qb_account *acc, struct qb_conn *c, char *buf, size_t len)
{
    acc->last_rx = qb_clock_mono();
    if (qb_log_get_level() == QB_LOG_DEBUG)
        qb_log(QB_LOG_DEBUG, "account %s: <- %.*s", acc->cfg->name, (int)(len > 200 ? 200 : len),
               buf);
    struct qb_frame f;
    char err[200];
    qb_frame_init(&f);
    int rc = acc->ad->parse(buf, len, &f, err, sizeof err);
    if (rc != QB_OK && !qb_utf8_valid(buf, len)) {
        size_t bad = qb_utf8_sanitize(buf, len);
        qb_log(QB_LOG_WARN, "account %s: frame had %zu invalid UTF-8 byte(s); replaced with '?'",
               acc->cfg->name, bad);
        qb_frame_clear(&f);
        qb_frame_init(&f);
        rc = acc->ad->parse(buf, len, &f, err, sizeof err);
    }
    if (rc != QB_OK) {
        qb_log(QB_LOG_WARN, "account %s: ignored a malformed frame from the platform: %s",
               acc->cfg->name, err);
    } else if (f.type == QB_FRAME_RESPONSE) {
        if (!f.echo[0] && f.retcode == 1403) {
            qb_account_on_auth_failure(acc, 0);
        } else {
            qb_outbox_on_response(acc, &f);
        }
    } else if (f.type == QB_FRAME_EVENT) {
        char *raw = qb_strndup(buf, len);
        on_event_frame(acc, c, &f, raw);
        free(raw);
    }
    qb_frame_clear(&f);
}
