//! A client from kubectl's connection flags: `--kubeconfig`, `--context`, `KUBECONFIG`; or,
//! in a pod without a kubeconfig, from the pod's service account (in-cluster mode).

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use secfix_core::error::UsageError;

/// Which kubeconfig and context to connect with (kubectl's `--kubeconfig` and `--context`).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// An explicit kubeconfig file; `None` reads `KUBECONFIG` (merged), else `~/.kube/config`.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The context to use instead of the kubeconfig's current one.
    pub context: Option<String>,
}

/// A connected client and the namespace kubectl would use by default.
pub struct Connection {
    pub client: Client,
    /// The context's namespace, else `default`; in a pod, the pod's namespace.
    pub default_namespace: String,
    /// The context used (`--context`, else the kubeconfig's current one), for reports;
    /// `None` in-cluster.
    pub context: Option<String>,
    /// That context's cluster, as the kubeconfig names it, for reports; `None` in-cluster.
    pub cluster: Option<String>,
    /// The API server's URL.
    pub server: String,
}

/// Where the connection settings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigSource {
    /// A kubeconfig file (`--kubeconfig`, `KUBECONFIG`, `~/.kube/config`).
    Kubeconfig,
    /// The pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT` and the token, CA and
    /// namespace files under `/var/run/secrets/kubernetes.io/serviceaccount/`.
    InCluster,
}

/// Chooses like kube-rs's `Config::infer` (and client-go): a kubeconfig when there is one,
/// else the pod's service account when the service environment is present. Stricter than
/// `infer` in one way: a kubeconfig that exists but is broken is an error, not a reason to
/// fall back to the service account.
///
/// `explicit`: `--kubeconfig` was given; `kubeconfig_env`: `KUBECONFIG`; `home_config`:
/// `~/.kube/config` exists; `service_host`: `KUBERNETES_SERVICE_HOST`.
pub(crate) fn config_source(
    explicit: bool,
    kubeconfig_env: Option<&OsStr>,
    home_config: bool,
    service_host: Option<&OsStr>,
) -> ConfigSource {
    let env_names_files =
        kubeconfig_env.is_some_and(|v| std::env::split_paths(v).any(|p| !p.as_os_str().is_empty()));
    let in_pod = service_host.is_some_and(|h| !h.is_empty());
    if !explicit && !env_names_files && !home_config && in_pod {
        ConfigSource::InCluster
    } else {
        ConfigSource::Kubeconfig
    }
}

/// [`config_source`] for this process's flags and environment.
pub(crate) fn current_config_source(opts: &ConnectOptions) -> ConfigSource {
    let home_config = std::env::home_dir()
        .map(|h| h.join(".kube").join("config"))
        .is_some_and(|p| Path::new(&p).exists());
    config_source(
        opts.kubeconfig.is_some(),
        std::env::var_os("KUBECONFIG").as_deref(),
        home_config,
        std::env::var_os("KUBERNETES_SERVICE_HOST").as_deref(),
    )
}

/// Reads the kubeconfig like kubectl does: `--kubeconfig`, else every file in `KUBECONFIG`
/// (merged), else `~/.kube/config`; `--context` overrides the current context.
pub fn load_kubeconfig(opts: &ConnectOptions) -> anyhow::Result<Kubeconfig> {
    match &opts.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read kubeconfig {}", path.display())),
        None => Kubeconfig::read().context(
            "cannot read a kubeconfig (set --kubeconfig or KUBECONFIG, or create ~/.kube/config; \
             in a pod, its service account is used when there is no kubeconfig)",
        ),
    }
}

/// The API server URL of `context` (else the current context) in `kubeconfig`, as written
/// there; empty when the kubeconfig does not say.
pub(crate) fn server_of(kubeconfig: &Kubeconfig, context: Option<&str>) -> String {
    let context = context.or(kubeconfig.current_context.as_deref());
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| Some(c.name.as_str()) == context)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.as_str());
    kubeconfig
        .clusters
        .iter()
        .find(|c| Some(c.name.as_str()) == cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.as_deref())
        .map(|s| secfix_core::model::text::without_userinfo(s).into_owned())
        .unwrap_or_default()
}

