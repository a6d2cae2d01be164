//! Entity endpoints: read, create, patch, delete, history, and `/v1/me`.
//!
//! Every write states a reason and may carry an `Idempotency-Key`: the same key with the same
//! request gives the first answer again without a second revision; with a different request it
//! is refused. Patches and deletes need `If-Match: "<version>"`; a stale version gets 412 with
//! the current record so the client can merge. An ISRC, ISWC, ISNI or IPI another entity
//! holds gets 409 naming the field and the holder.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use liner::model::{EntityId, EntityKind};
use liner::protocol::{
    Collection, CreateRequest, DeleteRequest, EntityAnswer, HistoryAnswer, HistoryRevision, Me,
    PatchRequest, Problem as ProblemDoc,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::problem::Problem;
use super::redact;
use super::{Auth, State};
use crate::auth::{Principal, hex};
use crate::budget::Class;
use crate::catalog::{self, FieldError};
use crate::store::identifiers::Scheme;
use crate::store::{Expect, Idempotency, Replay, Stored, Write, WriteOutcome};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/{collection}", post(create))
        .route(
            "/v1/{collection}/{id}",
            get(read).patch(patch).delete(delete),
        )
        .route("/v1/{collection}/{id}/history", get(history))
}

fn collection(name: &str) -> Result<EntityKind, Problem> {
    Collection::parse(name)
        .map(Collection::kind)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no collection {name:?}; collections are recordings, works, parties, releases"
            ))
        })
}

fn entity_id(kind: EntityKind, id: &str) -> Result<EntityId, Problem> {
    EntityId::parse_as(kind, id).map_err(|e| {
        let mut p = Problem::bad_request(format!("invalid {kind} id in the path: {e}"));
        p.body.errors = vec![FieldError::new("path.id", e.to_string())];
        p
    })
}

fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Stored canonical JSON as an answer's data: copied in, checked for syntax only.
fn raw(text: String, id: EntityId) -> Result<Box<RawValue>, Problem> {
    RawValue::from_string(text).map_err(|e| {
        Problem::from(crate::store::StoreError::Corrupt {
            what: id.to_string(),
            reason: e.to_string(),
        })
    })
}

