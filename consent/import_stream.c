/*
 * import_stream.c: the batch import of a consent-event NDJSON stream
 * (consent_import_stream in consent.h), as a two-stage pipeline.
 *
 * A reader thread reads lines ahead and parses them (JSON, normalization,
 * the pseudonym's HMAC: consent_event_parse reads no table), a chunk of
 * lines at a time, into a ring of a few chunks; the calling thread records
 * them in file order (rules, event rows, the hooks' audit leaves and
 * commits). Parsing was about a fifth of an import's time on the one
 * thread that also wrote. Everything that reads or writes the store stays
 * on the calling thread, so the results, counts and batches are those of a
 * serial read. Memory stays bounded: at most RING chunks of CHUNK_LINES
 * parsed lines, and a line longer than CONSENT_LINE_MAX is skipped to its
 * newline and refused. Parsed lines hold pseudonyms and raw guardian-link
 * lines hold identifiers: both are wiped when recorded.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consent/consent_internal.h"

#define CHUNK_LINES 256
#define RING 3

enum line_kind { LK_BLANK, LK_TOO_LONG, LK_EVENT, LK_LINK };

/* One line as the reader left it for the writer. */
struct read_line {
	enum line_kind kind;
	cr_err rc;                    /* LK_EVENT: the parse's result */
	char why[CONSENT_WHY_MAX];    /* and its reason */
	struct consent_event ev;      /* LK_EVENT with rc == CR_OK */
	char *text;                   /* LK_LINK: the line (malloc, wiped) */
	size_t len;
};

struct chunk {
	size_t n;
	uint64_t end;                 /* the input's offset after its last line (0: unknown) */
	struct read_line l[CHUNK_LINES];
};

struct pipe {
	struct consent_importer *imp;
	FILE *in;
	cr_time_ms now;
	char *buf;                    /* the reader's line, CONSENT_LINE_MAX + 2 */
	uint64_t read;                /* lines read (the reader's own count) */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	struct chunk *ring[RING];
	uint64_t head, tail;          /* chunks filled, chunks recorded */
	bool eof, io_error, stop;
};

/* Reads one line (without "\n" or "\r\n") into buf[CONSENT_LINE_MAX + 1];
 * a longer line is consumed whole and flagged. false at end of input. */
