/*
 * render_text.c — the short chat summary of a report (群报告): about eight Chinese lines for
 * admins, sent by the insight plugin's /report and weekly digest.
 *
 * Reads a filled report; returns a malloc'd string. Member names are plain text (the
 * plugin sends them as a text segment, never markup). No I/O, no database.
 */
#include <stdio.h>
#include <string.h>

#include "metrics_internal.h"
#include "util/util.h"

static void pct(char *out, size_t n, double v)
{
    snprintf(out, n, "%.0f%%", v * 100.0);
}

/* At most two lines: newcomers' activation and their unanswered questions. */
static void newcomer_lines(struct qb_buf *b, const struct qb_insight_newcomers *n)
{
    if (n->joined > 0) {
        char rate[16];
        pct(rate, sizeof rate, n->activation_rate);
        qb_buf_printf(b, "新人 7 天内发言 %lld/%lld（%s）· 首条消息被回复 %lld 人\n",
                      (long long)n->spoke_7d, (long long)n->joined, rate,
                      (long long)n->first_replied);
    }
    if (!n->n_unanswered || !n->unanswered)
        return;
    for (size_t i = 0; i < n->n_unanswered && i < 3; i++)
        qb_buf_printf(b, "%s%s", i ? "、" : "新人提问没人回复：",
                      n->unanswered[i].name[0] ? n->unanswered[i].name : n->unanswered[i].user_id);
    if (n->n_unanswered > 3)
        qb_buf_printf(b, " 等 %zu 人", n->n_unanswered);
    qb_buf_puts(b, "\n");
}

char *qb_insight_render_text(const struct qb_insight_report *rep)
{
    struct qb_buf b;
    qb_buf_init(&b);
    const struct qb_insight_overview *o = &rep->ov;
    char from[11], to[11], stick[16], top[16];
    ins_civil_fmt(ins_local_day(rep->range.tz, rep->range.since_ms, NULL), from);
    ins_civil_fmt(ins_local_day(rep->range.tz, rep->range.until_ms - 1, NULL), to);
    pct(stick, sizeof stick, o->dau_mau);
    pct(top, sizeof top, o->top10_share);
    qb_buf_printf(&b, "📊 群报告 %s ~ %s\n", from, to);
    qb_buf_printf(&b, "消息 %lld 条 · 发言 %lld 人 · 成员 %lld 人\n", (long long)o->messages,
                  (long long)o->active_members, (long long)o->members);
    qb_buf_printf(&b, "日活 %.1f · 月活 %.1f · 粘性 %s\n", o->dau, o->mau, stick);
    qb_buf_printf(&b, "入群 %lld · 退群 %lld · 净增 %+lld\n", (long long)o->joins,
                  (long long)o->leaves, (long long)o->net_growth);
    newcomer_lines(&b, &rep->newcomers);
    if (o->median_response_s >= 0)
        qb_buf_printf(&b, "提问 %lld 个 · 未回复 %lld · 回复中位 %.0f 分钟\n",
                      (long long)o->questions, (long long)o->unanswered_questions,
                      o->median_response_s / 60.0);
    else
        qb_buf_printf(&b, "提问 %lld 个 · 未回复 %lld\n", (long long)o->questions,
                      (long long)o->unanswered_questions);
    if (o->checkins || o->talks || o->moderation)
        qb_buf_printf(&b, "签到 %lld 次 · 分享 %lld 场 · 处理违规 %lld 次\n",
                      (long long)o->checkins, (long long)o->talks, (long long)o->moderation);
    qb_buf_printf(&b, "头部 10%% 成员贡献 %s 的消息\n", top);
    qb_buf_puts(&b, "成员阶段：");
    for (int s = QB_STAGE__COUNT - 1; s >= 0; s--)
        qb_buf_printf(&b, "%s %lld%s", qb_insight_stage_name((enum qb_insight_stage)s),
                      (long long)rep->funnel[s], s ? " · " : "\n");
    size_t shown = 0;
    for (size_t i = 0; i < rep->n_members && shown < 3; i++) {
        const struct qb_insight_member *m = &rep->members[i];
        if (!m->messages)
            continue;
        qb_buf_printf(&b, "%s%s(%lld)", shown ? "、" : "活跃：", m->name[0] ? m->name : m->user_id,
                      (long long)m->messages);
        shown++;
    }
    if (shown)
        qb_buf_puts(&b, "\n");
    for (size_t i = 0; i < rep->n_words && i < 5; i++)
        qb_buf_printf(&b, "%s%s", i ? " " : "热词：", rep->words[i].text);
    if (b.len && b.p[b.len - 1] == '\n')
        b.p[--b.len] = '\0';
    return qb_buf_steal(&b);
}
