//! The binary is glue: parse, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    codeinsight::cli::main()
}