pub async fn connect(opts: &ConnectOptions) -> anyhow::Result<Connection> {
    if current_config_source(opts) == ConfigSource::InCluster {
        return connect_in_cluster(opts);
    }
    let kubeconfig = load_kubeconfig(opts)?;
    if let Some(ctx) = &opts.context
        && !kubeconfig.contexts.iter().any(|c| &c.name == ctx)
    {
        anyhow::bail!("--context {ctx:?}: no such context in the kubeconfig");
    }
    let context = opts
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone());
    let server = server_of(&kubeconfig, context.as_deref());
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| Some(&c.name) == context.as_ref())
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone());
    let options = KubeConfigOptions {
        context: opts.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .context("invalid kubeconfig")?;
    finish(config, context, cluster, server)
}

/// The pod's service account, read by kube-rs as client-go reads it.
fn connect_in_cluster(opts: &ConnectOptions) -> anyhow::Result<Connection> {
    if let Some(ctx) = &opts.context {
        return Err(UsageError(format!(
            "--context {ctx:?}: there is no kubeconfig (in a pod, the pod's service account is \
             used); give one with --kubeconfig or KUBECONFIG"
        ))
        .into());
    }
    let config = Config::incluster().context(
        "no kubeconfig, and the pod's service account cannot be used (in-cluster mode reads \
         KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and \
         /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace})",
    )?;
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    finish(config, None, None, server)
}

fn finish(
    mut config: Config,
    context: Option<String>,
    cluster: Option<String>,
    server: String,
) -> anyhow::Result<Connection> {
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    let default_namespace = config.default_namespace.trim().to_string();
    let client = Client::try_from(config).context("cannot create a Kubernetes client")?;
    Ok(Connection {
        client,
        default_namespace,
        context,
        cluster,
        server: secfix_core::model::text::without_userinfo(&server).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn a_pod_without_a_kubeconfig_uses_its_service_account() {
        assert_eq!(
            config_source(false, None, false, os("10.0.0.1")),
            ConfigSource::InCluster
        );
        // An empty KUBECONFIG (or one of only separators) names no file, as for kube-rs.
        assert_eq!(
            config_source(false, os(""), false, os("10.0.0.1")),
            ConfigSource::InCluster
        );
        assert_eq!(
            config_source(false, os(":"), false, os("10.0.0.1")),
            ConfigSource::InCluster
        );
    }

    #[test]
    fn any_kubeconfig_wins_over_the_service_account() {
        for (explicit, env, home) in [
            (true, None, false),
            (false, os("/k"), false),
            (false, None, true),
        ] {
            assert_eq!(
                config_source(explicit, env, home, os("10.0.0.1")),
                ConfigSource::Kubeconfig
            );
        }
    }

    #[test]
    fn outside_a_pod_it_is_the_kubeconfig_and_its_error() {
        assert_eq!(
            config_source(false, None, false, None),
            ConfigSource::Kubeconfig
        );
        assert_eq!(
            config_source(false, None, false, os("")),
            ConfigSource::Kubeconfig
        );
    }

    #[test]
    fn the_server_of_a_context() {
        let kc: Kubeconfig = serde_json::from_value(serde_json::json!({
            "clusters": [
                {"name": "c1", "cluster": {"server": "https://one:6443"}},
                {"name": "c2", "cluster": {"server": "https://two"}},
            ],
            "contexts": [
                {"name": "a", "context": {"cluster": "c1", "user": "u"}},
                {"name": "b", "context": {"cluster": "c2", "user": "u"}},
                {"name": "dangling", "context": {"cluster": "nope", "user": "u"}},
            ],
            "current-context": "b",
        }))
        .unwrap();
        assert_eq!(server_of(&kc, Some("a")), "https://one:6443");
        assert_eq!(server_of(&kc, None), "https://two");
        assert_eq!(server_of(&kc, Some("dangling")), "");
        assert_eq!(server_of(&kc, Some("missing")), "");
    }
}
