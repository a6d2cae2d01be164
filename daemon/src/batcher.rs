//! Cuts the snapshot's byte stream into batches of whole record lines and takes the trailer
//! off its end.
//!
//! Each byte is copied once, from the network chunk into the batch it belongs to, and a batch's
//! buffer comes back ([`Batcher::recycle`]) once it is decoded: a 1M-recording bootstrap moves
//! 1.7 GB through here, and copying it twice into buffers grown afresh for every batch cost
//! more CPU in page faults and copies than finding the lines did.

use liner::protocol::{SnapshotTrailer, Trailer as _};

use crate::client::FetchError;

/// Whole record lines, each ending in `\n`.
#[derive(Debug)]
pub struct Batch {
    pub records: String,
    /// How many lines it holds.
    pub lines: usize,
    /// Where its last line starts.
    pub last_line: usize,
}

impl Batch {
    pub fn last_line(&self) -> &str {
        &self.records[self.last_line..]
    }
}

#[derive(Debug)]
pub struct Batcher {
    /// Whole lines of the batch being gathered, then the start of the next line.
    buf: Vec<u8>,
    /// How much of `buf` is whole lines.
    whole: usize,
    lines: usize,
    last_line: usize,
    /// A decoded batch's buffer, for the next batch.
    spare: Vec<u8>,
    trailer: Option<SnapshotTrailer>,
    size: usize,
}

fn not_utf8() -> FetchError {
    FetchError::Garbled("the snapshot is not UTF-8".into())
}

impl Batcher {
    /// Batches of `size` lines (at least one).
    pub fn new(size: usize) -> Self {
        Batcher {
            buf: Vec::new(),
            whole: 0,
            lines: 0,
            last_line: 0,
            spare: Vec::new(),
            trailer: None,
            size: size.max(1),
        }
    }

    /// Takes the next piece of the stream; returns a batch once `size` lines are whole. A
    /// chunk may complete more lines than that: they all go into this batch.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Option<Batch>, FetchError> {
        if self.trailer.is_some() {
            return Err(after_trailer());
        }
        self.buf.extend_from_slice(chunk);
        while let Some(at) = memchr::memchr(b'\n', &self.buf[self.whole..]) {
            let (start, end) = (self.whole, self.whole + at);
            self.whole = end + 1;
            let line = &self.buf[start..end];
            // Every record starts so (the server writes its fields in order); only another
            // line can be the trailer, so only those are parsed twice. A line that is neither
            // goes on as a record, for decoding to refuse (and quarantine) with its reason.
            if !line.starts_with(b"{\"entity\"")
                && let Some(t) = std::str::from_utf8(line)
                    .ok()
                    .and_then(SnapshotTrailer::parse)
                    .and_then(Result::ok)
            {
                if self.whole < self.buf.len() {
                    return Err(after_trailer());
                }
                self.trailer = Some(t);
                self.buf.truncate(start);
                self.whole = start;
                break;
            }
            self.lines += 1;
            self.last_line = start;
        }
        if self.lines < self.size {
            return Ok(None);
        }
        let mut next = std::mem::take(&mut self.spare);
        next.clear();
        // Sized for a whole batch (and the chunk that ends it) at once: grown by doubling, a
        // batch of megabytes was copied again at every step.
        next.reserve_exact(self.whole + self.whole / 8);
        next.extend_from_slice(&self.buf[self.whole..]);
        self.buf.truncate(self.whole);
        let full = std::mem::replace(&mut self.buf, next);
        self.whole = 0;
        self.batch(full).map(Some)
    }

    /// Gives back a decoded batch's buffer, to gather a later batch in.
    pub fn recycle(&mut self, records: String) {
        let buf = records.into_bytes();
        if buf.capacity() > self.spare.capacity() {
            self.spare = buf;
        }
    }

    /// At the end of the stream: the lines not yet in a batch, and the trailer.
    pub fn finish(mut self) -> Result<(Batch, SnapshotTrailer), FetchError> {
        let Some(trailer) = self.trailer.take() else {
            return Err(FetchError::Garbled(
                "the snapshot ended without its trailer (cut short)".into(),
            ));
        };
        let buf = std::mem::take(&mut self.buf);
        Ok((self.batch(buf)?, trailer))
    }

    fn batch(&mut self, buf: Vec<u8>) -> Result<Batch, FetchError> {
        let batch = Batch {
            records: String::from_utf8(buf).map_err(|_| not_utf8())?,
            lines: self.lines,
            last_line: self.last_line,
        };
        self.lines = 0;
        self.last_line = 0;
        Ok(batch)
    }
}

