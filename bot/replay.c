/*
 * replay.c — `qunbot replay`: runs candidate rule packs over past chat without sending
 * anything, so an operator can see what a rule set would have done before switching it on.
 *
 * Input is the interaction log (the bot's SQLite database, opened read-only, so a running
 * bot is not disturbed) or a JSONL export of messages. Every message goes through the
 * rules engine in time order with the guard's default policy; strikes are counted per
 * member on the default ladder (private word → public reminder → mute → removal, strikes
 * decaying after 30 days), so the output says which step each hit would have reached.
 * With --baseline it runs a second rule set side by side and lists where the two differ.
 * Prints for the operator at the terminal; never writes to the database.
 */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "net/adapter.h"
#include "rules.h"

#define MAX_PACKS 8
#define MAX_HITS  16

static const char usage[] =
        "Usage: qunbot replay [--db PATH | --jsonl FILE] [--pack FILE]... [--baseline FILE]...\n"
        "                     [--group ID] [--since DURATION] [--show N]\n"
        "\n"
        "Runs rule packs over stored messages and prints what would have been flagged, with\n"
        "the evidence and the ladder step, then a summary. Nothing is sent or written.\n"
        "  --db PATH        the bot's database (default: the one in --config, else qunbot.db)\n"
        "  --jsonl FILE     messages, one JSON object per line: {\"text\", \"group_id\",\n"
        "                   \"user_id\", \"ts\" (ms)}; rows of tests/data/guard-eval also work\n"
        "  --pack FILE      candidate rule pack (repeatable; default rules/packs/default.json)\n"
        "  --baseline FILE  a second rule set to compare against (repeatable)\n"
        "  --group ID       only this group\n"
        "  --since DURATION only the last 7d, 12h, ... of the log\n"
        "  --show N         list at most N flagged messages (default 200; 0 = summary only)\n";

static const char *const ladder[] = {"私聊提醒", "公开提醒", "禁言", "移出群"};
#define LADDER_N 4
#define DECAY_MS (30LL * 24 * 3600 * 1000)

struct strike_mem {
    char key[2 * QB_ID_MAX];
    int64_t ts[LADDER_N];
    int n;
};

/* One rule set under test and what it did. */
struct side {
    const char *packs[MAX_PACKS];
    size_t n_packs;
    struct qb_ruleset *rs;
    struct strike_mem *mem;
    size_t n_mem, cap_mem;
    long flagged, notes, shadow;
    long steps[LADDER_N + 1]; /* ladder steps reached, [LADDER_N] = recall only */
    char (*rule_ids)[QB_RULE_ID_MAX];
    long *rule_hits;
    size_t n_rules;
    char (*members)[2 * QB_ID_MAX];
    size_t n_members, cap_members;
};

struct replay {
    const char *db, *jsonl, *group;
    int64_t since_ms;
    long show, shown, scanned, differ;
    struct side cand, base;
    bool compare;
    struct qb_rules_policy pol;
};

/* ------------------------------------------------------------------ bookkeeping */

static int strikes_add(struct side *s, const char *group, const char *user, int64_t ts)
{
    char key[2 * QB_ID_MAX];
    snprintf(key, sizeof key, "%s/%s", group, user);
    struct strike_mem *m = NULL;
    for (size_t i = 0; i < s->n_mem && !m; i++)
        if (!strcmp(s->mem[i].key, key))
            m = &s->mem[i];
    if (!m) {
        if (s->n_mem == s->cap_mem) {
            size_t cap = s->cap_mem ? s->cap_mem * 2 : 64;
            struct strike_mem *v = realloc(s->mem, cap * sizeof *v);
            if (!v)
                return 1;
            s->mem = v;
            s->cap_mem = cap;
        }
        m = &s->mem[s->n_mem++];
        memset(m, 0, sizeof *m);
        qb_strlcpy(m->key, key, sizeof m->key);
    }
    int active = 0;
    for (int i = 0; i < m->n; i++)
        active += ts - m->ts[i] < DECAY_MS;
    if (m->n == LADDER_N) {
        memmove(m->ts, m->ts + 1, (LADDER_N - 1) * sizeof m->ts[0]);
        m->n--;
    }
    m->ts[m->n++] = ts;
    return active + 1 > LADDER_N ? LADDER_N : active + 1;
}

