//! HTTP-date parsing (RFC 9110 §5.6.7): IMF-fixdate and the two obsolete
//! forms a recipient must accept. Anything else is not a date (`None`), which
//! the policy treats as "invalid" exactly where http-cache-semantics treats a
//! `Date.parse` NaN as invalid.

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Milliseconds since the epoch of an HTTP-date, or `None`.
// RFC 9110 §5.6.7: HTTP-date = IMF-fixdate / obs-date (rfc850-date / asctime-date)
pub fn parse_http_date(s: &str) -> Option<f64> {
    if let Some(ms) = imf_fixdate_fast(s.as_bytes()) {
        return Some(ms);
    }
    let s = s.trim_matches(|c: char| c == ' ' || c == '\t');
    let (day_name, rest) = s.split_once([',', ' '])?;
    if day_name.is_empty() || !day_name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if s.as_bytes()[day_name.len()] == b',' {
        let rest = rest.strip_prefix(' ')?;
        if day_name.len() == 3 {
            imf_fixdate(rest)
        } else {
            rfc850_date(rest)
        }
    } else {
        asctime_date(rest)
    }
}

// RFC 9110 §5.6.7: IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT; date1 = day SP month SP year
fn imf_fixdate(s: &str) -> Option<f64> {
    let mut it = s.split(' ');
    let day = number(it.next()?, 2)?;
    let month = month(it.next()?)?;
    let year = year(it.next()?)?;
    let time = it.next()?;
    if !is_gmt(it.next()?) || it.next().is_some() {
        return None;
    }
    to_ms(year, month, day, time)
}

/// Whether `s` is the `GMT` of an IMF-fixdate or rfc850-date, in any case.
// RFC 9111 §4.2: "Although all date formats are specified to be case-sensitive,
// a cache recipient SHOULD match the field value case-insensitively."
fn is_gmt(s: &str) -> bool {
    s.eq_ignore_ascii_case("GMT")
}

// RFC 9110 §5.6.7: rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT; date2 = day "-" month "-" 2DIGIT
fn rfc850_date(s: &str) -> Option<f64> {
    let mut it = s.split(' ');
    let mut date = it.next()?.split('-');
    let day = number(date.next()?, 2)?;
    let month = month(date.next()?)?;
    let yy = number(date.next()?, 2)?;
    let time = it.next()?;
    if date.next().is_some() || !is_gmt(it.next()?) || it.next().is_some() {
        return None;
    }
    to_ms(two_digit_year(yy, current_year()), month, day, time)
}

/// The year a two-digit rfc850 year stands for, seen from `now_year`.
// RFC 9110 §5.6.7: "Recipients of a timestamp value in rfc850-date format, which uses a
// two-digit year, MUST interpret a timestamp that appears to be more than 50 years in the
// future as representing the most recent year in the past that had the same last two digits."
fn two_digit_year(yy: i64, now_year: i64) -> i64 {
    let year = now_year - now_year.rem_euclid(100) + yy;
    if year > now_year + 50 {
        year - 100
    } else if year <= now_year - 50 {
        // the window is the 100 years around now: a year further back is the next century's
        year + 100
    } else {
        year
    }
}

/// The current UTC year (1970 if the clock is before the epoch).
fn current_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // 146_097 days per 400 years: an estimate exact except in the hours around New Year,
    // corrected by days_from_civil
    let days = (secs / 86_400) as i64;
    let mut year = 1970 + days * 400 / 146_097;
    if days_from_civil(year, 1, 1) > days {
        year -= 1;
    } else if days_from_civil(year + 1, 1, 1) <= days {
        year += 1;
    }
    year
}

// RFC 9110 §5.6.7: asctime-date = day-name SP date3 SP time-of-day SP year; date3 = month SP ( 2DIGIT / ( SP DIGIT ))
fn asctime_date(s: &str) -> Option<f64> {
    let (month_s, rest) = s.split_once(' ')?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut it = rest.split(' ');
    let month = month(month_s)?;
    let day = number(it.next()?, 2)?;
    let time = it.next()?;
    let year = year(it.next()?)?;
    if it.next().is_some() {
        return None;
    }
    to_ms(year, month, day, time)
}

/// The common case, `Sun, 06 Nov 1994 08:49:37 GMT`, by byte position.
fn imf_fixdate_fast(b: &[u8]) -> Option<f64> {
    if b.len() != 29
        || &b[3..5] != b", "
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
        || b[25] != b' '
        || !b[26..].eq_ignore_ascii_case(b"GMT")
        || !b[..3].iter().all(u8::is_ascii_alphabetic)
    {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + (c - b'0') as i64)
        })
    };
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(&b[8..11]))? as i64
        + 1;
    let (day, year) = (digits(5..7)?, digits(12..16)?);
    let (h, m, sec) = (digits(17..19)?, digits(20..22)?, digits(23..25)?);
    if !(1..=31).contains(&day) || !time_of_day(h, m, sec) {
        return None;
    }
    let days = days_from_civil(year, month, 1) + day - 1;
    Some(((days * 86_400 + h * 3600 + m * 60 + sec) * 1000) as f64)
}

