//! The server's integration tests, in one binary so the server and the app are linked
//! once: each module drives real servers (in-process through [`wages_testkit`], or
//! `wages` processes) with real clients, brokers and databases.

mod aggregates;
mod api;
mod auth;
mod binary;
mod cluster;
mod device_auth;
mod external_acl;
mod external_broker;
mod firmware;
mod fleet;
mod hostile;
mod http;
mod https;
mod influx;
mod ingest;
mod live;
mod mqtt5;
mod people;
mod presence;
mod process;
mod retention;
mod shot_files;
mod simulate;
