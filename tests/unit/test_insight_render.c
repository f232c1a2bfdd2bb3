/*
 * test_insight_render.c — the report renderers (HTML, CSV, JSON) on a report filled by hand,
 * no database: the figures appear, member names cannot inject markup or spreadsheet
 * formulas, CSV reads back field for field, JSON parses with numbers as numbers, days are
 * in the range's time zone, the newcomer / effect / invite / bridge / moderation sections
 * appear in all three (and the chat summary), and a full disk is reported.
 * link: qb_insight
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "insight.h"
#include "test.h"

#define MON_0304_SHANGHAI 1709481600000LL /* 2024-03-04 00:00 in Asia/Shanghai */
#define DAY_MS            86400000LL

static const char *const evil_name = "<script>alert('x')</script> & \"Bob\"";
static const char *const formula_name = "=HYPERLINK(\"http://evil\",\"点我\")";
static const char *const multiline_name = "小明, 大家好\n第二行";

static int64_t daily_msgs[7] = {100, 200, 300, 150, 184, 200, 100};
static int64_t daily_act[7] = {10, 20, 30, 15, 18, 20, 9};

static void add_member(struct qb_insight_report *r, const char *uid, const char *name,
                       enum qb_insight_stage st, int64_t msgs, double value, const char *why)
{
    struct qb_insight_member *m = &r->members[r->n_members++];
    memset(m, 0, sizeof *m);
    snprintf(m->user_id, sizeof m->user_id, "%s", uid);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->value_why, sizeof m->value_why, "%s", why);
    m->stage = st;
    m->messages = msgs;
    m->value = value;
    m->joined_ms = MON_0304_SHANGHAI + 3600000; /* 2024-03-04 01:00 local */
    r->funnel[st]++;
}

static const char *const evil_label = "=cmd|' /C calc'!A0 <b>分享</b>";

/* Newcomers, effects, invites, bridges and moderation, with hostile names. */
static void fill_more(struct qb_insight_report *r)
{
    int64_t t0 = MON_0304_SHANGHAI;
    struct qb_insight_newcomers *n = &r->newcomers;
    n->joined = 3;
    n->spoke = n->spoke_7d = 2;
    n->activation_rate = 2.0 / 3;
    n->median_first_msg_s = 7200;
    n->first_replied = 1;
    n->median_first_reply_s = 90;
    n->list = calloc(2, sizeof *n->list);
    n->list[0] = (struct qb_insight_newcomer){"30001", "", t0 + 3600000, 0, -1, -1, 0};
    snprintf(n->list[0].name, sizeof n->list[0].name, "%s", evil_name);
    n->list[1] = (struct qb_insight_newcomer){"30002", "", t0 + 3600000,    t0 + 7200000,
                                              0,       -1, t0 + 3 * 3600000};
    snprintf(n->list[1].name, sizeof n->list[1].name, "%s", formula_name);
    n->n_list = 2;
    n->unanswered = calloc(1, sizeof *n->unanswered);
    n->unanswered[0] = n->list[1];
    n->n_unanswered = 1;
    r->effects = calloc(2, sizeof *r->effects);
    r->effects[0] = (struct qb_insight_effect){
            "talk", "", t0 + 20 * 3600000, 3, 18, 3, 1, 4, 1, 0.5, 3, 4.5};
    snprintf(r->effects[0].label, sizeof r->effects[0].label, "%s", evil_label);
    r->effects[1] = (struct qb_insight_effect){
            "post", "早安", t0 + 8 * 3600000, 3, 2, 1, 0, -1, -1, -1, 0, -1};
    r->n_effects = 2;
    struct qb_insight_invites *inv = &r->invites;
    inv->leaderboard = calloc(1, sizeof *inv->leaderboard);
    inv->leaderboard[0] = (struct qb_insight_inviter){"40001", "", 5, 3, 1};
    snprintf(inv->leaderboard[0].name, sizeof inv->leaderboard[0].name, "%s", evil_name);
    inv->n_leaderboard = 1;
    inv->tree = calloc(1, sizeof *inv->tree);
    inv->tree[0] = (struct qb_insight_invitee){"40001", "40002", "@所有人", t0 + 3600000, -1, 0};
    inv->n_tree = 1;
    struct qb_insight_bridges *br = &r->bridges;
    br->count = 2;
    br->sizes = calloc(2, sizeof *br->sizes);
    br->sizes[0] = 5;
    br->sizes[1] = 3;
    br->n_sizes = 2;
    br->v = calloc(1, sizeof *br->v);
    br->v[0] = (struct qb_insight_bridge){"50001", "-1+1<i>", 1, 2, 0.25, 8};
    br->n = 1;
    r->moderation_by = calloc(2, sizeof *r->moderation_by);
    r->moderation_by[0] = (struct qb_insight_moderation){"keywords", 4, 3, 2, 1};
    r->moderation_by[1] = (struct qb_insight_moderation){"manual", 2, 2, 0, 0};
    r->n_moderation_by = 2;
}

