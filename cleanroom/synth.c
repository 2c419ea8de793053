/*
 * synth.c: the deterministic synthetic data generator (see synth.h for the
 * model). It writes what brands and partners would bring (docs/spec/formats.md): a
 * privacy notice, a messy customer list, the customers' consent events and a
 * partner list that overlaps the customers by a chosen fraction.
 *
 * Randomness is ChaCha20 (libsodium) keyed from the seed, one stream per
 * (kind, index), never rand(): the output must be the same on every machine.
 * Records are rendered by hand into a buffer rather than through jansson,
 * because a million customers make about four million events and building a
 * json_t per event would dominate the run; the few keys are fixed ASCII and
 * the one free-form value (the subject) goes through a JSON string escaper.
 * The notice, written once, does use jansson.
 *
 * Phone numbers are China mobile numbers (+86, a mobile prefix, 8 digits).
 * Every spelling written to customers.csv is first read back by the
 * service's own normalization, libphonenumber (crypto_id_normalize): it must
 * be a valid number whose E.164 form is the person's, or synth stops. So
 * synth never writes a number the service would refuse or read as someone
 * else, whatever the library's numbering plan says.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cleanroom/synth.h"
#include "crypto/crypto.h"

#define TAG_MOD 100000000u                 /* tags are 8 decimal digits */
#define LOCAL_2026 1767225600              /* 2026-01-01T00:00:00 as local seconds */
#define DAY 86400
#define PROGRESS_EVERY 65536u

/* ------------------------------------------------------------ randomness */

void synth_gen_init(struct synth_gen *g, uint64_t seed)
{
	static const char domain[] = "cleanroom-synth-v1";
	uint8_t msg[sizeof(domain) - 1 + 8];
	struct synth_rng r;
	uint32_t last[4] = { 1, 3, 7, 9 };

	memcpy(msg, domain, sizeof(domain) - 1);
	for (int i = 0; i < 8; i++)
		msg[sizeof(domain) - 1 + i] = (uint8_t)(seed >> (8 * i));
	crypto_generichash(g->key, sizeof(g->key), msg, sizeof(msg), NULL, 0);

	/* a*pid + b mod 10^8 is a bijection when a ends in 1, 3, 7 or 9. */
	synth_rng_init(&r, g, SYNTH_STREAM_SETUP, 0);
	g->tag_mul = synth_rng_below(&r, TAG_MOD / 10) * 10 + last[synth_rng_below(&r, 4)];
	g->tag_add = synth_rng_below(&r, TAG_MOD);
}

void synth_rng_init(struct synth_rng *r, const struct synth_gen *g,
		    enum synth_stream kind, uint64_t index)
{
	uint32_t k = (uint32_t)kind;
	r->key = g->key;
	for (int i = 0; i < 4; i++)
		r->nonce[i] = (uint8_t)(k >> (8 * i));
	for (int i = 0; i < 8; i++)
		r->nonce[4 + i] = (uint8_t)(index >> (8 * i));
	r->block = 0;
	r->pos = sizeof(r->buf);
}

static void rng_refill(struct synth_rng *r)
{
	memset(r->buf, 0, sizeof(r->buf));
	crypto_stream_chacha20_ietf_xor_ic(r->buf, r->buf, sizeof(r->buf), r->nonce,
					   r->block++, r->key);
	r->pos = 0;
}

uint32_t synth_rng_u32(struct synth_rng *r)
{
	if (r->pos + 4 > sizeof(r->buf))
		rng_refill(r);
	const uint8_t *b = r->buf + r->pos;
	r->pos += 4;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint32_t synth_rng_below(struct synth_rng *r, uint32_t n)
{
	uint32_t threshold, x;
	if (n <= 1)
		return 0;
	threshold = (uint32_t)(-n) % n; /* values below it would bias the modulo */
	do {
		x = synth_rng_u32(r);
	} while (x < threshold);
	return x % n;
}

/* Index into a table of weights (summing to `total`). */
static size_t rng_weighted(struct synth_rng *r, const uint16_t *weights, size_t n, uint32_t total)
{
	uint32_t x = synth_rng_below(r, total), acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc += weights[i];
		if (x < acc)
			return i;
	}
	return n - 1;
}

/* ---------------------------------------------------------------- buffer */

static void buf_reserve(struct synth_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + extra)
		cap *= 2;
	b->p = cr_xrealloc(b->p, cap);
	b->cap = cap;
}

