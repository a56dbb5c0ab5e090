//! Readings from RabbitMQ over AMQP, for several nodes on one RabbitMQ.
//!
//! RabbitMQ's MQTT plugin (3.10) has no shared subscriptions, but every MQTT message it
//! takes is routed through the `amq.topic` exchange with the topic's `/` turned into `.`.
//! A durable queue bound there ([`QUEUE`]) holds the readings; each node consumes from it
//! with a bounded prefetch, and acknowledges a message only after its readings are stored
//! (through the pipeline's in-order acknowledgements). Unacknowledged messages of a node
//! that dies go back to the queue at once and the other nodes take them.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::Acker;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use tokio::sync::{mpsc, watch};

use super::in_flight::Ack;
use super::{Delivery, Stats};

/// The durable queue every node consumes readings from.
pub const QUEUE: &str = "wages.readings";
/// `amq.topic` routing keys of readings: `wages/devices/+/readings` and its Protobuf twin.
const BINDINGS: [&str; 2] = ["wages.devices.*.readings", "wages.devices.*.readings.protobuf"];
/// Messages RabbitMQ sends this node before it has acknowledged any.
pub const PREFETCH: u16 = 1000;

/// The MQTT topic behind an `amq.topic` routing key (client ids hold no `.` or `/`).
pub fn topic_of(routing_key: &str) -> String {
    routing_key.replace('.', "/")
}

/// Consumes until `stop`, reconnecting with a back-off; deliveries go to `out`.
pub async fn consume(
    url: String,
    node_id: String,
    out: mpsc::Sender<Delivery>,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let session = async {
            let result = session(&url, &node_id, &out, &stats).await;
            stats.set_queue_up(false);
            if let Err(e) = &result {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis(), "readings queue on RabbitMQ lost; reconnecting");
            }
            result
        };
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            result = session => if result.is_ok() { backoff = Duration::from_millis(100) },
        }
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection: declares and binds the queue, then hands over deliveries until it fails.
async fn session(url: &str, node_id: &str, out: &mpsc::Sender<Delivery>, stats: &Stats) -> Result<(), lapin::Error> {
    let name = format!("wages-ingest-{node_id}");
    let connection =
        Connection::connect(url, ConnectionProperties::default().with_connection_name(name.into())).await?;
    let channel = connection.create_channel().await?;
    channel.queue_declare(QUEUE.into(), QueueDeclareOptions::durable(), FieldTable::default()).await?;
    for key in BINDINGS {
        channel
            .queue_bind(
                QUEUE.into(),
                "amq.topic".into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    channel.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
    let mut consumer =
        channel.basic_consume(QUEUE.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default()).await?;
    tracing::info!(queue = QUEUE, "ingest consuming readings from RabbitMQ over AMQP");
    stats.set_queue_up(true);
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery?;
        let topic = topic_of(delivery.routing_key.as_str());
        let message = Delivery { topic, payload: delivery.data.into(), ack: Ack::Amqp(delivery.acker) };
        if out.send(message).await.is_err() {
            break; // the pipeline stopped; RabbitMQ requeues what is unacknowledged
        }
    }
    Ok(())
}

/// Acknowledges in the order given, until the sender closes.
pub async fn acknowledge(mut ackers: mpsc::Receiver<Acker>) {
    while let Some(acker) = ackers.recv().await {
        if let Err(e) = acker.ack(BasicAckOptions::default()).await {
            tracing::warn!(error = %e, "AMQP acknowledgement not sent; RabbitMQ will redeliver");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_turn_back_into_topics() {
        assert_eq!(topic_of("wages.devices.scale-1.readings"), "wages/devices/scale-1/readings");
        assert_eq!(topic_of("wages.devices.s_2.readings.protobuf"), "wages/devices/s_2/readings/protobuf");
    }
}
