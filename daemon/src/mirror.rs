//! The mirror: bootstrap from the snapshot (every entity with every revision) into an empty
//! store, then follow the change feed with long-poll, one transaction per page with its
//! cursor, for ever; a replaced upstream history (409) empties the mirrored data, keeping local
//! edits, and bootstraps again. A mirror made before bootstraps brought every revision first
//! backfills its history from the same snapshot (applying it is idempotent: entities it has
//! stay, revisions it lacks are added), keeping its cursor and its pending edits.
//!
//! Errors are sorted by what to do: offline or garbled answers back off and retry (nothing of a
//! bad page is applied); a refusal (bad token) backs off too and is shown in the status; only
//! the local store failing stops the daemon.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use liner::model::Cursor;
use liner::protocol::{PROTOCOL_VERSION, Trailer as _};
use liner::store::{ApplyReport, DecodedPage, HISTORY_BACKFILL, Store};
use tokio_util::sync::CancellationToken;

use crate::Event;
use crate::backoff::Backoff;
use crate::batcher::Batcher;
use crate::client::{FetchError, Upstream};
use crate::config::Config;
use crate::status::{Progress, State, StatusFile};

/// The note that says how far a bootstrap got.
const BOOT_MARK: &str = "bootstrap";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct BootMark {
    /// The cursor of the snapshot the bootstrap started with: the tail starts there.
    cursor: String,
    /// The last entity applied.
    last_id: Option<String>,
}

fn id_of(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(line.trim_end())
        .ok()
        .map(|i| i.id)
}

/// How far a history backfill got: the last entity applied.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Mark {
    after: Option<String>,
}

/// A snapshot page being applied (with the mark of how far the bootstrap got).
struct InFlight {
    /// Gives the page back, to be freed off the store's path.
    apply: tokio::task::JoinHandle<liner::store::Result<(ApplyReport, DecodedPage)>>,
    /// Records applied once this page is.
    done: u64,
}

/// A bootstrap's batches in flight: the one being gathered, the one being decoded, the page
/// being applied. Parsing and validating JSON was a third of a bootstrap's CPU and needs no
/// store, so it runs beside the applying.
struct Loading {
    batcher: Batcher,
    decoding: Option<Decoding>,
    applying: Option<InFlight>,
    /// The snapshot's cursor, for the progress marks.
    mark_cursor: String,
    total: Option<u64>,
    started: Instant,
}

/// A snapshot batch being decoded.
struct Decoding {
    task: tokio::task::JoinHandle<liner::store::Result<(DecodedPage, String)>>,
    /// The batch's last entity: where a resumed bootstrap starts after.
    last_id: Option<String>,
    /// Records applied once this batch is.
    done: u64,
}

/// The outcome of a blocking task (a store call, or decoding a page): its own error, or the
/// task's failure to finish (a panic).
fn joined<T>(r: Result<liner::store::Result<T>, tokio::task::JoinError>) -> Result<T, SyncError> {
    r.map_err(|e| {
        SyncError::Store(liner::store::StoreError::InvalidEdit(format!(
            "blocking task: {e}"
        )))
    })?
    .map_err(SyncError::Store)
}

fn warn_if_quarantined(report: ApplyReport) {
    if report.quarantined > 0 {
        tracing::warn!(
            quarantined = report.quarantined,
            "records refused; see the quarantine"
        );
    }
}

/// Parses and validates a batch of `lines` lines on a blocking thread; gives its text back
/// for reuse.
fn decode(
    records: String,
    lines: usize,
) -> tokio::task::JoinHandle<liner::store::Result<(DecodedPage, String)>> {
    tokio::task::spawn_blocking(move || Ok((DecodedPage::parse_lines(&records, lines), records)))
}

/// Why a sync attempt ended.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the local mirror failed: {0}")]
    Store(#[from] liner::store::StoreError),
    #[error("cancelled")]
    Cancelled,
}

