/*
 * render_html.c — the engagement report as one self-contained HTML page: overview cards,
 * inline SVG charts drawn here (daily messages and speakers, weekday × hour heatmap, stage
 * funnel), a shaded cohort retention table, top members, hot words, newcomer activation,
 * effects of talks and posts, the invite leaderboard, bridge members and moderation by
 * detector.
 *
 * Reads a filled report and writes to the caller's stream; owns nothing after it returns.
 * The page loads no external resources and needs no JavaScript. Every string that came
 * from members (names, words, ids) is HTML-escaped. Never touches the database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "util/util.h"

#define TOP_MEMBERS 30
#define ACCENT      "43,125,233"

static const char *const weekday_names[7] = {"周一", "周二", "周三", "周四",
                                             "周五", "周六", "周日"};

static const char css[] =
        "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',"
        "sans-serif;margin:0;background:#f5f6f8;color:#1f2328}"
        "main{max-width:960px;margin:0 auto;padding:24px}"
        "h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}"
        ".sub{color:#57606a;margin:0 0 20px}"
        "section{background:#fff;border-radius:10px;padding:16px 20px;margin:0 0 16px;"
        "box-shadow:0 1px 2px rgba(0,0,0,.06)}"
        ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;"
        "background:none;box-shadow:none;padding:0}"
        ".card{background:#fff;border-radius:10px;padding:12px 14px;"
        "box-shadow:0 1px 2px rgba(0,0,0,.06)}"
        ".card .k{color:#57606a;font-size:13px}.card .v{font-size:22px;font-weight:600;"
        "margin-top:4px}.card .n{color:#57606a;font-size:12px;margin-top:2px}"
        "svg{max-width:100%;height:auto;font-size:11px}svg text{fill:#57606a}"
        "table{border-collapse:collapse;width:100%;font-size:14px}"
        "th,td{padding:6px 8px;border-bottom:1px solid #eaecef;text-align:left}"
        "td.num,th.num{text-align:right}.muted{color:#8c959f;font-size:12px}"
        ".words span{display:inline-block;margin:4px 10px 4px 0;color:rgb(" ACCENT ")}"
        ".words small{color:#8c959f;margin-left:2px}"
        ".legend{font-size:12px;color:#57606a}"
        ".legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}"
        "footer{color:#8c959f;font-size:12px;text-align:center;padding:8px}";

/* ------------------------------------------------------------------ text helpers */

/* Write s HTML-escaped (also inside attribute values); invalid UTF-8 becomes '?'. */
static void esc(FILE *out, const char *s)
{
    if (!s)
        return;
    char *copy = qb_strdup(s);
    if (!copy)
        return;
    qb_utf8_sanitize(copy, strlen(copy));
    for (const char *p = copy; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*p, out);
        }
    }
    free(copy);
}

static void local_date(const char *tz, int64_t ms, char out[11])
{
    ins_civil_fmt(ins_local_day(tz, ms, NULL), out);
}

/* The accent colour mixed into white by a (0..1), as "#rrggbb": plain fills that every SVG
 * viewer shows the same (no opacity). */
static void shade(double a, char out[8])
{
    static const int accent[3] = {43, 125, 233};
    a = a < 0 ? 0 : a > 1 ? 1 : a;
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (int)(255 + (accent[i] - 255) * a + 0.5);
    snprintf(out, 8, "#%02x%02x%02x", c[0] & 0xff, c[1] & 0xff, c[2] & 0xff);
}

static double finite_or(double v, double dflt)
{
    return isfinite(v) ? v : dflt;
}

/* ------------------------------------------------------------------ head and cards */

