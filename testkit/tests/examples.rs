//! The library programs of the README ("Use it as a library": connector/examples/produce.rs,
//! consume.rs and prefix_job.rs) run against a broker (the kind `KWIRE_BROKER` names) and print
//! what the README says; and the README shows each program exactly as it is in the repository.
//!
//! `cargo test --workspace` builds the examples before it runs any test; this test runs those
//! binaries (target/debug/examples/), and fails with how to build them if they are missing.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kwire_testkit::LocalBroker;

fn example(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_kwire"))
        .parent()
        .expect("target/debug")
        .join("examples")
        .join(name);
    assert!(
        bin.exists(),
        "{} is not built: `cargo test --workspace` builds it, or `cargo build -p kwire-connector --examples`",
        bin.display()
    );
    bin
}

/// Runs the example `name` against `bootstrap` (at most 60 s); its stdout, after it exited 0.
fn run(name: &str, bootstrap: &str) -> String {
    let mut child = Command::new(example(name))
        .env("KWIRE_BOOTSTRAP", bootstrap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{name} did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{name}: {status}\n{out}\n{err}");
    out
}

#[test]
fn the_readme_programs_produce_consume_and_run_a_job() {
    let broker = LocalBroker::start_or_fail();
    let bootstrap = broker.bootstrap();
    let written = run("produce", bootstrap);
    assert_eq!(written.lines().count(), 10, "{written}");
    assert!(
        written.lines().all(|l| l.starts_with("written to partition ")),
        "{written}"
    );
    let hellos: BTreeSet<String> = (0..10).map(|i| format!("hello {i}")).collect();

    let read = run("consume", bootstrap);
    let values: BTreeSet<String> = read
        .lines()
        .map(|l| {
            assert!(l.starts_with("greetings-"), "{read}");
            l.split_once(": ")
                .expect("topic-partition @offset: value")
                .1
                .to_owned()
        })
        .collect();
    assert_eq!(values, hellos, "{read}");
    assert_eq!(read.lines().count(), 10, "{read}");

    let printed = run("prefix_job", bootstrap);
    let prefixed: BTreeSet<String> = printed
        .lines()
        .map(|l| {
            l.strip_prefix("Kafka and kwire says: ")
                .unwrap_or_else(|| panic!("{printed}"))
                .to_owned()
        })
        .collect();
    assert_eq!(prefixed, hellos, "{printed}");
    assert_eq!(printed.lines().count(), 10, "{printed}");
}

#[test]
fn the_readme_shows_each_program_as_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for name in ["produce", "consume", "prefix_job"] {
        let path = root.join(format!("connector/examples/{name}.rs"));
        let code = std::fs::read_to_string(&path).unwrap();
        // The README shows the program without its doc comment.
        let body: String = code
            .lines()
            .skip_while(|l| l.starts_with("//!") || l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            readme.contains(&format!("```rust\n{body}```")),
            "README.md does not show {} as it is; paste it again",
            path.display()
        );
    }
}
