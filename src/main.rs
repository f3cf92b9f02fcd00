fn main() -> std::process::ExitCode {
    kubectl_secfix::cli::main()
}
