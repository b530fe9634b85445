//! The body of one HTTP sync exchange, shared by the client and the server.
//!
//! One exchange carries, for every document that needs it, one Automerge sync message, plus the
//! sender's current heads of every document it holds (so a peer can tell in one round trip that
//! nothing changed). The body is a small length-prefixed binary layout, deflated. Decoding
//! checks every length against hard limits before allocating, so a hostile or truncated body is
//! a typed error, never a panic or a large allocation.
//!
//! A device lists its documents' heads in pages ([`Listing`]): each page covers a range of
//! names, so a learner with years of monthly documents (or a hostile device that made many)
//! never needs an exchange over the limits. A reply answers at most a bounded number of
//! documents; when it stops early it says where the device should go on listing
//! ([`Exchange::resume_after`]). A reply also names the documents whose messages the server
//! refused ([`Exchange::refused`]), so one bad document never stops the others.
//!
//! Layout (before deflate), all integers big-endian:
//! `"TBX2"`, u16 heads count, per entry: name (u8 length, bytes), u8 head count, 32-byte hashes;
//! u16 message count, per entry: name (u8 length, bytes), u32 length, message bytes;
//! u8 flags (1: a listing, 2: its `after`, 4: its `through`, 8: `resume_after`), then each name
//! present (u8 length, bytes) in that order; u16 refused count, per entry: name (u8 length,
//! bytes), reason (u16 length, UTF-8). `"TBX1"` bodies (no flags, no refusals; a listing of
//! everything when they carry heads or nothing) are still read.

use std::io::{Read, Write};

use automerge::ChangeHash;

const MAGIC: &[u8; 4] = b"TBX2";
const MAGIC_V1: &[u8; 4] = b"TBX1";
/// The longest refusal reason carried.
const MAX_REASON_BYTES: usize = 1024;
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

/// The names one page of heads covers: those after `after` (from the first when `None`) up to
/// and including `through` (to the last when `None`). A document in the range that the page
/// does not list is one the device does not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub after: Option<String>,
    pub through: Option<String>,
}

impl Listing {
    /// True if `name` lies in the range.
    pub fn covers(&self, name: &str) -> bool {
        self.after.as_deref().is_none_or(|after| name > after)
            && self
                .through
                .as_deref()
                .is_none_or(|through| name <= through)
    }
}

/// A document whose message the receiver refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedDocument {
    pub doc: String,
    pub reason: String,
}