static void head(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_range *r = &rep->range;
    char from[11], to[11], gen[11];
    local_date(r->tz, r->since_ms, from);
    local_date(r->tz, r->until_ms - 1, to);
    struct tm tm;
    if (ins_local(r->tz, rep->generated_ms, &tm) != QB_OK)
        memset(&tm, 0, sizeof tm);
    local_date(r->tz, rep->generated_ms, gen);
    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>群报告 ",
          out);
    esc(out, rep->ov.group_id);
    fprintf(out, " %s–%s</title><style>%s</style></head>\n<body><main>\n<h1>群报告 ", from, to,
            css);
    esc(out, rep->ov.group_id);
    fprintf(out, "</h1><p class=\"sub\">%s – %s（", from, to);
    esc(out, r->tz && *r->tz ? r->tz : "UTC");
    fprintf(out, "）· 生成于 %s %02d:%02d</p>\n", gen, tm.tm_hour, tm.tm_min);
}

static void card(FILE *out, const char *key, const char *value, const char *note)
{
    fprintf(out, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\">%s</div>", key,
            value);
    if (note && *note)
        fprintf(out, "<div class=\"n\">%s</div>", note);
    fputs("</div>\n", out);
}

static void card_int(FILE *out, const char *key, int64_t v, const char *note)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)v);
    card(out, key, s, note);
}

static void cards(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_overview *o = &rep->ov;
    char v[64], n[96];
    fputs("<section class=\"cards\">\n", out);
    card_int(out, "消息", o->messages, "本期群消息条数");
    card_int(out, "发言人数", o->active_members, "本期至少发言一次");
    card_int(out, "成员", o->members, "期末在群人数");
    snprintf(v, sizeof v, "%.1f", finite_or(o->dau, 0));
    snprintf(n, sizeof n, "周活 %.1f · 月活 %.1f", finite_or(o->wau, 0), finite_or(o->mau, 0));
    card(out, "日活（平均）", v, n);
    snprintf(v, sizeof v, "%.0f%%", finite_or(o->dau_mau, 0) * 100.0);
    card(out, "粘性 日活/月活", v, "越高说明成员越常回来");
    snprintf(v, sizeof v, "%+lld", (long long)o->net_growth);
    snprintf(n, sizeof n, "入群 %lld · 退群 %lld", (long long)o->joins, (long long)o->leaves);
    card(out, "净增成员", v, n);
    snprintf(n, sizeof n, "签到率 %.0f%%", finite_or(o->checkin_rate, 0) * 100.0);
    card_int(out, "签到", o->checkins, n);
    snprintf(n, sizeof n, "听众 %lld 人次", (long long)o->talk_attendance);
    card_int(out, "分享会", o->talks, n);
    snprintf(n, sizeof n, "未回复 %lld 个", (long long)o->unanswered_questions);
    card_int(out, "提问", o->questions, n);
    if (o->median_response_s >= 0)
        snprintf(v, sizeof v, "%.0f 分钟", finite_or(o->median_response_s, 0) / 60.0);
    else
        snprintf(v, sizeof v, "—");
    card(out, "提问回复中位时间", v, "他人首次回复");
    snprintf(n, sizeof n, "赦免 %lld 次", (long long)o->pardons);
    card_int(out, "处理违规", o->moderation, n);
    snprintf(v, sizeof v, "%.0f%%", finite_or(o->top10_share, 0) * 100.0);
    card(out, "头部 10% 成员消息占比", v, "越高说明越依赖少数人");
    fputs("</section>\n", out);
}

/* ------------------------------------------------------------------ daily chart */

