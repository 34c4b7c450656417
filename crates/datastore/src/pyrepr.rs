//! Python's `str()` of decoded pickle values: `repr` inside containers, strings bare at the top.

use std::fmt::Write;

use crate::pyvalue::PyValue;

/// The value as Python's `str()` renders it.
pub fn python_str(value: &PyValue) -> String {
    match value {
        PyValue::Str(s) => s.clone(),
        other => {
            let mut out = String::new();
            write_repr(&mut out, other);
            out
        }
    }
}

fn write_repr(out: &mut String, value: &PyValue) {
    match value {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(true) => out.push_str("True"),
        PyValue::Bool(false) => out.push_str("False"),
        PyValue::Int(i) => out.push_str(i),
        PyValue::Float(f) => out.push_str(&float_repr(*f)),
        PyValue::Str(s) => write_str_repr(out, s),
        PyValue::Bytes(b) => write_bytes_repr(out, b),
        PyValue::List(items) => write_items(out, "[", items, "]"),
        PyValue::Tuple(items) if items.len() == 1 => write_items(out, "(", items, ",)"),
        PyValue::Tuple(items) => write_items(out, "(", items, ")"),
        PyValue::Set(items) if items.is_empty() => out.push_str("set()"),
        PyValue::Set(items) => write_items(out, "{", items, "}"),
        PyValue::FrozenSet(items) if items.is_empty() => out.push_str("frozenset()"),
        PyValue::FrozenSet(items) => write_items(out, "frozenset({", items, "})"),
        PyValue::Dict(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, key);
                out.push_str(": ");
                write_repr(out, value);
            }
            out.push('}');
        }
    }
}

fn write_items(out: &mut String, open: &str, items: &[PyValue], close: &str) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(out, item);
    }
    out.push_str(close);
}

/// `repr(float)`: the shortest round-tripping digits, exponent form outside `1e-4 <= |x| < 1e16`.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` gives the shortest round-tripping digits as `d.ddde<exp>`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..16).contains(&exponent) {
        let mantissa = if digits.len() == 1 {
            digits.clone()
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let body = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    format!("{sign}{body}")
}

/// `repr(str)`: single quotes unless the text has `'` and no `"`; escapes as CPython.
fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// An approximation of `str.isprintable()`: controls, separators other than space, surrogates,
/// private use and format characters are escaped.
fn is_printable(c: char) -> bool {
    let code = c as u32;
    !(code < 0x20
        || (0x7f..=0xa0).contains(&code)
        || code == 0xad
        || (0x2000..=0x200f).contains(&code)
        || (0x2028..=0x202f).contains(&code)
        || (0x205f..=0x206f).contains(&code)
        || code == 0x3000
        || code == 0xfeff
        || (0xe000..=0xf8ff).contains(&code)
        || (0xfff9..=0xfffb).contains(&code)
        || code >= 0xf0000)
}

/// `repr(bytes)`: `b'…'` with the same quote rule, `\xNN` for non-ASCII and controls.
fn write_bytes_repr(out: &mut String, bytes: &[u8]) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push('b');
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote as char);
}

#[cfg(test)]
mod tests {
    use super::*;
    use PyValue::*;

    fn s(text: &str) -> PyValue {
        Str(text.into())
    }
    fn int(i: i64) -> PyValue {
        Int(i.to_string())
    }

    #[test]
    fn floats_as_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (2.5, "2.5"),
            (-2.5, "-2.5"),
            (1e20, "1e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789.125, "123456789.125"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-0.0, "-0.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(value), expected, "{value:?}");
        }
    }

    #[test]
    fn str_of_builtins() {
        assert_eq!(python_str(&Dict(vec![(s("a"), int(1))])), "{'a': 1}");
        assert_eq!(python_str(&Bool(true)), "True");
        assert_eq!(python_str(&None), "None");
        assert_eq!(
            python_str(&List(vec![int(1), Float(2.5), s("x")])),
            "[1, 2.5, 'x']"
        );
        assert_eq!(python_str(&Tuple(vec![int(1)])), "(1,)");
        assert_eq!(python_str(&Tuple(vec![])), "()");
        assert_eq!(python_str(&Tuple(vec![int(1), int(2)])), "(1, 2)");
        assert_eq!(python_str(&s("plain text")), "plain text");
        assert_eq!(python_str(&Set(vec![])), "set()");
        assert_eq!(python_str(&Set(vec![int(1), int(2)])), "{1, 2}");
        assert_eq!(python_str(&FrozenSet(vec![int(1)])), "frozenset({1})");
        assert_eq!(python_str(&FrozenSet(vec![])), "frozenset()");
        assert_eq!(python_str(&Dict(vec![])), "{}");
        assert_eq!(
            python_str(&Int("123456789012345678901234567890".into())),
            "123456789012345678901234567890"
        );
        assert_eq!(
            python_str(&Dict(vec![
                (int(1), List(vec![None, Bool(false)])),
                (s("k"), Tuple(vec![s("v")]))
            ])),
            "{1: [None, False], 'k': ('v',)}"
        );
    }

    #[test]
    fn quotes_and_escapes_as_python() {
        assert_eq!(python_str(&List(vec![s("it's")])), "[\"it's\"]");
        assert_eq!(python_str(&List(vec![s("say \"hi\"")])), "['say \"hi\"']");
        assert_eq!(
            python_str(&List(vec![s("both ' and \"")])),
            "['both \\' and \"']"
        );
        assert_eq!(
            python_str(&List(vec![s("a\nb\tc\\d")])),
            "['a\\nb\\tc\\\\d']"
        );
        assert_eq!(
            python_str(&List(vec![s("\u{7}\u{7f}é€😀")])),
            "['\\x07\\x7fé€😀']"
        );
        assert_eq!(python_str(&List(vec![s("\u{200b}")])), "['\\u200b']");
        assert_eq!(
            python_str(&Bytes(b"ab\x00\xff'".to_vec())),
            "b\"ab\\x00\\xff'\""
        );
        assert_eq!(python_str(&Bytes(b"x\n".to_vec())), "b'x\\n'");
        assert_eq!(python_str(&s("it's")), "it's");
    }
}
