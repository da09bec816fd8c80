//! The chunk-size line of a chunked body (RFC 9112 section 7.1).

use super::head::is_tchar;

/// Parses `chunk-size [ chunk-ext ]` (the line without its CRLF): the
/// size, or `None` if it is malformed or overflows.
pub(crate) fn parse_chunk_line(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return None;
    }
    let mut size = 0u64;
    for &b in &line[..digits] {
        let d = (b as char).to_digit(16)? as u64;
        size = size.checked_mul(16)?.checked_add(d)?;
    }
    valid_extensions(&line[digits..]).then_some(size)
}

fn skip_bws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
        i += 1;
    }
    i
}

fn skip_token(s: &[u8], mut i: usize) -> Option<usize> {
    let start = i;
    while i < s.len() && is_tchar(s[i]) {
        i += 1;
    }
    (i > start).then_some(i)
}

/// `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`, ext-val being a
/// token or a quoted-string.
fn valid_extensions(s: &[u8]) -> bool {
    let mut i = 0;
    loop {
        i = skip_bws(s, i);
        if i == s.len() {
            return true;
        }
        if s[i] != b';' {
            return false;
        }
        i = skip_bws(s, i + 1);
        let Some(j) = skip_token(s, i) else {
            return false;
        };
        i = skip_bws(s, j);
        if i < s.len() && s[i] == b'=' {
            i = skip_bws(s, i + 1);
            if i < s.len() && s[i] == b'"' {
                i += 1;
                loop {
                    match s.get(i) {
                        None => return false,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            match s.get(i + 1) {
                                Some(&c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => {}
                                _ => return false,
                            }
                            i += 2;
                        }
                        Some(&c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => i += 1,
                        Some(_) => return false,
                    }
                }
            } else {
                let Some(j) = skip_token(s, i) else {
                    return false;
                };
                i = j;
            }
        }
    }
}
