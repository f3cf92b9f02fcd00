//! `env-secret`: Secrets exposed through environment variables, i.e. every
//! `env[].valueFrom.secretKeyRef` and every `envFrom[].secretRef`, in init, regular and
//! ephemeral containers. One finding per entry; `path` points at the entry.

mod fix;

use crate::fix::file_env;
use crate::model::Workload;
use crate::checks::{CheckId, Delivery, Finding, Severity};

use super::{Check, Evidence, Fixer, Images, Meta, Scan, ScanOptions};
use super::{env_fixability, workload_finding};

/// What an `env-secret` finding records: the facts its fix needs, never a secret's value. Serialized
/// into the finding's `detail` with its `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Detail {
    /// `env[i].valueFrom.secretKeyRef`.
    #[serde(rename_all = "camelCase")]
    SecretKeyRef {
        env: String,
        secret: String,
        key: String,
        optional: bool,
        /// How the fix would deliver it (fixable findings only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<Delivery>,
    },
    /// `envFrom[i].secretRef`.
    #[serde(rename_all = "camelCase")]
    SecretRef {
        secret: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        optional: bool,
        /// How the fix would deliver it (fixable findings only): always `app-change`, since
        /// no variable can name files whose keys the fix never reads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<Delivery>,
    },
}

impl super::CheckDetail for Detail {
    fn delivery(&self) -> Option<Delivery> {
        match self {
            Detail::SecretKeyRef { delivery, .. } | Detail::SecretRef { delivery, .. } => *delivery,
        }
    }

    fn set_delivery(&mut self, d: Option<Delivery>) {
        match self {
            Detail::SecretKeyRef { delivery, .. } | Detail::SecretRef { delivery, .. } => {
                *delivery = d;
            }
        }
    }

    fn identity(&self, _container: Option<&str>, _path: &str) -> String {
        match self {
            Detail::SecretKeyRef { env, .. } => format!(":env={env}"),
            Detail::SecretRef { secret, prefix, .. } => match prefix {
                Some(p) => format!(":envFrom={secret}:prefix={p}"),
                None => format!(":envFrom={secret}"),
            },
        }
    }

    fn subject(&self) -> Option<String> {
        Some(match self {
            Detail::SecretKeyRef { env, .. } => env.clone(),
            Detail::SecretRef { secret, .. } => format!("envFrom Secret {secret}"),
        })
    }

    fn moved_literal(&self) -> Option<&str> {
        None
    }

    fn rank(&self) -> u8 {
        0
    }

    fn pin(&self) -> Option<(&str, &str)> {
        None
    }
}

/// The check has no options (no flags of its own).
pub type Options = super::options::NoOptions;

/// The check's definition (registered in the table of [`super`]).
pub static CHECK: EnvSecret = EnvSecret;

/// The env-secret check.
#[derive(Debug)]
pub struct EnvSecret;

static META: Meta = Meta {
    id: CheckId::EnvSecret,
    name: "env-secret",
    title: "Secret exposed through an environment variable",
    help: "Environment variables leak into child processes, crash dumps and `kubectl describe`. \
           The fix mounts the keys the container had as read-only files, removes the variable \
           and sets the variable the image reads the file's path from (e.g. \
           MYSQL_PASSWORD_FILE), or <NAME>_FILE when the app must be changed to read it.",
    finds: "`env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`",
    remedy: "mounts the keys the container had as a **read-only volume** (`/var/run/secrets/secfix/<secret>`), removes the variable, sets the one the image reads the file from (`native`) or `<NAME>_FILE` (`app-change`, left out by `--yes` unless `--allow-app-changes`)",
    severity: Severity::High,
    tags: &["secrets"],
};

impl Check for EnvSecret {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn unavailable(&self, _opts: &ScanOptions) -> Option<&'static str> {
        None
    }

    fn evidence(&self, _opts: &ScanOptions) -> Evidence {
        Evidence::NONE
    }

    fn scan(&self) -> Scan {
        Scan::Workload(|w, _| check(w))
    }

    fn fixer(&self) -> Option<Fixer> {
        Some(Fixer::Workload(&fix::Fix))
    }

    fn images(&self) -> Option<&'static dyn Images> {
        None
    }
}