/// What one side sends in one exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    pub heads: Vec<DocumentHeads>,
    pub messages: Vec<DocumentMessage>,
    /// Set when `heads` is a page of the sender's documents: the range it covers.
    pub listing: Option<Listing>,
    /// In a reply to a listing: the receiver answered the range only through this name; the
    /// sender lists again from after it.
    pub resume_after: Option<String>,
    /// In a reply: documents whose messages were refused (nothing of them was stored).
    pub refused: Vec<RefusedDocument>,
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
        let listing = self.listing.as_ref();
        let after = listing.and_then(|l| l.after.as_deref());
        let through = listing.and_then(|l| l.through.as_deref());
        let resume = self.resume_after.as_deref();
        let flags = u8::from(listing.is_some())
            | u8::from(after.is_some()) << 1
            | u8::from(through.is_some()) << 2
            | u8::from(resume.is_some()) << 3;
        raw.push(flags);
        for name in [after, through, resume].into_iter().flatten() {
            put_name(&mut raw, name);
        }
        raw.extend_from_slice(&(self.refused.len().min(MAX_DOCUMENTS) as u16).to_be_bytes());
        for entry in self.refused.iter().take(MAX_DOCUMENTS) {
            put_name(&mut raw, &entry.doc);
            let mut end = entry.reason.len().min(MAX_REASON_BYTES);
            while !entry.reason.is_char_boundary(end) {
                end -= 1;
            }
            raw.extend_from_slice(&(end as u16).to_be_bytes());
            raw.extend_from_slice(&entry.reason.as_bytes()[..end]);
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
        let version = reader.take(4)?;
        let v1 = version == MAGIC_V1;
        if !v1 && version != MAGIC {
            return Err(ExchangeError::Malformed(
                "it does not start with TBX2 or TBX1",
            ));
        }
        let count = reader.u16()? as usize;
        if count > MAX_DOCUMENTS {
            return Err(ExchangeError::TooManyDocuments);
        }
        let mut heads = Vec::with_capacity(count);
        for _ in 0..count {
            let doc = reader.name()?;
            let n = reader.u8()? as usize;
            // What `encode` never writes is not read either: a decoded exchange sent on is
            // the same exchange.
            if n > MAX_HEADS {
                return Err(ExchangeError::Malformed(
                    "a document lists more than 64 heads",
                ));
            }
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
        let mut exchange = Exchange {
            heads,
            messages,
            ..Exchange::default()
        };
        if v1 {
            if !exchange.heads.is_empty() || exchange.messages.is_empty() {
                exchange.listing = Some(Listing::default());
            }
        } else {
            let flags = reader.u8()?;
            if flags & !0b1111 != 0 || (flags & 0b0110 != 0 && flags & 1 == 0) {
                return Err(ExchangeError::Malformed("unknown or inconsistent flags"));
            }
            let mut name_if = |bit: u8| -> Result<Option<String>, ExchangeError> {
                (flags & bit != 0).then(|| reader.name()).transpose()
            };
            let after = name_if(2)?;
            let through = name_if(4)?;
            exchange.resume_after = name_if(8)?;
            if flags & 1 != 0 {
                exchange.listing = Some(Listing { after, through });
            }
            let count = reader.u16()? as usize;
            if count > MAX_DOCUMENTS {
                return Err(ExchangeError::TooManyDocuments);
            }
            for _ in 0..count {
                let doc = reader.name()?;
                let length = reader.u16()? as usize;
                if length > MAX_REASON_BYTES {
                    return Err(ExchangeError::Malformed("a refusal reason is too long"));
                }
                let reason = String::from_utf8(reader.take(length)?.to_vec())
                    .map_err(|_| ExchangeError::Malformed("a refusal reason is not UTF-8"))?;
                exchange.refused.push(RefusedDocument { doc, reason });
            }
        }
        if !reader.bytes.is_empty() {
            return Err(ExchangeError::Malformed("bytes follow the last entry"));
        }
        Ok(exchange)
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
            listing: Some(Listing {
                after: Some("events-2026-01".into()),
                through: None,
            }),
            resume_after: Some("events-2026-09".into()),
            refused: vec![RefusedDocument {
                doc: "events-2000-01".into(),
                reason: "outside the window".into(),
            }],
        }
    }

    #[test]
    fn a_listing_covers_names_after_its_start_through_its_end() {
        let page = Listing {
            after: Some("events-2026-01".into()),
            through: Some("events-2026-03".into()),
        };
        assert!(!page.covers("events-2026-01"));
        assert!(page.covers("events-2026-02"));
        assert!(page.covers("events-2026-03"));
        assert!(!page.covers("events-2026-04"));
        assert!(Listing::default().covers("events-1999-01"));
    }

    #[test]
    fn a_version_one_body_reads_as_a_listing_of_everything() {
        let mut raw = b"TBX1".to_vec();
        raw.extend_from_slice(&[0, 0, 0, 0]);
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&raw).unwrap();
        let decoded = Exchange::decode(&encoder.finish().unwrap()).unwrap();
        assert_eq!(decoded.listing, Some(Listing::default()));
        assert!(decoded.heads.is_empty() && decoded.refused.is_empty());
    }

    #[test]
    fn an_exchange_round_trips() {
        assert_eq!(Exchange::decode(&sample().encode()).unwrap(), sample());
        assert_eq!(
            Exchange::decode(&Exchange::default().encode()).unwrap(),
            Exchange::default()
        );
        let listing_only = Exchange {
            listing: Some(Listing::default()),
            ..Exchange::default()
        };
        assert_eq!(
            Exchange::decode(&listing_only.encode()).unwrap(),
            listing_only
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
