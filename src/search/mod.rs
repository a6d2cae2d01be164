//! The search index: a tantivy projection of the mirror, rebuilt from it at will.
//!
//! Layout under the index root: one directory per build (`build-<ulid>`) and a `CURRENT`
//! file naming the live one. A rebuild writes a fresh directory and then replaces `CURRENT`
//! by rename, so readers see the old index or the new one, never half of one. Each commit's
//! payload holds the schema version and the search-journal position it covers; opening
//! replays the journal past that position (delete by id, then add), and an index with another
//! schema version, or one that will not open, is rebuilt.

mod at_least;
mod document;
mod expand;
mod fallback;
mod query;
mod schema;
mod sections;
mod seeking_union;
pub mod tokenizer;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::model::EntityKind;
use crate::store::{Handoff, Store, StoreError};

pub use query::{FUZZY_MIN_CHARS, SearchHit, SearchRequest};
pub use schema::{Fields, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("search index is damaged: {0}")]
    Damaged(String),
    #[error("search index has no build yet at {0}; run the daemon or `liner generate` first")]
    Missing(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// What a commit records about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    schema: u32,
    journal: i64,
    /// The store file's instance name ([`Store::instance`]): documents go by its row keys.
    #[serde(default)]
    instance: String,
}

/// How the writer is tuned. Defaults suit a daemon on a small machine.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    pub threads: usize,
    /// The writer's memory budget while following the journal.
    pub memory_bytes: usize,
    /// The budget for a rebuild from the tables: fewer, larger segments leave less to merge
    /// (a 1M rebuild went from 29.8 s to 21.6 s at 600 MB when measured).
    pub bulk_memory_bytes: usize,
    /// Commit once this many documents are waiting...
    pub commit_every: usize,
    /// ...or once the oldest uncommitted change is this old...
    pub commit_interval: Duration,
    /// ...or this old while the mirror is loading a snapshot: every commit flushes a segment
    /// and sets off merges, and committing each second cost ~4 s of a 1M load (measured).
    pub loading_commit_interval: Duration,
    /// Journal rows read per chunk.
    pub chunk: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            threads: 1,
            memory_bytes: 120 << 20,
            bulk_memory_bytes: 400 << 20,
            commit_every: 200_000,
            commit_interval: Duration::from_secs(1),
            loading_commit_interval: Duration::from_secs(10),
            chunk: 5_000,
        }
    }
}

/// What a catch-up did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CatchUp {
    pub documents: usize,
    pub removed: usize,
    pub position: i64,
}