static void member_seen(struct side *s, const char *group, const char *user)
{
    char key[2 * QB_ID_MAX];
    snprintf(key, sizeof key, "%s/%s", group, user);
    for (size_t i = 0; i < s->n_members; i++)
        if (!strcmp(s->members[i], key))
            return;
    if (s->n_members == s->cap_members) {
        size_t cap = s->cap_members ? s->cap_members * 2 : 64;
        void *v = realloc(s->members, cap * sizeof *s->members);
        if (!v)
            return;
        s->members = v;
        s->cap_members = cap;
    }
    qb_strlcpy(s->members[s->n_members++], key, sizeof s->members[0]);
}

static void rule_seen(struct side *s, const char *id)
{
    for (size_t i = 0; i < s->n_rules; i++)
        if (!strcmp(s->rule_ids[i], id)) {
            s->rule_hits[i]++;
            return;
        }
    void *v = realloc(s->rule_ids, (s->n_rules + 1) * sizeof *s->rule_ids);
    if (!v)
        return;
    s->rule_ids = v;
    long *h = realloc(s->rule_hits, (s->n_rules + 1) * sizeof *h);
    if (!h)
        return;
    s->rule_hits = h;
    qb_strlcpy(s->rule_ids[s->n_rules], id, QB_RULE_ID_MAX);
    s->rule_hits[s->n_rules++] = 1;
}

static void side_free(struct side *s)
{
    qb_ruleset_free(s->rs);
    free(s->mem);
    free(s->rule_ids);
    free(s->rule_hits);
    free(s->members);
}

/* ------------------------------------------------------------------ one message */

static const char *action_word(enum qb_rule_action a)
{
    switch (a) {
    case QB_RACT_STRIKE:
        return "记一次";
    case QB_RACT_RECALL:
        return "撤回";
    case QB_RACT_NOTE:
        return "温和提醒";
    case QB_RACT_LOG:
        return "仅记录";
    }
    return "?";
}

static const struct qb_rules_hit *strongest(const struct qb_rules_hit *h, size_t n)
{
    const struct qb_rules_hit *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (h[i].mode == QB_MODE_ENFORCE && (!best || h[i].action < best->action))
            best = &h[i];
    return best;
}

/* Run one side; returns the strongest enforced hit's description in out ("" if none). */
static void run_side(struct replay *rp, struct side *s, const struct qb_rules_input *in, char *out,
                     size_t outlen)
{
    struct qb_rules_hit hits[MAX_HITS];
    size_t n = qb_ruleset_eval(s->rs, &rp->pol, in, hits, MAX_HITS);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        rule_seen(s, hits[i].rule_id);
        s->shadow += hits[i].mode == QB_MODE_SHADOW;
    }
    const struct qb_rules_hit *h = strongest(hits, n);
    if (!h || h->action == QB_RACT_LOG)
        return;
    if (h->action == QB_RACT_NOTE) {
        s->notes++;
        snprintf(out, outlen, "%s v%d 温和提醒 — %s", h->rule_id, h->version, h->evidence);
        return;
    }
    s->flagged++;
    member_seen(s, in->group_id, in->user_id);
    const char *step = action_word(h->action);
    if (h->action == QB_RACT_STRIKE) {
        int k = strikes_add(s, in->group_id, in->user_id, in->now_ms);
        s->steps[k - 1]++;
        step = ladder[k - 1];
    } else {
        s->steps[LADDER_N]++;
    }
    snprintf(out, outlen, "%s v%d [%s] 撤回 + %s — %s", h->rule_id, h->version, h->detector, step,
             h->evidence);
}

static void print_when(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    printf("%s", buf);
}