/// Every Secret-backed env entry of `w`.
pub fn check(w: &Workload) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in w.containers() {
        let (fixable, reason) = env_fixability(w, &c);
        for (i, e) in c.env.iter().enumerate() {
            let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            else {
                continue;
            };
            let mut f = workload_finding(
                w,
                CheckId::EnvSecret,
                Severity::High,
                &c,
                crate::model::ContainerField::Env(i),
                format!("{} from Secret {} (key {})", e.name, r.name, r.key),
                crate::checks::Detail::EnvSecret(Detail::SecretKeyRef {
                    env: e.name.clone(),
                    secret: r.name.clone(),
                    key: r.key.clone(),
                    optional: r.optional.unwrap_or(false),
                    delivery: fixable
                        .then(|| file_env::scan_delivery(&w.spec, (c.group, c.index), i, &e.name))
                        .flatten(),
                }),
            );
            f.fixable = fixable;
            f.not_fixable_reason = reason.clone();
            out.push(f);
        }
        for (i, e) in c.env_from.iter().enumerate() {
            let Some(r) = e.secret_ref.as_ref() else {
                continue;
            };
            let prefix = e.prefix.clone().filter(|p| !p.is_empty());
            let message = match &prefix {
                Some(p) => format!("all keys of Secret {} as env (prefix {p})", r.name),
                None => format!("all keys of Secret {} as env", r.name),
            };
            let mut f = workload_finding(
                w,
                CheckId::EnvSecret,
                Severity::High,
                &c,
                crate::model::ContainerField::EnvFrom(i),
                message,
                crate::checks::Detail::EnvSecret(Detail::SecretRef {
                    secret: r.name.clone(),
                    prefix,
                    optional: r.optional.unwrap_or(false),
                    delivery: fixable.then_some(Delivery::AppChange),
                }),
            );
            f.fixable = fixable;
            f.not_fixable_reason = reason.clone();
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::tests::{deployment, pod};
    use serde_json::json;

    #[test]
    fn finds_secret_key_refs_and_secret_refs_in_all_containers() {
        let w = deployment(
            "web",
            json!({
                "initContainers": [{"name": "init", "image": "busybox", "env": [
                    {"name": "PLAIN", "value": "x"},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "t"}}}]}],
                "containers": [{"name": "app", "image": "app", "env": [
                    {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
                    {"name": "FIELD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password", "optional": true}}}],
                  "envFrom": [{"configMapRef": {"name": "cm"}},
                              {"secretRef": {"name": "all"}, "prefix": "APP_"},
                              {"secretRef": {"name": "plain"}, "prefix": ""}]}]
            }),
        );
        let fs = check(&w);
        let paths: Vec<&str> = fs.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/spec/template/spec/initContainers/0/env/1",
                "/spec/template/spec/containers/0/env/2",
                "/spec/template/spec/containers/0/envFrom/1",
                "/spec/template/spec/containers/0/envFrom/2",
            ]
        );
        assert!(fs.iter().all(|f| f.check == CheckId::EnvSecret
            && f.severity == Severity::High
            && f.fixable
            && f.not_fixable_reason.is_none()
            && f.kind == "Deployment"
            && f.api_version == "apps/v1"
            && f.namespace == "ns"
            && f.name == "web"));
        assert_eq!(fs[0].container.as_deref(), Some("init"));
        assert_eq!(
            fs[0].detail,
            crate::checks::Detail::EnvSecret(Detail::SecretKeyRef {
                env: "TOKEN".into(),
                secret: "tok".into(),
                key: "t".into(),
                optional: false,
                delivery: Some(Delivery::AppChange),
            })
        );
        assert_eq!(
            fs[1].detail,
            crate::checks::Detail::EnvSecret(Detail::SecretKeyRef {
                env: "DB_PASSWORD".into(),
                secret: "db".into(),
                key: "password".into(),
                optional: true,
                delivery: Some(Delivery::AppChange),
            })
        );
        assert_eq!(fs[1].message, "DB_PASSWORD from Secret db (key password)");
        assert_eq!(
            fs[2].detail,
            crate::checks::Detail::EnvSecret(Detail::SecretRef {
                secret: "all".into(),
                prefix: Some("APP_".into()),
                optional: false,
                delivery: Some(Delivery::AppChange),
            })
        );
        assert!(fs[2].message.contains("prefix APP_"), "{}", fs[2].message);
        assert_eq!(
            fs[3].detail,
            crate::checks::Detail::EnvSecret(Detail::SecretRef {
                secret: "plain".into(),
                prefix: None,
                optional: false,
                delivery: Some(Delivery::AppChange),
            })
        );
        assert!(!fs[3].message.contains("prefix"));
    }

    #[test]
    fn pods_and_ephemeral_containers_are_not_fixable() {
        let env = json!([{"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]);
        let w = pod(
            "p",
            json!({
                "containers": [{"name": "app", "image": "app", "env": env}],
                "ephemeralContainers": [{"name": "debug", "image": "busybox", "envFrom": [{"secretRef": {"name": "s"}}]}]
            }),
        );
        let fs = check(&w);
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].path, "/spec/containers/0/env/0");
        assert!(!fs[0].fixable);
        assert!(
            fs[0]
                .not_fixable_reason
                .as_deref()
                .unwrap()
                .contains("recreate")
        );
        assert_eq!(fs[1].path, "/spec/ephemeralContainers/0/envFrom/0");
        assert_eq!(fs[1].container.as_deref(), Some("debug"));
        assert!(!fs[1].fixable);
        assert!(
            fs[1]
                .not_fixable_reason
                .as_deref()
                .unwrap()
                .contains("ephemeral")
        );
    }
}
