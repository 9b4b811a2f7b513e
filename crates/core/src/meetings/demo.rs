//! The demo meeting service, used when none is configured: rooms get real random names, but the
//! links lead to an address that never resolves (`.test`), carry no token, and are flagged as
//! demo links, which the console labels as such.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::{random_room_name, Channel, MeetingProvider, Participant, Room};
use crate::error::Result;

/// Where demo links point.
pub const DEMO_BASE_URL: &str = "https://meet.digimed.test";

#[derive(Debug, Clone, Copy, Default)]
pub struct DemoProvider;

impl MeetingProvider for DemoProvider {
    fn kind(&self) -> &'static str {
        "demo"
    }

    fn is_demo(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("demo links under {DEMO_BASE_URL}")
    }

    fn room_for(&self, _consultation_id: i32) -> BoxFuture<'_, Result<Room>> {
        Box::pin(async move { Ok(Room { provider: self.kind().to_string(), name: random_room_name() }) })
    }

    fn join_link(&self, room: &Room, _who: &Participant, channel: Channel, _expires: DateTime<Utc>) -> Result<String> {
        let base = format!("{DEMO_BASE_URL}/{}", room.name);
        Ok(match channel {
            Channel::Video => base,
            Channel::Chat => format!("{base}{}", super::jitsi::CHAT_FRAGMENT),
        })
    }
}
