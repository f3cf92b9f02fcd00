# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_secfix_global_optspecs
    string join \n kubeconfig= context= h/help V/version
end

function __fish_kubectl_secfix_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_secfix_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_secfix_using_subcommand
    set -l cmd (__fish_kubectl_secfix_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -l context -d 'The kubeconfig context to use. Not with -f' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -s h -l help -d 'Print help'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -f -a "scan" -d 'Find secrets in env vars, default-allow namespaces and mutable image tags'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -f -a "fix" -d 'Fix findings with guarded JSON patches (preview and prompt per change on a terminal)'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -f -a "rollback" -d 'Apply the inverse patches saved by `fix --save-patches DIR`'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -f -a "post-render" -d 'Helm post-renderer: read manifests on stdin, write every object to stdout, fixed where a fix applies (`helm install --post-renderer kubectl-secfix --post-renderer-args post-render`). Takes `fix` flags'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s n -l namespace -d 'Namespace to read (default: the context\'s namespace, else `default`)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s l -l selector -d 'Label selector for workloads (e.g. `app=web,tier!=db`)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s f -l filename -d 'Read manifests instead of a cluster: a file, a directory (walked for .yaml, .yml, .json) or `-` for stdin. Repeatable' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s k -l kustomize -d 'Read what `kubectl kustomize DIR` renders instead of a cluster (run with the user\'s kubectl, or `$SECFIX_KUBECTL`)' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l checks -d 'Checks to run (comma-separated; default: all)' -r -f -a "env-secret\t'Secret exposed through an environment variable'
env-literal-secret\t'Secret-looking literal value in an environment variable'
default-allow-namespace\t'Namespace pods are not isolated by a NetworkPolicy'
mutable-image-tag\t'Container image is not pinned by digest'
untrusted-registry\t'Container image comes from a registry that is not allowed'
unsigned-image\t'Container image has no signature that verifies with a trusted key'"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l allowed-registries -d 'Registries images may come from: hosts or host/path prefixes, comma-separated (e.g. `ghcr.io/acme,registry.k8s.io`). Turns on the untrusted-registry check; a namespace\'s `secfix.dev/allowed-registries` annotation narrows it' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l signature-key -d 'Public key (PEM, as `cosign generate-key-pair` writes `cosign.pub`: ECDSA P-256/P-384, Ed25519 or RSA) image signatures must verify with. Repeatable: any one key suffices. Turns on the unsigned-image check, and `mutable-image-tag` then pins only signed digests; a namespace\'s `secfix.dev/signature-keys` annotation narrows the keys' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l certificate-identity -d 'Keyless signatures: the identity (the certificate\'s email or URI) a signature may come from, as `cosign verify --certificate-identity`. Needs --certificate-oidc-issuer and --trusted-root; turns on the unsigned-image check like --signature-key' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l certificate-identity-regexp -d 'Like --certificate-identity, as a regular expression (unanchored, as cosign\'s)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l certificate-oidc-issuer -d 'Keyless signatures: the OIDC issuer the certificate must name (e.g. `https://token.actions.githubusercontent.com`)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l trusted-root -d 'Keyless signatures: a Sigstore `trusted_root.json` (Fulcio certificate authorities, Rekor keys). Verification is offline, against this file only' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l include-kinds -d 'Also list this kind when the cluster serves it, and check its pod template (`spec.template.spec` or `spec.jobTemplate.spec.template.spec`), e.g. `apps.kruise.io/v1alpha1/CloneSet`. Repeatable. Argo Rollouts and OpenShift DeploymentConfigs are listed without it; with -f, every kind with a pod template is checked anyway' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s o -l output -d 'Output format' -r -f -a "table\t'One line per finding (kubectl style), worst first'
json\t'The versioned scan report (docs/scan-report.md)'
yaml\t'The same document as json, in YAML'
sarif\t'SARIF 2.1.0, for code-scanning tools'
summary\t'Findings grouped per check and namespace, and the commands to run next'
html\t'One self-contained HTML page: charts, a filterable table, fix commands'
markdown\t'GitHub-flavoured Markdown for a job summary or a pull-request comment (< 64 KiB)'
wide\t'The table plus the source (file:line of the field) and whether `fix` can fix it, or why not'
name\t'Each object with a finding, once (`deployment.apps/web`), as kubectl\'s `-o name`'"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l fail-on -d 'Exit 3 when a finding at or above this severity is reported (findings in --baseline excepted)' -r -f -a "low\t''
medium\t''
high\t''
none\t''"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l baseline -d 'A previous `-o json` report: its findings are still reported, marked as baseline, and do not count for --fail-on, so CI fails on new findings only. A finding is the same when its check, object, container and env var name are (SARIF fingerprints agree)' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l digest-source -d 'Digest source for mutable image tags: `pods` (the `imageID` all running pods agree on), `registry`, or `auto` (pods first, then the registry). Default: `auto` for a live `fix`; `pods` for `scan`; with -f none: nothing is contacted unless this is given' -r -f -a "auto\t''
pods\t''
registry\t''"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l insecure-registry -d 'Registry host (`host[:port]`) that may be reached over plain HTTP. Loopback registries always may. Repeatable' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l registry-timeout -d 'Timeout for each registry request: seconds (`10`) or a duration as kubectl\'s `--request-timeout` takes it (`10s`, `2m`, `1h`), from 1s to 1h' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l contexts -d 'Scan these kubeconfig contexts (comma-separated), several at once' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l parallel-contexts -d 'How many contexts are scanned at once (with --all-contexts or --contexts)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l context -d 'The kubeconfig context to use. Not with -f' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s A -l all-namespaces -d 'Read all namespaces'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l allow-empty -d 'With -f: accept input that holds no object to check (empty stdin, a directory of values files) instead of failing with exit 1'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l include-system -d 'Also scan kube-system, kube-public and kube-node-lease for default-allow namespaces'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l all-contexts -d 'Scan every context of the kubeconfig, several at once'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -l report-to-cluster -d 'Also write the findings into the cluster as Policy WG reports (wgpolicyk8s.io/v1alpha2): a PolicyReport per namespace and a ClusterPolicyReport, replaced on each run. Needs the PolicyReport CRDs'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand scan" -s V -l version -d 'Print version'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s n -l namespace -d 'Namespace to read (default: the context\'s namespace, else `default`)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s l -l selector -d 'Label selector for workloads (e.g. `app=web,tier!=db`)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s f -l filename -d 'Read manifests instead of a cluster: a file, a directory (walked for .yaml, .yml, .json) or `-` for stdin. Repeatable' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s k -l kustomize -d 'Read what `kubectl kustomize DIR` renders instead of a cluster (run with the user\'s kubectl, or `$SECFIX_KUBECTL`)' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l checks -d 'Checks to run (comma-separated; default: all)' -r -f -a "env-secret\t'Secret exposed through an environment variable'
env-literal-secret\t'Secret-looking literal value in an environment variable'
default-allow-namespace\t'Namespace pods are not isolated by a NetworkPolicy'
mutable-image-tag\t'Container image is not pinned by digest'
untrusted-registry\t'Container image comes from a registry that is not allowed'
unsigned-image\t'Container image has no signature that verifies with a trusted key'"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l allowed-registries -d 'Registries images may come from: hosts or host/path prefixes, comma-separated (e.g. `ghcr.io/acme,registry.k8s.io`). Turns on the untrusted-registry check; a namespace\'s `secfix.dev/allowed-registries` annotation narrows it' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l signature-key -d 'Public key (PEM, as `cosign generate-key-pair` writes `cosign.pub`: ECDSA P-256/P-384, Ed25519 or RSA) image signatures must verify with. Repeatable: any one key suffices. Turns on the unsigned-image check, and `mutable-image-tag` then pins only signed digests; a namespace\'s `secfix.dev/signature-keys` annotation narrows the keys' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l certificate-identity -d 'Keyless signatures: the identity (the certificate\'s email or URI) a signature may come from, as `cosign verify --certificate-identity`. Needs --certificate-oidc-issuer and --trusted-root; turns on the unsigned-image check like --signature-key' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l certificate-identity-regexp -d 'Like --certificate-identity, as a regular expression (unanchored, as cosign\'s)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l certificate-oidc-issuer -d 'Keyless signatures: the OIDC issuer the certificate must name (e.g. `https://token.actions.githubusercontent.com`)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l trusted-root -d 'Keyless signatures: a Sigstore `trusted_root.json` (Fulcio certificate authorities, Rekor keys). Verification is offline, against this file only' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l include-kinds -d 'Also list this kind when the cluster serves it, and check its pod template (`spec.template.spec` or `spec.jobTemplate.spec.template.spec`), e.g. `apps.kruise.io/v1alpha1/CloneSet`. Repeatable. Argo Rollouts and OpenShift DeploymentConfigs are listed without it; with -f, every kind with a pod template is checked anyway' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l dry-run -d '`server`: validate every change with a server-side dry run and stop; `client`: print the plan without writing; `none`: dry run, then apply' -r -f -a "none\t'Validate with the server, then apply'
server\t'Send every change with dryRun=All and stop there'
client\t'Contact nothing for writing; print the plan'"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l save-patches -d 'Save each forward patch and its inverse in DIR (default on a terminal: a timestamped directory under the user\'s state dir)' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l mount-root -d 'Where Secrets moved out of env vars are mounted (one folder per Secret)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l file-env -d 'The variable the app reads the file path of NAME\'s secret from, e.g. `DB_PASSWORD=DB_PASSWORD_PATH`: that move is then native. Repeatable' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l allow-dns -d 'Let default-deny policies allow DNS egress (UDP and TCP port 53)' -r -f -a "true\t''
false\t''"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l network-policy -d 'What the default-allow-namespace fix writes: `least-privilege`, a policy set that keeps the connections the workloads are seen to need and denies the rest, or `deny-all`, one default-deny policy' -r -f -a "deny-all\t'One default-deny policy per namespace; DNS to any address stays allowed'
least-privilege\t'Default deny plus the allow rules the evidence supports'"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l allow-egress -d 'Let every pod of a fixed namespace reach this address block (CIDR such as 10.0.0.0/8; repeatable). NetworkPolicies cannot match host names' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l api-server -d 'The Kubernetes API server\'s address block and port as pods reach it, e.g. 10.0.0.10:6443 (repeatable; a live run reads the Endpoints of Service default/kubernetes): workloads that call it get egress to it, webhooks ingress from it' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l ingress-from -d 'The ingress controller\'s pods, e.g. ingress-nginx/app.kubernetes.io/name=ingress-nginx (NAMESPACE[/KEY=VALUE,...]; repeatable): Ingress and HTTPRoute backends get ingress from them instead of from anywhere (known controllers are found without it)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l allow-flow -d 'Keep a flow the evidence does not show: workload FROM ([KIND/]NAME) calls Service TO (NAME or NAME.NAMESPACE) on Service port PORT, or every port (repeatable)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l overlay -d 'Write the fixes as a kustomize overlay in the new folder DIR instead of changing anything: a kustomization over the -k base or the -f files, one guarded JSON 6902 patch per changed object, the new objects as resources. Live, for objects a GitOps tool manages: the patches to commit' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s o -l output -d 'Output format for the plan and results' -r -f -a "text\t''
json\t''"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l parallel -d 'How many objects are written at once (each still dry run, patched and saved in that order; with prompts, one at a time)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l digest-source -d 'Digest source for mutable image tags: `pods` (the `imageID` all running pods agree on), `registry`, or `auto` (pods first, then the registry). Default: `auto` for a live `fix`; `pods` for `scan`; with -f none: nothing is contacted unless this is given' -r -f -a "auto\t''
pods\t''
registry\t''"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l insecure-registry -d 'Registry host (`host[:port]`) that may be reached over plain HTTP. Loopback registries always may. Repeatable' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l registry-timeout -d 'Timeout for each registry request: seconds (`10`) or a duration as kubectl\'s `--request-timeout` takes it (`10s`, `2m`, `1h`), from 1s to 1h' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l contexts -d 'Refused with a clear message: fix works on one context at a time' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l context -d 'The kubeconfig context to use. Not with -f' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s A -l all-namespaces -d 'Read all namespaces'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l allow-empty -d 'With -f: accept input that holds no object to check (empty stdin, a directory of values files) instead of failing with exit 1'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l include-system -d 'Also scan kube-system, kube-public and kube-node-lease for default-allow namespaces'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s y -l yes -d 'Apply every fix without prompting (required without a terminal)'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l no-file-env -d 'Do not add variables pointing at the mounted files (except those named with --file-env); every such move then needs an app change'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l allow-app-changes -d 'With --yes, --dry-run or -f: also move secrets the app would have to be changed to read (app-change moves; left out by default, and offered with default skip on a terminal)'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l write -d 'With -f: rewrite the files in place instead of printing the fixed manifests'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l force-live -d 'Patch objects that Argo CD or Flux manage live anyway (the next sync may revert the change); by default they are left out and --overlay offered'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -l all-contexts -d 'Refused with a clear message: fix works on one context at a time'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand fix" -s V -l version -d 'Print version'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand rollback" -l dry-run -d '`server`: validate the inverses with a server-side dry run and stop' -r -f -a "none\t'Validate with the server, then apply'
server\t'Send every change with dryRun=All and stop there'
client\t'Contact nothing for writing; print the plan'"
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand rollback" -l include-kinds -d 'Also roll back fixes of this kind (one `fix` reached with `--include-kinds`). Repeatable. Argo Rollouts and OpenShift DeploymentConfigs need no flag' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand rollback" -l parallel -d 'How many objects are written at once (each still dry run, patched and saved in that order; with prompts, one at a time)' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand rollback" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand rollback" -l context -d 'The kubeconfig context to use. Not with -f' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand rollback" -s V -l version -d 'Print version'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand post-render" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand post-render" -l context -d 'The kubeconfig context to use. Not with -f' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand post-render" -s h -l help -d 'Print help'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand post-render" -s V -l version -d 'Print version'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). Not with -f' -r -F
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand completion" -l context -d 'The kubeconfig context to use. Not with -f' -r
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand help; and not __fish_seen_subcommand_from scan fix rollback post-render completion help" -f -a "scan" -d 'Find secrets in env vars, default-allow namespaces and mutable image tags'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand help; and not __fish_seen_subcommand_from scan fix rollback post-render completion help" -f -a "fix" -d 'Fix findings with guarded JSON patches (preview and prompt per change on a terminal)'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand help; and not __fish_seen_subcommand_from scan fix rollback post-render completion help" -f -a "rollback" -d 'Apply the inverse patches saved by `fix --save-patches DIR`'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand help; and not __fish_seen_subcommand_from scan fix rollback post-render completion help" -f -a "post-render" -d 'Helm post-renderer: read manifests on stdin, write every object to stdout, fixed where a fix applies (`helm install --post-renderer kubectl-secfix --post-renderer-args post-render`). Takes `fix` flags'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand help; and not __fish_seen_subcommand_from scan fix rollback post-render completion help" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-secfix -n "__fish_kubectl_secfix_using_subcommand help; and not __fish_seen_subcommand_from scan fix rollback post-render completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