static int64_t max_of(const int64_t *v, size_t n)
{
    int64_t m = 0;
    for (size_t i = 0; v && i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

static void daily_chart(const struct qb_insight_report *rep, FILE *out)
{
    fputs("<section><h2>每日消息与发言人数</h2>\n", out);
    size_t n = rep->n_days;
    if (!n || !rep->daily_messages || !rep->daily_active) {
        fputs("<p class=\"muted\">本期没有数据。</p></section>\n", out);
        return;
    }
    const double W = 720, H = 220, L = 48, R = 40, T = 12, B = 28;
    double pw = W - L - R, ph = H - T - B, bw = pw / (double)n;
    int64_t mm = max_of(rep->daily_messages, n), ma = max_of(rep->daily_active, n);
    double sm = mm > 0 ? (double)mm : 1, sa = ma > 0 ? (double)ma : 1;
    int64_t day0 = ins_local_day(rep->range.tz, rep->range.since_ms, NULL);
    fprintf(out,
            "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
            "aria-label=\"每日消息\">\n",
            W, H, W, H);
    fprintf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#d0d7de\"/>\n", L,
            T + ph, L + pw, T + ph);
    for (size_t i = 0; i < n; i++) {
        char d[11];
        ins_civil_fmt(day0 + (int64_t)i, d);
        double h = ph * (double)rep->daily_messages[i] / sm;
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#5b9bef\"><title>%s：%lld 条消息，%lld "
                "人发言</title></rect>\n",
                L + bw * (double)i + bw * 0.1, T + ph - h, bw * 0.8 > 0.5 ? bw * 0.8 : 0.5, h, d,
                (long long)rep->daily_messages[i], (long long)rep->daily_active[i]);
    }
    fputs("<polyline fill=\"none\" stroke=\"#e8590c\" stroke-width=\"2\" points=\"", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%.1f,%.1f", i ? " " : "", L + bw * ((double)i + 0.5),
                T + ph - ph * (double)rep->daily_active[i] / sa);
    fputs("\"/>\n", out);
    char first[11], last[11];
    ins_civil_fmt(day0, first);
    ins_civil_fmt(day0 + (int64_t)n - 1, last);
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%lld</text>\n", L - 6, T + 10,
            (long long)mm);
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n", L - 6, T + ph);
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">%lld</text>\n", L + pw + 6, T + 10, (long long)ma);
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", L, H - 8, first);
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n", L + pw, H - 8,
            last);
    fputs("</svg>\n<div class=\"legend\"><i style=\"background:#5b9bef\"></i>消息（左轴）"
          "<i style=\"background:#e8590c\"></i>发言人数（右轴）</div></section>\n",
          out);
}

/* ------------------------------------------------------------------ heatmap */

static void heatmap(const struct qb_insight_report *rep, FILE *out)
{
    const double L = 40, T = 18, CW = 26, CH = 22;
    int64_t mx = 0;
    for (int d = 0; d < 7; d++)
        for (int h = 0; h < 24; h++)
            mx = rep->heat[d][h] > mx ? rep->heat[d][h] : mx;
    fputs("<section><h2>活跃时段（星期 × 小时）</h2>\n", out);
    fprintf(out,
            "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
            "aria-label=\"活跃时段\">\n",
            L + 24 * CW, T + 7 * CH + 4, L + 24 * CW, T + 7 * CH + 4);
    for (int h = 0; h < 24; h += 3)
        fprintf(out, "<text x=\"%.1f\" y=\"12\" text-anchor=\"middle\">%d 时</text>\n",
                L + CW * h + CW / 2, h);
    for (int d = 0; d < 7; d++) {
        fprintf(out, "<text x=\"0\" y=\"%.1f\">%s</text>\n", T + CH * d + CH * 0.7,
                weekday_names[d]);
        for (int h = 0; h < 24; h++) {
            int64_t v = rep->heat[d][h];
            char fill[8];
            shade(mx > 0 && v > 0 ? 0.12 + 0.88 * (double)v / (double)mx : 0, fill);
            fprintf(out,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"3\" "
                    "fill=\"%s\"><title>%s %02d:00–%02d:59：%lld 条</title></rect>\n",
                    L + CW * h + 1, T + CH * d + 1, CW - 2, CH - 2, v > 0 ? fill : "#eef0f3",
                    weekday_names[d], h, h, (long long)v);
        }
    }
    fprintf(out,
            "</svg>\n<div class=\"legend\">颜色越深消息越多；最多一格 %lld 条</div>"
            "</section>\n",
            (long long)mx);
}

/* ------------------------------------------------------------------ funnel */

