//! End-to-end tests of `tos-pool bench report` and `bench compare`, on tiny matrices
//! (`--quick --tiny`): the JSON schema, the CPU and lavapipe runs, reproducing commands, the
//! labelling of CPU rasterisers, and the comparison of two reports.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tos_pool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tos-pool"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tos-pool-bench-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `bench report --quick --tiny` into `out` and returns report.json.
fn report(out: &Path, extra: &[&str]) -> Value {
    let o = tos_pool()
        .args(["bench", "report", "--quick", "--tiny", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("points,"), "progress is printed while it runs: {stderr}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_schema(&r);
    r
}

/// Where `r` breaks docs/bench-report.schema.json.
fn schema_errors(r: &Value) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/bench-report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(schema["properties"]["schema_version"]["const"], 1, "the schema file names its version");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    validator.iter_errors(r).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

/// The report holds to its versioned schema.
fn assert_schema(r: &Value) {
    let errors = schema_errors(r);
    assert!(errors.is_empty(), "report.json breaks its schema: {errors:#?}");
}

fn points(r: &Value) -> &Vec<Value> {
    r["points"].as_array().unwrap()
}

/// Each point's figures agree with its raw batches.
fn assert_figures_are_consistent(r: &Value) {
    for p in points(r) {
        let raw: Vec<f64> =
            p["raw"]["batch_latency_ms"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let (batch, shares) = (p["batch"].as_u64().unwrap(), p["shares"].as_u64().unwrap());
        assert_eq!(raw.len() as u64, p["batches"].as_u64().unwrap(), "{p}");
        assert_eq!(shares, batch * raw.len() as u64, "whole batches: {p}");
        let seconds = p["seconds"].as_f64().unwrap();
        assert!((raw.iter().sum::<f64>() / 1e3 - seconds).abs() < 1e-6, "{p}");
        assert!((p["hashes_per_second"].as_f64().unwrap() - shares as f64 / seconds).abs() < 1e-3, "{p}");
        let (p50, p99) =
            (p["batch_latency_ms_p50"].as_f64().unwrap(), p["batch_latency_ms_p99"].as_f64().unwrap());
        let max = raw.iter().copied().fold(0.0, f64::max);
        assert!(raw.contains(&p50) && raw.contains(&p99) && p50 <= p99 && p99 <= max, "{p}");
        let want = format!("--batch {batch} --shares {shares} --json");
        assert!(p["command"].as_str().unwrap().ends_with(&want), "{p}");
    }
}

/// Runs a point's command with this binary and checks it measures the same configuration.
fn rerun(point: &Value) -> Value {
    let command = point["command"].as_str().unwrap();
    let args: Vec<&str> = command.strip_prefix("tos-pool ").unwrap().split(' ').collect();
    let o = tos_pool().args(&args).output().unwrap();
    assert!(o.status.success(), "{command}: {}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["shares"], point["shares"], "{command}");
    assert_eq!(v["batch"], point["batch"], "{command}");
    assert_eq!(v["implementation"], point["implementation"], "{command}");
    assert!(v["hashes_per_second"].as_f64().unwrap() > 0.0);
    v
}

fn svg_texts(path: &Path) -> String {
    let svg = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}", path.display());
    svg
}

#[test]
fn a_quick_cpu_report_covers_every_level_and_thread_count() {
    let out = out_dir("cpu");
    let r = report(&out, &["--backends", "cpu,auto", "--label", "this-machine"]);
    assert_eq!(r["label"], "this-machine");
    assert_figures_are_consistent(&r);
    // The schema is strict: a figure called something else, a field too many or missing, another
    // version, a command that is not `bench verify`.
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: [Mutation; 5] = [
        ("hardware", |r| r["points"][0]["hardware"] = "lavapipe-gpu".into()),
        ("extra field", |r| r["points"][0]["hashes"] = 1.into()),
        ("missing field", |r| {
            r["points"][0].as_object_mut().unwrap().remove("command");
        }),
        ("version", |r| r["schema_version"] = 2.into()),
        ("command", |r| r["points"][0]["command"] = "cargo bench".into()),
    ];
    for (what, mutate) in mutations {
        let mut bad = r.clone();
        mutate(&mut bad);
        assert!(!schema_errors(&bad).is_empty(), "the schema lets a wrong {what} through");
    }
    let m = &r["machine"];
    let cores = m["cores"].as_u64().unwrap();
    let threads: Vec<u64> =
        r["settings"]["thread_counts"].as_array().unwrap().iter().map(|t| t.as_u64().unwrap()).collect();
    assert_eq!((threads[0], *threads.last().unwrap()), (1, cores));
    let mut impls = vec!["reference".to_owned()];
    impls.extend(
        m["dispatch_levels"].as_array().unwrap().iter().map(|l| format!("fast-{}", l.as_str().unwrap())),
    );
    assert!(impls.contains(&"fast-portable".to_owned()));
    for imp in &impls {
        for t in &threads {
            let id = format!("cpu-threads/{imp}/t{t}/b64");
            let p =
                points(&r).iter().find(|p| p["id"] == id.as_str()).unwrap_or_else(|| panic!("no point {id}"));
            assert_eq!(p["cpu"]["threads"], *t);
            assert_eq!(p["hardware"], "cpu");
        }
    }
    assert!(points(&r).iter().any(|p| p["id"] == "cpu-batch/fast-best/all-cores/b64"));
    assert!(points(&r).iter().all(|p| p["hardware"] == "cpu"), "no GPU part was run");
    // auto: what it picked, why, and the point measuring it.
    let auto = &r["auto"][0];
    assert_eq!(auto["setting"], "default");
    assert!(!auto["why"].as_str().unwrap().is_empty());
    let auto_point = points(&r).iter().find(|p| p["id"] == auto["point_id"]).expect("auto's point");
    assert_eq!(auto_point["hardware"], auto["picked_hardware"]);
    if m["adapters"].as_array().unwrap().first().is_some_and(|a| a["device_type"] == "cpu") {
        // The pool refuses a CPU rasteriser: auto runs on the CPU and says why.
        assert_eq!(auto["picked_hardware"], "cpu");
        assert!(auto["why"].as_str().unwrap().contains("refusing the CPU rasteriser"), "{auto}");
        assert_eq!(r["auto"][1]["setting"], "cpu-adapter-allowed");
    }
    // Every figure can be measured again by its command.
    let fast = points(&r).iter().find(|p| p["id"] == "cpu-threads/fast-portable/t1/b64").unwrap();
    let again = rerun(fast);
    assert_eq!(again["threads"], 1);
    rerun(auto_point);

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for p in points(&r) {
        assert!(
            md.contains(&format!("`{}`", p["command"].as_str().unwrap())),
            "report.md lacks {}",
            p["command"]
        );
    }
    assert!(
        md.contains("## CPU by threads") && md.contains("## What `auto` picks") && md.contains("ratios"),
        "{md}"
    );
    assert_eq!(md.contains("debug build"), m["build_profile"] == "debug");
    let scaling = svg_texts(&out.join("cpu-scaling.svg"));
    assert!(scaling.contains("reference") && scaling.contains("fast/portable"), "legend names every series");
    assert!(md.contains("](cpu-scaling.svg)") && md.contains("](throughput-by-batch.svg)"));
    svg_texts(&out.join("throughput-by-batch.svg"));
    svg_texts(&out.join("latency-by-batch.svg"));
    let _ = std::fs::remove_dir_all(&out);
}

/// Needs a GPU adapter (lavapipe counts); skipped without one unless TOS_POOL_REQUIRE_GPU=1.
fn gpu_available() -> bool {
    let out = tos_pool().args(["hash", "--backend", "gpu", "00"]).output().unwrap();
    if out.status.success() {
        return true;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        std::env::var("TOS_POOL_REQUIRE_GPU").map_or(true, |v| v != "1"),
        "TOS_POOL_REQUIRE_GPU=1 but the GPU hash failed: {err}"
    );
    eprintln!("skipping: needs a GPU adapter: {err}");
    false
}

#[test]
fn a_quick_adapter_report_never_calls_a_cpu_rasteriser_a_gpu() {
    if !gpu_available() {
        return;
    }
    let out = out_dir("gpu");
    let r = report(&out, &["--backends", "gpu"]);
    assert_figures_are_consistent(&r);
    let adapters = r["machine"]["adapters"].as_array().unwrap();
    assert!(!adapters.is_empty());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let chart = svg_texts(&out.join("throughput-by-batch.svg"));
    for a in adapters {
        let i = a["index"].as_u64().unwrap();
        let on: Vec<&Value> = points(&r).iter().filter(|p| p["gpu"]["adapter_index"] == i).collect();
        let cpu_type = a["device_type"] == "cpu";
        if cpu_type {
            assert_eq!(a["hardware"], "cpu-rasteriser");
            assert!(on.iter().all(|p| p["hardware"] == "cpu-rasteriser"), "adapter #{i}");
            assert!(on.iter().all(|p| p["command"].as_str().unwrap().contains("--allow-cpu-adapter")));
            assert!(
                md.contains(&format!("## Adapter #{i}: ")) && !md.contains(&format!("## GPU #{i}:")),
                "{md}"
            );
        }
        let same_device_earlier =
            adapters.iter().any(|b| b["index"].as_u64() < Some(i) && b["name"] == a["name"]);
        if same_device_earlier {
            let prefix = format!("gpu/a{i}/");
            assert!(
                on.is_empty()
                    && r["skipped"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s["id"].as_str().unwrap().starts_with(&prefix))
            );
            continue;
        }
        // Every arithmetic variant × both kernels, on the first adapter of each device.
        let mut ariths = vec!["vec2<u32>"];
        if a["shader_int64"] == true {
            ariths.push("u64");
        }
        for arith in ariths {
            for kernel in ["lane", "coop"] {
                let p = on.iter().find(|p| p["gpu"]["arithmetic"] == arith && p["gpu"]["kernel"] == kernel);
                let p = p
                    .unwrap_or_else(|| panic!("adapter #{i}: no {arith} {kernel} point: {:#}", r["skipped"]));
                if p["gpu"]["timestamps"] == true {
                    assert!(p["kernel_ms_p50"].as_f64().unwrap() > 0.0, "{p}");
                    assert!(
                        p["raw"]["kernel_ms"].as_array().unwrap().iter().all(|k| k.as_f64().is_some()),
                        "{p}"
                    );
                }
                assert!(
                    p["raw"]["wait_ms"].as_array().unwrap().len()
                        == p["raw"]["batch_latency_ms"].as_array().unwrap().len()
                );
            }
        }
    }
    if adapters[0]["device_type"] == "cpu" {
        assert!(chart.contains("[CPU rasteriser]"), "chart legends mark CPU-rasteriser series");
        assert!(
            r["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("not GPU figures"))
        );
        assert!(md.contains("**Not GPU figures.**"));
        let coop = points(&r)
            .iter()
            .find(|p| p["gpu"]["kernel"] == "coop" && p["gpu"]["adapter_index"] == 0)
            .unwrap();
        let again = rerun(coop);
        assert_eq!(again["adapter"]["device_type"], "cpu");
    }
    let _ = std::fs::remove_dir_all(&out);
}

fn compare(a: &Path, b: &Path, out: &Path) -> std::process::Output {
    tos_pool().args(["bench", "compare"]).arg(a).arg(b).arg("--out").arg(out).output().unwrap()
}

#[test]
fn compare_puts_two_reports_side_by_side_with_ratios_on_common_points() {
    let (a_dir, b_dir, out) = (out_dir("cmp-a"), out_dir("cmp-b"), out_dir("cmp-out"));
    let a = report(&a_dir, &["--backends", "cpu", "--label", "alpha"]);
    let mut b = report(&b_dir, &["--backends", "cpu", "--label", "beta"]);
    // One point only alpha has.
    let removed = b["points"].as_array_mut().unwrap().remove(0);
    let b_path = b_dir.join("report.json");
    std::fs::write(&b_path, serde_json::to_string(&b).unwrap()).unwrap();
    let o = compare(&a_dir.join("report.json"), &b_path, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("| | alpha | beta |"), "machines side by side: {text}");
    assert!(text.contains(&format!("| cores | {} | {} |", a["machine"]["cores"], b["machine"]["cores"])));
    for p in points(&b) {
        let id = p["id"].as_str().unwrap();
        let q = points(&a).iter().find(|q| q["id"] == id).unwrap();
        let ratio = p["hashes_per_second"].as_f64().unwrap() / q["hashes_per_second"].as_f64().unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("{id}: {text}"));
        assert!(line.contains(&format!(" {ratio:.2}× |")), "{line} (want {ratio:.2}×)");
    }
    let removed_id = removed["id"].as_str().unwrap();
    assert!(!text.contains(&format!("| `{removed_id}` |")), "not a common point");
    assert!(text.contains(&format!("## Common points ({})", points(&b).len())));
    assert!(text.contains("1 point(s) only in alpha"), "{text}");
    assert_eq!(std::fs::read_to_string(out.join("compare.md")).unwrap(), text);
    for chart in ["cpu-scaling.svg", "throughput-by-batch-cpu.svg", "latency-by-batch-cpu.svg"] {
        let svg = svg_texts(&out.join(chart));
        assert!(svg.contains("alpha") && svg.contains("beta"), "{chart}: one series per machine");
    }

    // A report of another schema version is refused, not misread.
    b["schema_version"] = 2.into();
    std::fs::write(&b_path, serde_json::to_string(&b).unwrap()).unwrap();
    let o = compare(&a_dir.join("report.json"), &b_path, &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("schema version 2"));
    for d in [a_dir, b_dir, out] {
        let _ = std::fs::remove_dir_all(d);
    }
}