/// An entity as `p` may see it: redacted where its role must not see everything.
fn answer(
    p: &Principal,
    id: EntityId,
    version: u64,
    data: Option<String>,
) -> Result<EntityAnswer, Problem> {
    let data = match data {
        Some(text) if redact::applies(p, id.kind()) => {
            let mut value: Value = serde_json::from_str(&text).map_err(|e| {
                Problem::from(crate::store::StoreError::Corrupt {
                    what: id.to_string(),
                    reason: e.to_string(),
                })
            })?;
            redact::entity(p, id.kind(), &mut value);
            Some(raw(value.to_string(), id)?)
        }
        Some(text) => Some(raw(text, id)?),
        None => None,
    };
    Ok(EntityAnswer::new(id, version, data))
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut response = (status, serde_json::to_string(body).unwrap_or_default()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn live(stored: Option<Stored>, kind: EntityKind, id: EntityId) -> Result<Stored, Problem> {
    match stored {
        None => Err(Problem::not_found(format!("{kind} {id} does not exist"))),
        Some(s) if s.deleted => Err(Problem::new(
            StatusCode::GONE,
            format!("{kind} {id} was deleted (version {})", s.version),
        )
        .with_version(s.version)),
        Some(s) => Ok(s),
    }
}

#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, description = "who the token belongs to", body = Me), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub async fn me(Auth(p): Auth) -> Json<Me> {
    Json(Me {
        may_edit: p.may_edit(),
        name: p.name,
        role: p.role,
        parties: p.parties,
    })
}

#[utoipa::path(get, path = "/v1/{collection}/{id}", tag = "entities",
    params(("collection" = Collection, Path, description = "recordings, works, parties or releases"), ("id" = String, Path, description = "the entity id, e.g. rec_01J…")),
    responses((status = 200, description = "the entity; ETag is its version", body = EntityAnswer), (status = 400, description = "malformed request", body = ProblemDoc, content_type = "application/problem+json"), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 404, description = "no such entity or collection", body = ProblemDoc, content_type = "application/problem+json"), (status = 410, description = "the entity was deleted", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn read(
    AxState(app): AxState<State>,
    Auth(p): Auth,
    Path((coll, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let kind = collection(&coll)?;
    let id = entity_id(kind, &id)?;
    let stored = live(app.store.get(id).await?, kind, id)?;
    let mut response = json_response(
        StatusCode::OK,
        &answer(&p, id, stored.version, stored.data)?,
    );
    response
        .headers_mut()
        .insert(header::ETAG, etag(stored.version));
    Ok(response)
}

#[utoipa::path(get, path = "/v1/{collection}/{id}/history", tag = "entities",
    params(("collection" = Collection, Path, description = "recordings, works, parties or releases"), ("id" = String, Path, description = "the entity id, e.g. rec_01J…")),
    responses((status = 200, description = "every revision, oldest first", body = HistoryAnswer), (status = 400, description = "malformed request", body = ProblemDoc, content_type = "application/problem+json"), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 404, description = "no such entity or collection", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn history(
    AxState(app): AxState<State>,
    Auth(p): Auth,
    Path((coll, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let kind = collection(&coll)?;
    let id = entity_id(kind, &id)?;
    let entries = app.store.history(id).await?;
    if entries.is_empty() {
        return Err(Problem::not_found(format!("{kind} {id} does not exist")));
    }
    let mut revisions: Vec<HistoryRevision> = entries
        .into_iter()
        .map(|e| HistoryRevision {
            revision: e.revision,
            deleted: e.deleted,
        })
        .collect();
    if redact::applies(&p, kind) {
        redact::history(&p, &mut revisions);
    }
    Ok(json_response(
        StatusCode::OK,
        &HistoryAnswer {
            entity: kind,
            id,
            revisions,
        },
    ))
}

/// Reads a JSON request body, refusing oversize bodies, other media types and malformed JSON
/// with a problem that says what and where.
fn body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(T, Bytes), Problem> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large("the request body is larger than the service accepts")
        } else {
            Problem::bad_request(format!("the request body could not be read: {e}"))
        }
    })?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ctype.split(';').next().unwrap_or("").trim();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the request body must be application/json, not {:?}", ctype),
        ));
    }
    if let Some(d) = super::strict_json::first_duplicate(&bytes) {
        return Err(Problem::invalid(vec![FieldError::new(
            d.path(),
            format!(
                "{:?} appears more than once in this object: say each member once (one of the \
                 values would otherwise be dropped without a word)",
                d.key
            ),
        )]));
    }
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            let field = if path == "." { "-".to_owned() } else { path };
            Problem::invalid(vec![FieldError::new(field, inner.to_string())])
        } else {
            Problem::bad_request(format!("the request body is not valid JSON: {inner}"))
        }
    })?;
    Ok((value, bytes))
}

fn if_match(headers: &HeaderMap) -> Result<u64, Problem> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "changes need If-Match: \"<version>\" naming the version they were made against",
        ));
    };
    strict_version(v.as_bytes()).ok_or_else(|| {
        Problem::bad_request(format!(
            "If-Match must be one strong entity tag naming a version, e.g. \"3\" with its \
             quotes; got {:?} (weak tags, lists, bare numbers and leading zeros are refused: \
             a version is compared exactly)",
            String::from_utf8_lossy(v.as_bytes())
        ))
    })
}

/// The version in a strong entity tag `"N"`: digits only, no leading zero, within i64 (the
/// stores' integer).
fn strict_version(tag: &[u8]) -> Option<u64> {
    let digits = tag.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if digits.is_empty() || digits.len() > 19 || digits[0] == b'0' {
        return None;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits)
        .ok()?
        .parse::<u64>()
        .ok()
        .filter(|&v| i64::try_from(v).is_ok())
}

