//! `wages`: reads the configuration, sets up logging, and serves until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use wages_server::config::Config;
use wages_server::startup::Application;
use wages_server::{shutdown_signal, telemetry};

#[allow(clippy::print_stdout)] // --help and --version answer on stdout
fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("-h" | "--help") => {
            print!("{}", Config::help());
            return ExitCode::SUCCESS;
        }
        Some("-V" | "--version") => {
            println!("wages {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some("simulate") => return simulate(std::env::args().skip(2).collect()),
        Some(other) => {
            eprintln!("wages: unknown argument {other:?}; see wages --help");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("wages: cannot read .env: {e}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("wages: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log_filter, config.log_format);

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wages: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = shutdown_signal();
        let app = match Application::build(&config).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("wages: {e}");
                return ExitCode::from(e.exit_code());
            }
        };
        match app.run_until(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wages: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `wages simulate …`: see [`wages_server::simulate`].
#[allow(clippy::print_stdout)] // the summary and --help answer on stdout
fn simulate(args: Vec<String>) -> ExitCode {
    use wages_server::simulate::{HELP, Options, run};
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(args) {
        Ok(options) => Options { token: wages_server::config::simulator_token(), ..options },
        Err(line) => {
            eprintln!("wages simulate: {line}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wages simulate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&options)) {
        Ok(p) => {
            println!("published {} readings in {} sessions from {} scales", p.readings, p.sessions, p.devices);
            ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("wages simulate: {line}");
            ExitCode::FAILURE
        }
    }
}
