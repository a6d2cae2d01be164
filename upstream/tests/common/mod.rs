//! Starting the real service in-process on port 0 over each backend the run has: SQLite always,
//! PostgreSQL when `LINER_TEST_PG_URL` is set (and then it must be reachable: a test that
//! silently skips proves nothing). Each PostgreSQL test gets a database of its own.

#![allow(dead_code)]

use std::sync::Arc;

use liner_upstream::Limits;
use liner_upstream::auth::{Role, generate_token, hash_token};
use liner_upstream::store::{self, CatalogStore, NewToken};
use serde_json::{Value, json};

pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, db: String },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }

    /// Drops a PostgreSQL test database (SQLite's goes with its temporary directory).
    pub async fn drop(&self) {
        if let Backend::Postgres { admin_url, db } = self
            && let Ok((client, conn)) =
                tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await
        {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .await;
        }
    }

    pub fn url(&self) -> String {
        match self {
            Backend::Sqlite(dir) => format!("sqlite:{}", dir.path().join("catalog.db").display()),
            Backend::Postgres { admin_url, db } => with_database(admin_url, db),
        }
    }
}

/// `postgres://u@h:p/old?x` with the database replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{db}{query}", &base[..host_end])
}

pub fn pg_url() -> Option<String> {
    std::env::var("LINER_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh PostgreSQL database for one test; panics (fails the test) when the server that
/// `LINER_TEST_PG_URL` names cannot be reached.
pub async fn pg_backend(admin_url: &str) -> Backend {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("LINER_TEST_PG_URL is set but PostgreSQL is unreachable: {e}"));
    tokio::spawn(conn);
    let db = format!(
        "liner_test_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create a test database");
    Backend::Postgres {
        admin_url: admin_url.to_owned(),
        db,
    }
}

/// Every backend this run tests.
pub async fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite(tempfile::tempdir().expect("tempdir"))];
    match pg_url() {
        Some(url) => out.push(pg_backend(&url).await),
        None => not_run("this test's PostgreSQL half"),
    }
    out
}

/// Says, past the test harness's capture (straight to the process's stderr, so a plain `cargo
/// test` shows it), that a PostgreSQL part did not run here: nothing skips silently.
pub fn not_run(what: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(
        std::io::stderr(),
        "\n*** NOT RUN: {what} ({test}): PostgreSQL tests need LINER_TEST_PG_URL, e.g. \
         LINER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test; CI sets it ***"
    );
}

/// A running service with one token per role.
pub struct Server {
    pub backend: Backend,
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn CatalogStore>,
    pub tokens: std::collections::HashMap<Role, String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Self::start_with(backend, Limits::default()).await
    }

    pub async fn start_with(backend: Backend, limits: Limits) -> Server {
        let store = store::open(&backend.url()).await.expect("open store");
        let mut tokens = std::collections::HashMap::new();
        for role in Role::ALL {
            let token = generate_token();
            let parties = if role == Role::Artist {
                vec![artist_party()]
            } else {
                vec![]
            };
            store
                .create_token(NewToken {
                    name: format!("{role}-tester"),
                    role,
                    parties,
                    hash: hash_token(&token),
                })
                .await
                .expect("create token");
            tokens.insert(role, token);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(liner_upstream::serve(
            store.clone(),
            limits,
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            backend,
            base,
            http: reqwest::Client::new(),
            store,
            tokens,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The Prometheus exposition `/metrics` answers now.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("body")
    }

    pub fn get(&self, role: Role, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(self.token(role))
    }

    pub fn send(
        &self,
        method: reqwest::Method,
        role: Role,
        path: &str,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(self.token(role))
            .json(body)
    }

    /// Stops the service (waiting for it to finish) and drops a PostgreSQL test database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server ran cleanly");
        }
        let Server { store, backend, .. } = self;
        drop(store);
        backend.drop().await;
    }
}

/// The party the artist token is bound to (created by tests that need it).
pub fn artist_party() -> liner::ids::PartyId {
    liner::ids::PartyId::from_parts(1_700_000_000_000, 0x00A2_7157)
}

pub fn party(id: Option<&str>, name: &str) -> Value {
    let mut p = json!({"name": name, "sort_name": name, "kind": "person"});
    if let Some(id) = id {
        p["id"] = json!(id);
    }
    p
}

/// Reads a response as JSON, with the status, so failures show what the service said.
pub async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}