/// The Idempotency-Key header, if sent, and the hash of the request it is bound to.
fn idempotency_key(
    headers: &HeaderMap,
    p: &Principal,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Option<(String, String)>, Problem> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            Problem::bad_request("Idempotency-Key must be 1 to 200 visible ASCII characters")
        })?;
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut h = Sha256::new();
    for part in [
        p.token_id.to_string().as_bytes(),
        method.as_bytes(),
        path.as_bytes(),
        if_match.as_bytes(),
        body,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    // Keys are the token's own: another client sending the same key neither sees this answer
    // nor blocks the key.
    Ok(Some((format!("{}:{key}", p.token_id), hex(&h.finalize()))))
}

fn replayed(replay: Replay, request_hash: &str) -> Result<Response, Problem> {
    if replay.request_hash != request_hash {
        return Err(Problem::invalid(vec![FieldError::new(
            "header.Idempotency-Key",
            "this key was already used for a different request; use a new key for a new change",
        )]));
    }
    let status = StatusCode::from_u16(replay.status).unwrap_or(StatusCode::OK);
    // The stored answer names the entity and its version: the first answer's ETag and
    // Location come back with it.
    let answered = serde_json::from_str::<EntityAnswer>(&replay.body).ok();
    let mut response = (status, replay.body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(a) = answered {
        h.insert(header::ETAG, etag(a.version));
        if status == StatusCode::CREATED
            && let Ok(loc) = HeaderValue::from_str(&Collection::path(a.id))
        {
            h.insert(header::LOCATION, loc);
        }
    }
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

/// Finds where `needle` (an id) appears in `value`, as a path under `prefix`.
fn find_path(value: &Value, needle: &str, prefix: &str) -> Option<String> {
    match value {
        Value::String(s) if s == needle => Some(prefix.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_path(v, needle, &format!("{prefix}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| find_path(v, needle, &format!("{prefix}.{k}"))),
        _ => None,
    }
}

/// Runs one write and answers it: the success body, or the problem it met.
#[allow(clippy::too_many_arguments)]
async fn commit(
    app: &State,
    p: &Principal,
    write: Write,
    value: Option<Value>,
    prefix: &str,
    success: StatusCode,
    idem: Option<(String, String)>,
) -> Result<Response, Problem> {
    let id = write.id;
    let version = write.expect.next_version();
    let body = answer(p, id, version, value.as_ref().map(Value::to_string))?;
    let body_text = serde_json::to_string(&body).unwrap_or_default();
    let idempotency = idem.as_ref().map(|(key, hash)| Idempotency {
        key: key.clone(),
        request_hash: hash.clone(),
        status: success.as_u16(),
        body: body_text.clone(),
    });
    match app.store.write(vec![write], idempotency).await? {
        WriteOutcome::Committed { head, .. } => {
            app.committed(head);
            let mut response = (success, body_text).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(header::ETAG, etag(version));
            if success == StatusCode::CREATED
                && let Ok(loc) = HeaderValue::from_str(&Collection::path(id))
            {
                h.insert(header::LOCATION, loc);
            }
            Ok(response)
        }
        WriteOutcome::Replay(r) => replayed(r, idem.as_ref().map_or("", |(_, h)| h.as_str())),
        WriteOutcome::Stale { current, .. } => Err(stale(p, id, current)?),
        WriteOutcome::MissingReferences { ids, .. } => Err(Problem::invalid(
            ids.iter()
                .map(|missing| {
                    let text = missing.to_string();
                    let field = value
                        .as_ref()
                        .and_then(|v| find_path(v, &text, prefix))
                        .unwrap_or_else(|| prefix.to_owned());
                    FieldError::new(
                        field,
                        format!("{} {text} does not exist or is deleted", missing.kind()),
                    )
                })
                .collect(),
        )),
        WriteOutcome::StillReferenced { by, .. } => Err(still_referenced(id, by)),
        WriteOutcome::IdentifierTaken {
            scheme,
            value,
            holder,
            ..
        } => Err(identifier_taken(prefix, scheme, &value, holder)),
    }
}

/// 409 for an identifier another live entity holds: the field that holds it, the value and
/// the holder, so whoever corrects it can open the other record.
fn identifier_taken(prefix: &str, scheme: Scheme, value: &str, holder: EntityId) -> Problem {
    let rule = format!(
        "{scheme} {value} is already held by {} {holder}",
        holder.kind()
    );
    let mut problem = Problem::new(
        StatusCode::CONFLICT,
        format!(
            "{rule}: one {scheme} names one {}; correct whichever of the two is wrong and send \
             again",
            holder.kind()
        ),
    );
    problem.body.errors = vec![FieldError::new(format!("{prefix}.{scheme}"), rule)];
    problem
}

/// 409 for a delete of an entity others still name, with their ids.
fn still_referenced(id: EntityId, by: Vec<EntityId>) -> Problem {
    let shown: Vec<String> = by.iter().take(5).map(ToString::to_string).collect();
    let more = by.len().saturating_sub(shown.len());
    Problem::new(
        StatusCode::CONFLICT,
        format!(
            "{} {id} is still named by {} {}{}: change or delete {} first",
            id.kind(),
            by.len(),
            if by.len() == 1 { "entity" } else { "entities" },
            if more > 0 {
                format!(" ({} and {more} more)", shown.join(", "))
            } else {
                format!(" ({})", shown.join(", "))
            },
            if by.len() == 1 { "it" } else { "them" },
        ),
    )
    .with_referenced_by(by)
}

/// 412 (or 409 for a create whose id exists) with the current record.
fn stale(p: &Principal, id: EntityId, current: Option<Stored>) -> Result<Problem, Problem> {
    let Some(current) = current else {
        return Ok(Problem::not_found(format!(
            "{} {id} does not exist",
            id.kind()
        )));
    };
    let mut problem = Problem::new(
        StatusCode::PRECONDITION_FAILED,
        format!(
            "{} {id} is at version {}{}, not the version this change was made against; \
             merge with the current record and send again",
            id.kind(),
            current.version,
            if current.deleted { " (deleted)" } else { "" }
        ),
    );
    problem.headers.insert(header::ETAG, etag(current.version));
    let record = answer(p, id, current.version, current.data)?;
    Ok(problem.with_current(record))
}

fn refuse_readers(p: &Principal) -> Result<(), Problem> {
    if p.may_edit() {
        Ok(())
    } else {
        Err(Problem::forbidden(p.edit_refusal()))
    }
}

#[utoipa::path(post, path = "/v1/{collection}", tag = "entities",
    params(("collection" = Collection, Path, description = "recordings, works, parties or releases"), ("Idempotency-Key" = Option<String>, Header, description = "the same key with the same request answers once")),
    request_body = CreateRequest,
    responses((status = 201, description = "created at version 1", body = EntityAnswer), (status = 400, description = "malformed request", body = ProblemDoc, content_type = "application/problem+json"), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 403, description = "the role may not do this", body = ProblemDoc, content_type = "application/problem+json"), (status = 404, description = "no such entity or collection", body = ProblemDoc, content_type = "application/problem+json"), (status = 409, description = "the id exists, or an identifier in the data (isrc, iswc, isni, ipi) is held by another entity: errors names its field, the detail the holder", body = ProblemDoc, content_type = "application/problem+json"), (status = 413, description = "body too large", body = ProblemDoc, content_type = "application/problem+json"), (status = 415, description = "body is not JSON", body = ProblemDoc, content_type = "application/problem+json"), (status = 422, description = "validation failed, one entry per field", body = ProblemDoc, content_type = "application/problem+json"), (status = 429, description = "the token's edit budget is spent: retry after Retry-After", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn create(
    AxState(app): AxState<State>,
    Auth(p): Auth,
    Path(coll): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let kind = collection(&coll)?;
    refuse_readers(&p)?;
    let (req, bytes): (CreateRequest, Bytes) = body(&headers, raw)?;
    let idem = idempotency_key(&headers, &p, "POST", &coll, &bytes)?;
    if let Some((key, hash)) = &idem
        && let Some(r) = app.store.replay(key).await?
    {
        return replayed(r, hash);
    }
    // After the replay: a retry of an edit that landed is answered, not charged.
    super::spend(&app, &p, Class::Edits).await?;
    let reason = catalog::check_reason(req.reason.as_deref())?;
    let (write, value) = catalog::create(&p, kind, req.data, reason, catalog::editor_source())?;
    let id = write.id;
    match commit(
        &app,
        &p,
        write,
        Some(value),
        "data",
        StatusCode::CREATED,
        idem,
    )
    .await
    {
        Err(problem) if problem.status() == StatusCode::PRECONDITION_FAILED => Err(Problem::new(
            StatusCode::CONFLICT,
            format!("{} {id} already exists; PATCH it instead", id.kind()),
        )),
        other => other,
    }
}

#[utoipa::path(patch, path = "/v1/{collection}/{id}", tag = "entities",
    params(("collection" = Collection, Path, description = "recordings, works, parties or releases"), ("id" = String, Path, description = "the entity id, e.g. rec_01J…"), ("If-Match" = String, Header, description = "the version the change is made against, in quotes"), ("Idempotency-Key" = Option<String>, Header, description = "the same key with the same request answers once")),
    request_body = PatchRequest,
    responses((status = 200, description = "the entity at its new version", body = EntityAnswer), (status = 400, description = "malformed request", body = ProblemDoc, content_type = "application/problem+json"), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 403, description = "the role may not do this", body = ProblemDoc, content_type = "application/problem+json"), (status = 404, description = "no such entity or collection", body = ProblemDoc, content_type = "application/problem+json"), (status = 409, description = "an identifier the entity would hold (isrc, iswc, isni, ipi) is held by another entity: errors names its field, the detail the holder", body = ProblemDoc, content_type = "application/problem+json"), (status = 410, description = "the entity was deleted", body = ProblemDoc, content_type = "application/problem+json"), (status = 412, description = "stale version; the current record is included", body = ProblemDoc, content_type = "application/problem+json"), (status = 413, description = "body too large", body = ProblemDoc, content_type = "application/problem+json"), (status = 415, description = "body is not JSON", body = ProblemDoc, content_type = "application/problem+json"), (status = 422, description = "validation failed, one entry per field", body = ProblemDoc, content_type = "application/problem+json"), (status = 428, description = "If-Match missing", body = ProblemDoc, content_type = "application/problem+json"), (status = 429, description = "the token's edit budget is spent: retry after Retry-After", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn patch(
    AxState(app): AxState<State>,
    Auth(p): Auth,
    Path((coll, id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (req, reason, current, idem) =
        match prepare::<PatchRequest>(&app, &p, &coll, &id, "PATCH", &headers, raw).await? {
            Prepared::Replayed(response) => return Ok(response),
            Prepared::Ready(req, reason, current, idem) => (req, reason, current, idem),
        };
    let (write, value) =
        catalog::patch(&p, &current, &req.patch, reason).map_err(Problem::invalid)?;
    commit(&app, &p, write, Some(value), "patch", StatusCode::OK, idem).await
}

/// What PATCH and DELETE share before they differ: the entity, the body, If-Match against
/// the current version, the idempotency key (and its replay) and the reason.
enum Prepared<T> {
    Replayed(Response),
    Ready(T, String, Stored, Option<(String, String)>),
}

/// A change body: every one states its reason.
trait Reasoned {
    fn reason(&self) -> Option<&str>;
}

impl Reasoned for PatchRequest {
    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

impl Reasoned for DeleteRequest {
    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

async fn prepare<T: DeserializeOwned + Reasoned>(
    app: &State,
    p: &Principal,
    coll: &str,
    id: &str,
    method: &str,
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Prepared<T>, Problem> {
    let kind = collection(coll)?;
    let id = entity_id(kind, id)?;
    refuse_readers(p)?;
    let (req, bytes): (T, Bytes) = body(headers, raw)?;
    let expected = if_match(headers)?;
    let idem = idempotency_key(headers, p, method, &id.to_string(), &bytes)?;
    if let Some((key, hash)) = &idem
        && let Some(r) = app.store.replay(key).await?
    {
        return replayed(r, hash).map(Prepared::Replayed);
    }
    // After the replay: a retry of an edit that landed is answered, not charged.
    super::spend(app, p, Class::Edits).await?;
    let reason = catalog::check_reason(req.reason())?;
    // A quick refusal before the write is built; the store's plan decides again, in its
    // transaction, with the same rule.
    let found = app.store.get(id).await?;
    let refusal = match live(found, kind, id) {
        Ok(current) if Expect::Version(expected).holds(Some(current.current())) => {
            return Ok(Prepared::Ready(req, reason, current, idem));
        }
        Ok(current) => stale(p, id, Some(current))?,
        Err(problem) => problem,
    };
    // The same request's first attempt may have landed since the replay was looked up: its
    // answer stands, not a refusal caused by its own change.
    if let Some((key, hash)) = &idem
        && let Some(r) = app.store.replay(key).await?
    {
        return replayed(r, hash).map(Prepared::Replayed);
    }
    Err(refusal)
}

#[utoipa::path(delete, path = "/v1/{collection}/{id}", tag = "entities",
    params(("collection" = Collection, Path, description = "recordings, works, parties or releases"), ("id" = String, Path, description = "the entity id, e.g. rec_01J…"), ("If-Match" = String, Header, description = "the version the change is made against, in quotes"), ("Idempotency-Key" = Option<String>, Header, description = "the same key with the same request answers once")),
    request_body = DeleteRequest,
    responses((status = 200, description = "deleted; the tombstone's version", body = EntityAnswer), (status = 400, description = "malformed request", body = ProblemDoc, content_type = "application/problem+json"), (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"), (status = 403, description = "the role may not do this", body = ProblemDoc, content_type = "application/problem+json"), (status = 404, description = "no such entity or collection", body = ProblemDoc, content_type = "application/problem+json"), (status = 409, description = "the entity is still named by others; referenced_by lists them", body = ProblemDoc, content_type = "application/problem+json"), (status = 410, description = "the entity was deleted", body = ProblemDoc, content_type = "application/problem+json"), (status = 412, description = "stale version; the current record is included", body = ProblemDoc, content_type = "application/problem+json"), (status = 413, description = "body too large", body = ProblemDoc, content_type = "application/problem+json"), (status = 415, description = "body is not JSON", body = ProblemDoc, content_type = "application/problem+json"), (status = 422, description = "validation failed, one entry per field", body = ProblemDoc, content_type = "application/problem+json"), (status = 429, description = "the token's edit budget is spent: retry after Retry-After", body = ProblemDoc, content_type = "application/problem+json"), (status = 428, description = "If-Match missing", body = ProblemDoc, content_type = "application/problem+json"), (status = 503, description = "store unavailable or request timed out", body = ProblemDoc, content_type = "application/problem+json")))]
pub(crate) async fn delete(
    AxState(app): AxState<State>,
    Auth(p): Auth,
    Path((coll, id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (reason, current, idem) =
        match prepare::<DeleteRequest>(&app, &p, &coll, &id, "DELETE", &headers, raw).await? {
            Prepared::Replayed(response) => return Ok(response),
            Prepared::Ready(_, reason, current, idem) => (reason, current, idem),
        };
    let write = catalog::delete(&p, &current, reason);
    commit(&app, &p, write, None, "-", StatusCode::OK, idem).await
}

#[cfg(test)]
mod tests {
    use super::strict_version;

    #[test]
    fn if_match_takes_one_strong_tag_and_nothing_near_it() {
        assert_eq!(strict_version(br#""4""#), Some(4));
        assert_eq!(strict_version(br#""10""#), Some(10));
        for refused in [
            &br#"W/"4""#[..],
            b"5",
            br#""07""#,
            br#""0""#,
            br#""10"#,
            br#"10""#,
            br#""""#,
            br#""4", "5""#,
            br#"" 4""#,
            br#""+4""#,
            br#""9223372036854775808""#,
            br#""99999999999999999999""#,
            b"*",
        ] {
            assert_eq!(
                strict_version(refused),
                None,
                "{}",
                String::from_utf8_lossy(refused)
            );
        }
        assert_eq!(
            strict_version(br#""9223372036854775807""#),
            Some(i64::MAX as u64)
        );
    }
}
