/*
 * time.c: UTC time. Input is RFC 3339 with a mandatory offset; storage is
 * integer milliseconds since the epoch, so comparisons across time zones are
 * exact (docs/spec/consent-rules.md edge case 5). Civil-date arithmetic is done by hand
 * (days-from-civil) to avoid timegm()'s dependence on the process time zone.
 */
#include <time.h>

#include "common/common.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

cr_time_ms cr_time_from_civil(int64_t y, int m, int d)
{
	return days_from_civil(y, m, d) * 86400000;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n decimal digits at s[*i]. */
static bool read_digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int v = 0;
	if (*i + (size_t)n > len)
		return false;
	for (int k = 0; k < n; k++) {
		char ch = s[*i + (size_t)k];
		if (ch < '0' || ch > '9')
			return false;
		v = v * 10 + (ch - '0');
	}
	*i += (size_t)n;
	*out = v;
	return true;
}

static bool expect_char(const char *s, size_t len, size_t *i, char want)
{
	if (*i >= len || s[*i] != want)
		return false;
	(*i)++;
	return true;
}

/* Parses the offset ("Z", "z", "+hh:mm", "-hh:mm") into seconds east of UTC. */
static bool parse_offset(const char *s, size_t len, size_t *i, int *off_s)
{
	int oh, om, sign;
	if (*i < len && (s[*i] == 'Z' || s[*i] == 'z')) {
		(*i)++;
		*off_s = 0;
		return true;
	}
	if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
		return false;
	sign = s[*i] == '-' ? -1 : 1;
	(*i)++;
	if (!read_digits(s, len, i, 2, &oh) || !expect_char(s, len, i, ':') ||
	    !read_digits(s, len, i, 2, &om) || oh > 23 || om > 59)
		return false;
	*off_s = sign * (oh * 3600 + om * 60);
	return true;
}

cr_err cr_time_parse(const char *s, size_t len, cr_time_ms *out)
{
	size_t i = 0;
	int y, mo, d, h, mi, se, ms = 0, off_s = 0;

	if (s == NULL)
		return CR_ERR_TIME_FORMAT;
	if (!read_digits(s, len, &i, 4, &y) || !expect_char(s, len, &i, '-') ||
	    !read_digits(s, len, &i, 2, &mo) || !expect_char(s, len, &i, '-') ||
	    !read_digits(s, len, &i, 2, &d))
		return CR_ERR_TIME_FORMAT;
	if (i >= len || (s[i] != 'T' && s[i] != 't'))
		return CR_ERR_TIME_FORMAT;
	i++;
	if (!read_digits(s, len, &i, 2, &h) || !expect_char(s, len, &i, ':') ||
	    !read_digits(s, len, &i, 2, &mi) || !expect_char(s, len, &i, ':') ||
	    !read_digits(s, len, &i, 2, &se))
		return CR_ERR_TIME_FORMAT;
	if (i < len && s[i] == '.') {
		int digits = 0;
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (digits < 3)
				ms = ms * 10 + (s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 9)
			return CR_ERR_TIME_FORMAT;
		for (int k = digits; k < 3; k++)
			ms *= 10;
	}
	if (!parse_offset(s, len, &i, &off_s) || i != len)
		return CR_ERR_TIME_FORMAT;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || se > 59)
		return CR_ERR_TIME_FORMAT;

	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_s;
	if (secs < 0)
		return CR_ERR_TIME_FORMAT;
	*out = secs * 1000 + ms;
	return CR_OK;
}

/* Writes v (non-negative, fits) as exactly `width` decimal digits. */
static void put_digits(char *out, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

cr_err cr_time_format(cr_time_ms t, char buf[static CR_TIME_STRLEN])
{
	int64_t y;
	int m, d;

	if (t < 0 || t > 253402300799999LL) /* 9999-12-31T23:59:59.999Z */
		return CR_ERR_OVERFLOW;
	int64_t secs = t / 1000, ms = t % 1000;
	int64_t days = secs / 86400, rem = secs % 86400;
	civil_from_days(days, &y, &m, &d);
	put_digits(buf, y, 4);
	buf[4] = '-';
	put_digits(buf + 5, m, 2);
	buf[7] = '-';
	put_digits(buf + 8, d, 2);
	buf[10] = 'T';
	put_digits(buf + 11, rem / 3600, 2);
	buf[13] = ':';
	put_digits(buf + 14, rem % 3600 / 60, 2);
	buf[16] = ':';
	put_digits(buf + 17, rem % 60, 2);
	buf[19] = '.';
	put_digits(buf + 20, ms, 3);
	buf[23] = 'Z';
	buf[24] = '\0';
	return CR_OK;
}

cr_time_ms cr_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (cr_time_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cr_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