/* A week of group 100 with awkward member names. Free with free_report. */
static void fill(struct qb_insight_report *r)
{
    memset(r, 0, sizeof *r);
    r->range = (struct qb_insight_range){MON_0304_SHANGHAI, MON_0304_SHANGHAI + 7 * DAY_MS,
                                         "Asia/Shanghai"};
    r->generated_ms = MON_0304_SHANGHAI + 7 * DAY_MS;
    struct qb_insight_overview *o = &r->ov;
    snprintf(o->group_id, sizeof o->group_id, "100");
    o->messages = 1234;
    o->active_members = 56;
    o->members = 789;
    o->dau = 12.5;
    o->wau = 30.25;
    o->mau = 40;
    o->dau_mau = 0.3125;
    o->joins = 3;
    o->leaves = 7;
    o->net_growth = -4;
    o->checkins = 42;
    o->checkin_rate = 0.05;
    o->talks = 2;
    o->talk_attendance = 31;
    o->questions = 9;
    o->unanswered_questions = 2;
    o->median_response_s = 300;
    o->moderation = 5;
    o->pardons = 1;
    o->top10_share = 0.61;
    r->heat[0][9] = 77;
    r->heat[6][23] = 3;
    r->members = calloc(4, sizeof *r->members);
    add_member(r, "20001", evil_name, QB_STAGE_PARTNER, 120, 88.5, "最近 2 天前发言 · 本期 120 条");
    add_member(r, "20002", formula_name, QB_STAGE_FOLLOWER, 5, 20, "本期 5 条");
    add_member(r, "20003", multiline_name, QB_STAGE_ONLOOKER, 0, 1, "入群 3 天从未发言");
    add_member(r, "20004", "-2+3", QB_STAGE_ONLOOKER, 0, 0.5, "@所有人");
    r->members[0].admin = true;
    r->members[0].pagerank = 0.4;
    r->members[0].last_msg_ms = MON_0304_SHANGHAI + 5 * DAY_MS;
    r->cohorts = calloc(2, sizeof *r->cohorts);
    r->cohorts[0] = (struct qb_insight_cohort){"2024-02-26", 10, {6, 4, -1, -1}};
    r->cohorts[1] = (struct qb_insight_cohort){"2024-03-04", 3, {1, -1, -1, -1}};
    r->n_cohorts = 2;
    r->words[0] = (struct qb_insight_word){"分享会", 12};
    r->words[1] = (struct qb_insight_word){"<b>", 3};
    r->n_words = 2;
    r->daily_messages = daily_msgs;
    r->daily_active = daily_act;
    r->n_days = 7;
    fill_more(r);
}

static void free_report(struct qb_insight_report *r)
{
    free(r->members);
    free(r->cohorts);
    qb_insight_newcomers_free(&r->newcomers);
    free(r->effects);
    qb_insight_invites_free(&r->invites);
    qb_insight_bridges_free(&r->bridges);
    free(r->moderation_by);
}

