//! Starring from any page: into the browser's agenda, or, when it has none
//! (or the one it names is gone), into a new agenda made for this star.
//!
//! The rules: a star with no agenda creates one; an unstar with no agenda
//! is nothing to do (nothing is starred anyway); a star of a session that
//! does not exist creates nothing (no empty agenda for a bad form); and the
//! creation passes its gate (the per-client limit) only once the star is
//! known to be good.

use chrono::{DateTime, Utc};

use super::token::{AgendaToken, TokenHash};
use crate::domain::{ConferenceSlug, SessionId};

/// A star or an unstar of one session.
#[derive(Debug, Clone, Copy)]
pub struct Star<'a> {
    pub conference: &'a ConferenceSlug,
    pub session: &'a SessionId,
    /// `true` to star, `false` to unstar.
    pub starred: bool,
    pub at: DateTime<Utc>,
}

/// What starring needs from storage.
pub trait Stars {
    type Error;

    /// Applies `star` to an agenda: whether anything changed, or `None`
    /// when no agenda has this hash.
    fn star(&self, agenda: &TokenHash, star: Star<'_>) -> Result<Option<bool>, Self::Error>;

    /// Fails, as "not found", unless the starred session exists.
    fn require_session(&self, star: Star<'_>) -> Result<(), Self::Error>;

    /// Creates an agenda without a name under this hash.
    fn create(&self, agenda: &TokenHash, now: DateTime<Utc>) -> Result<(), Self::Error>;
}

/// What a star did.
#[derive(Debug, PartialEq, Eq)]
pub enum Starred {
    /// The browser's agenda now has (or lacks) the session; `changed` is
    /// false when it already did.
    Existing { changed: bool },
    /// Unstarred with no agenda: nothing was starred.
    NoAgenda,
    /// A new agenda was made for this star: the browser must keep its token.
    Created(AgendaToken),
}

/// Applies `star` to the agenda `existing` names, or to a new agenda when
/// there is none. `new_agenda` is asked for the new agenda's token only when
/// one is to be made, after the session was found: it is the gate of
/// creation (a rate limit) and the token's source.
pub fn star_creating_agenda<S, E>(
    store: &S,
    existing: Option<&TokenHash>,
    star: Star<'_>,
    new_agenda: impl FnOnce() -> Result<AgendaToken, E>,
) -> Result<Starred, E>
where
    S: Stars,
    E: From<S::Error>,
{
    if let Some(hash) = existing {
        if let Some(changed) = store.star(hash, star)? {
            return Ok(Starred::Existing { changed });
        }
    }
    if !star.starred {
        return Ok(Starred::NoAgenda);
    }
    store.require_session(star)?;
    let token = new_agenda()?;
    let hash = token.hash();
    store.create(&hash, star.at)?;
    store.star(&hash, star)?;
    Ok(Starred::Created(token))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::{HashMap, HashSet};

    use super::*;

    /// Agendas in memory, and the sessions that exist.
    #[derive(Default)]
    struct Memory {
        agendas: RefCell<HashMap<TokenHash, HashSet<(String, String)>>>,
        sessions: HashSet<(String, String)>,
    }

    #[derive(Debug, PartialEq)]
    enum Fault {
        NoSession,
        Limited,
    }

    impl Stars for Memory {
        type Error = Fault;

        fn star(&self, agenda: &TokenHash, star: Star<'_>) -> Result<Option<bool>, Fault> {
            let mut agendas = self.agendas.borrow_mut();
            let Some(stars) = agendas.get_mut(agenda) else {
                return Ok(None);
            };
            self.require_session(star)?;
            let key = (star.conference.to_string(), star.session.to_string());
            Ok(Some(if star.starred {
                stars.insert(key)
            } else {
                stars.remove(&key)
            }))
        }

        fn require_session(&self, star: Star<'_>) -> Result<(), Fault> {
            let key = (star.conference.to_string(), star.session.to_string());
            self.sessions
                .contains(&key)
                .then_some(())
                .ok_or(Fault::NoSession)
        }

        fn create(&self, agenda: &TokenHash, _: DateTime<Utc>) -> Result<(), Fault> {
            self.agendas.borrow_mut().insert(*agenda, HashSet::new());
            Ok(())
        }
    }

    fn ids(c: &str, s: &str) -> (ConferenceSlug, SessionId) {
        (
            ConferenceSlug::parse(c).unwrap(),
            SessionId::parse(s).unwrap(),
        )
    }

    fn star<'a>(c: &'a ConferenceSlug, s: &'a SessionId, starred: bool) -> Star<'a> {
        Star {
            conference: c,
            session: s,
            starred,
            at: Utc::now(),
        }
    }

    fn memory() -> Memory {
        Memory {
            sessions: [("conf".to_owned(), "talk".to_owned())].into(),
            ..Memory::default()
        }
    }

    fn fresh() -> Result<AgendaToken, Fault> {
        Ok(AgendaToken::generate().unwrap())
    }

    #[test]
    fn a_star_without_an_agenda_creates_one_with_the_star() {
        let m = memory();
        let (c, s) = ids("conf", "talk");
        let got = star_creating_agenda(&m, None, star(&c, &s, true), fresh).unwrap();
        let Starred::Created(t) = got else {
            panic!("{got:?}")
        };
        let agendas = m.agendas.borrow();
        assert_eq!(agendas.len(), 1);
        assert!(agendas[&t.hash()].contains(&("conf".into(), "talk".into())));
    }

    #[test]
    fn an_existing_agenda_is_used_and_a_gone_one_replaced() {
        let m = memory();
        let (c, s) = ids("conf", "talk");
        let mine = AgendaToken::generate().unwrap().hash();
        m.create(&mine, Utc::now()).unwrap();
        let never = || -> Result<AgendaToken, Fault> { panic!("no new agenda") };
        let got = star_creating_agenda(&m, Some(&mine), star(&c, &s, true), never);
        assert_eq!(got, Ok(Starred::Existing { changed: true }));
        let got = star_creating_agenda(&m, Some(&mine), star(&c, &s, true), never);
        assert_eq!(got, Ok(Starred::Existing { changed: false }));
        // A cookie naming an agenda that is gone: a new one.
        let gone = AgendaToken::generate().unwrap().hash();
        let got = star_creating_agenda(&m, Some(&gone), star(&c, &s, true), fresh);
        assert!(matches!(got, Ok(Starred::Created(_))), "{got:?}");
        assert_eq!(m.agendas.borrow().len(), 2);
    }

    #[test]
    fn no_agenda_for_an_unstar_a_bad_session_or_a_refused_creation() {
        let m = memory();
        let (c, s) = ids("conf", "talk");
        let never = || -> Result<AgendaToken, Fault> { panic!("no new agenda") };
        let got = star_creating_agenda(&m, None, star(&c, &s, false), never);
        assert_eq!(got, Ok(Starred::NoAgenda));
        // The session is checked before the gate is asked.
        let (c2, missing) = ids("conf", "missing");
        let got = star_creating_agenda(&m, None, star(&c2, &missing, true), never);
        assert_eq!(got, Err(Fault::NoSession));
        let got = star_creating_agenda(&m, None, star(&c, &s, true), || Err(Fault::Limited));
        assert_eq!(got, Err(Fault::Limited));
        assert!(m.agendas.borrow().is_empty());
    }
}