/// The index, for searching and (with a writer) for keeping up with the store.
pub struct SearchIndex {
    root: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    writer: Option<IndexWriter<TantivyDocument>>,
    options: WriterOptions,
    /// The journal position of the last commit: what searches see.
    committed: i64,
    /// The journal position added to the writer, committed or not.
    applied: i64,
    /// The journal position up to which the store's journal was pruned.
    pruned: i64,
    /// Documents added since the last commit, and since when.
    pending: usize,
    pending_since: Option<Instant>,
    /// Whether the store is loading a snapshot (see [`SearchIndex::set_loading`]).
    loading: bool,
    /// For a read-only index, the build directory it opened: a rebuild switches to another.
    live_dir: Option<PathBuf>,
    /// For a writer, the instance name of the store it follows, recorded with each commit.
    instance: String,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("root", &self.root)
            .field("committed", &self.committed)
            .field("writable", &self.writer.is_some())
            .finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SearchIndex {
    fn assemble(
        root: PathBuf,
        index: Index,
        fields: Fields,
        writer: Option<IndexWriter<TantivyDocument>>,
        options: WriterOptions,
        committed: i64,
        instance: String,
    ) -> Result<Self> {
        let reader = reader(&index)?;
        Ok(SearchIndex {
            root,
            index,
            reader,
            fields,
            writer,
            options,
            committed,
            applied: committed,
            pruned: committed,
            pending: 0,
            pending_since: None,
            loading: false,
            live_dir: None,
            instance,
        })
    }

    /// Opens the live build for searching only (the console).
    pub fn open_read_only(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let dir = current_dir(&root)?.ok_or_else(|| SearchError::Missing(root.clone()))?;
        let (index, fields) = open_index(&dir)?;
        let committed = payload(&index)?.map_or(0, |p| p.journal);
        let mut this = SearchIndex::assemble(
            root,
            index,
            fields,
            None,
            WriterOptions::default(),
            committed,
            String::new(),
        )?;
        this.live_dir = Some(dir);
        Ok(this)
    }

    /// For a read-only index: sees the writer's latest commit, and reopens when a rebuild
    /// switched the live build. Cheap when nothing changed.
    pub fn refresh(&mut self) -> Result<()> {
        if self.writer.is_some() {
            return Ok(());
        }
        let dir =
            current_dir(&self.root)?.ok_or_else(|| SearchError::Missing(self.root.clone()))?;
        if self.live_dir.as_ref() != Some(&dir) {
            *self = SearchIndex::open_read_only(&self.root)?;
            return Ok(());
        }
        self.reader.reload()?;
        self.committed = payload(&self.index)?.map_or(self.committed, |p| p.journal);
        Ok(())
    }

    /// Opens the index for keeping up with `store`: rebuilds it when it is missing, of another
    /// schema version or damaged, then replays the journal past its last commit.
    pub fn open_writer(
        root: impl AsRef<Path>,
        store: &Store,
        options: WriterOptions,
    ) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(io(&root))?;
        let instance = store.instance()?;
        let existing = match current_dir(&root)? {
            Some(dir) => match open_index(&dir).and_then(|(index, fields)| {
                let p = payload(&index)?;
                Ok((index, fields, p))
            }) {
                Ok((index, fields, Some(p)))
                    if p.schema == SCHEMA_VERSION && p.instance == instance =>
                {
                    Some((index, fields, p.journal))
                }
                Ok(_) => {
                    tracing::info!(dir = %dir.display(), "search index is of another schema version or mirror file; rebuilding");
                    None
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "search index will not open; rebuilding");
                    None
                }
            },
            None => None,
        };
        let mut this = match existing {
            Some((index, fields, committed)) => {
                let writer =
                    index.writer_with_num_threads(options.threads, options.memory_bytes)?;
                // A writer killed inside a commit leaves files the commit never recorded (a
                // segment's deletes, say). This run's operations get the same opstamps again,
                // so the same file names, and tantivy refuses to overwrite a file: the crash
                // test's 120-kill run stopped linerd so in two runs of four. Those files go now.
                writer.garbage_collect_files().wait()?;
                SearchIndex::assemble(
                    root,
                    index,
                    fields,
                    Some(writer),
                    options,
                    committed,
                    instance,
                )?
            }
            None => Self::rebuild(&root, store, options)?,
        };
        this.catch_up(store)?;
        this.commit()?;
        Ok(this)
    }

    /// Builds a fresh index from the store's tables in a new directory and switches to it
    /// atomically. The journal position is read before the tables, so anything applied
    /// during the build is replayed by the next catch-up.
    pub fn rebuild(root: impl AsRef<Path>, store: &Store, options: WriterOptions) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(io(&root))?;
        let name = format!("build-{}", ulid::Ulid::new());
        let dir = root.join(&name);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let (schema, fields) = schema::build();
        let index = Index::create_in_dir(&dir, schema)?;
        tokenizer::register(&index);
        let mut writer =
            index.writer_with_num_threads(options.threads, options.bulk_memory_bytes)?;
        let head = store.journal_head()?;
        let instance = store.instance()?;
        for kind in [EntityKind::Party, EntityKind::Recording] {
            let mut after = 0;
            while let Some(entries) = store.entries_by_key(kind, after, options.chunk as i64)? {
                for entry in &entries {
                    if let Some(doc) = document::from_entry(&fields, entry) {
                        writer.add_document(doc)?;
                    }
                }
                after += options.chunk as i64;
            }
        }
        commit(&mut writer, head, &instance)?;
        let writer = merge_all(&index, writer, options)?;
        writer.garbage_collect_files().wait()?;
        switch_current(&root, &name)?;
        remove_other_builds(&root, &name);
        SearchIndex::assemble(root, index, fields, Some(writer), options, head, instance)
    }

    /// Replays the search journal past what the writer has seen (delete by id, then add) and
    /// commits when a commit is due: `commit_every` documents waiting, or the oldest waiting
    /// for `commit_interval`. Never commits per document. Call [`SearchIndex::commit`] to make
    /// everything searchable now.
    pub fn catch_up(&mut self, store: &Store) -> Result<CatchUp> {
        self.follow(store, None)
    }

    /// Like [`SearchIndex::catch_up`], taking the documents the store's writer handed over
    /// instead of reading them back where it can (see [`Handoff`]).
    pub fn catch_up_handed(&mut self, store: &Store, handoff: &mut Handoff) -> Result<CatchUp> {
        self.follow(store, Some(handoff))
    }

    fn follow(&mut self, store: &Store, mut handoff: Option<&mut Handoff>) -> Result<CatchUp> {
        let mut done = CatchUp {
            position: self.applied,
            ..CatchUp::default()
        };
        let mut snapshot = None;
        for chunk in 0.. {
            // One read transaction per stretch of chunks keeps the store's page cache warm
            // between them; renewed so a long catch-up never pins the writer's log for long.
            if chunk % SNAPSHOT_CHUNKS == 0 {
                drop(snapshot.take());
                snapshot = Some(store.read_snapshot()?);
            }
            let writer = self
                .writer
                .as_mut()
                .ok_or_else(|| SearchError::Damaged("catch_up on a read-only index".into()))?;
            let (entries, upto) = match handoff.as_deref_mut() {
                Some(h) => store.journal_entries_handed(self.applied, self.options.chunk, h)?,
                None => store.journal_entries(self.applied, self.options.chunk)?,
            };
            if upto == self.applied {
                break;
            }
            // One delete for the whole chunk, before its documents: a delete per document
            // kept ~300 MB of delete operations alive through a 1M bootstrap (measured in
            // linerd), where a term set per chunk keeps a few hundred.
            let keys = entries.iter().map(|entry| {
                Term::from_field_u64(self.fields.key, document::doc_key(entry.kind, entry.key))
            });
            if !entries.is_empty() {
                writer.delete_query(Box::new(tantivy::query::TermSetQuery::new(keys)))?;
            }
            for entry in &entries {
                match document::from_entry(&self.fields, entry) {
                    Some(doc) => {
                        writer.add_document(doc)?;
                        done.documents += 1;
                    }
                    None => done.removed += 1,
                }
            }
            self.applied = upto;
            self.pending += entries.len();
            self.pending_since.get_or_insert_with(Instant::now);
            if self.commit_due() {
                self.commit()?;
            }
        }
        drop(snapshot);
        if self.commit_due() {
            self.commit()?;
        }
        done.position = self.applied;
        Ok(done)
    }

    fn commit_due(&self) -> bool {
        let interval = if self.loading {
            self.options.loading_commit_interval
        } else {
            self.options.commit_interval
        };
        self.pending >= self.options.commit_every
            || self.pending_since.is_some_and(|t| t.elapsed() >= interval)
    }

    /// Says whether the store is loading a snapshot: while it is, catch-ups commit every
    /// `loading_commit_interval` instead of every `commit_interval`, since nobody waits for
    /// one particular change to become searchable.
    pub fn set_loading(&mut self, loading: bool) {
        self.loading = loading;
    }

    /// Commits what the writer holds, with its journal position, and makes it searchable.
    pub fn commit(&mut self) -> Result<()> {
        if self.applied == self.committed {
            return Ok(());
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| SearchError::Damaged("commit on a read-only index".into()))?;
        commit(writer, self.applied, &self.instance)?;
        self.committed = self.applied;
        self.pending = 0;
        self.pending_since = None;
        self.reader.reload()?;
        Ok(())
    }

    /// Merges the index down to [`SETTLED_SEGMENTS`] segments. Term expansion and
    /// intersections run per segment, so a bulk-built index with a dozen segments searched
    /// several times slower than a merged one.
    pub fn merge_all(&mut self) -> Result<()> {
        self.commit()?;
        if let Some(writer) = self.writer.take() {
            self.writer = Some(merge_all(&self.index, writer, self.options)?);
        }
        self.reader.reload()?;
        if let Some(writer) = &self.writer {
            // The merged-away segment files go now rather than at some later commit.
            writer.garbage_collect_files().wait()?;
        }
        Ok(())
    }

    /// Lets searches run on several segments at once.
    pub fn set_search_threads(&mut self, threads: usize) -> Result<()> {
        if threads > 1 {
            self.index.set_multithread_executor(threads)?;
        }
        Ok(())
    }

    /// The journal position the searchable index covers.
    /// Drops the store's journal rows this index has committed, once per commit. During a
    /// bootstrap the freed pages take the next batches' rows instead of the file growing by a
    /// journal of the whole catalog (17 MB of a 1M mirror, measured); an index that has not
    /// committed anything new writes nothing. A mirror too busy to take the write (the end of a
    /// bulk load holds it for seconds) is pruned after a later commit instead: failing here once
    /// stopped linerd's index from following the mirror at all.
    pub fn prune_journal(&mut self, store: &mut Store) -> Result<()> {
        if self.committed > self.pruned {
            match store.prune_journal(self.committed) {
                Ok(_) => self.pruned = self.committed,
                Err(e) if e.is_busy() => {
                    tracing::debug!(error = %e, "journal not pruned: the mirror is busy");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub fn position(&self) -> i64 {
        self.committed
    }

    /// Journal rows the index has not seen yet.
    pub fn lag(&self, store: &Store) -> Result<i64> {
        Ok(store.journal_head()? - self.committed)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Disk used by the live build, in bytes.
    pub fn disk_bytes(&self) -> Result<u64> {
        let Some(dir) = current_dir(&self.root)? else {
            return Ok(0);
        };
        let mut total = 0;
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            total += entry.metadata().map_err(io(&dir))?.len();
        }
        Ok(total)
    }

    /// Search as you type. When no document matches every word, the documents matching the
    /// most of them (all but one, else fewer, down to half), ranked by how rare the words they
    /// match are (each hit says `partial`): one misspelt or half-remembered word does not
    /// empty the answer.
    pub fn search(&self, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        let searcher = self.reader.searcher();
        let Some(plan) = query::build(&searcher, &self.fields, req)? else {
            return Ok(Vec::new());
        };
        fallback::run(&plan, |q, partial| {
            query::run(&searcher, &self.fields, q, req.limit, partial)
        })
    }

    /// One search ranked per kind: for each `(kind, limit)` of `sections`, its own hits,
    /// best first (`req.kind` is ignored). The console's recordings and parties come from one
    /// walk of the postings; when no entry of any kind has every word, each section holds the
    /// entries with most of them, as [`SearchIndex::search`] does.
    pub fn search_sections(
        &self,
        req: &SearchRequest,
        sections: &[(EntityKind, usize)],
    ) -> Result<Vec<Vec<SearchHit>>> {
        let searcher = self.reader.searcher();
        let req = SearchRequest {
            kind: None,
            ..req.clone()
        };
        let Some(plan) = query::build(&searcher, &self.fields, &req)? else {
            return Ok(vec![Vec::new(); sections.len()]);
        };
        fallback::run(&plan, |q, partial| {
            query::run_sections(&searcher, &self.fields, q, sections, partial)
        })
    }

    /// Every indexed id, sorted, with its popularity: for comparing an index with its store.
    pub fn all_ids(&self) -> Result<Vec<String>> {
        use tantivy::collector::DocSetCollector;
        use tantivy::query::AllQuery;
        use tantivy::schema::Value;
        let searcher = self.reader.searcher();
        let mut ids = Vec::new();
        for address in searcher.search(&AllQuery, &DocSetCollector)? {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                ids.push(id.to_owned());
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }
}

fn open_index(dir: &Path) -> Result<(Index, Fields)> {
    let index = Index::open_in_dir(dir)?;
    tokenizer::register(&index);
    let (expected, fields) = schema::build();
    if index.schema() != expected {
        return Err(SearchError::Damaged(
            "its schema differs from this build's".into(),
        ));
    }
    Ok((index, fields))
}

/// How many segments a settled index keeps. One: term expansion and intersections run per
/// segment, and two segments searched on two threads measured slower at 1M (p50 1.02 ms,
/// p99 4.29 ms) than one segment on one (0.85 ms, 3.92 ms).
pub const SETTLED_SEGMENTS: usize = 1;

/// Journal chunks read in one store transaction by a catch-up.
const SNAPSHOT_CHUNKS: usize = 16;

/// Lets background merges finish (an explicit merge of segments they are consuming fails),
/// then merges what is left into [`SETTLED_SEGMENTS`] segments of about equal size with a
/// fresh writer.
fn merge_all(
    index: &Index,
    writer: IndexWriter<TantivyDocument>,
    options: WriterOptions,
) -> Result<IndexWriter<TantivyDocument>> {
    writer.wait_merging_threads()?;
    let mut writer = reopen_writer(index, options)?;
    let mut metas = index.searchable_segment_metas()?;
    if metas.len() > SETTLED_SEGMENTS {
        // Largest first, each into the group holding the fewest documents so far.
        metas.sort_by_key(|m| std::cmp::Reverse(m.num_docs()));
        let mut groups: Vec<(u64, Vec<tantivy::index::SegmentId>)> =
            vec![(0, Vec::new()); SETTLED_SEGMENTS];
        for meta in &metas {
            if let Some(group) = groups.iter_mut().min_by_key(|g| g.0) {
                group.0 += u64::from(meta.num_docs());
                group.1.push(meta.id());
            }
        }
        for (_, ids) in groups.iter().filter(|g| g.1.len() > 1) {
            writer.merge(ids).wait()?;
        }
    }
    Ok(writer)
}

/// A writer on `index` right after this process dropped the one before it. The lock file is
/// released when that writer's handle closes, yet about one run in 40 of the console's screen
/// tests (several builds at once in one process, each in its own directory) found it still
/// busy at once; why is not known. A few short waits bound the retry, and any other error, or a
/// lock still busy after them, is returned as it is.
fn reopen_writer(index: &Index, options: WriterOptions) -> Result<IndexWriter<TantivyDocument>> {
    let mut attempts = 0;
    loop {
        match index.writer_with_num_threads(options.threads, options.memory_bytes) {
            Err(tantivy::TantivyError::LockFailure(
                tantivy::directory::error::LockError::LockBusy,
                _,
            )) if attempts < 50 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

fn reader(index: &Index) -> Result<IndexReader> {
    Ok(index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?)
}

fn payload(index: &Index) -> Result<Option<Payload>> {
    let metas = index.load_metas()?;
    Ok(metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok()))
}

fn commit(writer: &mut IndexWriter<TantivyDocument>, position: i64, instance: &str) -> Result<()> {
    let payload = serde_json::to_string(&Payload {
        schema: SCHEMA_VERSION,
        journal: position,
        instance: instance.to_owned(),
    })
    .map_err(|e| SearchError::Damaged(e.to_string()))?;
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(&payload);
    prepared.commit()?;
    Ok(())
}

const CURRENT: &str = "CURRENT";

fn current_dir(root: &Path) -> Result<Option<PathBuf>> {
    let path = root.join(CURRENT);
    match fs::read_to_string(&path) {
        Ok(name) => {
            let name = name.trim();
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(SearchError::Damaged(format!(
                    "{} names {name:?}",
                    path.display()
                )));
            }
            Ok(Some(root.join(name)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SearchError::Io { path, source: e }),
    }
}

/// Points `CURRENT` at `name`: write a temporary file, sync it, rename it over.
fn switch_current(root: &Path, name: &str) -> Result<()> {
    let tmp = root.join("CURRENT.tmp");
    {
        use std::io::Write;
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(name.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    let current = root.join(CURRENT);
    fs::rename(&tmp, &current).map_err(io(&current))?;
    if let Ok(d) = fs::File::open(root) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes builds that are no longer current. Best effort: a reader may still hold one open,
/// and a leftover directory is harmless.
fn remove_other_builds(root: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("build-")
            && name != keep
            && let Err(e) = fs::remove_dir_all(entry.path())
        {
            tracing::debug!(dir = %name, error = %e, "could not remove an old index build");
        }
    }
}