// RFC 9110 §5.6.7: year = 4DIGIT
fn year(s: &str) -> Option<i64> {
    if s.len() != 4 {
        return None;
    }
    number(s, 4)
}

// RFC 9110 §5.6.7: time-of-day = hour ":" minute ":" second; "00:00:00 - 23:59:60 (leap second)"
// A leap second is read as the first second of the next minute (POSIX time has no :60).
fn time_of_day(h: i64, m: i64, sec: i64) -> bool {
    h <= 23 && m <= 59 && sec <= 60
}

fn number(s: &str, max_len: usize) -> Option<i64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month(s: &str) -> Option<i64> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(s))
        .map(|i| i as i64 + 1)
}

// RFC 9110 §5.6.7: time-of-day = hour ":" minute ":" second; hour = 2DIGIT;
// minute = 2DIGIT; second = 2DIGIT (so "2:01:18" is not a time of day, and
// RFC 9111 §5.3: a cache recipient "MUST interpret invalid date formats ... as
// representing a time in the past")
fn to_ms(year: i64, month: i64, day: i64, time: &str) -> Option<f64> {
    let two_digits = |s: &str| if s.len() == 2 { number(s, 2) } else { None };
    let mut t = time.split(':');
    let h = two_digits(t.next()?)?;
    let m = two_digits(t.next()?)?;
    let sec = two_digits(t.next()?)?;
    if t.next().is_some() || !(1..=31).contains(&day) || !time_of_day(h, m, sec) {
        return None;
    }
    let days = days_from_civil(year, month, 1) + day - 1;
    Some(((days * 86_400 + h * 3600 + m * 60 + sec) * 1000) as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: f64 = 784_111_777_000.0; // Sun, 06 Nov 1994 08:49:37 GMT

    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the last century's
    // (cache-tests freshness-expires-rfc850: `Thursday, 18-Aug-50` is 2050 in 2026)
    #[test]
    fn rfc850_years_are_read_in_the_window_around_now() {
        assert_eq!(two_digit_year(50, 2026), 2050);
        assert_eq!(two_digit_year(76, 2026), 2076);
        assert_eq!(two_digit_year(77, 2026), 1977);
        assert_eq!(two_digit_year(94, 2026), 1994);
        assert_eq!(two_digit_year(26, 2026), 2026);
        assert_eq!(two_digit_year(10, 2090), 2110);
        assert_eq!(two_digit_year(41, 2090), 2041);
        assert_eq!(two_digit_year(40, 2090), 2140);
        assert_eq!(two_digit_year(99, 2000), 1999);
        let now_days = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            / 86_400) as i64;
        let y = current_year();
        assert!(days_from_civil(y, 1, 1) <= now_days && now_days < days_from_civil(y + 1, 1, 1));
        let in_2050 = parse_http_date("Thursday, 18-Aug-50 02:01:18 GMT");
        assert_eq!(in_2050, parse_http_date("Thu, 18 Aug 2050 02:01:18 GMT"));
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(T));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(T));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(T));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        // RFC 9111 §4.2: matched case-insensitively (weekday, month and GMT)
        assert_eq!(parse_http_date("SUN, 06 NOV 1994 08:49:37 gMT"), Some(T));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 gmt"), Some(T));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 Gmt"), Some(T));
        assert_eq!(
            parse_http_date("Wed, 29 Feb 2012 23:59:59 GMT"),
            Some(1_330_559_999_000.0)
        );
    }

    // Defect 3 (issue 15): RFC 9110 §5.6.7 allows a leap second, 23:59:60.
    #[test]
    fn a_leap_second_is_a_date() {
        let midnight = 1_483_228_800_000.0; // Sun, 01 Jan 2017 00:00:00 GMT
        assert_eq!(
            parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"),
            Some(midnight)
        );
        assert_eq!(
            parse_http_date("Saturday, 31-Dec-16 23:59:60 GMT"),
            Some(midnight)
        );
        assert_eq!(parse_http_date("Sat Dec 31 23:59:60 2016"), Some(midnight));
    }

    #[test]
    fn rejects_non_dates() {
        for s in [
            "",
            "0",
            "-1",
            "garbage",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            // hour, minute and second are 2DIGIT (the http-tests/cache-tests
            // `freshness-expires-invalid-1-digit-hour` case)
            "Thu, 18 Aug 2050 2:01:18 GMT",
            "Thu, 18 Aug 2050 02:1:18 GMT",
            "Thu, 18 Aug 2050 02:01:8 GMT",
            "Sunday, 06-Nov-94 8:49:37 GMT",
            "Sun Nov  6 8:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "2024-01-01T00:00:00Z",
            // Defect 3 (issue 15): year = 4DIGIT.
            "Thu, 15 Jan 26 12:00:00 GMT",
            "Thu, 15 Jan 026 12:00:00 GMT",
            "Thu, 15 Jan 2 12:00:00 GMT",
            "Thu Jan 15 12:00:00 26",
            "Thu, 15 Jan 2026 12:00:61 GMT",
        ] {
            assert_eq!(parse_http_date(s), None, "{s}");
        }
    }
}
