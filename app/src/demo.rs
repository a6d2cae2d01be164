//! `liner demo`: the whole desk in one process, and the one place that composes the three
//! parts. An upstream on SQLite seeded with a generated catalog (with edit histories), an
//! editor token for it, linerd mirroring it, and the console on that mirror, all in one
//! directory (temporary unless `--data`). Seeding happens once per directory.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use liner_upstream::auth::{Role, generate_token, hash_token};
use liner_upstream::store::NewToken;
use tokio_util::sync::CancellationToken;

use liner::protocol::DataDir;
use liner_console::console;

use crate::cli::DemoArgs;

const SEEDED_MARK: &str = "upstream.seeded";

/// A running upstream and daemon, and where their data is.
pub struct Demo {
    pub upstream_url: String,
    pub mirror_dir: PathBuf,
    pub token: String,
    store: std::sync::Arc<dyn liner_upstream::store::CatalogStore>,
    cancel: CancellationToken,
    stop_upstream: Option<tokio::sync::oneshot::Sender<()>>,
    daemon: tokio::task::JoinHandle<anyhow::Result<()>>,
    upstream: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts (seeding first, if this directory has no catalog yet) the upstream and the daemon.
pub async fn start(
    dir: &Path,
    recordings: u64,
    seed: u64,
    mut progress: impl FnMut(&str),
) -> Result<Demo> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let catalog = dir.join("upstream.sqlite");
    let store = liner_upstream::store::open(&format!("sqlite:{}", catalog.display()))
        .await
        .with_context(|| format!("opening the demo catalog {}", catalog.display()))?;
    let token_file = dir.join("token");
    if !dir.join(SEEDED_MARK).exists() {
        let mut last = 0;
        liner_upstream::seed::seed(
            store.as_ref(),
            liner::generate::CatalogSpec::new(recordings, seed).with_history(),
            |entities| {
                if entities / 20_000 != last {
                    last = entities / 20_000;
                    progress(&format!(
                        "seeding the demo catalog ({recordings} recordings): {entities} entities"
                    ));
                }
            },
        )
        .await
        .context("seeding the demo catalog")?;
        let token = generate_token();
        store
            .create_token(NewToken {
                name: "demo editor".into(),
                role: Role::Editor,
                parties: Vec::new(),
                hash: hash_token(&token),
            })
            .await
            .context("creating the demo's editor token")?;
        write_private(&token_file, &token)?;
        std::fs::write(dir.join(SEEDED_MARK), b"")?;
    }
    let token = liner_daemon::config::read_token(&token_file)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the demo upstream")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop_upstream, stopped) = tokio::sync::oneshot::channel::<()>();
    let upstream = tokio::spawn(liner_upstream::serve(
        store.clone(),
        liner_upstream::Limits::default(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let mirror_dir = dir.join("mirror");
    let config = liner_daemon::Config {
        data_dir: mirror_dir.clone(),
        upstream: liner_daemon::config::Upstream {
            url: url.clone(),
            token_file,
        },
        ..Default::default()
    };
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(liner_daemon::run(config, token.clone(), cancel.clone()));
    Ok(Demo {
        upstream_url: url,
        mirror_dir,
        token,
        store,
        cancel,
        stop_upstream: Some(stop_upstream),
        daemon,
        upstream,
    })
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("upstream_url", &self.upstream_url)
            .field("mirror_dir", &self.mirror_dir)
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// Another token for this upstream (e.g. an artist's, bound to their parties).
    pub async fn add_token(
        &self,
        name: &str,
        role: Role,
        parties: Vec<liner::ids::PartyId>,
    ) -> Result<String> {
        let token = generate_token();
        self.store
            .create_token(NewToken {
                name: name.into(),
                role,
                parties,
                hash: hash_token(&token),
            })
            .await
            .context("creating a token")?;
        Ok(token)
    }

    /// Stops the daemon (it finishes its batch) and then the upstream.
    pub async fn stop(mut self) -> Result<()> {
        self.cancel.cancel();
        let daemon = self.daemon.await.context("waiting for the daemon")?;
        if let Some(s) = self.stop_upstream.take() {
            let _ = s.send(());
        }
        let upstream = self.upstream.await.context("waiting for the upstream")?;
        daemon.context("the demo daemon")?;
        upstream.context("the demo upstream")
    }
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Makes `dir` (if need be) and closes it to everyone but its owner, also when an earlier
/// build made it open.
fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", dir.display()))
}

/// Runs the demo until the console is quit.
pub fn run(
    args: DemoArgs,
    data: Option<PathBuf>,
    color: bool,
    log: fn(&Path) -> Result<()>,
) -> Result<()> {
    // The demo's catalog, mirror, token and logs are one person's: everything it creates is
    // theirs alone (0600 files in 0700 directories), SQLite's WAL and the log included.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let temp;
    let dir = match data {
        Some(d) => d,
        None => {
            temp = tempfile::Builder::new()
                .prefix("liner-demo-")
                .tempdir()
                .context("making a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    private_dir(&dir)?;
    log(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("liner-demo")
        .build()
        .context("starting the demo's runtime")?;
    let demo = runtime.block_on(start(&dir, args.recordings, args.seed, |p| {
        eprint!("\r{p}   ");
    }))?;
    eprintln!(
        "\rupstream {} · mirror {} · log {}",
        demo.upstream_url,
        demo.mirror_dir.display(),
        DataDir::new(&dir).console_log().display()
    );
    let session = console::Session {
        actor: "demo editor".into(),
        who: None,
    };
    let result = console::run(DataDir::new(&demo.mirror_dir), session, color);
    runtime.block_on(demo.stop())?;
    result
}
