/*
 * test_cq.c — the OneBot v11 CQ-code string format: escaping rules, parsing (including
 * malformed codes, which stay plain text) and encode → parse round trips, so member text
 * can never turn into CQ markup.
 * link: qb_model
 */
#include <stdlib.h>

#include "net/adapter.h"
#include "test.h"
#include "util/util.h"

static void check_escape(const char *in, bool param, const char *want)
{
    char *e = qb_cq_escape(in, param);
    CHECK_STR(e, want);
    char *u = qb_cq_unescape(e);
    CHECK_STR(u, in);
    free(e);
    free(u);
}

TEST(escape_and_unescape)
{
    check_escape("[x] a&b,c", false, "&#91;x&#93; a&amp;b,c");
    check_escape("[x] a&b,c", true, "&#91;x&#93; a&amp;b&#44;c");
    check_escape("&#91;", false, "&amp;#91;");
    check_escape("&amp;", true, "&amp;amp;");
    check_escape("", false, "");
    check_escape("中文，逗号", true, "中文，逗号");
    char *u = qb_cq_unescape("&#44;&#91;&#93;&amp;&#9;&am");
    CHECK_STR(u, ",[]&&#9;&am");
    free(u);
    CHECK(qb_cq_escape(NULL, false) == NULL);
    CHECK(qb_cq_unescape(NULL) == NULL);
}

TEST(parse_codes)
{
    struct qb_msg m;
    qb_msg_init(&m);
    CHECK_INT(qb_cq_parse("[CQ:reply,id=9][CQ:at,qq=10001] hi &#91;1&#93;[CQ:image,file=a.png,"
                          "url=https://h/x?a=1&amp;b=2,sub_type=1][CQ:at,qq=all]",
                          &m),
              QB_OK);
    CHECK_INT(m.n, 5);
    if (m.n == 5) {
        CHECK_INT(m.segs[0].type, QB_SEG_REPLY);
        CHECK_STR(m.segs[0].text, "9");
        CHECK_INT(m.segs[1].type, QB_SEG_AT);
        CHECK_STR(m.segs[1].text, "10001");
        CHECK_STR(m.segs[2].text, " hi [1]");
        CHECK_INT(m.segs[3].type, QB_SEG_IMAGE);
        CHECK_STR(m.segs[3].file, "a.png");
        CHECK_STR(m.segs[3].url, "https://h/x?a=1&b=2");
        CHECK_INT(m.segs[3].flags, QB_SEGF_STICKER);
        CHECK_STR(m.segs[4].text, "all");
    }
    CHECK_STR(m.plain, "@10001 hi [1][动画表情]@全体成员");
    qb_msg_clear(&m);
}

TEST(values_split_on_first_equals_and_unknown_types_kept)
{
    struct qb_msg m;
    qb_msg_init(&m);
    CHECK_INT(qb_cq_parse("[CQ:share,url=https://h/?q=a=b,title=T&#44;x][CQ:dice,result=4]"
                          "[CQ:json,data={\"a\":1&#44;\"b\":2}]",
                          &m),
              QB_OK);
    CHECK_INT(m.n, 3);
    if (m.n == 3) {
        CHECK_INT(m.segs[0].type, QB_SEG_SHARE);
        CHECK_STR(m.segs[0].url, "https://h/?q=a=b");
        CHECK_STR(m.segs[0].text, "T,x");
        CHECK_INT(m.segs[1].type, QB_SEG_UNKNOWN);
        CHECK_STR(m.segs[1].type_name, "dice");
        CHECK_STR(m.segs[1].raw, "{\"result\":\"4\"}");
        CHECK_INT(m.segs[2].type, QB_SEG_JSON);
        CHECK_STR(m.segs[2].text, "{\"a\":1,\"b\":2}");
    }
    CHECK_STR(m.plain, "[链接][dice][卡片]");
    qb_msg_clear(&m);
}

/* Each of these is not a well-formed code and must come back as the same plain text. */
TEST(malformed_codes_are_text)
{
    static const char *const cases[] = {
            "[CQ:",          "[CQ:at",        "[CQ:at,qq=1",  "[CQ:,qq=1]",    "[CQ:at,=1]",
            "[CQ:at,qq]",    "[CQ:a t,qq=1]", "[CQ:at;qq=1]", "[CQ:at,q q=1]", "[cq:at,qq=1]",
            "[CQ:at,qq=1,]", "x [CQ:at,qq=1", "[CQ:[CQ:",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct qb_msg m;
        qb_msg_init(&m);
        CHECK_INT(qb_cq_parse(cases[i], &m), QB_OK);
        CHECK_INT(m.n, 1);
        if (m.n == 1) {
            CHECK_INT(m.segs[0].type, QB_SEG_TEXT);
            CHECK_STR(m.segs[0].text, cases[i]);
        }
        qb_msg_clear(&m);
    }
    /* a broken code followed by a good one: text then the code */
    struct qb_msg m;
    qb_msg_init(&m);
    qb_cq_parse("a[CQ:at b[CQ:at,qq=2]b", &m);
    CHECK_INT(m.n, 3);
    if (m.n == 3) {
        CHECK_STR(m.segs[0].text, "a[CQ:at b");
        CHECK_STR(m.segs[1].text, "2");
        CHECK_STR(m.segs[2].text, "b");
    }
    qb_msg_clear(&m);
    /* values may contain '[' (only ',' and ']' end them) */
    qb_cq_parse("[CQ:at,qq=1[CQ:at,qq=2]", &m);
    CHECK_INT(m.n, 1);
    if (m.n == 1)
        CHECK_STR(m.segs[0].text, "1[CQ:at");
    qb_msg_clear(&m);
    /* empty and NULL input give an empty message */
    CHECK_INT(qb_cq_parse("", &m), QB_OK);
    CHECK_INT(qb_cq_parse(NULL, &m), QB_OK);
    CHECK_INT(m.n, 0);
    CHECK_STR(m.plain, "");
    qb_msg_clear(&m);
}

