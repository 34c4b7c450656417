//! A pass over a pickle's opcodes, before decoding, that bounds what decoding would build.
//!
//! Shared (memoized) values are expanded into copies by the decoder, so a few kilobytes can ask
//! for gigabytes, and nesting can ask for a deep recursion. This pass tracks, for every value on
//! the pickle machine's stack, how many values and how deep it expands to, and refuses the pickle
//! before the decoder sees it when either goes over the limits.

use std::collections::HashMap;

/// Why a pickle is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Malformed or cut short.
    Malformed(&'static str),
    /// Expands to more values, or nests deeper, than allowed.
    TooComplex,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub nodes: u64,
    pub depth: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: u64,
    depth: u32,
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Mark,
    Value(Size),
    /// A value that lives in the memo (the decoder modifies it there).
    Memo(u32),
}

struct Machine {
    limits: Limits,
    stack: Vec<Item>,
    memo: HashMap<u32, (Size, bool)>,
    /// Values copied by the decoder's calls (`REDUCE`), which it builds whole.
    copied: u64,
}

const MALFORMED: Refusal = Refusal::Malformed("bad stack");

impl Machine {
    fn size_of(&mut self, item: Item) -> Result<Size, Refusal> {
        match item {
            Item::Value(size) => Ok(size),
            Item::Memo(id) => {
                let entry = self
                    .memo
                    .get_mut(&id)
                    .ok_or(Refusal::Malformed("missing memo"))?;
                entry.1 = true;
                Ok(entry.0)
            }
            Item::Mark => Err(MALFORMED),
        }
    }

    fn pop(&mut self) -> Result<Size, Refusal> {
        let item = self.stack.pop().ok_or(MALFORMED)?;
        self.size_of(item)
    }

    fn pop_mark(&mut self) -> Result<Vec<Size>, Refusal> {
        let mut sizes = Vec::new();
        loop {
            match self.stack.pop().ok_or(MALFORMED)? {
                Item::Mark => return Ok(sizes),
                item => sizes.push(self.size_of(item)?),
            }
        }
    }

    fn check(&self, size: Size) -> Result<Size, Refusal> {
        if size.nodes > self.limits.nodes
            || size.depth > self.limits.depth
            || self.copied > self.limits.nodes
        {
            return Err(Refusal::TooComplex);
        }
        Ok(size)
    }

    fn push_container(&mut self, items: &[Size]) -> Result<(), Refusal> {
        let size = items
            .iter()
            .fold(Size { nodes: 1, depth: 1 }, |acc, s| Size {
                nodes: acc.nodes.saturating_add(s.nodes),
                depth: acc.depth.max(s.depth.saturating_add(1)),
            });
        let size = self.check(size)?;
        self.stack.push(Item::Value(size));
        Ok(())
    }

    /// Adds `items` to the container on top of the stack (APPEND, SETITEMS, …).
    fn extend_top(&mut self, items: &[Size]) -> Result<(), Refusal> {
        let top = *self.stack.last().ok_or(MALFORMED)?;
        let mut size = match top {
            Item::Value(size) => size,
            Item::Memo(id) => {
                let (size, shared) = *self
                    .memo
                    .get(&id)
                    .ok_or(Refusal::Malformed("missing memo"))?;
                // Shared before it was complete: only recursive structures do this.
                if shared {
                    return Err(Refusal::TooComplex);
                }
                size
            }
            Item::Mark => return Err(MALFORMED),
        };
        for s in items {
            size.nodes = size.nodes.saturating_add(s.nodes);
            size.depth = size.depth.max(s.depth.saturating_add(1));
        }
        let size = self.check(size)?;
        match top {
            Item::Memo(id) => {
                self.memo.insert(id, (size, false));
            }
            _ => *self.stack.last_mut().expect("checked above") = Item::Value(size),
        }
        Ok(())
    }

    fn memoize(&mut self, id: u32) -> Result<(), Refusal> {
        let item = self.stack.pop().ok_or(MALFORMED)?;
        let size = self.size_of(item)?;
        self.memo.insert(id, (size, false));
        self.stack.push(Item::Memo(id));
        Ok(())
    }