static void funnel(const struct qb_insight_report *rep, FILE *out)
{
    int64_t reached[QB_STAGE__COUNT], total = 0;
    for (int s = QB_STAGE__COUNT - 1; s >= 0; s--) {
        total += rep->funnel[s];
        reached[s] = total;
    }
    const double W = 720, L = 70, ROW = 34, BH = 22, pw = W - L - 250;
    fputs("<section><h2>成员阶段漏斗</h2>\n", out);
    fprintf(out,
            "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
            "aria-label=\"成员阶段\">\n",
            W, ROW * QB_STAGE__COUNT, W, ROW * QB_STAGE__COUNT);
    for (int s = 0; s < QB_STAGE__COUNT; s++) {
        double share = total > 0 ? (double)reached[s] / (double)total : 0;
        double w = pw * share, y = ROW * s + 4;
        fprintf(out, "<text x=\"0\" y=\"%.1f\" style=\"font-size:13px\">%s</text>\n", y + 15,
                qb_insight_stage_name((enum qb_insight_stage)s));
        char fill[8];
        shade(0.4 + 0.15 * s, fill);
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" rx=\"3\" "
                "fill=\"%s\"/>\n",
                L + (pw - w) / 2, y, w, BH, fill);
        fprintf(out,
                "<text x=\"%.1f\" y=\"%.1f\" style=\"font-size:12px\">在此阶段 %lld 人 · 累计达到 "
                "%lld 人（%.0f%%）</text>\n",
                L + pw + 10, y + 15, (long long)rep->funnel[s], (long long)reached[s],
                share * 100.0);
    }
    fputs("</svg>\n<div class=\"legend\">围观者：从未发言 · 关注者：发言或回复 · "
          "消费者：签到、听分享、报名 · 传播者：邀请的人留下或常被回复 · "
          "合作者：做过分享或是管理员</div></section>\n",
          out);
}

/* ------------------------------------------------------------------ cohorts */

static void cohort_cell(FILE *out, int64_t active, int64_t joined)
{
    if (active < 0) {
        fputs("<td class=\"num muted\">—</td>", out);
        return;
    }
    double p = joined > 0 ? (double)active / (double)joined : 0;
    char bg[8];
    shade(0.06 + 0.6 * p, bg);
    fprintf(out, "<td class=\"num\" style=\"background:%s\">%lld（%.0f%%）</td>", bg,
            (long long)active, p * 100.0);
}

static void cohorts(const struct qb_insight_report *rep, FILE *out)
{
    fputs("<section><h2>新成员留存（按入群周）</h2>\n", out);
    if (!rep->n_cohorts) {
        fputs("<p class=\"muted\">本期没有新成员入群。</p></section>\n", out);
        return;
    }
    fputs("<table><thead><tr><th>入群周（周一）</th><th class=\"num\">入群</th>"
          "<th class=\"num\">第 1 周</th><th class=\"num\">第 2 周</th>"
          "<th class=\"num\">第 4 周</th><th class=\"num\">第 8 周</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < rep->n_cohorts; i++) {
        const struct qb_insight_cohort *c = &rep->cohorts[i];
        fputs("<tr><td>", out);
        esc(out, c->week);
        fprintf(out, "</td><td class=\"num\">%lld</td>", (long long)c->joined);
        for (int k = 0; k < 4; k++)
            cohort_cell(out, c->active[k], c->joined);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table><div class=\"legend\">仍在发言的人数（占该周入群人数）；"
          "— 表示还没到那一周</div></section>\n",
          out);
}

/* ------------------------------------------------------------------ members and words */

