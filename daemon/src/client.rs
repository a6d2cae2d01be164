//! The upstream's feed and snapshot as the daemon reads them, with every answer sorted into
//! what the mirror should do next: retry later (offline, garbled), resync (409 epoch), or tell
//! a person (refused: a bad token, a missing permission).

use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use liner::model::Cursor;
use serde::Deserialize;

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
}

/// The line that ends every feed page and the snapshot.
#[derive(Debug, Clone, Deserialize)]
pub struct Trailer {
    pub next: String,
    pub up_to_date: bool,
    /// Snapshot: how many records it held.
    #[serde(default)]
    pub count: Option<u64>,
    /// Feed page: how many changes lie past it.
    #[serde(default)]
    pub behind: Option<u64>,
}

impl Trailer {
    pub fn cursor(&self) -> Result<Cursor, FetchError> {
        Cursor::parse_token(&self.next).ok_or_else(|| {
            FetchError::Garbled(format!(
                "the trailer's cursor {:?} does not parse",
                self.next
            ))
        })
    }
}

/// Whether an NDJSON line is the trailer rather than a record.
pub fn trailer_of(line: &str) -> Option<Trailer> {
    if line.starts_with("{\"entity\"") {
        return None;
    }
    serde_json::from_str(line).ok()
}

/// A snapshot as it starts to arrive.
#[derive(Debug)]
pub struct Snapshot<S> {
    pub count: Option<u64>,
    pub cursor: Cursor,
    pub body: S,
}

/// A feed page: its record lines (each ending in `\n`) and the trailer.
#[derive(Debug)]
pub struct Page {
    pub records: String,
    pub count: usize,
    pub trailer: Trailer,
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
            if !ctype.starts_with("application/x-ndjson") {
                return Err(FetchError::Garbled(format!(
                    "{path} answered {ctype:?}, not application/x-ndjson"
                )));
            }
            return Ok(response);
        }
        let detail = problem_detail(response).await;
        Err(match status.as_u16() {
            409 => FetchError::Resync(detail),
            s if s >= 500 || s == 429 || s == 408 => {
                FetchError::Offline(format!("{status}: {detail}"))
            }
            s => FetchError::Refused { status: s, detail },
        })
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

    /// The snapshot (after an entity id, to resume one cut short): its announced record
    /// count, the cursor it is consistent at, and the byte stream.
    pub async fn snapshot(
        &self,
        after: Option<&str>,
    ) -> Result<Snapshot<impl Stream<Item = reqwest::Result<Bytes>> + use<>>, FetchError> {
        let path = match after {
            Some(id) => format!("/v1/snapshot?after={id}"),
            None => "/v1/snapshot".to_owned(),
        };
        // No overall timeout: a million records take a while. Stalls show up as read errors.
        let response = self.get(&path, Duration::from_secs(24 * 3600)).await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let count = header("x-liner-snapshot-count").and_then(|v| v.parse().ok());
        let cursor = header("x-liner-cursor")
            .and_then(|c| Cursor::parse_token(&c))
            .ok_or_else(|| {
                FetchError::Garbled("the snapshot came without its X-Liner-Cursor".into())
            })?;
        Ok(Snapshot {
            count,
            cursor,
            body: response.bytes_stream(),
        })
    }
}

/// How the upstream answered an edit.
#[derive(Debug)]
pub enum PatchOutcome {
    Accepted {
        version: u64,
    },
    /// 412: the entity moved on; its current version and data.
    Stale {
        version: u64,
        data: serde_json::Value,
    },
    /// 422: the upstream's reasons, as its problem body says them.
    Rejected {
        reasons: String,
    },
    /// 404 / 410: the entity is gone upstream.
    Gone {
        detail: String,
    },
}

fn collection(id: &liner::model::EntityId) -> &'static str {
    use liner::model::EntityKind;
    match id.kind() {
        EntityKind::Recording => "recordings",
        EntityKind::Work => "works",
        EntityKind::Party => "parties",
        EntityKind::Release => "releases",
    }
}

