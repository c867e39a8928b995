//! Turning exchanges into catalog routes and merging them into the catalog file.
//!
//! Routes are grouped by what they match (method, path, query, secret headers present, JSON
//! body): the responses of one group, in the order they came, become its `responses` sequence
//! (trailing repeats folded, since the last one repeats anyway). Names are the method and the
//! words of the path and query (`get-v1-charges`, `get-v1-users-page-2`), with `-2`, `-3` for
//! later groups of the same name (another body, other secret headers), in the
//! order the traffic first reached them. Routes are then stably ordered by how many matchers
//! they have, most first, so `GET /items?page=2` is tried before `GET /items`, which would
//! match it too.

use std::collections::BTreeSet;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Map, Value};
use wiremock::Request;

use super::RecordMode;
use super::body;
use super::proxy::Exchange;
use super::redact::{Redactor, Secret, find_leak};
use crate::catalog::Catalog;
use crate::error::{Error, ErrorKind};

/// A route built from the traffic, before it is named.
struct Group {
    matchers: Map<String, Value>,
    responses: Vec<Value>,
    /// Each request of the group as wiremock's matchers see it, to check `--mode new` against.
    requests: Vec<Request>,
}

/// What a recording adds to a catalog.
pub(crate) struct Merged {
    pub(crate) text: String,
    pub(crate) added: usize,
}

pub(crate) struct Writer<'a> {
    pub(crate) file: &'a str,
    pub(crate) scenario: &'a str,
    pub(crate) mode: RecordMode,
    pub(crate) redactor: &'a Redactor,
    pub(crate) secret_values: &'a [String],
}

impl Writer<'_> {
    /// The catalog's new text: `existing` (the file's text, if it exists) with the scenario's
    /// routes re-recorded or extended.
    pub(crate) fn merge(
        &self,
        existing: Option<&str>,
        mut exchanges: Vec<Exchange>,
    ) -> Result<Merged, Error> {
        exchanges.sort_by_key(|exchange| exchange.index);
        let mut secrets = Vec::new();
        let mut bodies = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        for exchange in &exchanges {
            let (matchers, found) = self.matchers(exchange);
            secrets.extend(found);
            let recorded = body::response(
                self.redactor,
                exchange.status,
                &exchange.response_headers,
                &exchange.response_body,
            );
            bodies.extend(recorded.bodies);
            for (name, value) in &exchange.response_headers {
                if name.eq_ignore_ascii_case("set-cookie") {
                    secrets.extend(self.redactor.secrets_of(name, value));
                }
            }
            let request = to_wiremock(exchange);
            match groups.iter_mut().find(|group| group.matchers == matchers) {
                Some(group) => {
                    group.responses.push(recorded.value);
                    group.requests.push(request);
                }
                None => groups.push(Group {
                    matchers,
                    responses: vec![recorded.value],
                    requests: vec![request],
                }),
            }
        }
        secrets.extend(self.secret_values.iter().map(|value| Secret {
            source: "a value marked secret".into(),
            name: String::new(),
            value: value.clone(),
        }));

        // The file must be a catalog already: never overwrite what cannot be read back.
        let compiled = existing
            .map(|text| Catalog::from_json(self.file, text))
            .transpose()?;
        let mut catalog = match existing {
            Some(text) => serde_json::from_str::<Value>(text).map_err(|err| {
                Error::new(ErrorKind::InvalidCatalog)
                    .in_file(self.file)
                    .with_source(err)
            })?,
            None => Value::Object(Map::new()),
        };
        let scenario = scenario_entry(&mut catalog, self.scenario);
        let kept: Vec<Value> = match self.mode {
            RecordMode::All => Vec::new(),
            RecordMode::New => match scenario.get("routes") {
                Some(Value::Array(routes)) => routes.clone(),
                _ => Vec::new(),
            },
        };
        if let (RecordMode::New, Some(compiled)) = (self.mode, &compiled)
            && let Ok(known) = compiled.scenario(self.scenario)
        {
            groups.retain(|group| {
                !group.requests.iter().any(|request| {
                    known.routes.iter().any(|route| {
                        route
                            .matchers
                            .iter()
                            .all(|spec| spec.build().matches(request))
                    })
                })
            });
        }
        let mut names: BTreeSet<String> = kept
            .iter()
            .filter_map(|route| route.get("name")?.as_str().map(str::to_string))
            .collect();
        let mut routes: Vec<(usize, Value)> = groups
            .into_iter()
            .map(|group| {
                let name = unique_name(&mut names, &group.matchers);
                let specificity = group.matchers.len();
                (specificity, route_value(name, group))
            })
            .collect();
        routes.sort_by_key(|(specificity, _)| std::cmp::Reverse(*specificity));
        let added = routes.len();
        let mut all = kept;
        all.extend(routes.into_iter().map(|(_, route)| route));
        scenario.insert("routes".into(), Value::Array(all));

        let mut text = serde_json::to_string_pretty(&catalog).map_err(|err| {
            Error::new(ErrorKind::WriteCatalog)
                .in_file(self.file)
                .with_source(err)
        })?;
        text.push('\n');
        let leak = find_leak(&secrets, text.as_bytes())
            .or_else(|| bodies.iter().find_map(|bytes| find_leak(&secrets, bytes)));
        if let Some(secret) = leak {
            return Err(Error::new(ErrorKind::SecretInCatalog)
                .in_file(self.file)
                .in_scenario(self.scenario)
                .looking_for(secret.name.clone())
                .with_detail(format!(
                    "the value of secret {} where the scrubber does not look for it \
                     (an echo under another name?); nothing written",
                    secret.source
                )));
        }
        // What is written must load as a catalog, with the recorded scenario in it.
        Catalog::from_json(self.file, &text)?.scenario(self.scenario)?;
        Ok(Merged { text, added })
    }

    /// The matchers of one request, and the secrets its headers carried.
    fn matchers(&self, exchange: &Exchange) -> (Map<String, Value>, Vec<Secret>) {
        let mut matchers = Map::new();
        matchers.insert("method".into(), exchange.method.clone().into());
        let (path, query) = match exchange.target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (exchange.target.as_str(), None),
        };
        match self.redactor.path_regex(path) {
            Some(regex) => matchers.insert("path_regex".into(), regex.into()),
            None => matchers.insert("path".into(), path.into()),
        };
        let mut params = Map::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if !self.redactor.is_secret_param(&name, &value) {
                params.insert(name.into_owned(), value.into_owned().into());
            }
        }
        if !params.is_empty() {
            matchers.insert("query".into(), Value::Object(params));
        }
        let mut present = BTreeSet::new();
        let mut secrets = Vec::new();
        for (name, value) in &exchange.request_headers {
            if self.redactor.is_secret_header(name) {
                present.insert(name.to_ascii_lowercase());
                secrets.extend(self.redactor.secrets_of(name, value));
            }
        }
        if !present.is_empty() {
            let present = present.into_iter().map(Value::String).collect();
            matchers.insert("headers_present".into(), Value::Array(present));
        }
        let is_json = exchange
            .request_headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("content-type") && body::is_json(value));
        if is_json && let Ok(json) = serde_json::from_slice::<Value>(&exchange.request_body) {
            let mut scrubbed = json.clone();
            if self.redactor.scrub_json(&mut scrubbed) {
                secrets.extend(self.redactor.body_secrets(&json));
                let partial = self.redactor.without_secrets(&json);
                matchers.insert("body_partial_json".into(), partial);
            } else {
                matchers.insert("body_json".into(), json);
            }
        }
        (matchers, secrets)
    }
}

