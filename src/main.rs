//! `spotcheck`: one binary, every component. This file is the table of contents; each command
//! lives in `commands/`.

mod cli;
mod commands;
mod config;
mod signals;

use clap::Parser;
use cli::{Cli, Command, LogFormat, TokenCommand};

/// mimalloc instead of glibc's malloc: profiles of the lake writer, the trend views and the
/// traceback state put 12–28% of their CPU in glibc's allocator (BENCHMARKS.md, notes).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(anyhow::anyhow!("cannot start the async runtime: {error}")),
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => commands::up::run(args).await,
            Command::Ingest(args) => commands::ingest::run(args).await,
            Command::Lake(args) => commands::lake::run(args).await,
            Command::Analytics(args) => commands::analytics::run(args).await,
            Command::Traceback(args) => commands::traceback::run(args).await,
            Command::Credit(args) => commands::credit::run(args).await,
            Command::Sql(args) => commands::sql::run(args).await,
            Command::TraceExport(args) => commands::trace_export::run(args).await,
            Command::Report(args) => commands::report::run(args).await,
            Command::Notice(args) => commands::notice::run(args).await,
            Command::Bulletin(args) => commands::bulletin::run(args).await,
            Command::Plan(args) => commands::plan::run(args).await,
            Command::Gen(args) => commands::gen_data::run(args),
            Command::Post(args) => commands::post::run(args).await,
            Command::Token(TokenCommand::New(args)) => commands::token::run(args),
            Command::Topics(args) => commands::topics::run(args).await,
            Command::Broker(args) => commands::up::run_broker_alone(args).await,
        }
    });
    // Don't wait for blocking threads (a broker poll, a pending fetch) longer than this.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match outcome {
        Ok(code) => code,
        Err(error) => fail(error),
    }
}

/// One line naming the problem, and a non-zero exit.
fn fail(error: anyhow::Error) -> std::process::ExitCode {
    eprintln!("error: {error:#}");
    std::process::ExitCode::FAILURE
}

/// Logs to stderr, as text or JSON lines; `RUST_LOG` overrides the default level.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,rdkafka=warn,tansu=warn,tansu_broker=warn,tansu_storage=warn,libsql=warn,\
             buoyant_kernel=warn,delta_kernel=warn,deltalake_core=warn,deltalake_aws=warn",
        )
    });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
}
