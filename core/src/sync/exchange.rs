//! The body of one HTTP sync exchange, shared by the client and the server.
//!
//! One exchange carries, for every document that needs it, one Automerge sync message, plus the
//! sender's current heads of every document it holds (so a peer can tell in one round trip that
//! nothing changed). The body is a small length-prefixed binary layout, deflated. Decoding
//! checks every length against hard limits before allocating, so a hostile or truncated body is
//! a typed error, never a panic or a large allocation.
//!
//! Layout (before deflate), all integers big-endian:
//! `"TBX1"`, u16 heads count, per entry: name (u8 length, bytes), u8 head count, 32-byte hashes;
//! u16 message count, per entry: name (u8 length, bytes), u32 length, message bytes.

use std::io::{Read, Write};

use automerge::ChangeHash;

const MAGIC: &[u8; 4] = b"TBX1";
/// The most documents one exchange may name.
pub const MAX_DOCUMENTS: usize = 512;
/// The largest inflated body accepted (a deflate bomb stops here).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
const MAX_HEADS: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExchangeError {
    #[error("the sync body is not deflate data: {0}")]
    NotDeflate(String),
    #[error("the sync body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the sync body is malformed: {0}")]
    Malformed(&'static str),
    #[error("the sync body names more than {MAX_DOCUMENTS} documents")]
    TooManyDocuments,
}

/// One document's heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentHeads {
    pub doc: String,
    pub heads: Vec<ChangeHash>,
}

/// One document's Automerge sync message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMessage {
    pub doc: String,
    pub message: Vec<u8>,
}

/// What one side sends in one exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    pub heads: Vec<DocumentHeads>,
    pub messages: Vec<DocumentMessage>,
}

impl Exchange {
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty() && self.messages.is_empty()
    }

    /// The deflated wire form.
    pub fn encode(&self) -> Vec<u8> {
        let mut raw =
            Vec::with_capacity(64 + self.messages.iter().map(|m| m.message.len()).sum::<usize>());
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&(self.heads.len().min(u16::MAX as usize) as u16).to_be_bytes());
        for entry in &self.heads {
            put_name(&mut raw, &entry.doc);
            raw.push(entry.heads.len().min(MAX_HEADS) as u8);
            for head in entry.heads.iter().take(MAX_HEADS) {
                raw.extend_from_slice(head.as_ref());
            }
        }
        raw.extend_from_slice(&(self.messages.len().min(u16::MAX as usize) as u16).to_be_bytes());
        for entry in &self.messages {
            put_name(&mut raw, &entry.doc);
            raw.extend_from_slice(&(entry.message.len() as u32).to_be_bytes());
            raw.extend_from_slice(&entry.message);
        }
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(&raw);
        encoder.finish().unwrap_or_default()
    }

    /// Reads a wire body, refusing anything malformed or over the limits.
    pub fn decode(body: &[u8]) -> Result<Exchange, ExchangeError> {
        let mut raw = Vec::new();
        flate2::read::DeflateDecoder::new(body)
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(|e| ExchangeError::NotDeflate(e.to_string()))?;
        if raw.len() > MAX_BODY_BYTES {
            return Err(ExchangeError::TooLarge);
        }
        let mut reader = Reader { bytes: &raw };
        if reader.take(4)? != MAGIC {
            return Err(ExchangeError::Malformed("it does not start with TBX1"));
        }
        let count = reader.u16()? as usize;
        if count > MAX_DOCUMENTS {
            return Err(ExchangeError::TooManyDocuments);
        }
        let mut heads = Vec::with_capacity(count);
        for _ in 0..count {
            let doc = reader.name()?;
            let n = reader.u8()? as usize;
            let mut list = Vec::with_capacity(n);
            for _ in 0..n {
                let bytes: [u8; 32] = reader
                    .take(32)?
                    .try_into()
                    .map_err(|_| ExchangeError::Malformed("a head is not 32 bytes"))?;
                list.push(ChangeHash(bytes));
            }
            heads.push(DocumentHeads { doc, heads: list });
        }
        let count = reader.u16()? as usize;
        if count > MAX_DOCUMENTS {
            return Err(ExchangeError::TooManyDocuments);
        }
        let mut messages = Vec::with_capacity(count);
        for _ in 0..count {
            let doc = reader.name()?;
            let length = reader.u32()? as usize;
            messages.push(DocumentMessage {
                doc,
                message: reader.take(length)?.to_vec(),
            });
        }
        if !reader.bytes.is_empty() {
            return Err(ExchangeError::Malformed("bytes follow the last message"));
        }
        Ok(Exchange { heads, messages })
    }
}

/// Heads packed as 32-byte hashes end to end, as the device's and the server's stores keep them.
pub fn pack_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// Reads heads packed by [`pack_heads`]; a trailing partial hash is ignored.
pub fn unpack_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| c.try_into().ok().map(ChangeHash))
        .collect()
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let bytes = &name.as_bytes()[..name.len().min(255)];
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ExchangeError> {
        if n > self.bytes.len() {
            return Err(ExchangeError::Malformed("it ends early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ExchangeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ExchangeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ExchangeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self) -> Result<String, ExchangeError> {
        let n = self.u8()? as usize;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| ExchangeError::Malformed("a document name is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Exchange {
        Exchange {
            heads: vec![DocumentHeads {
                doc: "events-2026-11".into(),
                heads: vec![ChangeHash([7; 32]), ChangeHash([9; 32])],
            }],
            messages: vec![DocumentMessage {
                doc: "events-2026-10".into(),
                message: vec![1, 2, 3, 4, 5],
            }],
        }
    }

    #[test]
    fn an_exchange_round_trips() {
        assert_eq!(Exchange::decode(&sample().encode()).unwrap(), sample());
        assert_eq!(
            Exchange::decode(&Exchange::default().encode()).unwrap(),
            Exchange::default()
        );
    }

    #[test]
    fn every_truncation_of_a_body_is_refused() {
        let body = sample().encode();
        for cut in 0..body.len() {
            assert!(
                Exchange::decode(&body[..cut]).is_err(),
                "cut at {cut} accepted"
            );
        }
    }

    #[test]
    fn garbage_and_bombs_are_refused() {
        assert!(Exchange::decode(b"not deflate at all").is_err());
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(MAGIC).unwrap();
        for _ in 0..(MAX_BODY_BYTES / 65536 + 1) {
            encoder.write_all(&[0u8; 65536]).unwrap();
        }
        let bomb = encoder.finish().unwrap();
        assert_eq!(Exchange::decode(&bomb), Err(ExchangeError::TooLarge));
    }
}
