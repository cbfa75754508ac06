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

/// What starring needs from storage.
pub trait Stars {
    type Error;

    /// Stars (`true`) or unstars a session in an agenda: whether anything
    /// changed, or `None` when no agenda has this hash.
    fn star(
        &self,
        agenda: &TokenHash,
        conference: &ConferenceSlug,
        session: &SessionId,
        starred: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, Self::Error>;

    /// Fails, as "not found", unless the session exists.
    fn require_session(
        &self,
        conference: &ConferenceSlug,
        session: &SessionId,
    ) -> Result<(), Self::Error>;

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

/// Stars (`starred`) or unstars `session` in the agenda `existing` names,
/// or in a new agenda when there is none. `new_agenda` is asked for the new
/// agenda's token only when one is to be made, after the session was found:
/// it is the gate of creation (a rate limit) and the token's source.
pub fn star_creating_agenda<S, E>(
    store: &S,
    existing: Option<&TokenHash>,
    conference: &ConferenceSlug,
    session: &SessionId,
    starred: bool,
    now: DateTime<Utc>,
    new_agenda: impl FnOnce() -> Result<AgendaToken, E>,
) -> Result<Starred, E>
where
    S: Stars,
    E: From<S::Error>,
{
    if let Some(hash) = existing {
        if let Some(changed) = store.star(hash, conference, session, starred, now)? {
            return Ok(Starred::Existing { changed });
        }
    }
    if !starred {
        return Ok(Starred::NoAgenda);
    }
    store.require_session(conference, session)?;
    let token = new_agenda()?;
    let hash = token.hash();
    store.create(&hash, now)?;
    store.star(&hash, conference, session, true, now)?;
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

        fn star(
            &self,
            agenda: &TokenHash,
            conference: &ConferenceSlug,
            session: &SessionId,
            starred: bool,
            _: DateTime<Utc>,
        ) -> Result<Option<bool>, Fault> {
            let mut agendas = self.agendas.borrow_mut();
            let Some(stars) = agendas.get_mut(agenda) else {
                return Ok(None);
            };
            let key = (conference.to_string(), session.to_string());
            if !self.sessions.contains(&key) {
                return Err(Fault::NoSession);
            }
            Ok(Some(if starred {
                stars.insert(key)
            } else {
                stars.remove(&key)
            }))
        }

        fn require_session(&self, c: &ConferenceSlug, s: &SessionId) -> Result<(), Fault> {
            let key = (c.to_string(), s.to_string());
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
        let got = star_creating_agenda(&m, None, &c, &s, true, Utc::now(), fresh).unwrap();
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
        let got = star_creating_agenda(&m, Some(&mine), &c, &s, true, Utc::now(), never);
        assert_eq!(got, Ok(Starred::Existing { changed: true }));
        let got = star_creating_agenda(&m, Some(&mine), &c, &s, true, Utc::now(), never);
        assert_eq!(got, Ok(Starred::Existing { changed: false }));
        // A cookie naming an agenda that is gone: a new one.
        let gone = AgendaToken::generate().unwrap().hash();
        let got = star_creating_agenda(&m, Some(&gone), &c, &s, true, Utc::now(), fresh);
        assert!(matches!(got, Ok(Starred::Created(_))), "{got:?}");
        assert_eq!(m.agendas.borrow().len(), 2);
    }

    #[test]
    fn no_agenda_for_an_unstar_a_bad_session_or_a_refused_creation() {
        let m = memory();
        let (c, s) = ids("conf", "talk");
        let never = || -> Result<AgendaToken, Fault> { panic!("no new agenda") };
        let got = star_creating_agenda(&m, None, &c, &s, false, Utc::now(), never);
        assert_eq!(got, Ok(Starred::NoAgenda));
        // The session is checked before the gate is asked.
        let (c2, missing) = ids("conf", "missing");
        let got = star_creating_agenda(&m, None, &c2, &missing, true, Utc::now(), never);
        assert_eq!(got, Err(Fault::NoSession));
        let got = star_creating_agenda(&m, None, &c, &s, true, Utc::now(), || Err(Fault::Limited));
        assert_eq!(got, Err(Fault::Limited));
        assert!(m.agendas.borrow().is_empty());
    }
}
