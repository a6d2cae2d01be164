//! The upstream as the daemon reads it, with every answer decoded into the protocol's types
//! ([`liner::protocol`]) and sorted into what to do next: retry later (offline, or garbled: a
//! missing or ill-typed member is never read as a default), resync (409 epoch), or tell a
//! person (refused: a bad token, a missing permission, a rejected edit).

use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use liner::model::{Cursor, EntityId, Revision};
use liner::protocol::{
    CURSOR_HEADER, Collection, EntityAnswer, FeedTrailer, HistoryAnswer, Me, NDJSON,
    PROTOCOL_HEADER, PatchRequest, Problem, SNAPSHOT_COUNT_HEADER, Trailer,
};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not reachable, timed out, or a 5xx: try again later.
    #[error("upstream unreachable: {0}")]
    Offline(String),
    /// An answer that is not what the protocol says (wrong type, no trailer, bad JSON).
    #[error("upstream answered garbled data: {0}")]
    Garbled(String),
    /// The cursor belongs to another epoch: the mirror must be rebuilt from a snapshot.
    #[error("upstream history was replaced: {0}")]
    Resync(String),
    /// Refused for a reason a person must fix (401, 403, other 4xx).
    #[error("upstream refused ({status}): {detail}")]
    Refused { status: u16, detail: String },
    /// Asked to come back later (429, or 503 with `Retry-After`): not offline, and the
    /// wait is the upstream's to say.
    #[error("upstream asked to wait {}s: {detail}", retry_after.as_secs())]
    Throttled {
        retry_after: Duration,
        detail: String,
    },
}

impl FetchError {
    /// How long the upstream asked to be left alone, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// The longest wait a `Retry-After` is taken at: past it the upstream is asked again anyway.
const LONGEST_WAIT: Duration = Duration::from_secs(600);

/// A `Retry-After` in seconds (the form liner's upstream sends; a date is not read).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // A zero (some proxies send it) would make a tight loop of retries.
    Some(Duration::from_secs(secs).clamp(Duration::from_secs(1), LONGEST_WAIT))
}

/// A snapshot as it starts to arrive.
#[derive(Debug)]
pub struct Snapshot<S> {
    pub count: Option<u64>,
    pub cursor: Cursor,
    /// The protocol version the upstream says it speaks (1 when it does not say).
    pub protocol: u32,
    pub body: S,
}

/// A feed page: its record lines (each ending in `\n`) and the trailer.
#[derive(Debug)]
pub struct Page {
    pub records: String,
    pub count: usize,
    pub trailer: FeedTrailer,
}

impl From<liner::protocol::TrailerError> for FetchError {
    fn from(e: liner::protocol::TrailerError) -> Self {
        FetchError::Garbled(e.to_string())
    }
}

/// Decodes an answer's JSON body as `T`, naming the endpoint when it is not one.
fn decode<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, FetchError> {
    serde_json::from_str(text).map_err(|e| FetchError::Garbled(format!("{what}: {e}")))
}

