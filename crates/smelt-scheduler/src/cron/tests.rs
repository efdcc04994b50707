use super::*;

fn at(text: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("{text}: {e}"),
    }
}

fn next(expr: &str, after: &str) -> Option<String> {
    nexts(expr, after, 1).pop()
}

fn nexts(expr: &str, after: &str, n: usize) -> Vec<String> {
    let interval = match Interval::parse(expr) {
        Ok(i) => i,
        Err(e) => panic!("{expr}: {e}"),
    };
    let mut t = at(after);
    let mut out = Vec::new();
    for _ in 0..n {
        match interval.next_after(t) {
            Some(x) => {
                out.push(x.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                t = x;
            }
            None => break,
        }
    }
    out
}

fn error(expr: &str) -> CronError {
    match Interval::parse(expr) {
        Ok(i) => panic!("{expr} parsed as {i:?}"),
        Err(e) => e,
    }
}

#[test]
fn presets_match_meltanos_table() {
    let t = "2026-03-14T10:20:30Z";
    assert_eq!(next("@hourly", t).as_deref(), Some("2026-03-14T11:00:00Z"));
    assert_eq!(next("@daily", t).as_deref(), Some("2026-03-15T00:00:00Z"));
    assert_eq!(
        next("@midnight", t).as_deref(),
        Some("2026-03-15T00:00:00Z")
    );
    // 2026-03-14 is a Saturday: the next Sunday midnight.
    assert_eq!(next("@weekly", t).as_deref(), Some("2026-03-15T00:00:00Z"));
    assert_eq!(next("@monthly", t).as_deref(), Some("2026-04-01T00:00:00Z"));
    assert_eq!(next("@yearly", t).as_deref(), Some("2027-01-01T00:00:00Z"));
    assert_eq!(
        next("@annually", t).as_deref(),
        Some("2027-01-01T00:00:00Z")
    );
    assert_eq!(next("@DAILY", t).as_deref(), Some("2026-03-15T00:00:00Z"));
}

#[test]
fn manual_presets_never_fire() {
    for p in ["@once", "@manual", "@none"] {
        assert!(matches!(Interval::parse(p), Ok(Interval::Manual(_))), "{p}");
        assert_eq!(next(p, "2026-01-01T00:00:00Z"), None);
    }
}

#[test]
fn next_is_strictly_after() {
    assert_eq!(
        next("0 * * * *", "2026-01-01T10:00:00Z").as_deref(),
        Some("2026-01-01T11:00:00Z")
    );
    assert_eq!(
        next("* * * * *", "2026-01-01T10:00:59.999Z").as_deref(),
        Some("2026-01-01T10:01:00Z")
    );
}

#[test]
fn steps_ranges_and_lists() {
    assert_eq!(
        nexts("*/15 * * * *", "2026-01-01T10:07:00Z", 4),
        [
            "2026-01-01T10:15:00Z",
            "2026-01-01T10:30:00Z",
            "2026-01-01T10:45:00Z",
            "2026-01-01T11:00:00Z"
        ]
    );
    assert_eq!(
        nexts("5-20/5 9,17 * * *", "2026-01-01T09:12:00Z", 4),
        [
            "2026-01-01T09:15:00Z",
            "2026-01-01T09:20:00Z",
            "2026-01-01T17:05:00Z",
            "2026-01-01T17:10:00Z"
        ]
    );
    // `a/n` runs from a to the end of the field.
    assert_eq!(
        nexts("50/5 * * * *", "2026-01-01T09:00:00Z", 3),
        [
            "2026-01-01T09:50:00Z",
            "2026-01-01T09:55:00Z",
            "2026-01-01T10:50:00Z"
        ]
    );
}

#[test]
fn names_are_case_insensitive_and_seven_is_sunday() {
    // 2026-01-02 is a Friday.
    assert_eq!(
        next("0 6 * * MON-fri", "2026-01-02T07:00:00Z").as_deref(),
        Some("2026-01-05T06:00:00Z")
    );
    assert_eq!(
        next("0 0 * * 7", "2026-01-01T00:00:00Z").as_deref(),
        Some("2026-01-04T00:00:00Z")
    );
    assert_eq!(
        next("0 0 1 Jul *", "2026-01-01T00:00:00Z").as_deref(),
        Some("2026-07-01T00:00:00Z")
    );
}

#[test]
fn month_ends_and_leap_days() {
    assert_eq!(
        nexts("0 0 31 * *", "2026-01-31T00:00:00Z", 3),
        [
            "2026-03-31T00:00:00Z",
            "2026-05-31T00:00:00Z",
            "2026-07-31T00:00:00Z"
        ]
    );
    assert_eq!(
        next("0 12 29 2 *", "2026-01-01T00:00:00Z").as_deref(),
        Some("2028-02-29T12:00:00Z")
    );
    assert_eq!(
        next("59 23 31 12 *", "2026-12-31T23:59:00Z").as_deref(),
        Some("2027-12-31T23:59:00Z")
    );
    // February 30th never comes.
    assert_eq!(next("0 0 30 2 *", "2026-01-01T00:00:00Z"), None);
}

#[test]
fn day_of_month_and_day_of_week_combine_as_in_cron() {
    // Both restricted: the 13th OR a Friday. 2026-02-06 and 2026-02-13 are Fridays; the 13th
    // of March 2026 is a Friday too, and 2026-04-13 a Monday.
    assert_eq!(
        nexts("0 0 13 * fri", "2026-02-01T00:00:00Z", 3),
        [
            "2026-02-06T00:00:00Z",
            "2026-02-13T00:00:00Z",
            "2026-02-20T00:00:00Z"
        ]
    );
    assert_eq!(
        next("0 0 13 * fri", "2026-04-10T00:00:00Z").as_deref(),
        Some("2026-04-13T00:00:00Z")
    );
    // Day of week unrestricted (`*`): only the 13th.
    assert_eq!(
        next("0 0 13 * *", "2026-02-01T00:00:00Z").as_deref(),
        Some("2026-02-13T00:00:00Z")
    );
    // Day of month starting with `*` (even with a step): only Fridays.
    assert_eq!(
        next("0 0 */1 * fri", "2026-02-07T00:00:00Z").as_deref(),
        Some("2026-02-13T00:00:00Z")
    );
}

#[test]
fn six_fields_add_seconds() {
    assert_eq!(
        nexts("*/2 * * * * *", "2026-01-01T00:00:59Z", 3),
        [
            "2026-01-01T00:01:00Z",
            "2026-01-01T00:01:02Z",
            "2026-01-01T00:01:04Z"
        ]
    );
    assert_eq!(
        next("30 0 * * * *", "2026-01-01T00:00:30Z").as_deref(),
        Some("2026-01-01T01:00:30Z")
    );
}

#[test]
fn errors_name_the_field_and_position() {
    let e = error("*/0 * * * *");
    assert_eq!((e.field, e.column), ("minute", 3), "{e}");
    assert!(e.to_string().contains("step of 0"), "{e}");

    let e = error("0 24 * * *");
    assert_eq!((e.field, e.column), ("hour", 3), "{e}");
    assert!(e.to_string().contains("from 0 to 23"), "{e}");

    let e = error("0 0 1 foo *");
    assert_eq!((e.field, e.column), ("month", 7), "{e}");
    assert!(e.to_string().contains("jan"), "{e}");

    let e = error("0 0 * * 1-9");
    assert_eq!((e.field, e.column), ("day of week", 11), "{e}");

    let e = error("0 0 5-1 * *");
    assert!(e.to_string().contains("backwards"), "{e}");

    let e = error("0 0,,1 * * *");
    assert_eq!((e.field, e.column), ("hour", 5), "{e}");

    let e = error("* * *");
    assert!(e.to_string().contains("found 3"), "{e}");
    assert!(error("").to_string().contains("found 0"));
    assert!(error("@fortnightly").to_string().contains("unknown preset"));
    assert!(error("0 0 0 * *").to_string().contains("from 1 to 31"));
    assert!(error("99999999999 * * * *").to_string().contains("minute"));
    assert!(error("*/x * * * *").to_string().contains("step"));
    assert!(error("é * * * *").to_string().contains("minute"));
}