/* Render into a malloc'd string with renderer fn; *rc gets its result. */
static char *render(int (*fn)(const struct qb_insight_report *, FILE *),
                    const struct qb_insight_report *r, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *rc = fn(r, f);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------ HTML */

TEST(html_has_figures_charts_and_escaped_names)
{
    struct qb_insight_report r;
    fill(&r);
    int rc;
    char *h = render(qb_insight_render_html, &r, &rc);
    CHECK_INT(rc, QB_OK);
    CHECK(strstr(h, "<title>群报告 100 2024-03-04–2024-03-10</title>") != NULL);
    CHECK(strstr(h, "<svg") != NULL);
    CHECK(strstr(h, ">1234<") != NULL);
    CHECK(strstr(h, ">789<") != NULL);
    CHECK(strstr(h, ">-4<") != NULL);
    CHECK(strstr(h, "31%") != NULL); /* stickiness 0.3125 */
    CHECK(strstr(h, "5 分钟") != NULL);
    /* the name cannot open a script or break out of an attribute */
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Bob&quot;") !=
          NULL);
    CHECK(strstr(h, "&lt;b&gt;") != NULL);
    CHECK(strstr(h, "<b>") == NULL);
    CHECK(strstr(h, "分享会") != NULL);
    CHECK(strstr(h, "合作者") != NULL);
    CHECK(strstr(h, "最近 2 天前发言") != NULL);
    /* cohort cells are shaded by their share: 60 % is a mid blue, a week not reached is "—" */
    CHECK(strstr(h, "background:#a6c8f6\">6（60%）") != NULL);
    CHECK(strstr(h, ">—<") != NULL);
    CHECK(strstr(h, "周一 09:00–09:59：77 条") != NULL);
    /* days are Shanghai days: the UTC date of the start (03-03) never appears */
    CHECK(strstr(h, "2024-03-10：100 条消息，9 人发言") != NULL);
    CHECK(strstr(h, "2024-03-03") == NULL);
    /* newcomers, effects, invites, bridges, moderation */
    CHECK(strstr(h, "<h2>新成员激活</h2>") != NULL);
    CHECK(strstr(h, "激活率 67%") != NULL);
    CHECK(strstr(h, "2024-03-04 03:00") != NULL); /* the unanswered question, local time */
    CHECK(strstr(h, "<h2>活动效果</h2>") != NULL);
    CHECK(strstr(h, "=cmd|&#39; /C calc&#39;!A0 &lt;b&gt;分享&lt;/b&gt;") != NULL);
    CHECK(strstr(h, "18（4.0）") != NULL);
    CHECK(strstr(h, "×4.50") != NULL);
    CHECK(strstr(h, "2（—）") != NULL); /* the post has no baseline */
    CHECK(strstr(h, "<h2>邀请排行</h2>") != NULL);
    CHECK(strstr(h, "<h2>桥梁成员</h2>") != NULL);
    CHECK(strstr(h, "-1+1&lt;i&gt;") != NULL);
    CHECK(strstr(h, "<i>") == NULL);
    CHECK(strstr(h, "25%") != NULL);
    CHECK(strstr(h, "<h2>按检测器的管理次数</h2>") != NULL);
    CHECK(strstr(h, "<td>keywords</td><td class=\"num\">4</td>") != NULL);
    CHECK(strstr(h, "管理员撤回") != NULL);
    /* self-contained: nothing fetched, nothing scripted */
    CHECK(strstr(h, "src=") == NULL);
    CHECK(strstr(h, "href=") == NULL);
    CHECK(strstr(h, "<link") == NULL);
    CHECK(strstr(h, "url(") == NULL);
    CHECK(strstr(h, "</html>") != NULL);
    free(h);
    free_report(&r);
}

