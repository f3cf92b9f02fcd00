
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kubectl-secfix' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kubectl-secfix'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kubectl-secfix' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use. Not with -f')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Find secrets in env vars, default-allow namespaces and mutable image tags')
            [CompletionResult]::new('fix', 'fix', [CompletionResultType]::ParameterValue, 'Fix findings with guarded JSON patches (preview and prompt per change on a terminal)')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Apply the inverse patches saved by `fix --save-patches DIR`')
            [CompletionResult]::new('post-render', 'post-render', [CompletionResultType]::ParameterValue, 'Helm post-renderer: read manifests on stdin, write every object to stdout, fixed where a fix applies (`helm install --post-renderer kubectl-secfix --post-renderer-args post-render`). Takes `fix` flags')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-secfix;scan' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to read (default: the context''s namespace, else `default`)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to read (default: the context''s namespace, else `default`)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Label selector for workloads (e.g. `app=web,tier!=db`)')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Label selector for workloads (e.g. `app=web,tier!=db`)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read manifests instead of a cluster: a file, a directory (walked for .yaml, .yml, .json) or `-` for stdin. Repeatable')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'Read manifests instead of a cluster: a file, a directory (walked for .yaml, .yml, .json) or `-` for stdin. Repeatable')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Read what `kubectl kustomize DIR` renders instead of a cluster (run with the user''s kubectl, or `$SECFIX_KUBECTL`)')
            [CompletionResult]::new('--kustomize', '--kustomize', [CompletionResultType]::ParameterName, 'Read what `kubectl kustomize DIR` renders instead of a cluster (run with the user''s kubectl, or `$SECFIX_KUBECTL`)')
            [CompletionResult]::new('--checks', '--checks', [CompletionResultType]::ParameterName, 'Checks to run (comma-separated; default: all)')
            [CompletionResult]::new('--allowed-registries', '--allowed-registries', [CompletionResultType]::ParameterName, 'Registries images may come from: hosts or host/path prefixes, comma-separated (e.g. `ghcr.io/acme,registry.k8s.io`). Turns on the untrusted-registry check; a namespace''s `secfix.dev/allowed-registries` annotation narrows it')
            [CompletionResult]::new('--signature-key', '--signature-key', [CompletionResultType]::ParameterName, 'Public key (PEM, as `cosign generate-key-pair` writes `cosign.pub`: ECDSA P-256/P-384, Ed25519 or RSA) image signatures must verify with. Repeatable: any one key suffices. Turns on the unsigned-image check, and `mutable-image-tag` then pins only signed digests; a namespace''s `secfix.dev/signature-keys` annotation narrows the keys')
            [CompletionResult]::new('--certificate-identity', '--certificate-identity', [CompletionResultType]::ParameterName, 'Keyless signatures: the identity (the certificate''s email or URI) a signature may come from, as `cosign verify --certificate-identity`. Needs --certificate-oidc-issuer and --trusted-root; turns on the unsigned-image check like --signature-key')
            [CompletionResult]::new('--certificate-identity-regexp', '--certificate-identity-regexp', [CompletionResultType]::ParameterName, 'Like --certificate-identity, as a regular expression (unanchored, as cosign''s)')
            [CompletionResult]::new('--certificate-oidc-issuer', '--certificate-oidc-issuer', [CompletionResultType]::ParameterName, 'Keyless signatures: the OIDC issuer the certificate must name (e.g. `https://token.actions.githubusercontent.com`)')
            [CompletionResult]::new('--trusted-root', '--trusted-root', [CompletionResultType]::ParameterName, 'Keyless signatures: a Sigstore `trusted_root.json` (Fulcio certificate authorities, Rekor keys). Verification is offline, against this file only')
            [CompletionResult]::new('--include-kinds', '--include-kinds', [CompletionResultType]::ParameterName, 'Also list this kind when the cluster serves it, and check its pod template (`spec.template.spec` or `spec.jobTemplate.spec.template.spec`), e.g. `apps.kruise.io/v1alpha1/CloneSet`. Repeatable. Argo Rollouts and OpenShift DeploymentConfigs are listed without it; with -f, every kind with a pod template is checked anyway')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Exit 3 when a finding at or above this severity is reported (findings in --baseline excepted)')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'A previous `-o json` report: its findings are still reported, marked as baseline, and do not count for --fail-on, so CI fails on new findings only. A finding is the same when its check, object, container and env var name are (SARIF fingerprints agree)')
            [CompletionResult]::new('--digest-source', '--digest-source', [CompletionResultType]::ParameterName, 'Digest source for mutable image tags: `pods` (the `imageID` all running pods agree on), `registry`, or `auto` (pods first, then the registry). Default: `auto` for a live `fix`; `pods` for `scan`; with -f none: nothing is contacted unless this is given')
            [CompletionResult]::new('--insecure-registry', '--insecure-registry', [CompletionResultType]::ParameterName, 'Registry host (`host[:port]`) that may be reached over plain HTTP. Loopback registries always may. Repeatable')
            [CompletionResult]::new('--registry-timeout', '--registry-timeout', [CompletionResultType]::ParameterName, 'Timeout for each registry request: seconds (`10`) or a duration as kubectl''s `--request-timeout` takes it (`10s`, `2m`, `1h`), from 1s to 1h')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Scan these kubeconfig contexts (comma-separated), several at once')
            [CompletionResult]::new('--parallel-contexts', '--parallel-contexts', [CompletionResultType]::ParameterName, 'How many contexts are scanned at once (with --all-contexts or --contexts)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use. Not with -f')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Read all namespaces')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Read all namespaces')
            [CompletionResult]::new('--allow-empty', '--allow-empty', [CompletionResultType]::ParameterName, 'With -f: accept input that holds no object to check (empty stdin, a directory of values files) instead of failing with exit 1')
            [CompletionResult]::new('--include-system', '--include-system', [CompletionResultType]::ParameterName, 'Also scan kube-system, kube-public and kube-node-lease for default-allow namespaces')
            [CompletionResult]::new('--all-contexts', '--all-contexts', [CompletionResultType]::ParameterName, 'Scan every context of the kubeconfig, several at once')
            [CompletionResult]::new('--report-to-cluster', '--report-to-cluster', [CompletionResultType]::ParameterName, 'Also write the findings into the cluster as Policy WG reports (wgpolicyk8s.io/v1alpha2): a PolicyReport per namespace and a ClusterPolicyReport, replaced on each run. Needs the PolicyReport CRDs')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-secfix;fix' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to read (default: the context''s namespace, else `default`)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to read (default: the context''s namespace, else `default`)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Label selector for workloads (e.g. `app=web,tier!=db`)')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Label selector for workloads (e.g. `app=web,tier!=db`)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read manifests instead of a cluster: a file, a directory (walked for .yaml, .yml, .json) or `-` for stdin. Repeatable')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'Read manifests instead of a cluster: a file, a directory (walked for .yaml, .yml, .json) or `-` for stdin. Repeatable')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Read what `kubectl kustomize DIR` renders instead of a cluster (run with the user''s kubectl, or `$SECFIX_KUBECTL`)')
            [CompletionResult]::new('--kustomize', '--kustomize', [CompletionResultType]::ParameterName, 'Read what `kubectl kustomize DIR` renders instead of a cluster (run with the user''s kubectl, or `$SECFIX_KUBECTL`)')
            [CompletionResult]::new('--checks', '--checks', [CompletionResultType]::ParameterName, 'Checks to run (comma-separated; default: all)')
            [CompletionResult]::new('--allowed-registries', '--allowed-registries', [CompletionResultType]::ParameterName, 'Registries images may come from: hosts or host/path prefixes, comma-separated (e.g. `ghcr.io/acme,registry.k8s.io`). Turns on the untrusted-registry check; a namespace''s `secfix.dev/allowed-registries` annotation narrows it')
            [CompletionResult]::new('--signature-key', '--signature-key', [CompletionResultType]::ParameterName, 'Public key (PEM, as `cosign generate-key-pair` writes `cosign.pub`: ECDSA P-256/P-384, Ed25519 or RSA) image signatures must verify with. Repeatable: any one key suffices. Turns on the unsigned-image check, and `mutable-image-tag` then pins only signed digests; a namespace''s `secfix.dev/signature-keys` annotation narrows the keys')
            [CompletionResult]::new('--certificate-identity', '--certificate-identity', [CompletionResultType]::ParameterName, 'Keyless signatures: the identity (the certificate''s email or URI) a signature may come from, as `cosign verify --certificate-identity`. Needs --certificate-oidc-issuer and --trusted-root; turns on the unsigned-image check like --signature-key')
            [CompletionResult]::new('--certificate-identity-regexp', '--certificate-identity-regexp', [CompletionResultType]::ParameterName, 'Like --certificate-identity, as a regular expression (unanchored, as cosign''s)')
            [CompletionResult]::new('--certificate-oidc-issuer', '--certificate-oidc-issuer', [CompletionResultType]::ParameterName, 'Keyless signatures: the OIDC issuer the certificate must name (e.g. `https://token.actions.githubusercontent.com`)')
            [CompletionResult]::new('--trusted-root', '--trusted-root', [CompletionResultType]::ParameterName, 'Keyless signatures: a Sigstore `trusted_root.json` (Fulcio certificate authorities, Rekor keys). Verification is offline, against this file only')
            [CompletionResult]::new('--include-kinds', '--include-kinds', [CompletionResultType]::ParameterName, 'Also list this kind when the cluster serves it, and check its pod template (`spec.template.spec` or `spec.jobTemplate.spec.template.spec`), e.g. `apps.kruise.io/v1alpha1/CloneSet`. Repeatable. Argo Rollouts and OpenShift DeploymentConfigs are listed without it; with -f, every kind with a pod template is checked anyway')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, '`server`: validate every change with a server-side dry run and stop; `client`: print the plan without writing; `none`: dry run, then apply')
            [CompletionResult]::new('--save-patches', '--save-patches', [CompletionResultType]::ParameterName, 'Save each forward patch and its inverse in DIR (default on a terminal: a timestamped directory under the user''s state dir)')
            [CompletionResult]::new('--mount-root', '--mount-root', [CompletionResultType]::ParameterName, 'Where Secrets moved out of env vars are mounted (one folder per Secret)')
            [CompletionResult]::new('--file-env', '--file-env', [CompletionResultType]::ParameterName, 'The variable the app reads the file path of NAME''s secret from, e.g. `DB_PASSWORD=DB_PASSWORD_PATH`: that move is then native. Repeatable')
            [CompletionResult]::new('--allow-dns', '--allow-dns', [CompletionResultType]::ParameterName, 'Let default-deny policies allow DNS egress (UDP and TCP port 53)')
            [CompletionResult]::new('--network-policy', '--network-policy', [CompletionResultType]::ParameterName, 'What the default-allow-namespace fix writes: `least-privilege`, a policy set that keeps the connections the workloads are seen to need and denies the rest, or `deny-all`, one default-deny policy')
            [CompletionResult]::new('--allow-egress', '--allow-egress', [CompletionResultType]::ParameterName, 'Let every pod of a fixed namespace reach this address block (CIDR such as 10.0.0.0/8; repeatable). NetworkPolicies cannot match host names')
            [CompletionResult]::new('--api-server', '--api-server', [CompletionResultType]::ParameterName, 'The Kubernetes API server''s address block and port as pods reach it, e.g. 10.0.0.10:6443 (repeatable; a live run reads the Endpoints of Service default/kubernetes): workloads that call it get egress to it, webhooks ingress from it')
            [CompletionResult]::new('--ingress-from', '--ingress-from', [CompletionResultType]::ParameterName, 'The ingress controller''s pods, e.g. ingress-nginx/app.kubernetes.io/name=ingress-nginx (NAMESPACE[/KEY=VALUE,...]; repeatable): Ingress and HTTPRoute backends get ingress from them instead of from anywhere (known controllers are found without it)')
            [CompletionResult]::new('--allow-flow', '--allow-flow', [CompletionResultType]::ParameterName, 'Keep a flow the evidence does not show: workload FROM ([KIND/]NAME) calls Service TO (NAME or NAME.NAMESPACE) on Service port PORT, or every port (repeatable)')
            [CompletionResult]::new('--overlay', '--overlay', [CompletionResultType]::ParameterName, 'Write the fixes as a kustomize overlay in the new folder DIR instead of changing anything: a kustomization over the -k base or the -f files, one guarded JSON 6902 patch per changed object, the new objects as resources. Live, for objects a GitOps tool manages: the patches to commit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format for the plan and results')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for the plan and results')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many objects are written at once (each still dry run, patched and saved in that order; with prompts, one at a time)')
            [CompletionResult]::new('--digest-source', '--digest-source', [CompletionResultType]::ParameterName, 'Digest source for mutable image tags: `pods` (the `imageID` all running pods agree on), `registry`, or `auto` (pods first, then the registry). Default: `auto` for a live `fix`; `pods` for `scan`; with -f none: nothing is contacted unless this is given')
            [CompletionResult]::new('--insecure-registry', '--insecure-registry', [CompletionResultType]::ParameterName, 'Registry host (`host[:port]`) that may be reached over plain HTTP. Loopback registries always may. Repeatable')
            [CompletionResult]::new('--registry-timeout', '--registry-timeout', [CompletionResultType]::ParameterName, 'Timeout for each registry request: seconds (`10`) or a duration as kubectl''s `--request-timeout` takes it (`10s`, `2m`, `1h`), from 1s to 1h')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Refused with a clear message: fix works on one context at a time')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use. Not with -f')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Read all namespaces')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Read all namespaces')
            [CompletionResult]::new('--allow-empty', '--allow-empty', [CompletionResultType]::ParameterName, 'With -f: accept input that holds no object to check (empty stdin, a directory of values files) instead of failing with exit 1')
            [CompletionResult]::new('--include-system', '--include-system', [CompletionResultType]::ParameterName, 'Also scan kube-system, kube-public and kube-node-lease for default-allow namespaces')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply every fix without prompting (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply every fix without prompting (required without a terminal)')
            [CompletionResult]::new('--no-file-env', '--no-file-env', [CompletionResultType]::ParameterName, 'Do not add variables pointing at the mounted files (except those named with --file-env); every such move then needs an app change')
            [CompletionResult]::new('--allow-app-changes', '--allow-app-changes', [CompletionResultType]::ParameterName, 'With --yes, --dry-run or -f: also move secrets the app would have to be changed to read (app-change moves; left out by default, and offered with default skip on a terminal)')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'With -f: rewrite the files in place instead of printing the fixed manifests')
            [CompletionResult]::new('--force-live', '--force-live', [CompletionResultType]::ParameterName, 'Patch objects that Argo CD or Flux manage live anyway (the next sync may revert the change); by default they are left out and --overlay offered')
            [CompletionResult]::new('--all-contexts', '--all-contexts', [CompletionResultType]::ParameterName, 'Refused with a clear message: fix works on one context at a time')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-secfix;rollback' {
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, '`server`: validate the inverses with a server-side dry run and stop')
            [CompletionResult]::new('--include-kinds', '--include-kinds', [CompletionResultType]::ParameterName, 'Also roll back fixes of this kind (one `fix` reached with `--include-kinds`). Repeatable. Argo Rollouts and OpenShift DeploymentConfigs need no flag')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many objects are written at once (each still dry run, patched and saved in that order; with prompts, one at a time)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use. Not with -f')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-secfix;post-render' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use. Not with -f')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-secfix;completion' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use. Not with -f')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kubectl-secfix;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Find secrets in env vars, default-allow namespaces and mutable image tags')
            [CompletionResult]::new('fix', 'fix', [CompletionResultType]::ParameterValue, 'Fix findings with guarded JSON patches (preview and prompt per change on a terminal)')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Apply the inverse patches saved by `fix --save-patches DIR`')
            [CompletionResult]::new('post-render', 'post-render', [CompletionResultType]::ParameterValue, 'Helm post-renderer: read manifests on stdin, write every object to stdout, fixed where a fix applies (`helm install --post-renderer kubectl-secfix --post-renderer-args post-render`). Takes `fix` flags')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-secfix;help;scan' {
            break
        }
        'kubectl-secfix;help;fix' {
            break
        }
        'kubectl-secfix;help;rollback' {
            break
        }
        'kubectl-secfix;help;post-render' {
            break
        }
        'kubectl-secfix;help;completion' {
            break
        }
        'kubectl-secfix;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
