//! Fuzz bytes as an HTTP request to the server, in a small invertible layout so the seed
//! generator can write real requests: method, route, authorization and flag bytes, a
//! length-prefixed path segment, a length-prefixed header value, then the body.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request};

pub const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::HEAD,
    Method::PATCH,
    Method::OPTIONS,
];

/// The server's routes, and one free path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    Sync,
    Intervention,
    Catalog,
    Pack,
    Free,
    LearnerCatalog,
    Assignments,
}

const ROUTES: [Route; 8] = [
    Route::Health,
    Route::Sync,
    Route::Intervention,
    Route::Catalog,
    Route::Pack,
    Route::Free,
    Route::LearnerCatalog,
    Route::Assignments,
];

/// Which `Authorization` the request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    /// A valid token for the learner and a device.
    Learner,
    /// A valid token for another learner.
    OtherLearner,
    Admin,
    Expired,
    /// `Bearer ` followed by the header bytes.
    BearerGarbage,
    /// The header bytes as they are.
    RawGarbage,
}

const AUTHS: [Auth; 7] = [
    Auth::None,
    Auth::Learner,
    Auth::OtherLearner,
    Auth::Admin,
    Auth::Expired,
    Auth::BearerGarbage,
    Auth::RawGarbage,
];

/// The body is deflated before sending (so the fuzzer writes a sync body's raw layout).
pub const DEFLATE_BODY: u8 = 1;
/// `Range:` the header bytes.
pub const RANGE: u8 = 2;
/// `If-None-Match:` the sample pack's real ETag.
pub const IF_NONE_MATCH: u8 = 4;
/// `If-Range:` the real ETag, or the header bytes with [`IF_RANGE_GARBAGE`].
pub const IF_RANGE: u8 = 8;
pub const IF_RANGE_GARBAGE: u8 = 16;
/// `Content-Type: application/json`.
pub const JSON: u8 = 32;

/// One request, as the fuzz bytes describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestSpec {
    pub method: u8,
    pub route: u8,
    pub auth: u8,
    pub flags: u8,
    /// The learner or pack file in the path (a default one when empty), or the free path.
    pub segment: Vec<u8>,
    /// Range, If-Range or garbage authorization, as `flags` and `auth` say.
    pub header: Vec<u8>,
    pub body: Vec<u8>,
}

/// What the requests refer to: tokens minted by the server's key, the pack on offer.
pub struct Fixtures {
    pub learner: String,
    pub learner_token: String,
    pub other_learner_token: String,
    pub admin_token: String,
    pub expired_token: String,
    pub pack_file: String,
    pub pack_etag: String,
}

impl RequestSpec {
    pub fn decode(data: &[u8]) -> RequestSpec {
        let byte = |i: usize| data.get(i).copied().unwrap_or(0);
        let mut rest = data.get(4..).unwrap_or_default();
        let mut take_prefixed = || {
            let (len, tail) = rest
                .split_first()
                .map_or((0, rest), |(n, t)| (*n as usize, t));
            let (taken, tail) = tail.split_at(len.min(tail.len()));
            rest = tail;
            taken.to_vec()
        };
        let segment = take_prefixed();
        let header = take_prefixed();
        RequestSpec {
            method: byte(0),
            route: byte(1),
            auth: byte(2),
            flags: byte(3),
            segment,
            header,
            body: rest.to_vec(),
        }
    }

    /// The bytes [`RequestSpec::decode`] reads back as `self` (segment and header up to 255
    /// bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.method, self.route, self.auth, self.flags];
        for field in [&self.segment, &self.header] {
            let field = &field[..field.len().min(255)];
            out.push(field.len() as u8);
            out.extend_from_slice(field);
        }
        out.extend_from_slice(&self.body);
        out
    }

    pub fn route(&self) -> Route {
        ROUTES[self.route as usize % ROUTES.len()]
    }

    pub fn auth(&self) -> Auth {
        AUTHS[self.auth as usize % AUTHS.len()]
    }

    pub fn method(&self) -> Method {
        METHODS[self.method as usize % METHODS.len()].clone()
    }

    /// The request path; every byte of the segment outside the unreserved set is
    /// percent-encoded, so the handler sees the segment itself.
    pub fn path(&self, fixtures: &Fixtures) -> String {
        let segment = |default: &str| {
            if self.segment.is_empty() {
                default.to_string()
            } else {
                percent_encode(&self.segment, false)
            }
        };
        match self.route() {
            Route::Health => "/health".into(),
            Route::Sync => format!("/v1/learners/{}/sync", segment(&fixtures.learner)),
            Route::Intervention => format!(
                "/v1/admin/learners/{}/interventions",
                segment(&fixtures.learner)
            ),
            Route::Catalog => "/v1/catalog".into(),
            Route::Pack => format!("/v1/packs/{}", segment(&fixtures.pack_file)),
            Route::Free => format!("/{}", percent_encode(&self.segment, true)),
            Route::LearnerCatalog => format!("/v1/learners/{}/catalog", segment(&fixtures.learner)),
            Route::Assignments => "/v1/admin/assignments".into(),
        }
    }

    /// The HTTP request, or `None` when the fuzz bytes make no valid one.
    pub fn to_request(&self, fixtures: &Fixtures) -> Option<Request<Body>> {
        let mut builder = Request::builder()
            .method(self.method())
            .uri(self.path(fixtures));
        let authorization = match self.auth() {
            Auth::None => None,
            Auth::Learner => Some(format!("Bearer {}", fixtures.learner_token).into_bytes()),
            Auth::OtherLearner => {
                Some(format!("Bearer {}", fixtures.other_learner_token).into_bytes())
            }
            Auth::Admin => Some(format!("Bearer {}", fixtures.admin_token).into_bytes()),
            Auth::Expired => Some(format!("Bearer {}", fixtures.expired_token).into_bytes()),
            Auth::BearerGarbage => Some([b"Bearer ".as_slice(), &self.header].concat()),
            Auth::RawGarbage => Some(self.header.clone()),
        };
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, HeaderValue::from_bytes(&value).ok()?);
        }
        if self.flags & RANGE != 0 {
            builder = builder.header(header::RANGE, HeaderValue::from_bytes(&self.header).ok()?);
        }
        if self.flags & IF_NONE_MATCH != 0 {
            builder = builder.header(header::IF_NONE_MATCH, fixtures.pack_etag.as_str());
        }
        if self.flags & IF_RANGE != 0 {
            let value = if self.flags & IF_RANGE_GARBAGE != 0 {
                HeaderValue::from_bytes(&self.header).ok()?
            } else {
                HeaderValue::from_str(&fixtures.pack_etag).ok()?
            };
            builder = builder.header(header::IF_RANGE, value);
        }
        if self.flags & JSON != 0 {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        builder.body(Body::from(self.body_bytes())).ok()
    }

    /// The body as sent.
    pub fn body_bytes(&self) -> Vec<u8> {
        if self.flags & DEFLATE_BODY != 0 {
            crate::deflate(&self.body)
        } else {
            self.body.clone()
        }
    }
}

fn percent_encode(bytes: &[u8], keep_slashes: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slashes && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