static void buf_put(struct synth_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void buf_puts(struct synth_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_putc(struct synth_buf *b, char c)
{
	buf_reserve(b, 1);
	b->p[b->len++] = c;
}

static void buf_put_u64(struct synth_buf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_reserve(b, n);
	while (n)
		b->p[b->len++] = tmp[--n];
}

void synth_buf_release(struct synth_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void synth_csv_field(struct synth_buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

/* A JSON string literal of s (quotes, backslashes and controls escaped). */
static void buf_json_string(struct synth_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_put(b, esc, sizeof(esc));
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}

/* ------------------------------------------------------------------ time */

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void synth_time_format(int64_t local_s, char out[static 26])
{
	int64_t days = local_s / DAY, y;
	unsigned secs = (unsigned)(local_s % DAY), m, d;
	civil_from_days(days, &y, &m, &d);
	memcpy(out, "0000-00-00T00:00:00+08:00", 26);
	put2(out, (unsigned)(y / 100));
	put2(out + 2, (unsigned)(y % 100));
	put2(out + 5, m);
	put2(out + 8, d);
	put2(out + 11, secs / 3600);
	put2(out + 14, secs / 60 % 60);
	put2(out + 17, secs % 60);
}

/* ------------------------------------------------------------ identities */

static const char *const surnames[] = {
	"wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
	"xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "gao", "luo", "zheng",
	"liang", "xie", "song", "tang", "han", "feng", "deng", "cao", "peng", "zeng",
	"xiao", "tian", "dong", "pan", "yuan", "cai", "jiang", "yu", "du", "ye",
	"cheng", "wei", "su", "lu", "ding", "ren", "shen", "yao", "qian",
};
static const char *const given_names[] = {
	"wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang",
	"yong", "yan", "jie", "tao", "ming", "chao", "xiu", "xia", "hui", "ping",
	"gang", "hua", "dan", "ling", "bin", "hong", "fei", "xin", "yu", "hao",
	"jian", "lin", "mei", "ting", "qing", "rui", "yi", "zhen", "kai", "xiaoming",
	"xiaohong", "jiahui", "zihan", "yuxuan", "haoran", "zimo", "yutong", "xinyi",
	"jianguo", "guoqiang", "lihua", "shuang", "wenjing", "yun", "peng", "bo",
};
static const char *const english_names[] = {
	"alice", "bob", "chris", "david", "emma", "grace", "kevin", "lucy", "tony",
	"vivian", "jack", "amy", "eric", "helen", "jason", "coco", "leo", "nina",
	"sunny", "vicky",
};
static const char *const domains[] = {
	"qq.com", "163.com", "126.com", "gmail.com", "googlemail.com", "outlook.com",
	"hotmail.com", "sina.com", "example.com", "example.cn",
};
static const uint16_t domain_weights[] = { 30, 15, 5, 15, 2, 10, 5, 5, 8, 5 };
/* China mobile prefixes whose every 8-digit continuation libphonenumber
 * 8.12.57 takes as a valid mobile number (test_synth checks a sample; each
 * written number is checked by synth_phone_variant). */
static const char *const phone_prefixes[] = {
	"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
	"152", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180",
	"181", "182", "185", "186", "187", "188", "189", "191", "198", "199",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a) ((a)[synth_rng_below((r), (uint32_t)COUNT(a))])

/*
 * out = a[0..alen) || b || c, at most SYNTH_EMAIL_MAX bytes with the NUL.
 * `a` may be `out` itself. Generated names are far shorter than the limit,
 * so running past it is a bug in this file: abort.
 */
static void join3(char *out, const char *a, size_t alen, const char *b, const char *c)
{
	size_t blen = strlen(b), clen = strlen(c);
	if (alen + blen + clen >= SYNTH_EMAIL_MAX)
		cr_die("synth: email longer than SYNTH_EMAIL_MAX");
	memmove(out, a, alen);
	memcpy(out + alen, b, blen);
	memcpy(out + alen + blen, c, clen + 1);
}

static uint32_t person_tag(const struct synth_gen *g, uint32_t pid)
{
	return (uint32_t)(((uint64_t)g->tag_mul * pid + g->tag_add) % TAG_MOD);
}

/* The local part: name words joined by '.', '_' or nothing, then the tag. */
static void local_part(struct synth_rng *r, uint32_t tag, char *out, size_t cap)
{
	const char *surname = PICK(r, surnames), *given = PICK(r, given_names);
	switch (synth_rng_below(r, 6)) {
	case 0:
		snprintf(out, cap, "%s.%s%u", given, surname, (unsigned)tag);
		break;
	case 1:
		snprintf(out, cap, "%s%s%u", surname, given, (unsigned)tag);
		break;
	case 2:
		snprintf(out, cap, "%s_%s%u", surname, given, (unsigned)tag);
		break;
	case 3:
		snprintf(out, cap, "%s.%s%u", PICK(r, english_names), surname, (unsigned)tag);
		break;
	case 4:
		snprintf(out, cap, "%c%s%u", given[0], surname, (unsigned)tag);
		break;
	default:
		snprintf(out, cap, "%s%s%u", given, surname, (unsigned)tag);
		break;
	}
}

void synth_person_make(const struct synth_gen *g, uint32_t pid, struct synth_person *out)
{
	struct synth_rng r;
	char local[SYNTH_EMAIL_MAX];
	uint32_t tag = person_tag(g, pid);
	size_t d;

	synth_rng_init(&r, g, SYNTH_STREAM_PERSON, pid);
	d = rng_weighted(&r, domain_weights, COUNT(domain_weights), 100);
	if (strcmp(domains[d], "qq.com") == 0) /* QQ mail: the account's 9-digit number */
		snprintf(local, sizeof(local), "%u%08u", (unsigned)(1 + synth_rng_below(&r, 9)),
			 (unsigned)tag);
	else
		local_part(&r, tag, local, sizeof(local));

	out->at = strlen(local);
	join3(out->email, local, out->at, "@", domains[d]);
	out->gmail = strcmp(domains[d], "gmail.com") == 0 ||
		     strcmp(domains[d], "googlemail.com") == 0;
	snprintf(out->phone, sizeof(out->phone), "+86%s%08u", PICK(&r, phone_prefixes),
		 (unsigned)tag);
}

void synth_person_normalized(const struct synth_person *p, char out[static SYNTH_EMAIL_MAX])
{
	size_t n = 0;
	for (size_t i = 0; p->email[i]; i++) {
		if (p->gmail && i < p->at && p->email[i] == '.')
			continue;
		out[n++] = p->email[i];
	}
	out[n] = '\0';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Gmail ignores dots in the local part, so people write them or not. */
static size_t gmail_dots(struct synth_rng *r, char *local, size_t n)
{
	uint32_t how = synth_rng_below(r, 3);
	if (how == 1) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (local[i] != '.')
				local[k++] = local[i];
		return k;
	}
	if (how == 2 && n >= 2) {
		size_t j = 1 + synth_rng_below(r, (uint32_t)(n - 1));
		if (local[j - 1] != '.' && local[j] != '.') {
			memmove(local + j + 1, local + j, n - j);
			local[j] = '.';
			return n + 1;
		}
	}
	return n;
}

/* Case as people type it: lower, Title, UPPER, upper domain, or random. */
static void messy_case(struct synth_rng *r, char *s, size_t at)
{
	static const uint16_t weights[] = { 45, 20, 10, 10, 15 };
	size_t style = rng_weighted(r, weights, COUNT(weights), 100);
	for (size_t i = 0; s[i]; i++) {
		bool word_start = i == 0 || i == at + 1 || s[i - 1] == '.' || s[i - 1] == '_';
		switch (style) {
		case 0:
			break;
		case 1:
			if (word_start && i <= at + 1)
				s[i] = upper(s[i]);
			break;
		case 2:
			s[i] = upper(s[i]);
			break;
		case 3:
			if (i > at)
				s[i] = upper(s[i]);
			break;
		default:
			if (synth_rng_below(r, 2))
				s[i] = upper(s[i]);
			break;
		}
	}
}

void synth_email_variant(const struct synth_person *p, struct synth_rng *r,
			 char out[static SYNTH_EMAIL_MAX])
{
	static const char spaces[] = "  ";
	char s[SYNTH_EMAIL_MAX];
	size_t at = p->at, lead = 0, trail = 0;
	uint32_t ws;

	memcpy(s, p->email, at);
	if (p->gmail)
		at = gmail_dots(r, s, at);
	join3(s, s, at, "", p->email + p->at);
	messy_case(r, s, at);

	ws = synth_rng_below(r, 100);
	if (ws >= 75 && ws < 85)
		lead = 1 + synth_rng_below(r, 2);
	else if (ws >= 85 && ws < 95)
		trail = 1 + synth_rng_below(r, 2);
	else if (ws >= 95)
		lead = trail = 1;
	join3(out, spaces, lead, s, spaces + sizeof(spaces) - 1 - trail); /* trail of the spaces */
}

/*
 * The service reads `written` as p's number, or synth stops: a number
 * libphonenumber refuses, or reads as another, would be written to every
 * customer list made with this seed.
 */
static void phone_check(const struct synth_person *p, const char *written)
{
	char e164[CRYPTO_NORMALIZED_MAX + 1];
	cr_err rc = crypto_id_normalize(CRYPTO_ID_PHONE, written, strlen(written), NULL, e164);
	if (rc != CR_OK || strcmp(e164, p->phone) != 0)
		cr_die("synth: libphonenumber does not read a generated phone number as its person's "
		       "(cleanroom/synth.c, phone_prefixes)");
	sodium_memzero(e164, sizeof(e164));
}

void synth_phone_variant(const struct synth_person *p, struct synth_rng *r,
			 char out[static SYNTH_PHONE_MAX])
{
	static const uint16_t weights[] = { 30, 20, 35, 15 };
	const char *n = p->phone + 3; /* the 11 national digits */
	switch (rng_weighted(r, weights, COUNT(weights), 100)) {
	case 0:
		snprintf(out, SYNTH_PHONE_MAX, "+86 %.3s %.4s %.4s", n, n + 3, n + 7);
		break;
	case 1:
		snprintf(out, SYNTH_PHONE_MAX, "+86-%.3s-%.4s-%.4s", n, n + 3, n + 7);
		break;
	case 2:
		snprintf(out, SYNTH_PHONE_MAX, "%s", p->phone);
		break;
	default:
		snprintf(out, SYNTH_PHONE_MAX, "+86 %s", n);
		break;
	}
	phone_check(p, out);
}

void synth_csv_email(const struct synth_gen *g, const struct synth_person *p, uint32_t pid,
		     char out[static SYNTH_EMAIL_MAX])
{
	struct synth_rng r;
	synth_rng_init(&r, g, SYNTH_STREAM_CSV, pid);
	synth_email_variant(p, &r, out);
}

/* ----------------------------------------------------------- consent mix */

static const struct synth_kind_info kinds[SYNTH_KIND_COUNT] = {
	[SYNTH_KIND_FULL] = { "full", 7900, "served, a grant per purpose, a separate grant for partner-1" },
	[SYNTH_KIND_OBJECTED] = { "objected", 100, "full consent, then a marketing objection (gpc)" },
	[SYNTH_KIND_SERVED_ONLY] = { "served_only", 400, "served the notice, never answered" },
	[SYNTH_KIND_REFUSED] = { "refused", 400, "served, then refused each purpose" },
	[SYNTH_KIND_WITHDRAWN] = { "withdrawn", 400, "full consent, withdrew everything 1-60 days later" },
	[SYNTH_KIND_UNSHARED] = { "unshared", 100, "full consent, withdrew only the partner-1 sharing" },
	[SYNTH_KIND_CHILD] = { "child", 300, "under 14 (born 2013-2016), granted without a guardian" },
	[SYNTH_KIND_GUARDIAN] = { "guardian", 200, "under 14, grants by a guardian (guardian_ref)" },
	[SYNTH_KIND_EXPIRED] = { "expired", 100, "grants expire 30-180 days after they were given" },
	[SYNTH_KIND_EXPIRING] = { "expiring", 100, "grants expire two years after they were given" },
};

const struct synth_kind_info *synth_kind_info(enum synth_kind k)
{
	return (unsigned)k < SYNTH_KIND_COUNT ? &kinds[k] : NULL;
}

const char *synth_event_name(enum synth_event e)
{
	static const char *const names[SYNTH_EV_COUNT] = { "served", "grant", "refuse",
							   "withdraw", "object", "guardian_link" };
	return (unsigned)e < SYNTH_EV_COUNT ? names[e] : "unknown";
}

static enum synth_kind pick_kind(struct synth_rng *r)
{
	uint32_t x = synth_rng_below(r, 10000), acc = 0;
	for (int k = 0; k < SYNTH_KIND_COUNT; k++) {
		acc += kinds[k].per_10k;
		if (x < acc)
			return (enum synth_kind)k;
	}
	return SYNTH_KIND_FULL;
}

/* One consent event; absent fields are NULL or 0. */
struct event {
	enum synth_event type;
	const char *subject, *purpose, *recipient;
	int notice_version;
	int64_t time, expires;
	const char *method, *channel, *actor, *guardian_ref, *jurisdiction;
	int birth_year;
	const char *signal;
	const char *verified_by;
};

static void put_key(struct synth_buf *b, const char *key)
{
	buf_putc(b, ',');
	buf_putc(b, '"');
	buf_puts(b, key);
	buf_puts(b, "\":");
}

static void put_str(struct synth_buf *b, const char *key, const char *v)
{
	if (v == NULL)
		return;
	put_key(b, key);
	buf_json_string(b, v);
}

static void put_time(struct synth_buf *b, const char *key, int64_t t)
{
	char s[26];
	if (t == 0)
		return;
	synth_time_format(t, s);
	put_key(b, key);
	buf_putc(b, '"');
	buf_puts(b, s);
	buf_putc(b, '"');
}

static void put_int(struct synth_buf *b, const char *key, int v)
{
	if (v == 0)
		return;
	put_key(b, key);
	buf_put_u64(b, (uint64_t)v);
}

/* One NDJSON line, keys in the order of docs/spec/formats.md's examples. */
static void event_render(struct synth_buf *b, const struct event *e, struct synth_counts *c)
{
	buf_puts(b, "{\"type\":");
	buf_json_string(b, synth_event_name(e->type));
	put_str(b, "subject", e->subject);
	put_str(b, "purpose", e->purpose);
	put_str(b, "recipient", e->recipient);
	put_int(b, "notice_version", e->notice_version);
	put_time(b, "time", e->time);
	put_time(b, "expires", e->expires);
	put_str(b, "method", e->method);
	put_str(b, "channel", e->channel);
	put_str(b, "actor", e->actor);
	put_str(b, "guardian_ref", e->guardian_ref);
	put_str(b, "jurisdiction", e->jurisdiction);
	put_int(b, "birth_year", e->birth_year);
	put_str(b, "signal", e->signal);
	put_str(b, "verified_by", e->verified_by);
	buf_puts(b, "}\n");
	c->events++;
	c->by_event[e->type]++;
}

/* A customer's consent story, drawn from its stream before rendering. */
struct story {
	enum synth_kind kind;
	const char *subject, *channel, *method;
	int birth_year;
	int64_t t0;
	char guardian_ref[8 + 2 * 8 + 1];
};

/* Gaps between one subject's events: seconds apart, or days for a withdrawal. */
static int64_t gap_seconds(struct synth_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + synth_rng_below(r, hi - lo + 1);
}

static void story_render(const struct story *s, struct synth_rng *r, struct synth_buf *b,
			 struct synth_counts *c)
{
	static const char *const purposes[] = { "ads_measurement", "audience_insights" };
	struct event e = { .type = SYNTH_EV_SERVED, .subject = s->subject, .notice_version = 1,
			   .time = s->t0, .channel = s->channel };
	int64_t t = s->t0, valid_for = 0;

	event_render(b, &e, c);
	if (s->kind == SYNTH_KIND_SERVED_ONLY)
		return;
	if (s->kind == SYNTH_KIND_GUARDIAN) {
		/* R16: the brand verified the guardian before their grants */
		struct event link = { .type = SYNTH_EV_GUARDIAN_LINK, .subject = s->subject,
				      .time = t + 1, .guardian_ref = s->guardian_ref,
				      .verified_by = "id_document" };
		event_render(b, &link, c);
	}
	if (s->kind == SYNTH_KIND_EXPIRED)
		valid_for = gap_seconds(r, 30, 180) * DAY;
	else if (s->kind == SYNTH_KIND_EXPIRING)
		valid_for = 730 * (int64_t)DAY;

	e.type = s->kind == SYNTH_KIND_REFUSED ? SYNTH_EV_REFUSE : SYNTH_EV_GRANT;
	e.method = s->kind == SYNTH_KIND_REFUSED ? "button" : s->method;
	e.actor = s->kind == SYNTH_KIND_GUARDIAN ? "guardian" : "subject";
	e.guardian_ref = s->kind == SYNTH_KIND_GUARDIAN ? s->guardian_ref : NULL;
	e.jurisdiction = "CN";
	e.birth_year = s->birth_year;
	t += gap_seconds(r, 3, 120);
	/* A grant per purpose, then the separate sharing grant (R08, R09). */
	for (size_t i = 0; i < COUNT(purposes) + (e.type == SYNTH_EV_GRANT); i++) {
		e.purpose = purposes[i < COUNT(purposes) ? i : 1];
		e.recipient = i < COUNT(purposes) ? NULL : "partner-1";
		e.time = t;
		e.expires = valid_for ? t + valid_for : 0;
		event_render(b, &e, c);
		t += gap_seconds(r, 1, 15);
	}

	struct event after = { .subject = s->subject, .channel = s->channel,
			       .time = t + gap_seconds(r, 1, 60) * DAY + gap_seconds(r, 0, DAY - 1) };
	switch (s->kind) {
	case SYNTH_KIND_WITHDRAWN:
		after.type = SYNTH_EV_WITHDRAW;
		break;
	case SYNTH_KIND_UNSHARED:
		after.type = SYNTH_EV_WITHDRAW;
		after.purpose = "audience_insights";
		after.recipient = "partner-1";
		break;
	case SYNTH_KIND_OBJECTED:
		after.type = SYNTH_EV_OBJECT;
		after.channel = NULL;
		after.signal = "gpc";
		break;
	default:
		return;
	}
	event_render(b, &after, c);
}

/* Adult ages by band; the bands are the age_band column's values. */
static const struct {
	const char *band;
	int lo, hi;
	uint16_t weight;
} age_bands[] = {
	{ "18-24", 18, 24, 15 }, { "25-34", 25, 34, 30 }, { "35-44", 35, 44, 25 },
	{ "45-54", 45, 54, 17 }, { "55+", 55, 80, 13 },
};

/*
 * Draws the attributes (written to b as CSV columns 3..6) and the consent
 * story of customer i. Children are recorded in the youngest band: the
 * column's enum has no band under 18, as the brand's systems would.
 */
static void customer_draw(struct synth_rng *r, struct synth_buf *b, struct story *s)
{
	static const char *const segments[] = { "a", "b", "c" };
	static const uint16_t segment_weights[] = { 50, 30, 20 };
	static const char *const regions[] = { "north", "south", "east", "west", "central" };
	static const uint16_t region_weights[] = { 20, 25, 30, 10, 15 };
	uint16_t band_weights[COUNT(age_bands)];
	size_t band;
	uint32_t spend;

	s->kind = pick_kind(r);
	for (size_t i = 0; i < COUNT(age_bands); i++)
		band_weights[i] = age_bands[i].weight;
	band = rng_weighted(r, band_weights, COUNT(age_bands), 100);
	s->birth_year = 2026 - age_bands[band].lo -
			(int)synth_rng_below(r, (uint32_t)(age_bands[band].hi - age_bands[band].lo + 1));
	if (s->kind == SYNTH_KIND_CHILD || s->kind == SYNTH_KIND_GUARDIAN) {
		s->birth_year = 2013 + (int)synth_rng_below(r, 4); /* at most 13 in 2026 */
		band = 0;
	}
	spend = synth_rng_below(r, 10001);
	spend = synth_rng_below(r, 100) < 6 ? 0 : spend * spend / 10000; /* most spend little */

	buf_putc(b, ',');
	synth_csv_field(b, segments[rng_weighted(r, segment_weights, 3, 100)]);
	buf_putc(b, ',');
	synth_csv_field(b, regions[rng_weighted(r, region_weights, 5, 100)]);
	buf_putc(b, ',');
	synth_csv_field(b, age_bands[band].band);
	buf_putc(b, ',');
	buf_put_u64(b, spend);
	buf_putc(b, '\n');

	s->channel = synth_rng_below(r, 100) < 60 ? "web" : "app";
	s->method = synth_rng_below(r, 100) < 70 ? "checkbox" : "button";
	/* Jan..May 2026: every later event (at most about 65 days on) stays in
	 * the first half of 2026, in the past, since the registry refuses
	 * events dated in the future (R18). */
	s->t0 = LOCAL_2026 + synth_rng_below(r, 151 * DAY);
	if (s->kind == SYNTH_KIND_GUARDIAN) {
		uint8_t ref[8];
		for (size_t i = 0; i < sizeof(ref); i++)
			ref[i] = (uint8_t)synth_rng_u32(r);
		memcpy(s->guardian_ref, "guardian", 8);
		if (cr_hex_encode(ref, sizeof(ref), s->guardian_ref + 8,
				  sizeof(s->guardian_ref) - 8) != CR_OK)
			cr_die("synth: guardian_ref buffer too small");
	}
}

void synth_customer_render(const struct synth_gen *g, uint32_t i, struct synth_buf *csv,
			   struct synth_buf *ndjson, struct synth_counts *counts)
{
	struct synth_person p;
	struct synth_rng r;
	struct story s = { 0 };
	char email[SYNTH_EMAIL_MAX], phone[SYNTH_PHONE_MAX], consent_email[SYNTH_EMAIL_MAX];

	synth_person_make(g, i, &p);
	synth_rng_init(&r, g, SYNTH_STREAM_CSV, i);
	synth_email_variant(&p, &r, email); /* the same draws as synth_csv_email() */
	synth_phone_variant(&p, &r, phone);
	synth_csv_field(csv, email);
	buf_putc(csv, ',');
	synth_csv_field(csv, phone);

	synth_rng_init(&r, g, SYNTH_STREAM_CUSTOMER, i);
	customer_draw(&r, csv, &s);
	/* Consent systems often hold the address as typed elsewhere. */
	if (synth_rng_below(&r, 100) < 70) {
		s.subject = email;
	} else {
		synth_email_variant(&p, &r, consent_email);
		s.subject = consent_email;
	}
	story_render(&s, &r, ndjson, counts);
	counts->customers++;
	counts->by_kind[s.kind]++;
}

/* ----------------------------------------------------------------- files */

static cr_err buf_flush(struct synth_buf *b, FILE *f)
{
	if (b->len && fwrite(b->p, 1, b->len, f) != b->len)
		return CR_ERR_IO;
	b->len = 0;
	return CR_OK;
}

cr_err synth_customers_write(const struct synth_gen *g, uint32_t n, FILE *csv, FILE *ndjson,
			     struct synth_counts *counts, synth_progress_fn progress, void *ctx)
{
	struct synth_buf a = { 0 }, b = { 0 };
	cr_err rc = CR_OK;

	if (progress)
		progress(ctx, "customers", 0, n);
	buf_puts(&a, "email,phone,segment,region,age_band,spend\n");
	for (uint32_t i = 0; i < n; i++) {
		synth_customer_render(g, i, &a, &b, counts);
		if (a.len >= 1 << 16 || b.len >= 1 << 16) {
			if ((rc = buf_flush(&a, csv)) != CR_OK || (rc = buf_flush(&b, ndjson)) != CR_OK)
				goto out;
		}
		if (progress && (i + 1) % PROGRESS_EVERY == 0)
			progress(ctx, "customers", i + 1, n);
	}
	if ((rc = buf_flush(&a, csv)) != CR_OK || (rc = buf_flush(&b, ndjson)) != CR_OK)
		goto out;
	if (progress)
		progress(ctx, "customers", n, n);
out:
	synth_buf_release(&a);
	synth_buf_release(&b);
	return rc;
}

cr_err synth_partner_rows(const struct synth_gen *g, uint32_t n, uint32_t m, uint32_t k,
			  uint32_t *rows)
{
	struct synth_rng r;
	uint32_t picked = 0;

	if (k > n || k > m || (uint64_t)n + m >= TAG_MOD)
		return CR_ERR_INVALID_ARG;
	synth_rng_init(&r, g, SYNTH_STREAM_PICK, 0);
	/* Selection sampling (Knuth's algorithm S): k of n, each subset equally likely. */
	for (uint32_t i = 0; i < n && picked < k; i++)
		if (synth_rng_below(&r, n - i) < k - picked)
			rows[picked++] = i;
	for (uint32_t j = 0; j < m - k; j++)
		rows[k + j] = n + j;
	for (uint32_t i = m; i > 1; i--) { /* Fisher-Yates */
		uint32_t j = synth_rng_below(&r, i), t = rows[i - 1];
		rows[i - 1] = rows[j];
		rows[j] = t;
	}
	return CR_OK;
}

/* The partner's variant of a customer's email: never the customers.csv bytes. */
static void partner_email(const struct synth_gen *g, const struct synth_person *p, uint32_t pid,
			  bool customer, char out[static SYNTH_EMAIL_MAX])
{
	struct synth_rng r;
	char theirs[SYNTH_EMAIL_MAX];

	synth_rng_init(&r, g, SYNTH_STREAM_PARTNER, pid);
	synth_email_variant(p, &r, out);
	if (!customer)
		return;
	synth_csv_email(g, p, pid, theirs);
	for (int tries = 0; tries < 4 && strcmp(out, theirs) == 0; tries++)
		synth_email_variant(p, &r, out);
	if (strcmp(out, theirs) == 0) {
		/* Still the same: flip the case of the domain's first letter (every TLD has one). */
		char *d = strchr(out, '@') + 1;
		while (lower(*d) == upper(*d))
			d++;
		*d = *d == upper(*d) ? lower(*d) : upper(*d);
	}
}

cr_err synth_partner_write(const struct synth_gen *g, uint32_t n, const uint32_t *rows,
			   uint32_t m, FILE *f, struct synth_counts *counts,
			   synth_progress_fn progress, void *ctx)
{
	struct synth_buf b = { 0 };
	struct synth_person p;
	char email[SYNTH_EMAIL_MAX];
	cr_err rc = CR_OK;

	if (progress)
		progress(ctx, "partner", 0, m);
	buf_puts(&b, "email\n");
	for (uint32_t i = 0; i < m; i++) {
		synth_person_make(g, rows[i], &p);
		partner_email(g, &p, rows[i], rows[i] < n, email);
		synth_csv_field(&b, email);
		buf_putc(&b, '\n');
		counts->partner_rows++;
		counts->partner_overlap += rows[i] < n;
		if (b.len >= 1 << 16 && (rc = buf_flush(&b, f)) != CR_OK)
			goto out;
		if (progress && (i + 1) % PROGRESS_EVERY == 0)
			progress(ctx, "partner", i + 1, m);
	}
	if ((rc = buf_flush(&b, f)) != CR_OK)
		goto out;
	if (progress)
		progress(ctx, "partner", m, m);
out:
	synth_buf_release(&b);
	return rc;
}

/* ---------------------------------------------------------------- notice */

static const char notice_text[] =
	"示例品牌有限公司隐私政策（第 1 版）。\n"
	"我们是个人信息处理者示例品牌有限公司（联系方式：privacy@brand.example）。"
	"在您同意后，我们处理您的电子邮箱、手机号码、客户分群、地区、年龄段和消费金额，"
	"用于两个目的：广告效果衡量（ads_measurement）和受众洞察（audience_insights）。"
	"处理方式为带密钥的哈希、隐私集合求交和聚合统计，任何一方都不会获得您的原始信息。\n"
	"经您单独同意，我们会为受众洞察目的向合作方 Partner Media Co."
	"（联系方式：dpo@partner.example，中国境内）提供经处理的邮箱摘要和客户分群信息；"
	"合作方只能获得达到最小人数门槛并加入噪声的聚合结果。\n"
	"您的信息保存 24 个月。不满十四周岁的未成年人须由其监护人同意。\n"
	"您可以随时在同意中心撤回全部或部分同意，撤回与给予同意同样便捷；"
	"撤回不影响撤回前基于同意已进行的处理。您也可以查阅、复制、更正或删除您的个人信息，"
	"请联系 privacy@brand.example。";

cr_err synth_notice_write(FILE *f)
{
	cr_err rc = CR_ERR_IO;
	json_t *n = json_pack(
		"{s:i, s:s, s:b, s:{s:s, s:s},"
		" s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}],"
		" s:[{s:s, s:s, s:s, s:s, s:s, s:[s, s, s, s, s]}],"
		" s:[s, s, s], s:[s, s, s, s, s, s], s:s, s:s, s:[s], s:s}",
		"version", 1, "language", "zh-CN", "material", 1,
		"controller", "name", "Example Brand Ltd.", "contact", "privacy@brand.example",
		"purposes",
		"code", "ads_measurement", "description", "衡量广告投放效果（仅聚合统计）",
		"sensitive", 0,
		"code", "audience_insights", "description", "与合作方进行受众洞察分析（仅聚合统计）",
		"sensitive", 0,
		"recipients", "id", "partner-1", "name", "Partner Media Co.",
		"contact", "dpo@partner.example", "country", "CN", "purpose", "audience_insights",
		"categories", "email_digest", "segment", "region", "age_band", "spend",
		"methods", "keyed hashing", "private set intersection", "aggregate statistics",
		"categories", "email", "phone", "segment", "region", "age_band", "spend",
		"retention", "24 months",
		"rights", "在同意中心或发送邮件至 privacy@brand.example 查阅、复制、更正、删除个人信息或撤回同意",
		"jurisdictions", "CN", "text", notice_text);

	if (n == NULL)
		goto out;
	if (json_dumpf(n, f, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 || fputc('\n', f) == EOF)
		goto out;
	rc = CR_OK;
out:
	json_decref(n);
	return rc;
}
