//! Compaction in the running server (`WAGES_RETENTION_*`): old sessions published over
//! MQTT are compacted in the background on both SQL backends, read back through the
//! API and the session page as compacted, while new readings keep being stored.

use rumqttc::QoS;
use serde_json::Value;
use wages_codec::clock::now_ms;
use wages_testkit::{Db, TestServer};

const DAY_MS: u64 = 86_400_000;

/// A 10 s extraction at 10 Hz starting at `t0`: 101 readings, 0 to 20 g.
fn extraction(id: &str, session: &str, t0: u64) -> String {
    (0..=100u64)
        .map(|i| format!("client_id={id};session_id={session};value={};tstamp={}", i as f64 * 0.2, t0 + i * 100))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn old_sessions_shrink_and_keep_their_summaries(db: Db) {
    let server = TestServer::builder()
        .db(db)
        .var("WAGES_RETENTION_RAW_DAYS", "30")
        .var("WAGES_RETENTION_GRAPH_DAYS", "365")
        .var("WAGES_RETENTION_CHECK_SECONDS", "1")
        .start()
        .await;
    let password = server.register("ret-1").await;
    let (scale, mut events) = rumqttc::AsyncClient::new(server.scale_options("ret-1", &password), 100);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    // On a whole second, so the first bucket holds the first ten readings.
    let now = now_ms() / 1000 * 1000;
    for (session, t0) in [("ancient", now - 400 * DAY_MS), ("old", now - 100 * DAY_MS), ("today", now - 60_000)] {
        let payload = extraction("ret-1", session, t0);
        scale.publish("wages/devices/ret-1/readings", QoS::AtLeastOnce, false, payload).await.expect("publish");
    }
    let compacted = |s: &Value, name: &str| {
        s.as_array().into_iter().flatten().any(|x| x["session_id"] == name && x["compacted"].is_object())
    };
    // A pass compacts first and removes expired graphs after, so wait for both.
    let graph_removed = |s: &Value, name: &str| {
        s.as_array().into_iter().flatten().any(|x| x["session_id"] == name && x["compacted"]["graph_kept"] == false)
    };
    let listed =
        server.eventually("/api/devices/ret-1/sessions", |s| compacted(s, "old") && graph_removed(s, "ancient")).await;
    let by_name = |name: &str| listed.as_array().and_then(|a| a.iter().find(|s| s["session_id"] == name)).cloned();
    let old = by_name("old").expect("listed");
    assert_eq!((old["count"].as_u64(), old["final_weight"].as_f64()), (Some(101), Some(20.0)));
    assert_eq!(old["compacted"]["bucket_ms"], 1000);
    assert_eq!(old["compacted"]["graph_kept"], true);
    assert_eq!(by_name("ancient").expect("listed")["compacted"]["graph_kept"], false);
    assert!(by_name("today").expect("listed").get("compacted").is_none(), "a recent session is left alone");

    // Readings of a compacted session are its buckets' means; the buckets have the rest.
    let readings = server.json("/api/devices/ret-1/sessions/old/readings").await;
    assert_eq!(readings.as_array().map(Vec::len), Some(11));
    let buckets = server.json("/api/devices/ret-1/sessions/old/buckets").await;
    let buckets = buckets.as_array().expect("array");
    assert_eq!(buckets.iter().map(|b| b["count"].as_u64().expect("count")).sum::<u64>(), 101);
    assert_eq!((buckets[0]["min"].as_f64(), buckets[0]["count"].as_u64()), (Some(0.0), Some(10)));
    // Only the summary is left of the ancient one: no readings, not "no such session".
    assert_eq!(server.json("/api/devices/ret-1/sessions/ancient/readings").await, serde_json::json!([]));
    assert_eq!(server.json("/api/devices/ret-1/sessions/today/readings").await.as_array().map(Vec::len), Some(101));
    assert_eq!(server.json("/api/devices/ret-1/sessions/today/buckets").await, serde_json::json!([]));
    assert_eq!(server.get("/api/devices/ret-1/sessions/nope/buckets").await.0, 404);

    // The pages say so.
    let (status, page) = server.get("/devices/ret-1/sessions/old").await;
    assert_eq!(status, 200);
    assert!(page.contains("Compacted on") && page.contains("mean of each 1 s bucket"), "{page}");
    let (_, page) = server.get("/devices/ret-1/sessions/ancient").await;
    assert!(page.contains("Only the summary is kept"), "{page}");
    let (_, page) = server.get("/devices/ret-1").await;
    assert!(page.contains("summary only") && page.contains(">compacted<"), "{page}");
    let (_, metrics) = server.get("/metrics").await;
    let counted = metrics
        .lines()
        .find_map(|l| l.strip_prefix("wages_compacted_sessions_total "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(counted.is_some_and(|n| n >= 2), "{metrics}");

    // Ingestion goes on beside it.
    scale
        .publish("wages/devices/ret-1/readings", QoS::AtLeastOnce, false, extraction("ret-1", "next", now))
        .await
        .expect("publish");
    server.eventually("/api/devices/ret-1/sessions/next", |s| s["count"] == 101 && s.get("compacted").is_none()).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sessions_shrink_on_sqlite() {
    old_sessions_shrink_and_keep_their_summaries(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_sessions_shrink_on_postgres() {
    old_sessions_shrink_and_keep_their_summaries(Db::Postgres).await;
}
