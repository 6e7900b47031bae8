//! What a Kubernetes user deploys (`deploy/`): the plain manifests and the
//! Helm chart rendered (with defaults, and with every option on) are
//! validated against the Kubernetes 1.37 schemas (`kubernetes-validate
//! --strict`, from PyPI); the chart's zoo.cfg loads in Corral's own
//! configuration parser; the container build is multi-stage and runs as a
//! non-root user.
//!
//! The chart is rendered by `deploy/helm/render` — Go's text/template with
//! the sprig functions and Helm's own, the engine Helm uses — built from
//! Debian's Go packages: Helm itself is not packaged by Debian, PyPI or
//! npm (its installers download it from get.helm.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// `kubernetes-validate --strict` on `file`; panics with its output
/// unless it passes every resource (CRDs without a schema are reported
/// and returned).
fn validate(file: &Path) -> Vec<String> {
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .arg(file)
        .output()
        .expect("python3 -m kubernetes_validate (pip install kubernetes-validate)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} does not validate:\n{text}",
        file.display()
    );
    assert!(text.contains("passed for resource"), "{text}");
    assert!(!text.contains("ERROR"), "{text}");
    text.lines()
        .filter(|l| l.contains("Couldn't find schema"))
        .map(str::to_owned)
        .collect()
}

/// Builds the renderer once per test run, in `dir`.
fn renderer(dir: &Path) -> PathBuf {
    let bin = dir.join("render");
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(repo().join("deploy/helm/render/render.go"))
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.join("gocache"))
        .output()
        .expect(
            "go (Debian golang-go, golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v3-dev)",
        );
    assert!(
        out.status.success(),
        "building the renderer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

fn render(bin: &Path, dir: &Path, name: &str, values: &[&str]) -> (PathBuf, String) {
    let out = Command::new(bin)
        .arg(repo().join("deploy/helm/corral"))
        .args(["corral", "default"])
        .args(values.iter().map(|v| repo().join(v)))
        .output()
        .expect("run the renderer");
    assert!(
        out.status.success(),
        "rendering the chart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let file = dir.join(name);
    std::fs::write(&file, &text).expect("write the rendered chart");
    (file, text)
}

/// The `zoo.cfg: |` block of a rendered ConfigMap.
fn zoo_cfg(rendered: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in rendered.lines() {
        if line.trim_start().starts_with("zoo.cfg: |") {
            inside = true;
            continue;
        }
        if inside {
            match line.strip_prefix("    ") {
                Some(l) => {
                    out.push_str(l);
                    out.push('\n');
                }
                None => break,
            }
        }
    }
    out
}

#[test]
fn plain_manifests_validate() {
    let missing = validate(&repo().join("deploy/kubernetes/corral.yaml"));
    assert!(missing.is_empty(), "{missing:?}");
    let text = std::fs::read_to_string(repo().join("deploy/kubernetes/corral.yaml")).expect("read");
    for want in [
        "kind: StatefulSet",
        "kind: PodDisruptionBudget",
        "publishNotReadyAddresses: true",
        "path: /ready",
        "path: /commands/ruok",
        "volumeClaimTemplates:",
        "podManagementPolicy: Parallel",
    ] {
        assert!(
            text.contains(want),
            "deploy/kubernetes/corral.yaml lacks {want:?}"
        );
    }
}

#[test]
fn the_chart_renders_and_validates() {
    let dir = tempfile::tempdir().expect("a directory");
    let bin = renderer(dir.path());

    let (file, text) = render(&bin, dir.path(), "default.yaml", &[]);
    let missing = validate(&file);
    assert!(missing.is_empty(), "{missing:?}");
    assert!(
        text.contains("replicas: 3") && text.contains("value: \"3\""),
        "{text}"
    );
    assert!(!text.contains("kind: ServiceMonitor"), "off by default");
    // Its zoo.cfg is one Corral reads.
    let cfg = zoo_cfg(&text);
    assert!(cfg.contains("tickTime=2000"), "{cfg}");
    let cfg_file = dir.path().join("zoo.cfg");
    let data = dir.path().join("data");
    std::fs::write(
        &cfg_file,
        cfg.replace("dataDir=/data", &format!("dataDir={}", data.display())),
    )
    .expect("write");
    let args = server::cli::Args {
        config: Some(cfg_file),
        ..server::cli::Args::default()
    };
    let c = server::Config::load(&args).unwrap_or_else(|e| panic!("the chart's zoo.cfg: {e}"));
    assert_eq!(
        c.k8s_remove_after,
        Some(std::time::Duration::from_secs(120))
    );

    let (file, text) = render(
        &bin,
        dir.path(),
        "all.yaml",
        &["deploy/helm/corral/ci/all-options-values.yaml"],
    );
    let missing = validate(&file);
    assert_eq!(
        missing.len(),
        1,
        "only the ServiceMonitor CRD lacks a schema: {missing:?}"
    );
    for want in [
        "kind: ServiceMonitor",
        "value: \"5\"",
        "secretName: corral-tls",
        "secretName: corral-jaas",
        "sslQuorum=true",
        "enforce.auth.enabled=true",
        "snapCount=50000",
        "storageClassName: fast",
        "name: secure-client",
    ] {
        assert!(
            text.contains(want),
            "the chart with every option lacks {want:?}:\n{text}"
        );
    }
}

#[test]
fn the_image_is_multi_stage_and_unprivileged() {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).expect("read");
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms.len(),
        2,
        "a build stage and a runtime stage: {froms:?}"
    );
    assert!(froms[1].contains("debian:bookworm-slim"), "{froms:?}");
    assert!(
        text.contains("\nUSER 10001:10001\n"),
        "runs as a non-root user"
    );
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/corral\", \"--k8s\"]"));
}
