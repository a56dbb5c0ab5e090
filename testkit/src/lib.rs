//! What the server's integration tests (`server/tests/it`) and benchmarks
//! (`server/benches`) share, so each part of a test set-up is written once:
//!
//! - [`server`]: [`TestServer`], a real server in the test's own process on
//!   127.0.0.1:0 with a database of its own, built with [`TestServer::builder`].
//! - [`nodes`]: [`Node`], a real `wages` process, as one of several nodes.
//! - [`mosquitto`]: a Mosquitto of a test's own, for tests that stop or configure it.
//!
//! Everything here panics on failure, with what failed named: it is for tests.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

pub mod mosquitto;
pub mod nodes;
pub mod server;

pub use nodes::{Node, forget_session, wages_binary};
pub use server::{ADMIN_PASSWORD, Db, TestServer, http, pipeline_figures};
