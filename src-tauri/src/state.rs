//! What the console keeps between commands: the signed-in staff member and their connection pool.

use digimed_core::session::StaffSession;
use sqlx::PgPool;
use tokio::sync::RwLock;

/// A staff member signed in to the clinic database as their own login role.
pub struct SignedIn {
    pub pool: PgPool,
    pub session: StaffSession,
}

/// Tauri managed state. Empty until someone signs in.
#[derive(Default)]
pub struct ConsoleState {
    signed_in: RwLock<Option<SignedIn>>,
}

impl ConsoleState {
    /// Replaces whoever was signed in, closing their connections.
    pub async fn sign_in(&self, signed_in: SignedIn) {
        let previous = self.signed_in.write().await.replace(signed_in);
        if let Some(previous) = previous {
            previous.pool.close().await;
        }
    }

    /// Forgets the signed-in staff member and closes their connections.
    pub async fn sign_out(&self) {
        let previous = self.signed_in.write().await.take();
        if let Some(previous) = previous {
            previous.pool.close().await;
        }
    }

    /// The signed-in staff member, if any.
    pub async fn session(&self) -> Option<StaffSession> {
        self.signed_in.read().await.as_ref().map(|s| s.session.clone())
    }
}