pub struct Mirror {
    pub config: Config,
    pub store: Arc<Mutex<Store>>,
    pub upstream: Upstream,
    pub status: Arc<StatusFile>,
    pub events: std::sync::mpsc::Sender<Event>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("upstream", &self.config.upstream.url)
            .finish_non_exhaustive()
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl Mirror {
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> liner::store::Result<T> + Send + 'static,
    ) -> Result<T, SyncError> {
        joined(self.spawn_store(f).await)
    }

    /// Runs `f` on the store on a blocking thread, without waiting for it.
    fn spawn_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> liner::store::Result<T> + Send + 'static,
    ) -> tokio::task::JoinHandle<liner::store::Result<T>> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = store.lock().map_err(|_| {
                liner::store::StoreError::InvalidEdit(
                    "the mirror lock was poisoned by a panic".into(),
                )
            })?;
            f(&mut s)
        })
    }

    /// Syncs until cancelled. Returns an error only when the local store fails.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = Backoff::new(Duration::from_millis(500), self.config.sync.max_backoff());
        let mut rng = rand::rngs::SmallRng::from_os_rng();
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let cursor = self.with_store(|s| s.cursor()).await?;
            let backfill = self.with_store(|s| s.note(HISTORY_BACKFILL)).await?;
            let attempt = match (cursor, backfill) {
                (None, _) => self.bootstrap(&cancel).await,
                (Some(c), Some(mark)) => self.backfill(&c, &mark, &cancel).await,
                (Some(c), None) => self.tail(c, &cancel, &mut backoff).await,
            };
            match attempt {
                Ok(()) => backoff.reset(),
                Err(SyncError::Cancelled) => break,
                Err(SyncError::Store(e)) => {
                    self.status.update(|s| s.last_error = Some(e.to_string()));
                    return Err(e.into());
                }
                Err(SyncError::Fetch(FetchError::Resync(why))) => {
                    tracing::warn!(%why, "upstream history replaced: resyncing, keeping local edits");
                    self.status.update(|s| {
                        s.last_error = Some(format!("resyncing: {why}"));
                        s.cursor = None;
                    });
                    self.with_store(|s| s.reset_mirror()).await?;
                    let _ = self.events.send(Event::Reset);
                }
                Err(SyncError::Fetch(e)) => {
                    let delay = e
                        .retry_after()
                        .unwrap_or_else(|| backoff.next_delay(&mut rng));
                    tracing::warn!(error = %e, retry_in = ?delay, "sync failed");
                    let retries = backoff.attempts();
                    self.status.update(|s| {
                        s.retries = retries;
                        if s.state != State::Offline {
                            s.offline_since = Some(now());
                        }
                        s.state = State::Offline;
                        s.last_error = Some(e.to_string());
                    });
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        self.status.update(|s| s.state = State::Stopped);
        Ok(())
    }

    async fn apply(&self, records: String, cursor: Option<Cursor>) -> Result<(), SyncError> {
        let report = self
            .with_store(move |s| s.apply_ndjson(&records, cursor.as_ref()))
            .await?;
        warn_if_quarantined(report);
        Ok(())
    }

    async fn bootstrap(&self, cancel: &CancellationToken) -> Result<(), SyncError> {
        // A bootstrap cut short (a kill, a dropped connection) resumes after the last entity
        // it applied, and then tails from the cursor of the snapshot it started with: the
        // feed replays everything that changed since, so the parts loaded at different times
        // converge.
        let mark: Option<BootMark> = self
            .with_store(|s| s.note(BOOT_MARK))
            .await?
            .and_then(|m| serde_json::from_str(&m).ok());
        let after = mark.as_ref().and_then(|m| m.last_id.clone());
        self.status.update(|s| {
            s.state = State::Bootstrapping;
            s.bootstrap = Some(Progress::default());
        });
        let snapshot = match self.upstream.snapshot(after.as_deref()).await {
            Err(FetchError::Refused { status: 400, .. }) if after.is_some() => {
                // The entity it stopped after is not there: start over.
                self.with_store(|s| s.set_note(BOOT_MARK, None)).await?;
                return Err(FetchError::Garbled(
                    "could not resume the snapshot; starting it again".into(),
                )
                .into());
            }
            other => other?,
        };
        let start_cursor = match &mark {
            Some(m) => {
                let c = Cursor::parse_token(&m.cursor);
                match c {
                    Some(c) if c.epoch == snapshot.cursor.epoch => c,
                    _ => {
                        self.with_store(|s| s.set_note(BOOT_MARK, None)).await?;
                        return Err(FetchError::Resync(
                            "the upstream history changed during the bootstrap".into(),
                        )
                        .into());
                    }
                }
            }
            None => {
                let m = BootMark {
                    cursor: snapshot.cursor.token(),
                    last_id: None,
                };
                self.save_mark(&m).await?;
                snapshot.cursor.clone()
            }
        };
        self.note_protocol(snapshot.protocol);
        let (total, mut stream) = (snapshot.count, snapshot.body);
        self.with_store(|s| s.begin_bulk_load()).await?;
        let mut load = Loading {
            batcher: Batcher::new(self.config.sync.snapshot_batch),
            decoding: None,
            applying: None,
            mark_cursor: start_cursor.token(),
            total,
            started: Instant::now(),
        };
        let mut done = 0u64;
        loop {
            let chunk = tokio::select! {
                _ = cancel.cancelled() => {
                    // The batch in hand is finished (committed and marked) before stopping.
                    if let Some(f) = load.applying.take() {
                        self.finish(f, &load).await?;
                    }
                    return Err(SyncError::Cancelled);
                }
                c = stream.next() => c,
            };
            let Some(chunk) = chunk else { break };
            let chunk =
                chunk.map_err(|e| FetchError::Offline(format!("reading the snapshot: {e}")))?;
            let Some(full) = load.batcher.push(&chunk)? else {
                continue;
            };
            done += full.lines as u64;
            let last_id = id_of(full.last_line());
            // This batch decodes while the next is read; the one before it goes to the store.
            let next = Decoding {
                task: decode(full.records, full.lines),
                last_id,
                done,
            };
            if let Some(d) = load.decoding.replace(next) {
                self.hand_over(&mut load, d).await?;
            }
        }
        if let Some(d) = load.decoding.take() {
            self.hand_over(&mut load, d).await?;
        }
        if let Some(f) = load.applying.take() {
            self.finish(f, &load).await?;
        }
        let Loading {
            batcher, started, ..
        } = load;
        let (last, trailer) = batcher.finish()?;
        if trailer.cursor().map_err(FetchError::from)?.epoch != start_cursor.epoch {
            return Err(FetchError::Resync(
                "the upstream history changed during the bootstrap".into(),
            )
            .into());
        }
        done += last.lines as u64;
        let cursor = start_cursor;
        let report = self
            .with_store({
                let cursor = cursor.clone();
                move |s| {
                    let report = s.apply_ndjson(&last.records, None)?;
                    s.end_bulk_load()?;
                    // The cursor moves last: a bootstrap cut short before it resumes as a
                    // bootstrap and ends its bulk load, instead of tailing a mirror still
                    // without its secondary indexes and links.
                    s.apply(&[], Some(&cursor))?;
                    s.set_note(BOOT_MARK, None)?;
                    Ok(report)
                }
            })
            .await?;
        warn_if_quarantined(report);
        // The whole catalog is in: make it searchable now rather than at the next tick.
        let _ = self.events.send(Event::Applied { tailing: true });
        self.progress(done, total, started);
        tracing::info!(
            records = done,
            seconds = started.elapsed().as_secs_f64(),
            "snapshot loaded"
        );
        self.status.update(|s| {
            s.state = State::CatchingUp;
            s.cursor = Some(cursor.token());
            s.last_poll_at = Some(now());
        });
        Ok(())
    }

    /// Waits for a decoded batch, then for the page before it to be applied, and starts
    /// applying this one.
    async fn hand_over(&self, load: &mut Loading, d: Decoding) -> Result<(), SyncError> {
        let (page, buffer) = joined(d.task.await)?;
        load.batcher.recycle(buffer);
        if let Some(f) = load.applying.take() {
            self.finish(f, load).await?;
        }
        // How far the bootstrap got is written by the page's own store task, right after it
        // commits: a kill in between leaves the mark a page behind, and a resumed bootstrap
        // applies that page again (an apply is idempotent).
        let mark = d.last_id.map(|id| {
            serde_json::to_string(&BootMark {
                cursor: load.mark_cursor.clone(),
                last_id: Some(id),
            })
            .unwrap_or_default()
        });
        load.applying = Some(InFlight {
            apply: self.spawn_store(move |s| {
                // Without a cursor: it moves only with the snapshot's last batch.
                let report = s.apply_page(&page, None)?;
                if let Some(mark) = mark {
                    s.set_note(BOOT_MARK, Some(&mark))?;
                }
                Ok((report, page))
            }),
            done: d.done,
        });
        Ok(())
    }

    /// Waits for a snapshot page's apply (its mark included) and reports the progress.
    async fn finish(&self, f: InFlight, load: &Loading) -> Result<(), SyncError> {
        let (report, page) = joined(f.apply.await)?;
        warn_if_quarantined(report);
        // Freeing a page's thousands of changes took as long as a tenth of applying them;
        // the next page need not wait for it.
        drop(tokio::task::spawn_blocking(move || drop(page)));
        let _ = self.events.send(Event::Applied { tailing: false });
        self.progress(f.done, load.total, load.started);
        Ok(())
    }

    /// Says in the status when the upstream speaks a newer protocol than this linerd: its new
    /// members are kept, not understood.
    fn note_protocol(&self, protocol: u32) {
        let newer = (protocol > PROTOCOL_VERSION).then_some(protocol);
        if self.status.get().newer_protocol != newer {
            if let Some(v) = newer {
                tracing::warn!(
                    upstream = v,
                    this = PROTOCOL_VERSION,
                    "the upstream speaks a newer protocol; members this linerd does not know are kept"
                );
            }
            self.status.update(|s| s.newer_protocol = newer);
        }
    }

    /// Brings a mirror made before bootstraps carried every revision up to full history: the
    /// snapshot with history, applied page by page without moving the cursor (stale entities
    /// only add their revisions), resumable after the last entity applied, and the note
    /// removed at the end.
    async fn backfill(
        &self,
        cursor: &Cursor,
        mark: &str,
        cancel: &CancellationToken,
    ) -> Result<(), SyncError> {
        let mark: Mark = serde_json::from_str(mark).unwrap_or_default();
        self.status.update(|s| {
            s.state = State::Backfilling;
            s.bootstrap = Some(Progress::default());
        });
        tracing::info!(after = ?mark.after, "backfilling the history this mirror lacks");
        let snapshot = match self.upstream.snapshot(mark.after.as_deref()).await {
            Err(FetchError::Refused { status: 400, .. }) if mark.after.is_some() => {
                let fresh = serde_json::to_string(&Mark::default()).unwrap_or_default();
                self.with_store(move |s| s.set_note(HISTORY_BACKFILL, Some(&fresh)))
                    .await?;
                return Err(FetchError::Garbled(
                    "could not resume the history backfill; starting it again".into(),
                )
                .into());
            }
            other => other?,
        };
        // History of another epoch is not this mirror's: a resync replaces it whole.
        let replaced = || {
            FetchError::Resync("the upstream history changed during the history backfill".into())
        };
        if snapshot.cursor.epoch != cursor.epoch {
            return Err(replaced().into());
        }
        self.note_protocol(snapshot.protocol);
        let (total, mut stream) = (snapshot.count, snapshot.body);
        let started = Instant::now();
        let mut batcher = Batcher::new(self.config.sync.snapshot_batch);
        let mut done = 0u64;
        loop {
            let chunk = tokio::select! {
                _ = cancel.cancelled() => return Err(SyncError::Cancelled),
                c = stream.next() => c,
            };
            let Some(chunk) = chunk else { break };
            let chunk =
                chunk.map_err(|e| FetchError::Offline(format!("reading the snapshot: {e}")))?;
            if let Some(full) = batcher.push(&chunk)? {
                done += full.lines as u64;
                let next = Mark {
                    after: id_of(full.last_line()),
                };
                let records = self.backfill_page(full.records, full.lines, &next).await?;
                batcher.recycle(records);
                self.progress(done, total, started);
            }
        }
        let (last, trailer) = batcher.finish()?;
        if trailer.cursor().map_err(FetchError::from)?.epoch != cursor.epoch {
            return Err(replaced().into());
        }
        done += last.lines as u64;
        self.backfill_page(last.records, last.lines, &Mark::default())
            .await?;
        self.with_store(|s| s.set_note(HISTORY_BACKFILL, None))
            .await?;
        let _ = self.events.send(Event::Applied { tailing: false });
        tracing::info!(
            records = done,
            seconds = started.elapsed().as_secs_f64(),
            "history backfilled"
        );
        self.status.update(|s| {
            s.state = State::CatchingUp;
            s.bootstrap = None;
        });
        Ok(())
    }

    /// Applies one page of the backfill and marks how far it got, in one store task.
    async fn backfill_page(
        &self,
        records: String,
        lines: usize,
        next: &Mark,
    ) -> Result<String, SyncError> {
        let mark = serde_json::to_string(next).unwrap_or_default();
        let (report, records) = self
            .with_store(move |s| {
                let page = DecodedPage::parse_lines(&records, lines);
                let report = s.apply_page(&page, None)?;
                s.set_note(HISTORY_BACKFILL, Some(&mark))?;
                Ok((report, records))
            })
            .await?;
        warn_if_quarantined(report);
        let _ = self.events.send(Event::Applied { tailing: false });
        Ok(records)
    }

    async fn save_mark(&self, mark: &BootMark) -> Result<(), SyncError> {
        let json = serde_json::to_string(mark).unwrap_or_default();
        self.with_store(move |s| s.set_note(BOOT_MARK, Some(&json)))
            .await
    }

    fn progress(&self, done: u64, total: Option<u64>, started: Instant) {
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        self.status.update(|s| {
            s.bootstrap = Some(Progress {
                done,
                total,
                per_second: rate,
                eta_seconds: total.map(|t| t.saturating_sub(done) as f64 / rate.max(1.0)),
            });
        });
    }

    async fn tail(
        &self,
        mut cursor: Cursor,
        cancel: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Result<(), SyncError> {
        // The first poll does not wait: it tells at once whether the mirror is at the head, so
        // the status says "synced" right after a bootstrap instead of a long-poll later.
        let mut wait = std::time::Duration::ZERO;
        loop {
            let page = tokio::select! {
                _ = cancel.cancelled() => return Err(SyncError::Cancelled),
                p = self.upstream.changes(Some(&cursor), self.config.sync.page_size, wait) => p?,
            };
            wait = self.config.sync.wait();
            backoff.reset();
            let next = page.trailer.cursor().map_err(FetchError::from)?;
            let behind = page.trailer.behind;
            self.note_protocol(page.trailer.protocol);
            if page.count > 0 || next != cursor {
                self.apply(page.records, Some(next.clone())).await?;
                let _ = self.events.send(Event::Applied {
                    tailing: page.trailer.up_to_date,
                });
            }
            cursor = next;
            self.status.update(|s| {
                s.state = if page.trailer.up_to_date {
                    State::Synced
                } else {
                    State::CatchingUp
                };
                s.cursor = Some(cursor.token());
                s.behind = Some(behind);
                s.last_poll_at = Some(now());
                s.offline_since = None;
                s.last_error = None;
                s.retries = 0;
                s.bootstrap = None;
            });
        }
    }
}

use rand::SeedableRng as _;