impl Upstream {
    /// Sends one edit with its base version and idempotency key.
    pub async fn patch(
        &self,
        id: &liner::model::EntityId,
        base_version: u64,
        key: &str,
        reason: &str,
        patch: &serde_json::Value,
    ) -> Result<PatchOutcome, FetchError> {
        let response = self
            .http
            .patch(format!("{}/v1/{}/{id}", self.base, collection(id)))
            .bearer_auth(&self.token)
            .header("if-match", format!("\"{base_version}\""))
            .header("idempotency-key", key)
            .timeout(Duration::from_secs(30))
            .json(&serde_json::json!({"reason": reason, "patch": patch}))
            .send()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        let body: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        match status {
            200 => Ok(PatchOutcome::Accepted {
                version: body["version"].as_u64().unwrap_or(base_version + 1),
            }),
            412 => Ok(PatchOutcome::Stale {
                version: body["current"]["version"].as_u64().ok_or_else(|| {
                    FetchError::Garbled("a 412 without the current version".into())
                })?,
                data: body["current"]["data"].clone(),
            }),
            422 => Ok(PatchOutcome::Rejected {
                reasons: if body["errors"].is_array() {
                    body["errors"].to_string()
                } else {
                    text
                },
            }),
            404 | 410 => Ok(PatchOutcome::Gone {
                detail: body["detail"].as_str().unwrap_or("gone").to_owned(),
            }),
            s if s >= 500 || s == 429 || s == 408 => {
                Err(FetchError::Offline(format!("{s}: {text}")))
            }
            s => Err(FetchError::Refused {
                status: s,
                detail: body["detail"].as_str().map_or(text.clone(), str::to_owned),
            }),
        }
    }

    /// Whom this token belongs to.
    pub async fn me(&self) -> Result<crate::status::Who, FetchError> {
        let response = self
            .http
            .get(format!("{}/v1/me", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let detail = problem_detail(response).await;
            return Err(FetchError::Refused {
                status: status.as_u16(),
                detail,
            });
        }
        response
            .json()
            .await
            .map_err(|e| FetchError::Garbled(format!("/v1/me: {}", describe(&e))))
    }

    /// An entity's revisions (oldest first), for a three-way merge.
    pub async fn history(
        &self,
        id: &liner::model::EntityId,
    ) -> Result<Vec<serde_json::Value>, FetchError> {
        let response = self
            .http
            .get(format!("{}/v1/{}/{id}/history", self.base, collection(id)))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| FetchError::Offline(describe(&e)))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| FetchError::Garbled(format!("history: {}", describe(&e))))?;
        if !status.is_success() {
            return Err(FetchError::Refused {
                status: status.as_u16(),
                detail: body["detail"].as_str().unwrap_or("").to_owned(),
            });
        }
        Ok(body["revisions"].as_array().cloned().unwrap_or_default())
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
    let trailer = trailer_of(last)
        .ok_or_else(|| FetchError::Garbled("a feed page did not end with its trailer".into()))?;
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

async fn problem_detail(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect())
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
            "{\"entity\":\"party\",\"id\":\"x\"}\n{\"next\":\"E.2\",\"up_to_date\":true}\n".into(),
        )
        .expect("page");
        assert_eq!(page.count, 1);
        assert!(page.records.starts_with("{\"entity\""));
        assert!(page.trailer.up_to_date);
        let empty = split_page("{\"next\":\"E.2\",\"up_to_date\":false}\n".into()).expect("page");
        assert_eq!((empty.count, empty.records.as_str()), (0, ""));
    }

    #[test]
    fn cut_or_garbled_pages_are_refused_whole() {
        for body in [
            "{\"entity\":\"party\",\"id\":\"x\"}\n",
            "{\"entity\":\"party\",\"id\":\"x\"}\n{\"next\":\"E.2\",\"up_to",
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