fn after_trailer() -> FetchError {
    FetchError::Garbled("the snapshot went on after its trailer".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAILER: &str = r#"{"next":"01M8EFWRBJQET2GWJR98PAMPXR.7","up_to_date":true,"count":7}"#;

    fn record(i: usize) -> String {
        format!(r#"{{"entity":"party","id":"pty_{i}","op":"upsert","version":1,"name":"Zoë {i}"}}"#)
    }

    fn stream(n: usize) -> String {
        let mut s: String = (0..n).map(|i| record(i) + "\n").collect();
        s.push_str(TRAILER);
        s.push('\n');
        s
    }

    /// Feeds `bytes` in chunks of `chunk` bytes; returns the batches' lines, the last batch
    /// included, and the trailer's count.
    fn cut(bytes: &[u8], chunk: usize, size: usize) -> Result<(Vec<Vec<String>>, u64), FetchError> {
        let mut batcher = Batcher::new(size);
        let mut out = Vec::new();
        let mut take = |b: Batch| {
            let lines: Vec<String> = b.records.lines().map(str::to_owned).collect();
            assert_eq!(lines.len(), b.lines);
            if let Some(last) = lines.last() {
                assert_eq!(b.last_line().trim_end(), last);
            }
            out.push(lines);
            b.records
        };
        for piece in bytes.chunks(chunk) {
            if let Some(b) = batcher.push(piece)? {
                let records = take(b);
                batcher.recycle(records);
            }
        }
        let (last, trailer) = batcher.finish()?;
        take(last);
        Ok((out, trailer.count))
    }

    #[test]
    fn whole_lines_in_batches_wherever_the_chunks_break() {
        let text = stream(7);
        let expected: Vec<String> = (0..7).map(record).collect();
        for chunk in 1..=text.len() {
            let (batches, count) = cut(text.as_bytes(), chunk, 3).expect("cut");
            assert_eq!(count, 7, "trailer with chunks of {chunk}");
            assert_eq!(batches.concat(), expected, "chunks of {chunk}");
            assert!(
                batches[..batches.len() - 1].iter().all(|b| b.len() >= 3),
                "chunks of {chunk}: {batches:?}"
            );
        }
        // One chunk holding everything makes one batch of all lines, then an empty last one.
        let (batches, _) = cut(text.as_bytes(), text.len(), 3).expect("cut");
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [7, 0]);
    }

    #[test]
    fn a_snapshot_without_its_trailer_is_cut_short() {
        let mut text = stream(4);
        text.truncate(text.len() - TRAILER.len() - 1);
        let err = cut(text.as_bytes(), 100, 2).expect_err("no trailer");
        assert!(err.to_string().contains("without its trailer"), "{err}");
        // Cut in the middle of a line.
        let err = cut(&text.as_bytes()[..text.len() - 5], 100, 2).expect_err("mid-line");
        assert!(err.to_string().contains("without its trailer"), "{err}");
    }

    #[test]
    fn nothing_may_follow_the_trailer() {
        for extra in ["\n", "{\"entity\"", &(record(9) + "\n")] {
            let text = stream(2) + extra;
            for chunk in [1, 7, text.len()] {
                let err = cut(text.as_bytes(), chunk, 5).expect_err("after trailer");
                assert!(
                    err.to_string().contains("after its trailer"),
                    "{extra:?}: {err}"
                );
            }
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        let mut text = stream(3).into_bytes();
        text[20] = 0xff;
        let err = cut(&text, 64, 2).expect_err("not UTF-8");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        let err = cut(&text, 64, 10).expect_err("not UTF-8 in the last batch");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }

    #[test]
    fn a_recycled_buffer_gathers_the_next_batch() {
        let text = stream(100);
        let mut batcher = Batcher::new(10);
        let mut capacities = Vec::new();
        for piece in text.as_bytes().chunks(50) {
            if let Some(b) = batcher.push(piece).expect("push") {
                capacities.push(b.records.capacity());
                // A buffer far larger than a batch needs: whichever batch it gathers shows it.
                batcher.recycle(String::with_capacity(1 << 20));
            }
        }
        assert!(capacities.len() >= 8, "{capacities:?}");
        assert!(capacities[0] < 1 << 20, "{capacities:?}");
        assert!(
            capacities[2..].iter().all(|&c| c >= 1 << 20),
            "{capacities:?}"
        );
    }
}
