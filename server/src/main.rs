//! The `corral` binary: parse arguments, set up logging, run the server until
//! SIGINT or SIGTERM.

use clap::Parser;
use server::{
    Config,
    cli::{Args, Command, LogFormat},
};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&args.log))?;
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match args.log_format {
        LogFormat::Text => logs.init(),
        // One object per line: the event's fields, and every span around
        // it (session, request) with its fields.
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
    if let Ok(list) = std::env::var("FAILPOINTS") {
        match consensus::set_failpoints(&list) {
            Ok(n) if consensus::FAILPOINTS_BUILT => {
                tracing::warn!(failpoints = %list, n, "disk-fault failpoints set (FAILPOINTS)");
            }
            Ok(_) => tracing::warn!("FAILPOINTS ignored: this build has no failpoints"),
            Err(e) => {
                eprintln!("FAILPOINTS: {e}");
                std::process::exit(2);
            }
        }
    }
    if let Some(Command::Migrate(m)) = &args.command
        && let server::migrate::MigrateCommand::Follow(a) = &m.command
        && a.serve
    {
        return follow_and_serve(&args, a.clone());
    }
    if let Some(command) = args.command.clone() {
        let config = load_config(&args);
        let outcome = match &command {
            Command::Import(a) => server::migrate::import(&config, a).map(|r| {
                format!(
                    "imported {} nodes and {} sessions up to zxid {:#x} in {:.2} s \
                     (digest {}, {} of ZooKeeper's digests matched)",
                    r.nodes,
                    r.sessions,
                    r.last_zxid,
                    r.elapsed.as_secs_f64(),
                    r.digest,
                    r.digests_checked
                )
            }),
            Command::Export(a) => {
                server::migrate::export(&config, a).map(|p| format!("wrote {}", p.display()))
            }
            Command::Migrate(m) => match &m.command {
                server::migrate::MigrateCommand::Follow(a) => server::migrate::follow(&config, a),
                server::migrate::MigrateCommand::Status => server::migrate::status(&config),
            },
        };
        match outcome {
            Ok(line) => {
                println!("{line}");
                return Ok(());
            }
            Err(e) => {
                eprintln!("corral: {e}");
                std::process::exit(1);
            }
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let mut args = args;
    let pod = if args.k8s {
        let pod = match k8s_prepare(&runtime, &mut args) {
            Ok(pod) => pod,
            Err(e) => {
                eprintln!("corral --k8s: {e}");
                std::process::exit(2);
            }
        };
        Some(pod)
    } else {
        None
    };
    let config = load_config(&args);
    let served: Result<(), Box<dyn std::error::Error>> = runtime.block_on(async move {
        std::fs::create_dir_all(&config.data_dir)?;
        let listener = tokio::net::TcpListener::bind(config.client_addr).await?;
        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signal.cancel();
        });
        if let Some(pod) = pod {
            let tls = server::k8s::quorum_tls(&config)?;
            tokio::spawn(server::k8s::join(pod, tls, shutdown.clone()));
        }
        server::run(config, listener, shutdown).await?;
        Ok(())
    });
    if let Err(e) = served {
        // Plainly, and in the log: why the server would not start or
        // stopped (a corrupt store, a port in use).
        tracing::error!(error = %e, "corral stopped");
        eprintln!("corral: {e}");
        std::process::exit(1);
    }
    Ok(())
}

/// `corral migrate follow --cutover --serve`: follows, cuts over, then
/// serves until SIGINT or SIGTERM (which, before the cut-over, stops the
/// following and writes nothing).
fn follow_and_serve(
    args: &Args,
    follow: server::migrate::FollowArgs,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = load_config(args);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.client_addr).await?;
        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signal.cancel();
        });
        match server::migrate::follow_and_serve(config, follow, listener, shutdown).await {
            Ok(line) => {
                println!("{line}");
                Ok(())
            }
            Err(e) => {
                eprintln!("corral: {e}");
                std::process::exit(1);
            }
        }
    })
}

/// `--k8s`: the pod from its environment; `--config` (the base zoo.cfg)
/// becomes the zoo.cfg written for it.
fn k8s_prepare(
    runtime: &tokio::runtime::Runtime,
    args: &mut Args,
) -> Result<server::k8s::Pod, String> {
    let pod = server::k8s::Pod::from_env()?;
    let base = args
        .config
        .clone()
        .ok_or("--k8s needs --config, the base zoo.cfg (a ConfigMap)")?;
    let base_config = Config::load(args).map_err(|e| e.to_string())?;
    let tls = server::k8s::quorum_tls(&base_config)?;
    let generated = runtime.block_on(server::k8s::prepare(&pod, &base, tls))?;
    tracing::info!(config = %generated.display(), myid = pod.myid(), "pod prepared");
    args.config = Some(generated);
    Ok(pod)
}

/// The configuration `args` name, or exit 2 with why.
fn load_config(args: &Args) -> Config {
    match Config::load(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("corral: {e}");
            std::process::exit(2);
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