static void members(const struct qb_insight_report *rep, FILE *out)
{
    fputs("<section><h2>核心成员</h2>\n", out);
    if (!rep->n_members) {
        fputs("<p class=\"muted\">还没有成员数据。</p></section>\n", out);
        return;
    }
    fputs("<table><thead><tr><th class=\"num\">#</th><th>成员</th><th>阶段</th>"
          "<th class=\"num\">消息</th><th class=\"num\">价值分</th><th>依据</th></tr></thead>"
          "<tbody>\n",
          out);
    size_t n = rep->n_members < TOP_MEMBERS ? rep->n_members : TOP_MEMBERS;
    for (size_t i = 0; i < n; i++) {
        const struct qb_insight_member *m = &rep->members[i];
        fprintf(out, "<tr><td class=\"num\">%zu</td><td>", i + 1);
        esc(out, m->name[0] ? m->name : m->user_id);
        fputs(" <span class=\"muted\">", out);
        esc(out, m->user_id);
        fprintf(out, "</span>%s</td><td>%s</td><td class=\"num\">%lld</td>",
                m->admin ? " <span class=\"muted\">管理员</span>" : "",
                qb_insight_stage_name(m->stage), (long long)m->messages);
        fprintf(out, "<td class=\"num\">%.1f</td><td>", finite_or(m->value, 0));
        esc(out, m->value_why);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>", out);
    if (rep->n_members > n)
        fprintf(out,
                "<div class=\"legend\">按价值分列出前 %zu 位，共 %zu 位成员（完整名单见 CSV "
                "或 JSON 导出）</div>",
                n, rep->n_members);
    fputs("</section>\n", out);
}

static void words(const struct qb_insight_report *rep, FILE *out)
{
    fputs("<section><h2>热词</h2>\n", out);
    if (!rep->n_words) {
        fputs("<p class=\"muted\">本期没有足够的聊天内容。</p></section>\n", out);
        return;
    }
    int64_t top = rep->words[0].count > 0 ? rep->words[0].count : 1;
    fputs("<div class=\"words\">", out);
    for (size_t i = 0; i < rep->n_words && i < sizeof rep->words / sizeof rep->words[0]; i++) {
        const struct qb_insight_word *w = &rep->words[i];
        fprintf(out, "<span style=\"font-size:%.0fpx\">", 14 + 14 * (double)w->count / (double)top);
        esc(out, w->text);
        fprintf(out, "<small>%lld</small></span>", (long long)w->count);
    }
    fputs("</div></section>\n", out);
}

/* ------------------------------------------------------------------ newcomers, effects,
 * invites, bridges, moderation */

/* "YYYY-MM-DD HH:MM" local to the report, or "—" for 0. */
static void local_when(const char *tz, int64_t ms, char out[32])
{
    struct tm tm;
    if (ms <= 0 || ins_local(tz, ms, &tm) != QB_OK) {
        snprintf(out, 32, "—");
        return;
    }
    snprintf(out, 32, "%04d-%02d-%02d %02d:%02d", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100);
}

/* A member cell: the name (or the id) and the id, escaped. */
static void who(FILE *out, const char *name, const char *user_id)
{
    esc(out, name && *name ? name : user_id);
    fputs(" <span class=\"muted\">", out);
    esc(out, user_id);
    fputs("</span>", out);
}

/* Seconds as a short duration: "12 分钟", "3.5 小时", "2.0 天". */
static void span(double s, char *out, size_t n)
{
    if (s < 0 || !isfinite(s))
        snprintf(out, n, "—");
    else if (s < 3600)
        snprintf(out, n, "%.0f 分钟", s / 60.0);
    else if (s < 86400)
        snprintf(out, n, "%.1f 小时", s / 3600.0);
    else
        snprintf(out, n, "%.1f 天", s / 86400.0);
}

static void newcomers(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_newcomers *n = &rep->newcomers;
    fputs("<section><h2>新成员激活</h2>\n", out);
    if (!n->joined) {
        fputs("<p class=\"muted\">本期没有新成员入群。</p></section>\n", out);
        return;
    }
    char first[32], reply[32];
    span(n->spoke > 0 ? n->median_first_msg_s : -1, first, sizeof first);
    span(n->first_replied > 0 ? n->median_first_reply_s : -1, reply, sizeof reply);
    fprintf(out,
            "<p>入群 %lld 人 · 已发言 %lld 人 · 7 天内发言 %lld 人（激活率 %.0f%%）· "
            "首次发言中位 %s · 首条消息被回复 %lld 人，回复中位 %s</p>\n",
            (long long)n->joined, (long long)n->spoke, (long long)n->spoke_7d,
            finite_or(n->activation_rate, 0) * 100.0, first, (long long)n->first_replied, reply);
    if (!n->n_unanswered) {
        fputs("<p class=\"muted\">没有新成员的提问被冷落。</p></section>\n", out);
        return;
    }
    fputs("<table><thead><tr><th>提问没人回复的新成员</th><th>入群</th><th>提问时间</th>"
          "</tr></thead><tbody>\n",
          out);
    for (size_t i = 0; n->unanswered && i < n->n_unanswered; i++) {
        const struct qb_insight_newcomer *m = &n->unanswered[i];
        char joined[32], asked[32];
        local_when(rep->range.tz, m->joined_ms, joined);
        local_when(rep->range.tz, m->unanswered_question_ms, asked);
        fputs("<tr><td>", out);
        who(out, m->name, m->user_id);
        fprintf(out, "</td><td>%s</td><td>%s</td></tr>\n", joined, asked);
    }
    fputs("</tbody></table><div class=\"legend\">入群 14 天内提的第一个没人回复的问题</div>"
          "</section>\n",
          out);
}

static const char *effect_kind(const char *kind)
{
    if (!strcmp(kind, "talk"))
        return "分享会";
    if (!strcmp(kind, "post"))
        return "定时消息";
    if (!strcmp(kind, "broadcast"))
        return "群发";
    return "其他";
}

static void effects(const struct qb_insight_report *rep, FILE *out)
{
    fputs("<section><h2>活动效果</h2>\n", out);
    if (!rep->n_effects || !rep->effects) {
        fputs("<p class=\"muted\">本期没有可衡量的分享会、定时消息或群发。</p></section>\n", out);
        return;
    }
    fputs("<table><thead><tr><th>类型</th><th>内容</th><th>时间</th>"
          "<th class=\"num\">消息（平时）</th><th class=\"num\">发言人数（平时）</th>"
          "<th class=\"num\">入群（平时）</th><th class=\"num\">提升</th></tr></thead>"
          "<tbody>\n",
          out);
    for (size_t i = 0; i < rep->n_effects; i++) {
        const struct qb_insight_effect *e = &rep->effects[i];
        char t[32];
        local_when(rep->range.tz, e->ts, t);
        fprintf(out, "<tr><td>%s</td><td>", effect_kind(e->kind));
        esc(out, e->label);
        fprintf(out, "</td><td>%s</td>", t);
        bool base = e->base_weeks > 0;
        const int64_t now[3] = {e->messages, e->speakers, e->joins};
        const double was[3] = {e->base_messages, e->base_speakers, e->base_joins};
        for (int k = 0; k < 3; k++) {
            if (base)
                fprintf(out, "<td class=\"num\">%lld（%.1f）</td>", (long long)now[k],
                        finite_or(was[k], 0));
            else
                fprintf(out, "<td class=\"num\">%lld（—）</td>", (long long)now[k]);
        }
        if (e->lift >= 0 && isfinite(e->lift))
            fprintf(out, "<td class=\"num\">×%.2f</td></tr>\n", e->lift);
        else
            fputs("<td class=\"num muted\">—</td></tr>\n", out);
    }
    fprintf(out,
            "</tbody></table><div class=\"legend\">活动开始那个小时起 %d 小时内（按整点），"
            "括号里是前几周同一星期同一时段的平均；提升 = 消息 ÷ 平时消息</div></section>\n",
            QB_INSIGHT_EFFECT_WINDOW_H);
}

static void inviters(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_invites *inv = &rep->invites;
    fputs("<section><h2>邀请排行</h2>\n", out);
    if (!inv->n_leaderboard || !inv->leaderboard) {
        fputs("<p class=\"muted\">还没有记录到邀请入群。</p></section>\n", out);
        return;
    }
    fputs("<table><thead><tr><th class=\"num\">#</th><th>邀请人</th><th class=\"num\">邀请"
          "</th><th class=\"num\">留下</th><th class=\"num\">已退群</th></tr></thead>"
          "<tbody>\n",
          out);
    for (size_t i = 0; i < inv->n_leaderboard; i++) {
        const struct qb_insight_inviter *v = &inv->leaderboard[i];
        fprintf(out, "<tr><td class=\"num\">%zu</td><td>", i + 1);
        who(out, v->name, v->user_id);
        fprintf(out,
                "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
                "<td class=\"num\">%lld</td></tr>\n",
                (long long)v->invited, (long long)v->stayed, (long long)v->left);
    }
    fprintf(out,
            "</tbody></table><div class=\"legend\">截至本期末的全部邀请；留下 = 入群 7 "
            "天后仍在群里。"
            "本期被邀请入群 %zu 人（明细见 CSV 或 JSON 导出）</div></section>\n",
            inv->n_tree);
}

static void bridges(const struct qb_insight_report *rep, FILE *out)
{
    const struct qb_insight_bridges *br = &rep->bridges;
    fputs("<section><h2>桥梁成员</h2>\n", out);
    fprintf(out, "<p>交流圈子 %lld 个", (long long)br->count);
    for (size_t i = 0; br->sizes && i < br->n_sizes && i < 10; i++)
        fprintf(out, "%s%lld", i ? "、" : "，人数 ", (long long)br->sizes[i]);
    fputs(br->n_sizes > 10 ? "……</p>\n" : "</p>\n", out);
    if (!br->n || !br->v) {
        fputs("<p class=\"muted\">没有同时连接两个以上圈子的成员。</p></section>\n", out);
        return;
    }
    fputs("<table><thead><tr><th>成员</th><th class=\"num\">所在圈子</th>"
          "<th class=\"num\">连接其他圈子</th><th class=\"num\">圈外互动占比</th>"
          "<th class=\"num\">互动次数</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < br->n; i++) {
        const struct qb_insight_bridge *v = &br->v[i];
        fputs("<tr><td>", out);
        who(out, v->name, v->user_id);
        fprintf(out,
                "</td><td class=\"num\">%zu</td><td class=\"num\">%lld</td>"
                "<td class=\"num\">%.0f%%</td><td class=\"num\">%.0f</td></tr>\n",
                v->community + 1, (long long)v->reached, finite_or(v->outside_share, 0) * 100.0,
                finite_or(v->weight, 0));
    }
    fputs("</tbody></table><div class=\"legend\">圈子由回复和 @ 关系自动划分（1 号最大）；"
          "桥梁成员与至少两个别的圈子都有互动</div></section>\n",
          out);
}

static void moderation_by(const struct qb_insight_report *rep, FILE *out)
{
    fputs("<section><h2>按检测器的管理次数</h2>\n", out);
    if (!rep->n_moderation_by || !rep->moderation_by) {
        fputs("<p class=\"muted\">本期没有违规处理记录。</p></section>\n", out);
        return;
    }
    fputs("<table><thead><tr><th>检测器</th><th class=\"num\">命中</th>"
          "<th class=\"num\">已处理</th><th class=\"num\">案件</th>"
          "<th class=\"num\">已赦免</th></tr></thead><tbody>\n",
          out);
    for (size_t i = 0; i < rep->n_moderation_by; i++) {
        const struct qb_insight_moderation *m = &rep->moderation_by[i];
        fputs("<tr><td>", out);
        if (!strcmp(m->detector, "manual"))
            fputs("管理员撤回 <span class=\"muted\">manual</span>", out);
        else
            esc(out, m->detector);
        fprintf(out,
                "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
                "<td class=\"num\">%lld</td><td class=\"num\">%lld</td></tr>\n",
                (long long)m->hits, (long long)m->acted, (long long)m->cases,
                (long long)m->pardoned);
    }
    fputs("</tbody></table></section>\n", out);
}

int qb_insight_render_html(const struct qb_insight_report *rep, FILE *out)
{
    if (!rep || !out)
        return QB_EINVAL;
    head(rep, out);
    cards(rep, out);
    daily_chart(rep, out);
    heatmap(rep, out);
    funnel(rep, out);
    cohorts(rep, out);
    members(rep, out);
    words(rep, out);
    newcomers(rep, out);
    effects(rep, out);
    inviters(rep, out);
    bridges(rep, out);
    moderation_by(rep, out);
    fputs("<footer>qunbot " QB_VERSION " · 数据来自机器人记录的群互动，仅供群管理参考</footer>\n"
          "</main></body></html>\n",
          out);
    return fflush(out) == 0 && !ferror(out) ? QB_OK : QB_EIO;
}