TEST(encode_escapes_text_and_params)
{
    struct qb_msg m;
    qb_msg_init(&m);
    qb_msg_text(&m, "[x] a&b,c");
    qb_msg_image(&m, "https://h/x.png?a=1&b=2,3");
    char *s = qb_cq_encode(&m);
    CHECK_STR(s, "&#91;x&#93; a&amp;b,c[CQ:image,url=https://h/x.png?a=1&amp;b=2&#44;3,"
                 "file=https://h/x.png?a=1&amp;b=2&#44;3]");
    free(s);
    qb_msg_clear(&m);
    /* member text that looks like a code is escaped, not executed */
    qb_msg_text(&m, "[CQ:at,qq=all]");
    s = qb_cq_encode(&m);
    CHECK_STR(s, "&#91;CQ:at,qq=all&#93;");
    free(s);
    qb_msg_clear(&m);
    s = qb_cq_encode(&m);
    CHECK_STR(s, "");
    free(s);
}

/* encode → parse gives the segments back exactly. */
TEST(round_trips)
{
    struct qb_msg a, b;
    qb_msg_init(&a);
    qb_msg_init(&b);
    qb_msg_reply(&a, "918");
    qb_msg_at(&a, "20002");
    qb_msg_text(&a, "[x] a&b,c &#91; &amp; ]]");
    qb_msg_add(&a, QB_SEG_FILE, NULL, "报告,2024].pdf", NULL, "f,1");
    qb_msg_add(&a, QB_SEG_JSON, NULL, "{\"a\":[1,2]}", NULL, NULL);
    struct qb_seg *st =
            qb_msg_add(&a, QB_SEG_IMAGE, "mface", NULL, "https://h/s.gif?x=1&y=2", NULL);
    st->flags = QB_SEGF_STICKER;
    struct qb_seg *img = qb_msg_add(&a, QB_SEG_IMAGE, NULL, NULL, NULL, "pic.png");
    img->flags = QB_SEGF_STICKER;
    struct qb_seg *u = qb_msg_add(&a, QB_SEG_UNKNOWN, "poke", NULL, NULL, NULL);
    u->raw = strdup("{\"type\":\"126\",\"id\":\"2003\"}");
    qb_msg_finish(&a);
    char *s = qb_cq_encode(&a);
    CHECK_INT(qb_cq_parse(s, &b), QB_OK);
    CHECK_INT(b.n, a.n);
    for (size_t i = 0; i < a.n && i < b.n; i++) {
        CHECK_INT(b.segs[i].type, a.segs[i].type);
        CHECK_STR(b.segs[i].type_name, a.segs[i].type_name);
        CHECK((a.segs[i].text == NULL) == (b.segs[i].text == NULL));
        if (a.segs[i].text)
            CHECK_STR(b.segs[i].text, a.segs[i].text);
        if (a.segs[i].url)
            CHECK_STR(b.segs[i].url, a.segs[i].url);
        if (a.segs[i].file)
            CHECK_STR(b.segs[i].file, a.segs[i].file);
        if (a.segs[i].raw)
            CHECK_STR(b.segs[i].raw, a.segs[i].raw);
        CHECK_INT(b.segs[i].flags, a.segs[i].flags);
    }
    CHECK_STR(b.plain, a.plain);
    free(s);
    qb_msg_clear(&a);
    qb_msg_clear(&b);
}

/* Many broken codes that all fail at the very end: must stay linear, not scan the rest of
 * the string once per "[CQ:" (this would take minutes if it did). */
TEST(hostile_string_stays_fast)
{
    struct qb_buf b;
    qb_buf_init(&b);
    for (int i = 0; i < 50000; i++)
        qb_buf_puts(&b, "[CQ:a,b=1");
    qb_buf_puts(&b, ",=]");
    struct qb_msg m;
    qb_msg_init(&m);
    CHECK_INT(qb_cq_parse(b.p, &m), QB_OK);
    CHECK_INT(m.n, 1);
    if (m.n == 1)
        CHECK_STR(m.segs[0].text, b.p);
    qb_msg_clear(&m);
    qb_buf_free(&b);
}

int main(void)
{
    RUN(escape_and_unescape);
    RUN(parse_codes);
    RUN(values_split_on_first_equals_and_unknown_types_kept);
    RUN(malformed_codes_are_text);
    RUN(encode_escapes_text_and_params);
    RUN(round_trips);
    RUN(hostile_string_stays_fast);
    return test_done();
}
