//! Who gets a connection slot, on the HTTP API and the Postgres front end alike.
//!
//! Slots used to go to whoever took them first: 70 sockets that never logged in (reconnecting
//! when closed) held all 64 Postgres slots, 1,030 idle sockets held every HTTP slot, and real
//! clients were refused meanwhile. Here a connection is *silent* from its accept until its first
//! byte; only silent connections are ever shed, so a client that is talking (logging in,
//! sending a request, or a logged-in session idle between queries) keeps its slot:
//!
//! - a silent connection is closed after `silent_timeout`;
//! - one address holds at most `max_silent_per_address` silent connections: one more closes
//!   that address's oldest silent one;
//! - when every slot is taken, a new connection closes the oldest silent one anywhere, and is
//!   refused only when no connection is silent.
//!
//! The oldest silent connection goes first, not the newest: a real client speaks within
//! milliseconds of connecting, so the connection that has been silent longest is the one least
//! likely to be a client, and the newest is the one most likely to be the client that was
//! shut out. What a talking client may hold is bounded by the servers' own deadlines (HTTP
//! request heads, Postgres logins).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub struct GateLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Silent connections one client address may hold.
    pub max_silent_per_address: usize,
    /// How long a connection may stay silent after it was accepted.
    pub silent_timeout: Duration,
}

/// Shared by the accept loop and every connection of one server.
#[derive(Clone)]
pub struct Gate {
    limits: GateLimits,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    open: usize,
    /// Silent connections by id (ids grow, so the first is the oldest).
    silent: BTreeMap<u64, Silent>,
    silent_by_address: HashMap<IpAddr, usize>,
}

struct Silent {
    address: IpAddr,
    close: CancellationToken,
}

impl State {
    fn shed(&mut self, id: u64) {
        if let Some(silent) = self.silent.remove(&id) {
            self.forget_address(silent.address);
            silent.close.cancel();
        }
    }

    fn forget_address(&mut self, address: IpAddr) {
        if let Some(count) = self.silent_by_address.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                self.silent_by_address.remove(&address);
            }
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

impl Gate {
    pub fn new(limits: GateLimits) -> Self {
        Self {
            limits: GateLimits {
                max_connections: limits.max_connections.max(1),
                max_silent_per_address: limits.max_silent_per_address.max(1),
                ..limits
            },
            state: Arc::default(),
        }
    }

    pub fn limits(&self) -> GateLimits {
        self.limits
    }

