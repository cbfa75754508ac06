//! Personal agendas: the rules, whoever asks (the JSON API or the pages).
//!
//! - [`token`]: the secret in an agenda's URL, its hash, and which tokens
//!   a client may propose
//! - [`naming`]: what an agenda may be called, and what it is called
//!   without a name
//! - [`mod@conflicts`]: which starred sessions overlap
//! - [`starring`]: star from any page, creating the agenda on first use

pub mod conflicts;
pub mod naming;
pub mod starring;
pub mod token;

pub use conflicts::{conflicts, Conflict, SessionRef};
pub use naming::{agenda_name, DEFAULT_NAME, MAX_NAME};
pub use starring::{star_creating_agenda, Star, Starred, Stars};
pub use token::{proposed_token, AgendaToken, TokenHash, TOKEN_LEN};