    fn get(&mut self, id: u32) -> Result<(), Refusal> {
        let entry = self
            .memo
            .get_mut(&id)
            .ok_or(Refusal::Malformed("missing memo"))?;
        entry.1 = true;
        let size = entry.0;
        self.stack.push(Item::Value(size));
        Ok(())
    }
}

/// Checks `pickle` against `limits` without building anything.
pub(crate) fn check(pickle: &[u8], limits: Limits) -> Result<(), Refusal> {
    let mut m = Machine {
        limits,
        stack: Vec::new(),
        memo: HashMap::new(),
        copied: 0,
    };
    let mut reader = Reader {
        data: pickle,
        pos: 0,
    };
    loop {
        let op = reader.byte()?;
        if op == b'.' {
            return Ok(());
        }
        step(&mut m, &mut reader, op)?;
    }
}

/// Opcodes that push one plain value, and framing; false for any other opcode.
fn scalar(m: &mut Machine, r: &mut Reader, op: u8) -> Result<bool, Refusal> {
    let leaf = Item::Value(Size { nodes: 1, depth: 0 });
    match op {
        // Values with no argument, and values with fixed or length-prefixed arguments.
        b'N' | 0x88 | 0x89 => m.stack.push(leaf),
        b'K' | b'M' | b'J' | b'G' | 0x82 | 0x83 | 0x84 => {
            r.skip(match op {
                b'K' | 0x82 => 1,
                b'M' | 0x83 => 2,
                b'J' | 0x84 => 4,
                _ => 8,
            })?;
            m.stack.push(leaf);
        }
        b'U' | b'C' | 0x8c | 0x8a => {
            let n = r.byte()? as u64;
            r.skip(n)?;
            m.stack.push(leaf);
        }
        b'T' | b'B' | b'X' | 0x8b => {
            let n = r.uint(4)?;
            r.skip(n)?;
            m.stack.push(leaf);
        }
        0x8d | 0x8e | 0x96 => {
            let n = r.uint(8)?;
            r.skip(n)?;
            m.stack.push(leaf);
        }
        b'I' | b'L' | b'F' | b'S' | b'V' | b'P' => {
            r.line()?;
            m.stack.push(leaf);
        }
        b'c' => {
            r.line()?;
            r.line()?;
            m.stack.push(leaf);
        }
        0x93 => {
            m.pop()?;
            m.pop()?;
            m.stack.push(leaf);
        }
        // Framing and protocol markers.
        0x80 => r.skip(1)?,
        0x95 => r.skip(8)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Memo opcodes; false for any other opcode.
fn memo(m: &mut Machine, r: &mut Reader, op: u8) -> Result<bool, Refusal> {
    match op {
        b'p' => {
            let id = r.line_number()?;
            m.memoize(id)?;
        }
        b'q' => {
            let id = r.byte()? as u32;
            m.memoize(id)?;
        }
        b'r' => {
            let id = r.uint(4)? as u32;
            m.memoize(id)?;
        }
        0x94 => {
            let id = m.memo.len() as u32;
            m.memoize(id)?;
        }
        b'g' => {
            let id = r.line_number()?;
            m.get(id)?;
        }
        b'h' => {
            let id = r.byte()? as u32;
            m.get(id)?;
        }
        b'j' => {
            let id = r.uint(4)? as u32;
            m.get(id)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn step(m: &mut Machine, r: &mut Reader, op: u8) -> Result<(), Refusal> {
    if scalar(m, r, op)? || memo(m, r, op)? {
        return Ok(());
    }
    match op {
        // Stack manipulation.
        b'(' => m.stack.push(Item::Mark),
        b'0' => {
            m.stack.pop().ok_or(MALFORMED)?;
        }
        b'1' => {
            m.pop_mark()?;
        }
        b'2' => {
            let top = m.pop()?;
            m.stack.push(Item::Value(top));
            m.stack.push(Item::Value(top));
        }
        // Containers.
        b']' | b'}' | b')' | 0x8f => m.push_container(&[])?,
        b'l' | b't' | b'd' | 0x91 => {
            let items = m.pop_mark()?;
            m.push_container(&items)?;
        }
        0x85..=0x87 => {
            let n = (op - 0x84) as usize;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(m.pop()?);
            }
            m.push_container(&items)?;
        }
        b'a' => {
            let item = m.pop()?;
            m.extend_top(&[item])?;
        }
        b's' => {
            let value = m.pop()?;
            let key = m.pop()?;
            m.extend_top(&[key, value])?;
        }
        b'e' | b'u' | 0x90 => {
            let items = m.pop_mark()?;
            m.extend_top(&items)?;
        }
        // Calls: the decoder copies their arguments.
        b'R' | 0x81 => {
            let args = m.pop()?;
            m.pop()?;
            m.copied = m.copied.saturating_add(args.nodes);
            m.push_container(&[args])?;
        }
        0x92 => {
            let kwargs = m.pop()?;
            let args = m.pop()?;
            m.pop()?;
            m.copied = m
                .copied
                .saturating_add(args.nodes)
                .saturating_add(kwargs.nodes);
            m.push_container(&[args, kwargs])?;
        }
        b'b' => {
            let state = m.pop()?;
            m.copied = m.copied.saturating_add(state.nodes);
            m.extend_top(&[state])?;
        }
        _ => return Err(Refusal::Malformed("unsupported opcode")),
    }
    Ok(())
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Refusal> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(Refusal::Malformed("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Result<(), Refusal> {
        let end = (self.pos as u64)
            .checked_add(n)
            .ok_or(Refusal::Malformed("truncated"))?;
        if end > self.data.len() as u64 {
            return Err(Refusal::Malformed("truncated"));
        }
        self.pos = end as usize;
        Ok(())
    }

    fn uint(&mut self, width: usize) -> Result<u64, Refusal> {
        let bytes = self
            .data
            .get(self.pos..self.pos + width)
            .ok_or(Refusal::Malformed("truncated"))?;
        self.pos += width;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    fn line(&mut self) -> Result<&[u8], Refusal> {
        let rest = &self.data[self.pos..];
        let end = memchr::memchr(b'\n', rest).ok_or(Refusal::Malformed("truncated"))?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    fn line_number(&mut self) -> Result<u32, Refusal> {
        let line = self.line()?;
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(Refusal::Malformed("bad memo id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        nodes: 10_000,
        depth: 50,
    };

    #[test]
    fn accepts_a_plain_protocol_4_dict() {
        // pickle.dumps({'a': [1, 2.5]}, protocol=4)
        let pickle = b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94]\x94(K\x01G@\x04\x00\x00\x00\x00\x00\x00es.";
        assert_eq!(check(pickle, LIMITS), Ok(()));
    }

    #[test]
    fn refuses_shared_values_that_expand_exponentially() {
        // x0 = [1]; x(n+1) = [xn, xn]: 40 levels is 2^40 values in a few hundred bytes.
        let mut pickle = b"\x80\x04]\x94K\x01a".to_vec();
        for level in 0..40u32 {
            pickle.extend_from_slice(b"]\x94(");
            pickle.push(b'h');
            pickle.push((2 * level) as u8);
            pickle.push(b'h');
            pickle.push((2 * level) as u8);
            pickle.extend_from_slice(b"e");
            pickle.extend_from_slice(b"0");
            pickle.push(b'h');
            pickle.push((2 * level + 1) as u8);
            pickle.extend_from_slice(b"\x94");
        }
        pickle.push(b'.');
        assert_eq!(check(&pickle, LIMITS), Err(Refusal::TooComplex));
    }

    #[test]
    fn refuses_deep_nesting_and_truncation() {
        let mut deep = b"\x80\x04".to_vec();
        deep.extend(std::iter::repeat_n(b']', 1000));
        deep.extend(std::iter::repeat_n(b'a', 999));
        deep.push(b'.');
        assert_eq!(check(&deep, LIMITS), Err(Refusal::TooComplex));
        assert_eq!(
            check(b"\x80\x04\x8c\x05ab", LIMITS),
            Err(Refusal::Malformed("truncated"))
        );
        assert!(check(b"not a pickle", LIMITS).is_err());
    }
}