/// The scenario's object in the catalog, made if missing.
fn scenario_entry<'a>(catalog: &'a mut Value, name: &str) -> &'a mut Map<String, Value> {
    if !catalog.is_object() {
        *catalog = Value::Object(Map::new());
    }
    let scenarios = catalog.as_object_mut().and_then(|root| {
        let entry = root
            .entry("scenarios")
            .or_insert_with(|| Value::Object(Map::new()));
        entry.as_object_mut()
    });
    // OK because `from_json` accepted the catalog, so `scenarios` is an object, and the
    // scenario's entry is made an object here.
    let scenarios = scenarios.expect("catalog scenarios are an object");
    let scenario = scenarios
        .entry(name)
        .or_insert_with(|| Value::Object(Map::new()));
    scenario.as_object_mut().expect("a scenario is an object")
}

fn route_value(name: String, group: Group) -> Value {
    let mut route = group.matchers;
    route.insert("name".into(), name.into());
    let mut responses = group.responses;
    // The last response repeats, so trailing repeats say nothing.
    while responses.len() > 1 && responses[responses.len() - 1] == responses[responses.len() - 2] {
        responses.pop();
    }
    if responses.len() == 1 {
        route.insert("response".into(), responses.remove(0));
    } else {
        route.insert("responses".into(), Value::Array(responses));
    }
    Value::Object(route)
}

/// `get-v1-charges`, or with `-2`, `-3` when taken.
fn unique_name(taken: &mut BTreeSet<String>, matchers: &Map<String, Value>) -> String {
    let method = matchers
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("any");
    let mut words = matchers
        .get("path")
        .or_else(|| matchers.get("path_regex"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(Value::Object(query)) = matchers.get("query") {
        for (key, value) in query {
            words.push_str(&format!(" {key} {}", value.as_str().unwrap_or_default()));
        }
    }
    let mut slug = method.to_ascii_lowercase();
    let mut dash = true;
    for c in words.chars() {
        if c.is_ascii_alphanumeric() {
            if dash {
                slug.push('-');
            }
            slug.push(c.to_ascii_lowercase());
            dash = false;
        } else {
            dash = true;
        }
    }
    if slug == method.to_ascii_lowercase() {
        slug.push_str("-root");
    }
    let mut name = slug.clone();
    let mut n = 1;
    while taken.contains(&name) {
        n += 1;
        name = format!("{slug}-{n}");
    }
    taken.insert(name.clone());
    name
}

/// The request as wiremock's matchers see it, to check it against existing routes.
fn to_wiremock(exchange: &Exchange) -> Request {
    let url = url::Url::parse(&format!("http://localhost{}", exchange.target))
        .or_else(|_| url::Url::parse("http://localhost/"));
    let mut headers = HeaderMap::new();
    for (name, value) in &exchange.request_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    Request {
        // OK because the fallback is a valid literal URL.
        url: url.expect("a valid literal URL"),
        method: Method::from_bytes(exchange.method.as_bytes()).unwrap_or(Method::GET),
        headers,
        body: exchange.request_body.clone(),
    }
}