static bool read_line(FILE *in, char *buf, size_t *len, bool *too_long)
{
	size_t n = 0;
	int c;

	*too_long = false;
	while ((c = getc_unlocked(in)) != EOF && c != '\n') {
		if (n < CONSENT_LINE_MAX + 1)
			buf[n++] = (char)c;
		else
			*too_long = true;
	}
	if (c == EOF && n == 0 && !*too_long)
		return false;
	if (n > CONSENT_LINE_MAX)
		*too_long = true;
	if (!*too_long && n > 0 && buf[n - 1] == '\r')
		n--;
	buf[*too_long ? 0 : n] = '\0';
	*len = *too_long ? 0 : n;
	return true;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* Classifies and, for an event line, parses the line in p->buf. */
static void take_line(struct pipe *p, size_t len, bool too_long, struct read_line *l)
{
	const char *line = p->buf;

	l->text = NULL;
	l->why[0] = '\0';
	if (too_long) {
		l->kind = LK_TOO_LONG;
		return;
	}
	if (blank(line, len)) {
		l->kind = LK_BLANK;
		return;
	}
	/* A UTF-8 byte order mark before the first line is not part of it. */
	if (p->read == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3;
		len -= 3;
	}
	if (consent_guardian_line_is_link(line, len)) {
		l->kind = LK_LINK;
		l->text = cr_xmalloc(len + 1);
		memcpy(l->text, line, len + 1);
		l->len = len;
		return;
	}
	l->kind = LK_EVENT;
	l->rc = consent_event_parse(p->imp, line, len, p->now, &l->ev, l->why, sizeof(l->why));
}

/* The reader thread: fills chunks until the input ends or the writer stops it. */
static void *reader_main(void *arg)
{
	struct pipe *p = arg;
	bool end = false;
	size_t len;
	bool too_long;

	while (!end) {
		struct chunk *c;
		pthread_mutex_lock(&p->lock);
		while (p->head - p->tail == RING && !p->stop)
			pthread_cond_wait(&p->emptied, &p->lock);
		c = p->stop ? NULL : p->ring[p->head % RING];
		pthread_mutex_unlock(&p->lock);
		if (c == NULL)
			break;
		for (c->n = 0; c->n < CHUNK_LINES; c->n++) {
			if (!read_line(p->in, p->buf, &len, &too_long)) {
				end = true;
				break;
			}
			p->read++;
			take_line(p, len, too_long, &c->l[c->n]);
		}
		{
			off_t at = ftello(p->in);
			c->end = at > 0 ? (uint64_t)at : 0;
		}
		pthread_mutex_lock(&p->lock);
		p->head++;
		if (end) {
			p->eof = true;
			p->io_error = ferror(p->in) != 0;
		}
		pthread_cond_signal(&p->filled);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

/* The next filled chunk, in order; NULL once the input is done. */
static struct chunk *next_chunk(struct pipe *p)
{
	struct chunk *c = NULL;
	pthread_mutex_lock(&p->lock);
	while (p->head == p->tail && !p->eof)
		pthread_cond_wait(&p->filled, &p->lock);
	if (p->head != p->tail)
		c = p->ring[p->tail % RING];
	pthread_mutex_unlock(&p->lock);
	return c;
}

/* Wipes a chunk's lines (pseudonyms, guardian-link lines) and empties it. */
static void chunk_wipe(struct chunk *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->l[i].text != NULL) {
			sodium_memzero(c->l[i].text, c->l[i].len);
			free(c->l[i].text);
		}
	sodium_memzero(c->l, c->n * sizeof(c->l[0]));
	c->n = 0;
}

/* Wipes a recorded chunk and gives it back to the reader. */
static void chunk_done(struct pipe *p, struct chunk *c)
{
	chunk_wipe(c);
	pthread_mutex_lock(&p->lock);
	p->tail++;
	pthread_cond_signal(&p->emptied);
	pthread_mutex_unlock(&p->lock);
}

/* Stops the reader (wherever it is), joins it and frees the ring. */
static void pipe_close(struct pipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->emptied);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	for (size_t i = 0; i < RING; i++) {
		chunk_wipe(p->ring[i]);
		free(p->ring[i]);
	}
	sodium_memzero(p->buf, CONSENT_LINE_MAX + 2);
	free(p->buf);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->emptied);
	pthread_mutex_destroy(&p->lock);
}

/* ----------------------------------------------------------------- counts */

static void count_refusal(struct consent_import_summary *sum, cr_err code)
{
	sum->refused++;
	for (size_t i = 0; i < sum->nreasons; i++) {
		if (sum->reasons[i].code == code) {
			sum->reasons[i].count++;
			return;
		}
	}
	if (sum->nreasons < CONSENT_IMPORT_REASONS_MAX) {
		sum->reasons[sum->nreasons].code = code;
		sum->reasons[sum->nreasons].count = 1;
		sum->nreasons++;
	}
}

static void count_change(struct consent_import_summary *sum, const struct consent_change *c)
{
	if (c->duplicate) {
		sum->duplicates++;
	} else {
		sum->stored++;
		if ((unsigned)c->type < CONSENT_EV_COUNT)
			sum->stored_by_type[c->type]++;
	}
}

static void count_result(struct consent_import_summary *sum, const struct consent_line_result *r)
{
	if (r->rc != CR_OK) {
		count_refusal(sum, r->rc);
		return;
	}
	if (r->is_link) {
		sum->guardian_links += !r->link_duplicate;
		sum->duplicates += r->link_duplicate;
		return;
	}
	count_change(sum, &r->change);
	for (size_t i = 0; i < r->n_more; i++)
		count_change(sum, &r->more[i]);
}