TEST(empty_report_says_so)
{
    struct qb_insight_report r;
    memset(&r, 0, sizeof r);
    r.range = (struct qb_insight_range){MON_0304_SHANGHAI, MON_0304_SHANGHAI + DAY_MS, "UTC"};
    snprintf(r.ov.group_id, sizeof r.ov.group_id, "300");
    r.ov.median_response_s = -1;
    int rc;
    char *h = render(qb_insight_render_html, &r, &rc);
    CHECK_INT(rc, QB_OK);
    CHECK(strstr(h, "本期没有数据") != NULL);
    CHECK(strstr(h, "本期没有新成员入群") != NULL);
    CHECK(strstr(h, "本期没有可衡量的分享会") != NULL);
    CHECK(strstr(h, "还没有记录到邀请入群") != NULL);
    CHECK(strstr(h, "没有同时连接两个以上圈子的成员") != NULL);
    CHECK(strstr(h, "本期没有违规处理记录") != NULL);
    CHECK(strstr(h, "</html>") != NULL);
    free(h);
    /* JSON of an empty group still parses, with empty lists */
    char *text = render(qb_insight_render_json, &r, &rc);
    CHECK_INT(rc, QB_OK);
    cJSON *j = cJSON_Parse(text);
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "members")));
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "members")), 0);
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(j, "newcomers");
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(nc, "list")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(nc, "median_first_msg_s")));
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "effects")), 0);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "moderation_by")), 0);
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "invites"), "tree")));
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "group_id");
    CHECK(cJSON_IsString(g) && !strcmp(g->valuestring, "300"));
    cJSON_Delete(j);
    free(text);
}

/* ------------------------------------------------------------------ CSV */

/* A tiny RFC 4180 reader: rows of fields; a blank line ends a section. */
struct csv {
    char *rows[128][32];
    int nf[128];
    int nrows;
    int section_start[16];
    int nsections;
};

static void csv_free(struct csv *c)
{
    for (int i = 0; i < c->nrows; i++)
        for (int j = 0; j < c->nf[i]; j++)
            free(c->rows[i][j]);
}

/* Returns 0, or -1 when the text is not well-formed CSV. */
static int csv_read(const char *p, struct csv *c)
{
    memset(c, 0, sizeof *c);
    bool at_row_start = true;
    char field[512];
    while (*p) {
        if (at_row_start && (*p == '\r' || *p == '\n')) { /* blank line: next section */
            p += *p == '\r' && p[1] == '\n' ? 2 : 1;
            if (c->nsections >= 16)
                return -1;
            c->section_start[c->nsections++] = c->nrows;
            continue;
        }
        if (at_row_start && c->nsections == 0)
            c->section_start[c->nsections++] = 0;
        size_t n = 0;
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"')
                    p++;
                else if (*p == '"') {
                    p++;
                    break;
                }
                if (n + 1 < sizeof field)
                    field[n++] = *p;
            }
            if (*p && *p != ',' && *p != '\r')
                return -1;
        } else {
            for (; *p && *p != ',' && *p != '\r' && *p != '\n'; p++) {
                if (*p == '"')
                    return -1;
                if (n + 1 < sizeof field)
                    field[n++] = *p;
            }
        }
        field[n] = '\0';
        if (c->nrows >= 128 || c->nf[c->nrows] >= 32 || c->nsections >= 16)
            return -1;
        c->rows[c->nrows][c->nf[c->nrows]++] = strdup(field);
        if (*p == ',') {
            p++;
            at_row_start = false;
        } else {
            if (*p != '\r' || p[1] != '\n')
                return -1; /* rows end with CRLF */
            p += 2;
            c->nrows++;
            at_row_start = true;
        }
    }
    return 0;
}

/* The row of section s whose first field is key, or NULL. */
static char **csv_row(struct csv *c, int s, const char *key)
{
    int end = s + 1 < c->nsections ? c->section_start[s + 1] : c->nrows;
    for (int i = c->section_start[s] + 1; i < end; i++)
        if (!strcmp(c->rows[i][0], key))
            return c->rows[i];
    return NULL;
}

static const char *csv_get(struct csv *c, int s, const char *key, int col)
{
    char **row = csv_row(c, s, key);
    return row ? row[col] : NULL;
}

