//! What the daemon's tests share: a real, seeded upstream served in process on a port of
//! the test's choosing, a private token file, and waiting for a condition.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use liner_upstream::auth::{Role, generate_token, hash_token};
use liner_upstream::store::{self as upstore, CatalogStore, NewToken};

pub struct Upstream {
    pub store: Arc<dyn CatalogStore>,
    pub addr: SocketAddr,
    pub token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Upstream {
    /// A seeded upstream on `addr` (port 0 for any).
    pub async fn start(addr: &str, recordings: u64, seed: u64) -> Upstream {
        Self::start_with(addr, recordings, seed, liner_upstream::Limits::default()).await
    }

    /// A seeded upstream with the service's limits as given.
    pub async fn start_with(
        addr: &str,
        recordings: u64,
        seed: u64,
        limits: liner_upstream::Limits,
    ) -> Upstream {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = upstore::open(&format!("sqlite:{}", dir.path().join("c.db").display()))
            .await
            .expect("open");
        liner_upstream::seed::seed(
            store.as_ref(),
            liner::generate::CatalogSpec::new(recordings, seed).with_history(),
            |_| {},
        )
        .await
        .expect("seed");
        let token = generate_token();
        add_token(store.as_ref(), &token).await;
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(liner_upstream::serve(
            store.clone(),
            limits,
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        Upstream {
            store,
            addr,
            token,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    /// Makes `token` an editor token here too (a restored copy must know the daemon).
    pub async fn accept_token(&self, token: &str) {
        add_token(self.store.as_ref(), token).await;
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new token of `role` whose holder is `name` (the actor of what it changes).
    pub async fn token_for(&self, name: &str, role: Role) -> String {
        let token = generate_token();
        self.store
            .create_token(NewToken {
                name: name.into(),
                role,
                parties: vec![],
                hash: hash_token(&token),
            })
            .await
            .expect("token");
        token
    }

    pub async fn stop(mut self) -> SocketAddr {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.expect("join").expect("served");
        self.addr
    }
}

/// Waits for `what` to hold, checking every 20 ms, failing after `limit`.
pub async fn eventually<F: FnMut() -> bool>(what: &str, limit: Duration, mut check: F) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes `token` to `path` readable by its owner only, as linerd insists.
pub fn write_token_file(path: &std::path::Path, token: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, token).expect("token file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

async fn add_token(store: &dyn CatalogStore, token: &str) {
    store
        .create_token(NewToken {
            name: "daemon".into(),
            role: Role::Editor,
            parties: vec![],
            hash: hash_token(token),
        })
        .await
        .expect("token");
}
