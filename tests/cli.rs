//! End-to-end tests of the `tos-pool` binary's offline commands.

use std::process::Command;

fn tos_pool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tos-pool"))
}

#[test]
fn hash_prints_the_node_vectors() {
    let cases = [
        (
            "7465737420696e70757420666f7220746f732068617368207633",
            "3657e1aed85be845d7924e9ad88041a9d821c1425450374406e89f84ea5d24c3",
        ),
        (&"00".repeat(112), "b9685f2eaa611ecf95862c8b2fd9376db7891f01d62dff24bc3fdb60d6906c02"),
    ];
    for (input, want) in cases {
        for extra in [&[][..], &["--reference"][..]] {
            let out = tos_pool().arg("hash").arg(input).args(extra).output().unwrap();
            assert!(out.status.success(), "{out:?}");
            assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{want}\n"));
        }
    }
}

#[test]
fn hash_refuses_bad_input_with_exit_code_2() {
    for bad in ["", "zz", "abc", "0x00"] {
        let out = tos_pool().arg("hash").arg(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "input {bad:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("must be non-empty hex"), "{err}");
    }
}

#[test]
fn bench_verify_reports_json_throughput() {
    for imp in ["fast", "reference"] {
        let out = tos_pool()
            .args([
                "bench",
                "verify",
                "--backend",
                "cpu",
                "--impl",
                imp,
                "--shares",
                "64",
                "--threads",
                "2",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["hashes_per_second"].as_f64().unwrap() > 0.0);
        assert_eq!(v["threads"], 2);
        assert_eq!(v["shares"], 64);
        assert!(v["implementation"].as_str().unwrap().starts_with(if imp == "fast" {
            "fast/"
        } else {
            "reference"
        }));
    }
    let out = tos_pool().args(["bench", "verify", "--shares", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// These need a GPU adapter (lavapipe counts); skipped without one unless TOS_POOL_REQUIRE_GPU=1.
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
fn hash_on_the_gpu_matches_the_vectors() {
    if !gpu_available() {
        return;
    }
    for (input, want) in [
        (
            "7465737420696e70757420666f7220746f732068617368207633",
            "3657e1aed85be845d7924e9ad88041a9d821c1425450374406e89f84ea5d24c3",
        ),
        (&"00".repeat(112), "b9685f2eaa611ecf95862c8b2fd9376db7891f01d62dff24bc3fdb60d6906c02"),
    ] {
        let out = tos_pool().args(["hash", "--backend", "gpu", input]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{want}\n"));
    }
    let out = tos_pool().args(["hash", "--backend", "gpu", &"00".repeat(113)]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_verify_gpu_and_auto_report_the_adapter() {
    if !gpu_available() {
        return;
    }
    for backend in ["gpu", "auto"] {
        let out = tos_pool()
            .args(["bench", "verify", "--backend", backend, "--batch", "64", "--shares", "128", "--json"])
            .args(["--workgroup-size", "64", "--threads", "1", "--kernel", "lane", "--allow-cpu-adapter"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if backend == "gpu" {
            let t = &v["gpu_timing"];
            assert!(t["wait_ms_p50"].as_f64().unwrap() > 0.0, "{v}");
            if v["adapter"]["timestamps"] == true {
                assert!(t["kernel_ms_p50"].as_f64().unwrap() > 0.0, "{v}");
            }
        }
        assert!(v["hashes_per_second"].as_f64().unwrap() > 0.0);
        assert!(v["batch_latency_ms_p99"].as_f64().unwrap() >= v["batch_latency_ms_p50"].as_f64().unwrap());
        let adapter = &v["adapter"];
        assert!(!adapter["name"].as_str().unwrap().is_empty(), "{v}");
        assert!(
            ["discrete-gpu", "integrated-gpu", "virtual-gpu", "cpu", "other"]
                .contains(&adapter["device_type"].as_str().unwrap())
        );
        assert!(["u64", "vec2<u32>"].contains(&adapter["arithmetic"].as_str().unwrap()));
        if adapter["device_type"] == "cpu" {
            // Without the flag, a CPU rasteriser is refused, naming the missing driver.
            let out = tos_pool()
                .args(["bench", "verify", "--backend", backend, "--batch", "64", "--shares", "64"])
                .args(["--kernel", "lane", "--workgroup-size", "64", "--threads", "1"])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            if backend == "gpu" {
                assert_eq!(out.status.code(), Some(1), "{err}");
                assert!(err.contains("refusing the CPU rasteriser") && err.contains("Vulkan"), "{err}");
            } else {
                assert!(out.status.success(), "auto falls back to the CPU: {err}");
            }
        }
    }
}
