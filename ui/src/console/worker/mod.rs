//! The console's worker thread: the only place that touches SQLite and the search index, so a
//! key press never waits for I/O. Requests go in over a channel; replies come back as
//! [`Msg::Reply`]. A burst of searches is answered only for its newest query (the rest would
//! be dropped as stale anyway), and every search reply carries the generation it answers.

mod messages;

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use liner::ident::{Isrc, Iswc};
use liner::ids::{PartyId, RecordingId, WorkId};
use liner::model::{Credit, EntityId, EntityKind, ListField, Revision};
use liner::protocol::status;
use liner::search::{SearchIndex, SearchRequest};
use liner::store::{CreditView, OutboxEntry, OutboxState, RecordingDetail, Store};
use serde_json::Value;

use super::Msg;

/// How many results a search shows (the list is windowed; more is scrolling nobody does).
pub const RESULT_LIMIT: usize = 50;
/// Parties shown under the recordings: enough to tell same-name parties apart.
pub const PARTY_LIMIT: usize = 20;

/// Where the mirror lives: the data directory's files.
pub type Paths = liner::protocol::DataDir;

pub use messages::*;

/// Starts the worker; it stops when the request sender is dropped.
pub fn spawn(paths: Paths, replies: Sender<Msg>) -> std::io::Result<Sender<Request>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("liner-console-worker".into())
        .spawn(move || Worker::new(paths).run(rx, replies))?;
    Ok(tx)
}

pub struct Worker {
    paths: Paths,
    store: Option<Store>,
    index: Option<SearchIndex>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("paths", &self.paths)
            .finish()
    }
}

type Result<T> = std::result::Result<T, String>;

impl Worker {
    pub fn new(paths: Paths) -> Worker {
        Worker {
            paths,
            store: None,
            index: None,
        }
    }

