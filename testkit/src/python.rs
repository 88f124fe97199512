//! kafka-python, the second client of the interop tests, provisioned by the testkit itself: a
//! virtualenv in the cache ([`crate::apache::cache_dir`]) with kafka-python and its codecs (lz4,
//! zstandard, python-snappy) from PyPI, made once and shared by every test process (a lock file
//! serialises the making). It needs a `python3` with the venv module (`$KWIRE_PYTHON` names
//! another); without one, [`kafka_python`] says so in one line, and the test that needs it fails.
//!
//! `$KWIRE_KAFKA_PYTHON` names a python that already has kafka-python >= 2.1 and the codecs, and
//! skips the virtualenv.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::apache::{cache_dir, last_lines};
use crate::broker::BrokerError;

/// The kafka-python release the tests run (2.1+ has `isolation_level` for read_committed).
pub const KAFKA_PYTHON_VERSION: &str = "3.0.12";

/// The PyPI packages of the virtualenv.
const PACKAGES: &[&str] = &["lz4", "zstandard", "python-snappy"];

/// What a python must import for the interop tests.
const CHECK: &str = "import kafka, snappy, lz4, zstandard, sys; \
    sys.exit(0 if tuple(map(int, kafka.__version__.split('.')[:2])) >= (2, 1) else 1)";

/// The python to run kafka-python with: `$KWIRE_KAFKA_PYTHON`, else the testkit's virtualenv,
/// made on first use.
pub fn kafka_python() -> Result<PathBuf, BrokerError> {
    if let Some(p) = std::env::var_os("KWIRE_KAFKA_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if imports(&p) {
            Ok(p)
        } else {
            Err(BrokerError::MissingTool(format!(
                "KWIRE_KAFKA_PYTHON={} cannot import kafka-python >= 2.1 with snappy, lz4 and zstandard",
                p.display()
            )))
        };
    }
    let root = cache_dir().join(format!("kafka-python-{KAFKA_PYTHON_VERSION}"));
    let venv = root.join("venv");
    let python = venv.join("bin").join("python");
    let done = root.join("venv.done");
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        BrokerError::Start(format!("{what} ({}): {e}", root.display()))
    };
    if done.exists() && imports(&python) {
        return Ok(python);
    }
    std::fs::create_dir_all(&root).map_err(|e| fail("cannot create the cache", &e))?;
    let lock = File::create(root.join("lock")).map_err(|e| fail("cannot create the lock", &e))?;
    lock.lock().map_err(|e| fail("cannot take the lock", &e))?;
    if done.exists() && imports(&python) {
        return Ok(python);
    }
    let _ = std::fs::remove_file(&done);
    let _ = std::fs::remove_dir_all(&venv);
    let base = std::env::var_os("KWIRE_PYTHON")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    run(
        Command::new(&base).arg("-m").arg("venv").arg(&venv),
        &format!(
            "`{} -m venv` failed (kafka-python for the interop tests needs a python3 with venv)",
            base.display()
        ),
    )?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .arg(format!("kafka-python=={KAFKA_PYTHON_VERSION}"))
            .args(PACKAGES),
        "pip could not install kafka-python and its codecs from PyPI",
    )?;
    if !imports(&python) {
        return Err(BrokerError::MissingTool(format!(
            "{} cannot import kafka-python with its codecs after installing them",
            python.display()
        )));
    }
    File::create(&done).map_err(|e| fail("cannot mark the virtualenv made", &e))?;
    Ok(python)
}

fn imports(python: &PathBuf) -> bool {
    Command::new(python)
        .args(["-c", CHECK])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), BrokerError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BrokerError::MissingTool(format!("{what}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(BrokerError::MissingTool(format!(
        "{what} ({}): {}",
        out.status,
        last_lines(&text, 10)
    )))
}
