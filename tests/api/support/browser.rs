//! A tiny browser for the page tests.

use std::collections::HashMap;

use crate::helpers::{Resp, TestApp};

/// A tiny browser: keeps cookies, never follows redirects (so a 303 and its
/// `Location` and `Set-Cookie` can be checked), sends forms.
pub struct Browser<'a> {
    app: &'a TestApp,
    agent: ureq::Agent,
    pub cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            cookies: HashMap::new(),
        }
    }

    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Resp {
        let mut req = self.agent.request(method, &self.app.url(path));
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.set("Cookie", &c.join("; "));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let res = match form {
            Some(f) => req.send_form(f),
            None => req.call(),
        };
        let resp = Resp::from_result(method, path, res);
        for (_, c) in resp
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        resp
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, &[], None)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let origin = self.app.base.clone();
        self.send("POST", path, &[("Origin", &origin)], Some(form))
    }

    pub fn csrf(&self) -> String {
        self.cookies["confcal_csrf"].clone()
    }

    pub fn star(&mut self, conf: &str, id: &str, back: &str) -> Resp {
        let csrf = self.csrf();
        self.post(
            "/agendas/star",
            &[
                ("csrf", &csrf),
                ("conference", conf),
                ("session", id),
                ("action", "star"),
                ("back", back),
            ],
        )
    }
}