#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Upstream {
    /// `stall_after`: how long a read may wait for the next bytes before the connection counts
    /// as dead. It must outlast a long-poll's wait; without it a half-open connection in the
    /// middle of a snapshot would hang the daemon for good.
    pub fn new(base: &str, token: String, stall_after: Duration) -> Result<Self, FetchError> {
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(stall_after)
            // The upstream closes a kept-alive connection after 10 s without a request; letting
            // one go sooner here means a request never races that close.
            .pool_idle_timeout(Duration::from_secs(5))
            .user_agent(concat!("linerd/", env!("CARGO_PKG_VERSION")));
        if on_this_machine(base) {
            // Compressing bytes that never cross a network only costs CPU on both ends: zstd
            // was ~6% of a same-machine 1M bootstrap's CPU (perf), on the cores applying it.
            http = http.no_gzip().no_zstd();
        }
        let http = http
            .build()
            .map_err(|e| FetchError::Offline(e.to_string()))?;
        Ok(Upstream {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    async fn get(&self, path: &str, timeout: Duration) -> Result<reqwest::Response, FetchError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        let status = response.status();
        if status.is_success() {
            let ctype = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !ctype.starts_with(NDJSON) {
                return Err(FetchError::Garbled(format!(
                    "{path} answered {ctype:?}, not application/x-ndjson"
                )));
            }
            return Ok(response);
        }
        let wait = retry_after(response.headers());
        let detail = problem_detail(response).await;
        Err(failure(status.as_u16(), wait, detail))
    }

    /// One page after `since` (from the start when `None`), long-polling up to `wait`.
    pub async fn changes(
        &self,
        since: Option<&Cursor>,
        limit: usize,
        wait: Duration,
    ) -> Result<Page, FetchError> {
        let mut path = format!("/v1/changes?limit={limit}&wait={}s", wait.as_secs());
        if let Some(c) = since {
            path.push_str(&format!("&since={}", c.token()));
        }
        // The service answers within `wait`; allow it time to send a full page after that.
        let response = self.get(&path, wait + Duration::from_secs(30)).await?;
        let body = response
            .text()
            .await
            .map_err(|e| FetchError::Offline(format!("reading a feed page: {}", describe(&e))))?;
        split_page(body)
    }

    /// The snapshot with every entity's earlier revisions (after an entity id, to resume one
    /// cut short): its announced record count, the cursor to tail from after it (chunks are
    /// each consistent at a head no earlier), and the byte stream.
    pub async fn snapshot(
        &self,
        after: Option<&str>,
    ) -> Result<Snapshot<impl Stream<Item = reqwest::Result<Bytes>> + use<>>, FetchError> {
        // No overall timeout: a million records take a while. Stalls show up as read errors.
        let forever = Duration::from_secs(24 * 3600);
        let after_id = after.map(|id| format!("after={id}"));
        let with_history = match &after_id {
            Some(a) => format!("/v1/snapshot?history=all&{a}"),
            None => "/v1/snapshot?history=all".to_owned(),
        };
        let response = match self.get(&with_history, forever).await {
            // A service from before protocol 2 does not know the parameter: the latest
            // revision of each entity is all it has to give.
            Err(FetchError::Refused {
                status: 400,
                detail,
            }) if detail.contains("history") => {
                tracing::warn!(%detail, "the upstream gives no earlier revisions (protocol 1)");
                let plain = match &after_id {
                    Some(a) => format!("/v1/snapshot?{a}"),
                    None => "/v1/snapshot".to_owned(),
                };
                self.get(&plain, forever).await?
            }
            other => other?,
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let count = header(SNAPSHOT_COUNT_HEADER).and_then(|v| v.parse().ok());
        let cursor = header(CURSOR_HEADER)
            .and_then(|c| Cursor::parse_token(&c))
            .ok_or_else(|| {
                FetchError::Garbled("the snapshot came without its X-Liner-Cursor".into())
            })?;
        let protocol = header(PROTOCOL_HEADER)
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        Ok(Snapshot {
            count,
            cursor,
            protocol,
            body: response.bytes_stream(),
        })
    }
}

/// How the upstream answered an edit.
#[derive(Debug)]
pub enum PatchOutcome {
    /// 200: the entity at its new version.
    Accepted { version: u64 },
    /// 412: the entity moved on; its current version and data.
    Stale {
        version: u64,
        data: serde_json::Value,
    },
    /// 422, 403, or 409 (an identifier the edit sets is held by another entity): refused for
    /// a person to fix, in the upstream's words. A PATCH never gets the feed's 409 (resync).
    Rejected(Problem),
    /// 404 / 410, or a 412 whose current record is deleted: the entity is gone upstream.
    Gone {
        detail: String,
        version: Option<u64>,
    },
}

impl Upstream {
    /// Sends one edit with its base version and idempotency key.
    pub async fn patch(
        &self,
        id: &EntityId,
        base_version: u64,
        key: &str,
        reason: &str,
        patch: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<PatchOutcome, FetchError> {
        let response = self
            .http
            .patch(format!("{}{}", self.base, Collection::path(*id)))
            .bearer_auth(&self.token)
            .header("if-match", format!("\"{base_version}\""))
            .header("idempotency-key", key)
            .timeout(Duration::from_secs(30))
            .json(&PatchRequest {
                reason: Some(reason.to_owned()),
                patch: patch.clone(),
            })
            .send()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let text = response
            .text()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        match status {
            200 => {
                let answer: EntityAnswer = decode("an accepted edit's answer", &text)?;
                if answer.id != *id {
                    return Err(FetchError::Garbled(format!(
                        "an edit of {id} was answered for {}",
                        answer.id
                    )));
                }
                Ok(PatchOutcome::Accepted {
                    version: answer.version,
                })
            }
            412 => {
                let problem: Problem = decode("a 412", &text)?;
                let current = problem.current.ok_or_else(|| {
                    FetchError::Garbled("a 412 without the current record".into())
                })?;
                if current.deleted {
                    return Ok(PatchOutcome::Gone {
                        detail: problem.detail,
                        version: Some(current.version),
                    });
                }
                let data = current
                    .value()
                    .map_err(|e| FetchError::Garbled(format!("a 412's current record: {e}")))?;
                Ok(PatchOutcome::Stale {
                    version: current.version,
                    data,
                })
            }
            403 | 409 | 422 => Ok(PatchOutcome::Rejected(decode(
                &format!("a {status} refusal"),
                &text,
            )?)),
            404 | 410 => {
                let problem: Problem = decode(&format!("a {status}"), &text)?;
                Ok(PatchOutcome::Gone {
                    detail: problem.detail,
                    version: problem.version,
                })
            }
            s => Err(failure(s, wait, problem_words(&text))),
        }
    }

    /// Whom this token belongs to.
    pub async fn me(&self) -> Result<Me, FetchError> {
        let text = self.get_json("/v1/me").await?;
        decode("/v1/me", &text)
    }

    /// An entity's revisions (oldest first), for a three-way merge.
    pub async fn history(&self, id: &EntityId) -> Result<Vec<Revision>, FetchError> {
        let path = format!("{}/history", Collection::path(*id));
        let text = self.get_json(&path).await?;
        let answer: HistoryAnswer = decode(&path, &text)?;
        if answer.id != *id {
            return Err(FetchError::Garbled(format!(
                "{path} answered the history of {}",
                answer.id
            )));
        }
        Ok(answer.revisions.into_iter().map(|r| r.revision).collect())
    }

    /// A JSON answer's text; a refusal in the upstream's words.
    async fn get_json(&self, path: &str) -> Result<String, FetchError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let text = response
            .text()
            .await
            .map_err(|e| FetchError::Offline(format!("{path}: {}", describe(&e))))?;
        match status.as_u16() {
            200..=299 => Ok(text),
            s => Err(failure(s, wait, problem_words(&text))),
        }
    }
}

/// Splits a page into records and trailer; a page without a well-formed trailer last was cut
/// short or garbled and must not be applied at all.
pub fn split_page(mut body: String) -> Result<Page, FetchError> {
    if !body.ends_with('\n') {
        return Err(FetchError::Garbled(
            "a feed page did not end with a newline".into(),
        ));
    }
    body.pop();
    let (records_end, last) = match body.rfind('\n') {
        Some(i) => (i + 1, &body[i + 1..]),
        None => (0, body.as_str()),
    };
    let trailer = FeedTrailer::parse(last)
        .ok_or_else(|| FetchError::Garbled("a feed page did not end with its trailer".into()))??;
    body.truncate(records_end);
    let count = body.bytes().filter(|&b| b == b'\n').count();
    Ok(Page {
        records: body,
        count,
        trailer,
    })
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// What an answer outside the ones a call expects means: a replaced history (409, resync),
/// a request to wait (429, or a 503 saying how long), the upstream unable to answer now
/// (5xx, 408, a 429 without a wait: retry), or a refusal for a person.
fn failure(status: u16, wait: Option<Duration>, detail: String) -> FetchError {
    match (status, wait) {
        (429 | 503, Some(retry_after)) => FetchError::Throttled {
            retry_after,
            detail,
        },
        _ => failure_without_wait(status, detail),
    }
}

fn failure_without_wait(status: u16, detail: String) -> FetchError {
    match status {
        409 => FetchError::Resync(detail),
        s if s >= 500 || s == 429 || s == 408 => FetchError::Offline(format!("{s}: {detail}")),
        s => FetchError::Refused { status: s, detail },
    }
}

async fn problem_detail(response: reqwest::Response) -> String {
    problem_words(&response.text().await.unwrap_or_default())
}

/// What an error answer says: a problem's words, or the start of whatever else came.
fn problem_words(text: &str) -> String {
    serde_json::from_str::<Problem>(text)
        .map(|p| p.words())
        .unwrap_or_else(|_| text.chars().take(200).collect())
}

/// Whether `base` names this machine: a loopback address or `localhost`.
fn on_this_machine(base: &str) -> bool {
    use reqwest::Url;
    use url::Host;
    match Url::parse(base).ok().as_ref().and_then(Url::host) {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_split_into_records_and_trailer() {
        let page = split_page(
            "{\"entity\":\"party\",\"id\":\"x\"}\n{\"next\":\"E.2\",\"up_to_date\":true,\"behind\":0}\n"
                .into(),
        )
        .expect("page");
        assert_eq!(page.count, 1);
        assert!(page.records.starts_with("{\"entity\""));
        assert!(page.trailer.up_to_date);
        let empty = split_page("{\"next\":\"E.2\",\"up_to_date\":false,\"behind\":3}\n".into())
            .expect("page");
        assert_eq!((empty.count, empty.records.as_str()), (0, ""));
    }

    #[test]
    fn cut_or_garbled_pages_are_refused_whole() {
        for body in [
            "{\"entity\":\"party\",\"id\":\"x\"}\n",
            "{\"entity\":\"party\",\"id\":\"x\"}\n{\"next\":\"E.2\",\"up_to",
            "{\"next\":\"E.2\",\"up_to_date\":true}\n",
            "",
            "garbage\n",
        ] {
            assert!(
                matches!(split_page(body.into()), Err(FetchError::Garbled(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn only_an_upstream_on_this_machine_is_fetched_uncompressed() {
        for local in [
            "http://127.0.0.1:8080",
            "http://127.3.0.1/",
            "http://localhost:9000/v1",
            "http://[::1]:8080",
        ] {
            assert!(super::on_this_machine(local), "{local}");
        }
        for remote in [
            "https://catalog.example.com",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]/",
            "not a url",
        ] {
            assert!(!super::on_this_machine(remote), "{remote}");
        }
    }
}
