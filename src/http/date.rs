//! Dates for the `Date` header (IMF-fixdate, formatted at most once per
//! second per thread) and the access log (Common Log Format).

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A civil date and time (UTC) from seconds since the epoch.
struct Civil {
    year: u64,
    month: usize, // 0..12
    day: u64,     // 1..=31
    weekday: usize,
    hour: u64,
    min: u64,
    sec: u64,
}

fn civil(secs: u64) -> Civil {
    let days = secs / 86400;
    let rem = secs % 86400;
    // Days since 0000-03-01 in the proleptic Gregorian calendar, split
    // into 400-year eras of 146097 days (the usual civil-from-days method).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // 1..=12
    let year = yoe + era * 400 + u64::from(month <= 2);
    Civil {
        year,
        month: (month - 1) as usize,
        day,
        weekday: (days % 7) as usize,
        hour: rem / 3600,
        min: rem % 3600 / 60,
        sec: rem % 60,
    }
}

fn two(out: &mut [u8], v: u64) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

fn four(out: &mut [u8], v: u64) {
    two(&mut out[..2], v / 100);
    two(&mut out[2..], v % 100);
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for `secs` since the epoch.
pub(crate) fn imf_fixdate(secs: u64) -> [u8; 29] {
    let c = civil(secs);
    let mut b = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    b[..3].copy_from_slice(DAYS[c.weekday]);
    two(&mut b[5..7], c.day);
    b[8..11].copy_from_slice(MONTHS[c.month]);
    four(&mut b[12..16], c.year);
    two(&mut b[17..19], c.hour);
    two(&mut b[20..22], c.min);
    two(&mut b[23..25], c.sec);
    b
}

/// `04/Dec/2026:15:22:10 +0000` for `secs` since the epoch.
pub(crate) fn clf_date(secs: u64) -> String {
    let c = civil(secs);
    let mut b = *b"01/Jan/1970:00:00:00 +0000";
    two(&mut b[0..2], c.day);
    b[3..6].copy_from_slice(MONTHS[c.month]);
    four(&mut b[7..11], c.year);
    two(&mut b[12..14], c.hour);
    two(&mut b[15..17], c.min);
    two(&mut b[18..20], c.sec);
    String::from_utf8_lossy(&b).into_owned()
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

thread_local! {
    static CACHE: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
}

/// The current `Date` header value, formatted once per second per thread.
pub(crate) fn http_date_now() -> [u8; 29] {
    let now = now_secs();
    CACHE.with(|c| {
        let (secs, text) = c.get();
        if secs == now {
            return text;
        }
        let text = imf_fixdate(now);
        c.set((now, text));
        text
    })
}
