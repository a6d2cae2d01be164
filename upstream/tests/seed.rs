//! Seeding: the generated catalog loads (every reference resolves, every entity created at
//! version 1 by an `import` revision, edited recordings then once per edit), and a second seed
//! into the same catalog is refused without writing anything.

mod common;

use common::backends;
use liner::generate::CatalogSpec;
use liner::model::EntityKind;
use liner_upstream::seed::{SeedError, seed};
use liner_upstream::store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_catalog_seeds_once_on_every_backend() {
    for backend in backends().await {
        let store = store::open(&backend.url()).await.expect("open");
        let report = seed(
            store.as_ref(),
            CatalogSpec::new(3_000, 7).with_history(),
            |_| {},
        )
        .await
        .expect("seed");
        assert_eq!(report.head, report.revisions, "one change per revision");
        assert!(
            report.revisions > report.entities + report.entities / 20,
            "edited recordings bring their edits: {report:?}"
        );
        let counts: std::collections::HashMap<_, _> =
            store.counts().await.expect("counts").into_iter().collect();
        assert_eq!(counts[&EntityKind::Recording], 3_000, "{}", backend.name());
        assert_eq!(counts.values().sum::<u64>(), report.entities);

        let page = store.changes(0, 1).await.expect("feed");
        let first: serde_json::Value =
            serde_json::from_str(page.body.lines().next().expect("a line")).expect("json");
        assert_eq!(first["version"], 1);
        assert_eq!(first["revision"]["source"]["kind"], "import");

        let again = seed(
            store.as_ref(),
            CatalogSpec::new(3_000, 7).with_history(),
            |_| {},
        )
        .await;
        assert!(
            matches!(again, Err(SeedError::NotEmpty { .. })),
            "{again:?}"
        );
        assert_eq!(
            store.head().await.expect("head"),
            report.head,
            "the refused seed wrote nothing"
        );
    }
}