TEST(csv_reads_back_with_quoting_and_neutralised_formulas)
{
    struct qb_insight_report r;
    fill(&r);
    int rc;
    char *text = render(qb_insight_render_csv, &r, &rc);
    CHECK_INT(rc, QB_OK);
    CHECK(!strncmp(text, "\xEF\xBB\xBF", 3));
    struct csv c;
    CHECK_INT(csv_read(text + 3, &c), 0);
    CHECK_INT(c.nsections, 14);
    if (c.nsections == 14) {
        static const char *const heads[14] = {
                "key",       "date",       "weekday",         "user_id",
                "week",      "word",       "newcomer_figure", "newcomer_id",
                "kind",      "inviter_id", "invited_by",      "community",
                "bridge_id", "detector"};
        for (int s = 0; s < 14; s++) {
            int start = c.section_start[s], end = s < 13 ? c.section_start[s + 1] : c.nrows;
            CHECK_STR(c.rows[start][0], heads[s]);
            for (int i = start; i < end; i++)
                CHECK_INT(c.nf[i], c.nf[start]); /* every row as wide as its header */
        }
        CHECK_STR(csv_get(&c, 0, "group_id", 1), "100");
        CHECK_STR(csv_get(&c, 0, "messages", 1), "1234");
        CHECK_STR(csv_get(&c, 0, "net_growth", 1), "-4"); /* numbers stay numbers */
        CHECK_STR(csv_get(&c, 0, "dau", 1), "12.5");
        CHECK_STR(csv_get(&c, 0, "from", 1), "2024-03-04");
        CHECK_STR(csv_get(&c, 0, "to", 1), "2024-03-10");
        CHECK_STR(csv_get(&c, 0, "stage_onlooker", 1), "2");
        CHECK_INT(c.section_start[2] - c.section_start[1], 1 + 7); /* header and 7 days */
        CHECK_STR(csv_get(&c, 1, "2024-03-04", 1), "100");
        CHECK_STR(csv_get(&c, 1, "2024-03-10", 2), "9");
        CHECK_STR(csv_get(&c, 2, "周一", 1 + 9), "77");
        CHECK_STR(csv_get(&c, 2, "周日", 1 + 23), "3");
        CHECK_STR(csv_get(&c, 3, "20001", 1), evil_name);
        CHECK_STR(csv_get(&c, 3, "20001", 2), "partner");
        CHECK_STR(csv_get(&c, 3, "20001", 3), "合作者");
        CHECK_STR(csv_get(&c, 3, "20001", 4), "2024-03-04 01:00");
        CHECK_STR(csv_get(&c, 3, "20003", 1), multiline_name);
        const char *f = csv_get(&c, 3, "20002", 1);
        CHECK(f && f[0] == '\'' && !strcmp(f + 1, formula_name));
        CHECK_STR(csv_get(&c, 3, "20004", 1), "'-2+3");
        CHECK_STR(csv_get(&c, 3, "20004", 18), "'@所有人");
        CHECK_STR(csv_get(&c, 4, "2024-02-26", 2), "6");
        CHECK_STR(csv_get(&c, 4, "2024-02-26", 4), ""); /* week 4 not reached yet */
        CHECK_STR(csv_get(&c, 5, "分享会", 1), "12");
        CHECK_STR(csv_get(&c, 6, "joined", 1), "3");
        CHECK_STR(csv_get(&c, 6, "activation_rate", 1), "0.666667");
        CHECK_STR(csv_get(&c, 6, "median_first_reply_s", 1), "90");
        CHECK_STR(csv_get(&c, 7, "30001", 1), evil_name);
        CHECK_STR(csv_get(&c, 7, "30001", 3), ""); /* never spoke */
        CHECK_STR(csv_get(&c, 7, "30001", 4), "");
        const char *nf = csv_get(&c, 7, "30002", 1);
        CHECK(nf && nf[0] == '\'' && !strcmp(nf + 1, formula_name));
        CHECK_STR(csv_get(&c, 7, "30002", 3), "2024-03-04 02:00");
        CHECK_STR(csv_get(&c, 7, "30002", 4), "0");
        CHECK_STR(csv_get(&c, 7, "30002", 6), "2024-03-04 03:00");
        const char *lbl = csv_get(&c, 8, "talk", 1);
        CHECK(lbl && lbl[0] == '\'' && !strcmp(lbl + 1, evil_label));
        CHECK_STR(csv_get(&c, 8, "talk", 2), "2024-03-04 20:00");
        CHECK_STR(csv_get(&c, 8, "talk", 11), "4.5");
        CHECK_STR(csv_get(&c, 8, "post", 7), ""); /* no baseline */
        CHECK_STR(csv_get(&c, 8, "post", 11), "");
        CHECK_STR(csv_get(&c, 9, "40001", 1), evil_name);
        CHECK_STR(csv_get(&c, 9, "40001", 3), "3");
        CHECK_STR(csv_get(&c, 10, "40001", 2), "'@所有人");
        CHECK_STR(csv_get(&c, 10, "40001", 4), ""); /* too recent to say */
        CHECK_STR(csv_get(&c, 11, "1", 1), "3");
        CHECK_STR(csv_get(&c, 12, "50001", 1), "'-1+1<i>");
        CHECK_STR(csv_get(&c, 12, "50001", 4), "0.25");
        CHECK_STR(csv_get(&c, 13, "keywords", 4), "1");
        CHECK_STR(csv_get(&c, 13, "manual", 2), "2");
    }
    csv_free(&c);
    free(text);
    free_report(&r);
}