    fn run(mut self, requests: Receiver<Request>, replies: Sender<Msg>) {
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            batch.extend(requests.try_iter());
            // Only the newest search of each kind is worth answering.
            let last_search = batch
                .iter()
                .rposition(|r| matches!(r, Request::Search { .. }));
            let last_party = batch
                .iter()
                .rposition(|r| matches!(r, Request::PartySearch { .. }));
            for (i, request) in batch.into_iter().enumerate() {
                let skip = match request {
                    Request::Search { .. } => Some(i) != last_search,
                    Request::PartySearch { .. } => Some(i) != last_party,
                    _ => false,
                };
                let reply = match request {
                    Request::Search { generation, .. }
                    | Request::PartySearch { generation, .. }
                        if skip =>
                    {
                        Reply::Superseded { generation }
                    }
                    request => self.handle(request),
                };
                if replies.send(Msg::Reply(Box::new(reply))).is_err() {
                    return;
                }
            }
        }
    }

    fn store(&mut self) -> Result<&mut Store> {
        if self.store.is_none() {
            let store = Store::open_existing(self.paths.mirror()).map_err(|e| e.to_string())?;
            // The console's lookups touch little; the daemon's writer holds the big cache.
            store.set_cache_mib(16).map_err(|e| e.to_string())?;
            self.store = Some(store);
        }
        self.store.as_mut().ok_or_else(|| "no mirror".to_owned())
    }

    fn index(&mut self) -> Result<&SearchIndex> {
        match &mut self.index {
            Some(index) => {
                index.refresh().map_err(|e| format!("search index: {e}"))?;
            }
            None => {
                let index = SearchIndex::open_read_only(self.paths.index())
                    .map_err(|e| format!("search index not ready ({e}); linerd builds it"))?;
                self.index = Some(index);
            }
        }
        self.index.as_ref().ok_or_else(|| "no index".to_owned())
    }

    /// Answers one request (tests and the bench call this directly).
    pub fn handle(&mut self, request: Request) -> Reply {
        let result = match request {
            Request::Search { generation, text } => {
                let started = Instant::now();
                self.sections(&text).map(|(rows, partial)| Reply::Search {
                    generation,
                    rows,
                    micros: started.elapsed().as_micros() as u64,
                    partial,
                })
            }
            Request::PartySearch { generation, text } => self
                .search(&text, Some(EntityKind::Party), RESULT_LIMIT)
                .map(|(rows, partial)| Reply::PartyMatches {
                    generation,
                    rows,
                    partial,
                }),
            Request::Recording(id) => self.recording(id),
            Request::Isrc(code) => self.isrc(&code),
            Request::Iswc(code) => self.iswc(&code),
            Request::Party(id) => self.party(id),
            Request::PartyNamed(name) => self.party_named(&name),
            Request::Work(id) => self.work(id),
            Request::History(id) => self.history(id),
            Request::Outbox => self.outbox(),
            Request::Status { counts } => Ok(Reply::Status(Box::new(self.status(counts)))),
            Request::Enqueue {
                entity,
                base_version,
                patch,
                reason,
                actor,
            } => self
                .store()
                .and_then(|s| {
                    s.enqueue_edit(entity, base_version, patch, &reason, &actor)
                        .map_err(|e| format!("cannot queue the edit of {entity}: {e}"))
                })
                .map(Reply::Saved),
            Request::Revise {
                seq,
                base_version,
                patch,
                reason,
            } => self
                .store()
                .and_then(|s| {
                    s.revise_outbox_edit(seq, patch, base_version, &reason)
                        .map_err(|e| format!("cannot resend edit {seq}: {e}"))
                })
                .map(Reply::Saved),
            Request::Discard(seq) => self
                .store()
                .and_then(|s| s.discard_outbox_edit(seq).map_err(|e| e.to_string()))
                .map(|()| Reply::Discarded(seq)),
        };
        result.unwrap_or_else(Reply::Failed)
    }

    /// The search screen's answer: recordings, then parties, each ranked on its own so a name
    /// that is both (an artist and their records) shows both; one walk of the index serves
    /// both.
    fn sections(&mut self, text: &str) -> Result<(Vec<ResultRow>, bool)> {
        if text.trim().is_empty() {
            return Ok((Vec::new(), false));
        }
        let mut req = SearchRequest::new(text);
        req.one_letter_whole_word = true;
        let found = self
            .index()?
            .search_sections(
                &req,
                &[
                    (EntityKind::Recording, RESULT_LIMIT),
                    (EntityKind::Party, PARTY_LIMIT),
                ],
            )
            .map_err(|e| e.to_string())?;
        let partial = found.iter().flatten().any(|h| h.partial);
        let store = self.store()?;
        let mut rows = Vec::new();
        for hit in found.into_iter().flatten() {
            if let Some(row) = result_row(store, hit.id, hit.popularity)? {
                rows.push(row);
            }
        }
        Ok((rows, partial))
    }

    fn search(
        &mut self,
        text: &str,
        kind: Option<EntityKind>,
        limit: usize,
    ) -> Result<(Vec<ResultRow>, bool)> {
        if text.trim().is_empty() {
            return Ok((Vec::new(), false));
        }
        let mut req = SearchRequest::new(text);
        req.limit = limit;
        req.kind = kind;
        let hits = self.index()?.search(&req).map_err(|e| e.to_string())?;
        let partial = hits.iter().any(|h| h.partial);
        let store = self.store()?;
        let mut rows = Vec::with_capacity(hits.len());
        for hit in hits {
            if let Some(row) = result_row(store, hit.id, hit.popularity)? {
                rows.push(row);
            }
        }
        Ok((rows, partial))
    }

    fn recording(&mut self, id: RecordingId) -> Result<Reply> {
        let store = self.store()?;
        let Some(detail) = store.recording_detail(id).map_err(|e| e.to_string())? else {
            return Ok(Reply::NotFound(format!(
                "recording {id} is not in the mirror"
            )));
        };
        let history = store
            .history(EntityId::Recording(id))
            .map_err(|e| e.to_string())?;
        let provenance = provenance(&detail, &history);
        let mut edits = Vec::new();
        for entry in store
            .outbox_for(EntityId::Recording(id))
            .map_err(|e| e.to_string())?
        {
            if mirrored(&entry, detail.version) {
                continue;
            }
            let credits = match entry.patch.get("credits") {
                Some(v) => Some(credit_views(store, v)?),
                None => None,
            };
            edits.push(LocalEdit { entry, credits });
        }
        let names = names_in(store, edits.iter().map(|e| &e.entry));
        Ok(Reply::Recording(Box::new(DetailData {
            detail,
            provenance,
            edits,
            names,
        })))
    }

    fn outbox(&mut self) -> Result<Reply> {
        let store = self.store()?;
        let entries = store.outbox(None).map_err(|e| e.to_string())?;
        let names = names_in(store, entries.iter());
        Ok(Reply::Outbox(entries, names))
    }

    fn isrc(&mut self, code: &str) -> Result<Reply> {
        let isrc: Isrc = code
            .parse()
            .map_err(|e| format!("{code:?} is not an ISRC: {e}"))?;
        let store = self.store()?;
        let ids = store.recordings_by_isrc(&isrc).map_err(|e| e.to_string())?;
        match ids.as_slice() {
            [] => Ok(Reply::NotFound(format!("no recording has ISRC {isrc}"))),
            [one] => self.recording(*one),
            many => {
                let mut rows = Vec::new();
                for id in many {
                    if let Some(row) = result_row(store, EntityId::Recording(*id), 0.0)? {
                        rows.push(row);
                    }
                }
                Ok(Reply::Matches {
                    title: format!("recordings with ISRC {isrc}"),
                    rows,
                })
            }
        }
    }

    fn iswc(&mut self, code: &str) -> Result<Reply> {
        let iswc: Iswc = code
            .parse()
            .map_err(|e| format!("{code:?} is not an ISWC: {e}"))?;
        let store = self.store()?;
        let ids = store.works_by_iswc(&iswc).map_err(|e| e.to_string())?;
        match ids.first() {
            None => Ok(Reply::NotFound(format!("no work has ISWC {iswc}"))),
            Some(id) => self.work(*id),
        }
    }

    fn work(&mut self, id: WorkId) -> Result<Reply> {
        match self.store()?.work_view(id).map_err(|e| e.to_string())? {
            Some(w) => Ok(Reply::Work(Box::new(w))),
            None => Ok(Reply::NotFound(format!("work {id} is not in the mirror"))),
        }
    }

    fn party(&mut self, id: PartyId) -> Result<Reply> {
        match self.store()?.party_view(id).map_err(|e| e.to_string())? {
            Some(v) => Ok(Reply::Party(Box::new(v))),
            None => Ok(Reply::NotFound(format!("party {id} is not in the mirror"))),
        }
    }

    fn party_named(&mut self, name: &str) -> Result<Reply> {
        if let Ok(id) = name.trim().parse::<PartyId>() {
            return self.party(id);
        }
        let exact = self
            .store()?
            .parties_named(name.trim())
            .map_err(|e| e.to_string())?;
        if let [one] = exact.as_slice() {
            return self.party(one.id);
        }
        let (mut rows, partial) = self.search(name, Some(EntityKind::Party), RESULT_LIMIT)?;
        // The name as typed on any keyboard ("bjork"): the parties whose name is the same once
        // case and accents are folded are the ones meant, as `liner party` takes it.
        let folded = liner::search::tokenizer::tokens(name);
        let same: Vec<ResultRow> = rows
            .iter()
            .filter(|r| !partial && liner::search::tokenizer::tokens(&r.title) == folded)
            .cloned()
            .collect();
        if !same.is_empty() {
            rows = same;
        }
        match rows.as_slice() {
            [] => Ok(Reply::NotFound(format!("no party is called {name:?}"))),
            // A party with only some of the words is a candidate, never the one named.
            [one] if !partial => match one.id {
                EntityId::Party(id) => self.party(id),
                _ => Ok(Reply::NotFound(format!("no party is called {name:?}"))),
            },
            _ if partial => Ok(Reply::Matches {
                title: format!("no party has every word of {name:?}; these have most"),
                rows,
            }),
            _ => Ok(Reply::Matches {
                title: format!("parties named like {name:?}"),
                rows,
            }),
        }
    }

    fn history(&mut self, id: EntityId) -> Result<Reply> {
        let store = self.store()?;
        let revisions = store.history(id).map_err(|e| e.to_string())?;
        // Party ids in diffs, named, so a support person reads names rather than ids.
        let mut names = HashMap::new();
        for rev in &revisions {
            for change in &rev.diff {
                for v in [&change.old, &change.new].into_iter().flatten() {
                    collect_party_ids(&v.value(), &mut names);
                }
            }
        }
        name_parties(store, &mut names);
        let title = match id {
            EntityId::Recording(r) => store
                .recording_detail(r)
                .ok()
                .flatten()
                .map(|d| d.recording.title),
            EntityId::Party(p) => store.party(p).ok().flatten().map(|(p, _)| p.name),
            EntityId::Work(w) => store.work_view(w).ok().flatten().map(|w| w.work.title),
            EntityId::Release(_) => None,
        }
        .unwrap_or_else(|| id.to_string());
        Ok(Reply::History {
            entity: id,
            title,
            revisions,
            names,
        })
    }

    fn status(&mut self, counts: bool) -> StatusSnapshot {
        let mut snap = StatusSnapshot::default();
        match status::read(&self.paths.status()) {
            Ok(s) => {
                snap.daemon_running = pid_alive(s.pid);
                snap.daemon = Some(s);
            }
            Err(e) => snap.daemon_problem = Some(format!("{e:#}")),
        }
        let store = match self.store() {
            Ok(s) => s,
            Err(e) => {
                snap.mirror_problem = Some(e);
                return snap;
            }
        };
        if let Ok(counts) = store.outbox_counts() {
            for (state, n) in counts {
                match state {
                    OutboxState::Pending => snap.outbox.pending = n,
                    OutboxState::Sent => snap.outbox.sent = n,
                    OutboxState::Accepted => snap.outbox.accepted = n,
                    OutboxState::Rejected => snap.outbox.rejected = n,
                    OutboxState::Conflicted => snap.outbox.conflicted = n,
                }
            }
        }
        snap.quarantined = store.quarantine_count().unwrap_or(0);
        if counts {
            snap.counts = store
                .counts()
                .ok()
                .map(|[parties, recordings, works, releases]| MirrorCounts {
                    parties,
                    recordings,
                    works,
                    releases,
                });
        }
        let head = store.journal_head().ok();
        if let (Ok(index), Some(head)) = (self.index(), head) {
            snap.index_lag = Some((head - index.position()).max(0));
            snap.index_position = Some(index.position());
        }
        snap
    }
}

fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = std::path::Path::new("/proc");
    // Where /proc does not exist, assume the daemon that wrote the file still runs.
    !proc.exists() || proc.join(pid.to_string()).exists()
}

/// Whether the mirror already holds what an accepted edit did.
fn mirrored(entry: &OutboxEntry, mirror_version: u64) -> bool {
    if entry.state != OutboxState::Accepted {
        return false;
    }
    entry
        .outcome
        .as_ref()
        .and_then(|o| o.accepted_version())
        .is_none_or(|v| mirror_version >= v)
}

fn result_row(store: &Store, id: EntityId, popularity: f32) -> Result<Option<ResultRow>> {
    Ok(match id {
        EntityId::Recording(r) => store
            .result_summary(r)
            .map_err(|e| e.to_string())?
            .map(|s| ResultRow {
                id,
                title: s.row.title,
                artist: s.row.artist,
                release: s.release.unwrap_or_default(),
                isrc: s
                    .row
                    .isrc
                    .map(|i| Isrc::parse(&i).map_or(i, |code| code.to_string()))
                    .unwrap_or_default(),
                popularity: if popularity > 0.0 {
                    popularity
                } else {
                    s.row.popularity
                },
                party: None,
            }),
        EntityId::Party(p) => store
            .party(p)
            .map_err(|e| e.to_string())?
            .map(|(party, _)| -> Result<ResultRow> {
                let credits = store.party_credit_count(p).map_err(|e| e.to_string())?;
                let codes = [
                    party.isni.as_ref().map(|i| format!("ISNI {i}")),
                    party.ipi.as_ref().map(|i| format!("IPI {i}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
                let disambiguation = party.disambiguation.unwrap_or_default();
                Ok(ResultRow {
                    id,
                    title: party.name,
                    artist: disambiguation.clone(),
                    release: String::new(),
                    isrc: party.isni.map(|i| i.to_string()).unwrap_or_default(),
                    popularity,
                    party: Some(PartyFacts {
                        kind: party.kind.as_str(),
                        disambiguation,
                        codes,
                        credits,
                    }),
                })
            })
            .transpose()?,
        _ => None,
    })
}

/// The credits a patch's `credits` value describes, with party names from the mirror.
fn credit_views(store: &Store, value: &Value) -> Result<Vec<CreditView>> {
    let credits: Vec<Credit> = serde_json::from_value(value.clone())
        .map_err(|e| format!("a queued edit's credits do not parse: {e}"))?;
    let mut out = Vec::with_capacity(credits.len());
    for credit in credits {
        let party = store.party(credit.party).map_err(|e| e.to_string())?;
        out.push(CreditView {
            party_name: party
                .as_ref()
                .map(|(p, _)| p.name.clone())
                .unwrap_or_else(|| credit.party.to_string()),
            party_disambiguation: party.and_then(|(p, _)| p.disambiguation),
            credit,
        });
    }
    Ok(out)
}

/// For each credit, the revision that made it as it is (the model's provenance, followed
/// through every revision the mirror holds).
pub fn provenance(detail: &RecordingDetail, history: &[Revision]) -> Vec<Option<Provenance>> {
    let credits: Vec<Value> = detail
        .credits
        .iter()
        .map(|c| serde_json::to_value(&c.credit).unwrap_or(Value::Null))
        .collect();
    liner::model::provenance(ListField::Credits, &credits, history)
}

/// Names of every party an outbox entry's patch or conflict detail mentions.
pub(crate) fn names_in<'a>(
    store: &Store,
    entries: impl Iterator<Item = &'a OutboxEntry>,
) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for entry in entries {
        collect_party_ids(&entry.patch, &mut names);
        if let Some(outcome) = entry
            .outcome
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok())
        {
            collect_party_ids(&outcome, &mut names);
        }
    }
    name_parties(store, &mut names);
    names
}

/// Replaces each party id in `names` by the party's name, where the mirror knows it.
pub(crate) fn name_parties(store: &Store, names: &mut HashMap<String, String>) {
    for (id, name) in names.iter_mut() {
        if let Ok(pid) = id.parse::<PartyId>()
            && let Ok(Some((party, _))) = store.party(pid)
        {
            *name = party.name;
        }
    }
}

pub(crate) fn collect_party_ids(v: &Value, out: &mut HashMap<String, String>) {
    match v {
        Value::String(s) if s.starts_with("pty_") => {
            out.entry(s.clone()).or_insert_with(|| s.clone());
        }
        Value::String(s) => {
            // Ids inside prose (a refusal's words).
            for word in s.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
                if word.starts_with("pty_") {
                    out.entry(word.to_owned())
                        .or_insert_with(|| word.to_owned());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_party_ids(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_party_ids(x, out)),
        _ => {}
    }
}