    /// A slot for a connection just accepted from `peer`, shedding silent connections as the
    /// rules say; `Full` when every slot is held by a connection that talks.
    pub fn admit(&self, peer: SocketAddr) -> Result<Ticket, Full> {
        let address = peer.ip();
        let mut state = self.lock();
        let of_address = state.silent_by_address.get(&address).copied().unwrap_or(0);
        if of_address >= self.limits.max_silent_per_address {
            let oldest = state
                .silent
                .iter()
                .find(|(_, s)| s.address == address)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                tracing::debug!(%address, "closing this address's oldest silent connection");
                state.shed(id);
            }
        }
        if state.open >= self.limits.max_connections {
            match state.silent.keys().next().copied() {
                Some(id) => {
                    tracing::debug!("all slots taken: closing the oldest silent connection");
                    state.shed(id);
                }
                None => return Err(Full),
            }
        }
        let id = state.next_id;
        state.next_id += 1;
        state.open += 1;
        let close = CancellationToken::new();
        state.silent.insert(
            id,
            Silent {
                address,
                close: close.clone(),
            },
        );
        *state.silent_by_address.entry(address).or_insert(0) += 1;
        // The open count only moves back when the ticket is dropped: a shed connection holds
        // its slot until its task has closed the socket.
        Ok(Ticket {
            id,
            gate: self.clone(),
            close,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One admitted connection's slot, freed when dropped.
pub struct Ticket {
    id: u64,
    gate: Gate,
    close: CancellationToken,
}

impl Ticket {
    /// Waits for the connection's first byte (left unread for the server); false if it was shed,
    /// stayed silent past the timeout, or closed first.
    pub async fn first_byte(&self, socket: &TcpStream) -> bool {
        let mut byte = [0u8; 1];
        let spoke = tokio::select! {
            peeked = socket.peek(&mut byte) => matches!(peeked, Ok(n) if n > 0),
            _ = self.close.cancelled() => false,
            _ = tokio::time::sleep(self.gate.limits.silent_timeout) => false,
        };
        if spoke {
            let mut state = self.gate.lock();
            if let Some(silent) = state.silent.remove(&self.id) {
                state.forget_address(silent.address);
            } else {
                // Shed while its first byte arrived: it goes, as decided.
                return false;
            }
        }
        spoke
    }
}

/// Turns Nagle's algorithm off on a connection a server answers on. Answers leave in pieces (the
/// chunks of a streamed SQL answer, the Postgres protocol's messages); with Nagle on, a piece
/// written while the previous one is unacknowledged waits for the client's delayed ACK (40 ms on
/// Linux): back-to-back queries on a kept-alive HTTP connection took 52 ms at the median instead
/// of 12 (BENCHMARKS.md, steady ingest).
pub fn answer_without_delay(socket: &TcpStream) {
    if let Err(error) = socket.set_nodelay(true) {
        tracing::debug!(%error, "cannot turn Nagle's algorithm off for a connection");
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        if let Some(silent) = state.silent.remove(&self.id) {
            state.forget_address(silent.address);
        }
        state.open = state.open.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(max: usize, per_address: usize) -> Gate {
        Gate::new(GateLimits {
            max_connections: max,
            max_silent_per_address: per_address,
            silent_timeout: Duration::from_secs(10),
        })
    }

    fn peer(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last], port))
    }

    #[test]
    fn the_oldest_silent_connection_makes_room_and_talking_ones_are_never_shed() {
        let gate = gate(3, 10);
        let first = gate.admit(peer(1, 1)).unwrap();
        let second = gate.admit(peer(1, 2)).unwrap();
        let third = gate.admit(peer(2, 3)).unwrap();
        let fourth = gate.admit(peer(3, 4)).unwrap();
        assert!(first.close.is_cancelled(), "the oldest silent one was shed");
        assert!(!second.close.is_cancelled() && !third.close.is_cancelled());
        // Shed but not yet closed: its slot is still counted until its task drops it.
        drop(first);
        // The others speak: nothing is silent, so a fifth is refused.
        for ticket in [&second, &third, &fourth] {
            let mut state = gate.lock();
            let silent = state.silent.remove(&ticket.id).unwrap();
            state.forget_address(silent.address);
        }
        assert_eq!(gate.admit(peer(4, 5)).err(), Some(Full));
        drop(second);
        assert!(
            gate.admit(peer(4, 6)).is_ok(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn one_address_cannot_hold_more_silent_connections_than_its_share() {
        let gate = gate(100, 2);
        let a = gate.admit(peer(1, 1)).unwrap();
        let b = gate.admit(peer(1, 2)).unwrap();
        let other = gate.admit(peer(2, 3)).unwrap();
        let c = gate.admit(peer(1, 4)).unwrap();
        assert!(a.close.is_cancelled());
        assert!(!b.close.is_cancelled() && !c.close.is_cancelled());
        assert!(
            !other.close.is_cancelled(),
            "other addresses are not touched"
        );
    }

    #[tokio::test]
    async fn answers_leave_without_waiting_for_the_clients_acknowledgement() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert!(!server.nodelay().unwrap(), "Nagle is on for a new socket");
        answer_without_delay(&server);
        assert!(server.nodelay().unwrap());
    }

    #[tokio::test]
    async fn a_connection_that_speaks_keeps_its_slot_and_a_silent_one_times_out() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let gate = Gate::new(GateLimits {
            max_connections: 1,
            max_silent_per_address: 1,
            silent_timeout: Duration::from_millis(200),
        });
        let mut client = TcpStream::connect(address).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let ticket = gate.admit(peer).unwrap();
        client.write_all(b"G").await.unwrap();
        assert!(ticket.first_byte(&server).await);
        assert!(gate.lock().silent.is_empty());
        assert_eq!(
            gate.admit(peer).err(),
            Some(Full),
            "a talking client is not shed"
        );

        let _quiet = TcpStream::connect(address).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        drop(ticket);
        let ticket = gate.admit(peer).unwrap();
        assert!(!ticket.first_byte(&server).await, "silent past the timeout");
    }
}
