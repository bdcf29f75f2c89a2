//! The `kehu` binary; everything lives in the library so tests and benches
//! start exactly what users run.

fn main() -> std::process::ExitCode {
    kehu_cli::main()
}