static void one_message(struct replay *rp, int64_t ts, const char *group, const char *user,
                        const struct qb_msg *msg)
{
    if (rp->group && strcmp(rp->group, group))
        return;
    rp->scanned++;
    struct qb_rules_input in = {.msg = msg, .group_id = group, .user_id = user, .now_ms = ts};
    char a[QB_EVIDENCE_MAX + 128], b[QB_EVIDENCE_MAX + 128] = "";
    run_side(rp, &rp->cand, &in, a, sizeof a);
    if (rp->compare)
        run_side(rp, &rp->base, &in, b, sizeof b);
    bool differ = rp->compare && (!a[0] != !b[0]);
    rp->differ += differ;
    if (!a[0] && !differ)
        return;
    if (rp->shown++ >= rp->show)
        return;
    char excerpt[100];
    qb_strlcpy(excerpt, msg->plain ? msg->plain : "", sizeof excerpt);
    for (char *p = excerpt; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    print_when(ts);
    printf("  群 %s  成员 %s  「%s」\n", group, user, excerpt);
    if (a[0])
        printf("    %s%s\n", rp->compare ? "候选: " : "", a);
    if (rp->compare)
        printf("    基线: %s\n", b[0] ? b : "（不处理）");
}

/* ------------------------------------------------------------------ sources */

static int from_db(struct replay *rp)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(rp->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "qunbot replay: cannot open the database %s: %s\n", rp->db,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 2;
    }
    sqlite3_stmt *s = NULL;
    const char *sql = "SELECT ts, group_id, user_id, text, details FROM interactions"
                      " WHERE direction = 'in' AND kind = 'message' AND group_id IS NOT NULL"
                      " AND group_id != '' AND ts >= ? ORDER BY ts, id";
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "qunbot replay: %s does not look like a qunbot database (%s)\n", rp->db,
                sqlite3_errmsg(db));
        sqlite3_close(db);
        return 2;
    }
    sqlite3_bind_int64(s, 1, rp->since_ms);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *details = (const char *)sqlite3_column_text(s, 4);
        const char *text = (const char *)sqlite3_column_text(s, 3);
        struct qb_frame f;
        qb_frame_init(&f);
        char err[128];
        bool parsed = details &&
                      qb_onebot11.parse(details, strlen(details), &f, err, sizeof err) == QB_OK &&
                      f.type == QB_FRAME_EVENT && f.ev.kind == QB_EV_MESSAGE;
        if (!parsed && text) { /* the raw frame was pruned: fall back to the plain text */
            qb_frame_clear(&f);
            qb_frame_init(&f);
            qb_msg_text(&f.ev.msg, text);
            qb_msg_finish(&f.ev.msg);
        }
        if (parsed || text)
            one_message(rp, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                        sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "",
                        &f.ev.msg);
        qb_frame_clear(&f);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return 0;
}

static void id_of(const cJSON *v, const char *def, char *out, size_t n)
{
    if (cJSON_IsString(v))
        qb_strlcpy(out, v->valuestring, n);
    else if (cJSON_IsNumber(v))
        snprintf(out, n, "%.0f", v->valuedouble);
    else
        qb_strlcpy(out, def, n);
}

static int from_jsonl(struct replay *rp)
{
    FILE *f = fopen(rp->jsonl, "r");
    if (!f) {
        fprintf(stderr, "qunbot replay: cannot read %s\n", rp->jsonl);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, bad = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        cJSON *row = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(row, "text");
        if (!cJSON_IsString(text)) {
            if (bad++ < 5)
                fprintf(stderr, "qunbot replay: %s:%d: skipped, not a JSON object with \"text\"\n",
                        rp->jsonl, lineno);
            cJSON_Delete(row);
            continue;
        }
        char group[QB_ID_MAX], user[QB_ID_MAX], row_user[48];
        snprintf(row_user, sizeof row_user, "row-%d", lineno);
        id_of(cJSON_GetObjectItemCaseSensitive(row, "group_id"), "jsonl", group, sizeof group);
        id_of(cJSON_GetObjectItemCaseSensitive(row, "user_id"), row_user, user, sizeof user);
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(row, "ts");
        int64_t when = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble : (int64_t)lineno * 60000;
        struct qb_msg m;
        qb_msg_init(&m);
        qb_msg_text(&m, text->valuestring);
        qb_msg_finish(&m);
        if (when >= rp->since_ms)
            one_message(rp, when, group, user, &m);
        qb_msg_clear(&m);
        cJSON_Delete(row);
    }
    free(line);
    fclose(f);
    if (bad > 5)
        fprintf(stderr, "qunbot replay: %d lines skipped in all\n", bad);
    return 0;
}

/* ------------------------------------------------------------------ summary */

