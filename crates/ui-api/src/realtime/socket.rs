//! One client connection: `__ping__`, SUBSCRIBE and UNSUBSCRIBE in; pongs and events out.
//! Anything else a client sends is ignored, as upstream does; nothing it sends can panic the task.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde::Deserialize;
use serde_json::Value;

use super::filter::Resource;
use super::hub::{Realtime, Refused};

/// Longest subscription id kept.
const MAX_UUID_BYTES: usize = 256;

#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: Option<String>,
    uuid: Option<Value>,
    resource: Option<String>,
    since: Option<Value>,
}

/// `since` as upstream takes it: a non-negative integer, or a string of digits.
fn since(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
    .filter(|s| *s >= 0)
}

fn uuid(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty() && text.len() <= MAX_UUID_BYTES).then_some(text)
}

/// Act on one text frame; the reply to send back, if any.
fn handle(realtime: &Realtime, id: u64, text: &str) -> Option<&'static str> {
    if text == "__ping__" {
        return Some("__pong__");
    }
    let Ok(message) = serde_json::from_str::<ClientMessage>(text) else {
        tracing::debug!(
            socket = id,
            "ignored a realtime message that is not the protocol's JSON"
        );
        return None;
    };
    let uuid = uuid(message.uuid.as_ref())?;
    match message.kind.as_deref() {
        Some("SUBSCRIBE") => {
            let resource = message.resource.as_deref().filter(|r| !r.is_empty())?;
            match Resource::parse(resource) {
                Ok(resource) => {
                    let since = since(message.since.as_ref());
                    if realtime.subscribe(id, uuid, resource, since) == Err(Refused::TooMany) {
                        tracing::debug!(socket = id, "refused a subscription past the cap");
                    }
                }
                Err(e) => tracing::debug!(socket = id, error = %e, "ignored a bad subscription"),
            }
        }
        Some("UNSUBSCRIBE") => realtime.unsubscribe(id, &uuid),
        _ => {}
    }
    None
}

pub async fn run(realtime: Realtime, mut socket: WebSocket) {
    let Some((id, mut outbox)) = realtime.open() else {
        let close = CloseFrame {
            code: 1013,
            reason: "too many realtime connections".into(),
        };
        let _ = socket.send(Message::Close(Some(close))).await;
        return;
    };
    loop {
        // Queued events go out before the next message is read, so a pong follows the replay
        // its SUBSCRIBE asked for.
        tokio::select! {
            biased;
            outgoing = outbox.recv() => match outgoing {
                Some(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = handle(&realtime, id, text.as_str())
                        && socket.send(Message::Text(reply.into())).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                // Pings are answered by the WebSocket layer; binary frames mean nothing here.
                Some(Ok(_)) => {}
            },
        }
    }
    realtime.close(id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn since_and_uuid_accept_what_upstream_accepts() {
        assert_eq!(since(Some(&json!(1602752197))), Some(1602752197));
        assert_eq!(since(Some(&json!("1602752197"))), Some(1602752197));
        assert_eq!(since(Some(&json!("-5"))), None);
        assert_eq!(since(Some(&json!(null))), None);
        assert_eq!(uuid(Some(&json!("abc"))).as_deref(), Some("abc"));
        assert_eq!(uuid(Some(&json!(""))), None);
        assert_eq!(uuid(Some(&json!("x".repeat(MAX_UUID_BYTES + 1)))), None);
        assert_eq!(uuid(Some(&json!({"a": 1}))), None);
    }

    #[test]
    fn junk_is_ignored() {
        let realtime = Realtime::new(super::super::RealtimeSettings::default());
        let (id, _outbox) = realtime.open().unwrap();
        for junk in [
            "",
            "{",
            "[]",
            "null",
            "{\"type\":1}",
            "{\"type\":\"SUBSCRIBE\"}",
        ] {
            assert_eq!(handle(&realtime, id, junk), None);
        }
        assert_eq!(handle(&realtime, id, "__ping__"), Some("__pong__"));
    }
}