/* ------------------------------------------------------------------ JSON */

static double num_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

TEST(json_parses_with_numbers_and_stable_names)
{
    struct qb_insight_report r;
    fill(&r);
    int rc;
    char *text = render(qb_insight_render_json, &r, &rc);
    CHECK_INT(rc, QB_OK);
    cJSON *j = cJSON_Parse(text);
    CHECK(j != NULL);
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(j, "overview");
    CHECK_STR(str_at(j, "group_id"), "100");
    CHECK(num_at(ov, "messages") == 1234);
    CHECK(num_at(ov, "net_growth") == -4);
    CHECK(num_at(ov, "dau") == 12.5);
    CHECK(num_at(ov, "dau_mau") == 0.3125);
    CHECK(num_at(ov, "median_response_s") == 300);
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(j, "range");
    CHECK_STR(str_at(range, "from"), "2024-03-04");
    CHECK_STR(str_at(range, "timezone"), "Asia/Shanghai");
    CHECK(num_at(range, "since_ms") == (double)MON_0304_SHANGHAI);
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(j, "members");
    CHECK_INT(cJSON_GetArraySize(members), 4);
    const cJSON *m0 = cJSON_GetArrayItem(members, 0);
    CHECK_STR(str_at(m0, "name"), evil_name);
    CHECK_STR(str_at(m0, "stage"), "partner");
    CHECK(num_at(m0, "value") == 88.5);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m0, "admin")));
    CHECK(cJSON_IsNull(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(members, 1), "last_msg_ms")));
    const cJSON *heat = cJSON_GetObjectItemCaseSensitive(j, "heatmap");
    CHECK_INT(cJSON_GetArraySize(heat), 7);
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(heat, 0), 9)->valuedouble == 77);
    const cJSON *daily = cJSON_GetObjectItemCaseSensitive(j, "daily");
    CHECK_INT(cJSON_GetArraySize(daily), 7);
    CHECK_STR(str_at(cJSON_GetArrayItem(daily, 6), "date"), "2024-03-10");
    CHECK(num_at(cJSON_GetArrayItem(daily, 2), "messages") == 300);
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "cohorts"), 0);
    CHECK(num_at(c0, "week1") == 6);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c0, "week4")));
    const cJSON *funnel = cJSON_GetObjectItemCaseSensitive(j, "funnel");
    CHECK_STR(str_at(cJSON_GetArrayItem(funnel, 4), "name"), "合作者");
    CHECK(num_at(cJSON_GetArrayItem(funnel, 0), "members") == 2);
    CHECK_STR(str_at(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "words"), 1), "text"),
              "<b>");
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(j, "newcomers");
    CHECK(num_at(nc, "joined") == 3);
    CHECK(num_at(nc, "median_first_reply_s") == 90);
    const cJSON *nl = cJSON_GetObjectItemCaseSensitive(nc, "list");
    CHECK_INT(cJSON_GetArraySize(nl), 2);
    CHECK_STR(str_at(cJSON_GetArrayItem(nl, 0), "name"), evil_name);
    CHECK(cJSON_IsNull(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(nl, 0), "first_msg_replied")));
    CHECK(cJSON_IsNull(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(nl, 0), "first_msg_ms")));
    CHECK(cJSON_IsFalse(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(nl, 1), "first_msg_replied")));
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(nc, "unanswered");
    CHECK_INT(cJSON_GetArraySize(un), 1);
    CHECK(num_at(cJSON_GetArrayItem(un, 0), "unanswered_question_ms") ==
          (double)(MON_0304_SHANGHAI + 3 * 3600000));
    const cJSON *ef = cJSON_GetObjectItemCaseSensitive(j, "effects");
    CHECK_INT(cJSON_GetArraySize(ef), 2);
    CHECK_STR(str_at(cJSON_GetArrayItem(ef, 0), "label"), evil_label);
    CHECK(num_at(cJSON_GetArrayItem(ef, 0), "lift") == 4.5);
    CHECK(num_at(cJSON_GetArrayItem(ef, 0), "base_joins") == 0.5);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ef, 1), "lift")));
    CHECK(cJSON_IsNull(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ef, 1), "base_messages")));
    CHECK(num_at(cJSON_GetArrayItem(ef, 1), "base_weeks") == 0);
    const cJSON *inv = cJSON_GetObjectItemCaseSensitive(j, "invites");
    const cJSON *lb0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(inv, "leaderboard"), 0);
    CHECK_STR(str_at(lb0, "name"), evil_name);
    CHECK(num_at(lb0, "stayed") == 3);
    const cJSON *tr0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(inv, "tree"), 0);
    CHECK_STR(str_at(tr0, "inviter"), "40001");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(tr0, "stayed")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(tr0, "left_ms")));
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(j, "communities");
    CHECK(num_at(cm, "count") == 2);
    CHECK(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cm, "sizes"), 1)->valuedouble == 3);
    const cJSON *b0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "bridges"), 0);
    CHECK_STR(str_at(b0, "name"), "-1+1<i>");
    CHECK(num_at(b0, "outside_share") == 0.25);
    CHECK(num_at(b0, "reached") == 2);
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(j, "moderation_by");
    CHECK_STR(str_at(cJSON_GetArrayItem(mb, 1), "detector"), "manual");
    CHECK(num_at(cJSON_GetArrayItem(mb, 0), "pardoned") == 1);
    cJSON_Delete(j);
    free(text);
    /* no median (no answered questions): null, not -1 */
    r.ov.median_response_s = -1;
    text = render(qb_insight_render_json, &r, &rc);
    j = cJSON_Parse(text);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "overview"), "median_response_s")));
    cJSON_Delete(j);
    free(text);
    free_report(&r);
}

