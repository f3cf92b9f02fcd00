//! A client from kubectl's connection flags: `--kubeconfig`, `--context`, `KUBECONFIG`.

use std::time::Duration;

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

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
    /// The context's namespace, else `default`.
    pub default_namespace: String,
    /// The context used (`--context`, else the kubeconfig's current one), for reports.
    pub context: Option<String>,
    /// That context's cluster, as the kubeconfig names it, for reports.
    pub cluster: Option<String>,
}

/// Reads the kubeconfig like kubectl does: `--kubeconfig`, else every file in `KUBECONFIG`
/// (merged), else `~/.kube/config`; `--context` overrides the current context.
pub fn load_kubeconfig(opts: &ConnectOptions) -> anyhow::Result<Kubeconfig> {
    match &opts.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read kubeconfig {}", path.display())),
        None => Kubeconfig::read().context(
            "cannot read a kubeconfig (set --kubeconfig or KUBECONFIG, or create ~/.kube/config)",
        ),
    }
}

pub async fn connect(opts: &ConnectOptions) -> anyhow::Result<Connection> {
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
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .context("invalid kubeconfig")?;
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config).context("cannot create a Kubernetes client")?;
    Ok(Connection {
        client,
        default_namespace,
        context,
        cluster,
    })
}