/* ----------------------------------------------------------------- writer */

/* Records one non-blank line (on the calling thread). */
static cr_err record_line(struct pipe *p, struct read_line *l, struct consent_line_result *res)
{
	bool was_link = false;
	cr_err rc;

	switch (l->kind) {
	case LK_TOO_LONG:
		memset(&res->change, 0, sizeof(res->change));
		res->n_more = 0;
		res->is_link = false;
		res->rc = CR_ERR_CONSENT_LINE_TOO_LARGE;
		consent_why(res->why, sizeof(res->why), "line is longer than %d bytes", CONSENT_LINE_MAX);
		return CR_OK;
	case LK_LINK:
		rc = consent_import_link_line(p->imp, l->text, l->len, res, &was_link);
		if (was_link)
			return rc;
		/* only mentions guardian_link: an event line after all */
		l->rc = consent_event_parse(p->imp, l->text, l->len, p->now, &l->ev, l->why, sizeof(l->why));
		break;
	default:
		break;
	}
	return consent_import_parsed(p->imp, &l->ev, l->rc, l->why, res);
}

cr_err consent_import_stream(struct consent_importer *imp, FILE *in, cr_time_ms now,
			     const struct consent_import_hooks *hooks,
			     struct consent_import_summary *sum)
{
	struct consent_import_summary local;
	struct consent_line_result *res;
	struct pipe p;
	size_t batch = hooks != NULL && hooks->batch_lines ? hooks->batch_lines : 1000;
	size_t in_batch = 0;
	struct chunk *c;
	cr_err rc = CR_OK;

	if (sum == NULL)
		sum = &local;
	memset(sum, 0, sizeof(*sum));
	if (imp == NULL || in == NULL)
		return CR_ERR_INVALID_ARG;
	memset(&p, 0, sizeof(p));
	p.imp = imp;
	p.in = in;
	p.now = now;
	p.buf = cr_xmalloc(CONSENT_LINE_MAX + 2);
	for (size_t i = 0; i < RING; i++)
		p.ring[i] = cr_xcalloc(1, sizeof(struct chunk));
	if (pthread_mutex_init(&p.lock, NULL) != 0 || pthread_cond_init(&p.filled, NULL) != 0 ||
	    pthread_cond_init(&p.emptied, NULL) != 0)
		cr_die("import: pthread init");
	if (pthread_create(&p.thread, NULL, reader_main, &p) != 0)
		cr_die("import: cannot start the reader thread");
	res = cr_xmalloc(sizeof(*res));
	while (rc == CR_OK && (c = next_chunk(&p)) != NULL) {
		for (size_t i = 0; i < c->n && rc == CR_OK; i++) {
			sum->lines++;
			if (c->l[i].kind == LK_BLANK) {
				sum->blank++;
			} else {
				res->line = sum->lines;
				rc = record_line(&p, &c->l[i], res);
				if (rc != CR_OK)
					break;
				count_result(sum, res);
				if (hooks != NULL && hooks->on_line != NULL)
					rc = hooks->on_line(hooks->user, res);
			}
			in_batch++;
			if (rc == CR_OK && hooks != NULL && hooks->on_batch &&
			    (in_batch == batch || (hooks->cut != NULL && hooks->cut(hooks->user)))) {
				rc = hooks->on_batch(hooks->user, sum->lines);
				in_batch = 0;
			}
		}
		if (rc == CR_OK)
			sum->bytes = c->end;
		chunk_done(&p, c);
	}
	if (rc == CR_OK && p.io_error)
		rc = CR_ERR_IO;
	pipe_close(&p);
	sodium_memzero(res, sizeof(*res));
	free(res);
	return rc;
}