/* ------------------------------------------------------------------ text */

TEST(text_summary_adds_newcomer_lines)
{
    struct qb_insight_report r;
    fill(&r);
    char *t = qb_insight_render_text(&r);
    CHECK(t && strstr(t, "新人 7 天内发言 2/3（67%）· 首条消息被回复 1 人") != NULL);
    CHECK(t && strstr(t, "新人提问没人回复：=HYPERLINK") != NULL);
    free(t);
    /* no newcomers: neither line */
    free_report(&r);
    fill(&r);
    qb_insight_newcomers_free(&r.newcomers);
    memset(&r.newcomers, 0, sizeof r.newcomers);
    t = qb_insight_render_text(&r);
    CHECK(t && strstr(t, "新人") == NULL);
    free(t);
    free_report(&r);
}

/* ------------------------------------------------------------------ failures */

TEST(full_disk_is_reported)
{
    struct qb_insight_report r;
    fill(&r);
    FILE *f = fopen("/dev/full", "w");
    CHECK(f != NULL);
    if (f) {
        CHECK_INT(qb_insight_render_html(&r, f), QB_EIO);
        clearerr(f);
        CHECK_INT(qb_insight_render_csv(&r, f), QB_EIO);
        clearerr(f);
        CHECK_INT(qb_insight_render_json(&r, f), QB_EIO);
        fclose(f);
    }
    free_report(&r);
}

int main(void)
{
    RUN(html_has_figures_charts_and_escaped_names);
    RUN(empty_report_says_so);
    RUN(csv_reads_back_with_quoting_and_neutralised_formulas);
    RUN(json_parses_with_numbers_and_stable_names);
    RUN(text_summary_adds_newcomer_lines);
    RUN(full_disk_is_reported);
    return test_done();
}