static void summary_side(const char *title, const struct side *s, long scanned)
{
    printf("%s", title);
    for (size_t i = 0; i < s->n_packs; i++)
        printf("%s%s", i ? ", " : "", s->packs[i]);
    printf("\n  扫描 %ld 条，处理 %ld 条（%.1f%%），涉及 %zu 人；温和提醒 %ld 条；影子模式命中 "
           "%ld\n",
           scanned, s->flagged, scanned ? 100.0 * s->flagged / scanned : 0.0, s->n_members,
           s->notes, s->shadow);
    printf("  阶梯：");
    for (int i = 0; i < LADDER_N; i++)
        printf("%s %ld  ", ladder[i], s->steps[i]);
    printf("仅撤回 %ld\n  每条规则命中：", s->steps[LADDER_N]);
    for (size_t i = 0; i < s->n_rules; i++)
        printf("%s%s %ld", i ? "，" : "", s->rule_ids[i], s->rule_hits[i]);
    printf("%s\n", s->n_rules ? "" : "无");
}

/* ------------------------------------------------------------------ command line */

static int add_pack(struct side *s, const char *v)
{
    if (s->n_packs == MAX_PACKS) {
        fprintf(stderr, "qunbot replay: at most %d packs per rule set\n", MAX_PACKS);
        return -1;
    }
    s->packs[s->n_packs++] = v;
    return 0;
}

static int parse(struct replay *rp, int argc, char **argv, const char *db_default)
{
    rp->show = 200;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        }
        if (!v) {
            fprintf(stderr, "qunbot replay: %s needs a value\n%s", a, usage);
            return -1;
        }
        i++;
        int64_t ms = 0;
        if (!strcmp(a, "--db"))
            rp->db = v;
        else if (!strcmp(a, "--jsonl"))
            rp->jsonl = v;
        else if (!strcmp(a, "--group"))
            rp->group = v;
        else if (!strcmp(a, "--pack")) {
            if (add_pack(&rp->cand, v))
                return -1;
        } else if (!strcmp(a, "--baseline")) {
            if (add_pack(&rp->base, v))
                return -1;
            rp->compare = true;
        } else if (!strcmp(a, "--since")) {
            if (qb_parse_duration(v, &ms) != QB_OK || ms <= 0) {
                fprintf(stderr, "qunbot replay: --since needs a duration such as 7d or 12h\n");
                return -1;
            }
            rp->since_ms = qb_clock_now() - ms;
        } else if (!strcmp(a, "--show")) {
            char *end = NULL;
            rp->show = strtol(v, &end, 10);
            if (!end || *end || rp->show < 0) {
                fprintf(stderr, "qunbot replay: --show needs a number\n");
                return -1;
            }
        } else if (strcmp(a, "--config")) {
            fprintf(stderr, "qunbot replay: unknown option %s\n%s", a, usage);
            return -1;
        }
    }
    if (rp->db && rp->jsonl) {
        fprintf(stderr, "qunbot replay: give --db or --jsonl, not both\n");
        return -1;
    }
    if (!rp->jsonl && !rp->db)
        rp->db = db_default;
    if (!rp->cand.n_packs)
        add_pack(&rp->cand, "rules/packs/default.json");
    return 0;
}

static int load_side(struct side *s, const char *what)
{
    char err[512];
    if (qb_ruleset_load(s->packs, s->n_packs, &s->rs, err, sizeof err) == QB_OK)
        return 0;
    fprintf(stderr, "qunbot replay: the %s rule set cannot be loaded: %s\n", what, err);
    return -1;
}

int qb_replay_main(int argc, char **argv, const char *db_default)
{
    struct replay rp = {0};
    int rc = 2;
    qb_rules_policy_defaults(&rp.pol);
    if (parse(&rp, argc, argv, db_default ? db_default : "qunbot.db") ||
        load_side(&rp.cand, "candidate") || (rp.compare && load_side(&rp.base, "baseline")))
        goto out;
    rc = rp.jsonl ? from_jsonl(&rp) : from_db(&rp);
    if (rc)
        goto out;
    if (rp.shown > rp.show)
        printf("…（还有 %ld 条未列出，用 --show 调整）\n", rp.shown - rp.show);
    printf("\n");
    summary_side(rp.compare ? "候选规则：" : "规则：", &rp.cand, rp.scanned);
    if (rp.compare) {
        summary_side("基线规则：", &rp.base, rp.scanned);
        printf("两套规则结论不同的消息：%ld 条\n", rp.differ);
    }
out:
    side_free(&rp.cand);
    side_free(&rp.base);
    return rc;
}
