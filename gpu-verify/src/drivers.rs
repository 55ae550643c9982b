//! Saying which Vulkan driver is missing when the only adapter is a CPU rasteriser.
//!
//! The usual cause on a GPU server is a missing ICD (the Vulkan driver's manifest in
//! `/usr/share/vulkan/icd.d` or `/etc/vulkan/icd.d`): Mesa's llvmpipe is then all the loader
//! finds. The display-class devices on the PCI bus say which vendor's driver that is.

use std::path::Path;

/// PCI vendor ids of GPU makers.
const NVIDIA: &str = "0x10de";
const AMD: &str = "0x1002";
const INTEL: &str = "0x8086";

/// A sentence naming the missing driver, from this machine's PCI bus and ICD manifests.
pub fn missing_driver_hint() -> String {
    hint(
        &pci_display_vendors(Path::new("/sys/bus/pci/devices")),
        &icd_manifests(&[Path::new("/usr/share/vulkan/icd.d"), Path::new("/etc/vulkan/icd.d")]),
    )
}

/// The hint for these display-device vendors (PCI ids, e.g. "0x10de") and installed ICD manifests.
pub fn hint(vendors: &[String], icds: &[String]) -> String {
    let installed = if icds.is_empty() {
        "no Vulkan ICD manifests installed".to_owned()
    } else {
        format!("installed ICDs: {}", icds.join(", "))
    };
    let mut needs: Vec<&str> = Vec::new();
    for v in vendors {
        let need = match v.as_str() {
            NVIDIA => {
                "an NVIDIA GPU is on the PCI bus but NVIDIA's Vulkan driver is not loaded: install the NVIDIA \
                 driver's Vulkan ICD (nvidia_icd.json, e.g. Debian's nvidia-vulkan-icd); in a container, \
                 NVIDIA_DRIVER_CAPABILITIES must include `graphics`, not only `compute,utility`"
            }
            AMD => {
                "an AMD GPU is on the PCI bus but no RADV/AMDVLK driver is loaded: install mesa-vulkan-drivers (RADV)"
            }
            INTEL => {
                "an Intel GPU is on the PCI bus but no ANV driver is loaded: install mesa-vulkan-drivers (ANV)"
            }
            _ => continue,
        };
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    if needs.is_empty() {
        format!(
            "no GPU is visible on this machine's PCI bus (in a container or VM, the device must be passed \
             through) and the Vulkan loader found no GPU driver; {installed}"
        )
    } else {
        format!("{}; {installed}", needs.join("; "))
    }
}

/// Vendor ids of the PCI devices of display class (0x03xxxx) under `root` (`/sys/bus/pci/devices`).
pub fn pci_display_vendors(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("class")).is_ok_and(|c| c.trim().starts_with("0x03"))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("vendor")).ok())
        .map(|v| v.trim().to_lowercase())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// File names of the ICD manifests in `dirs`.
pub fn icd_manifests(dirs: &[&Path]) -> Vec<String> {
    let mut out: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_vendor_driver_that_is_missing() {
        let icds = vec!["lvp_icd.x86_64.json".to_owned()];
        let h = hint(&[NVIDIA.to_owned()], &icds);
        assert!(
            h.contains("NVIDIA's Vulkan driver") && h.contains("graphics") && h.contains("lvp_icd"),
            "{h}"
        );
        assert!(hint(&[AMD.to_owned()], &[]).contains("RADV"));
        assert!(hint(&[INTEL.to_owned()], &[]).contains("ANV"));
        let none = hint(&["0x1af4".to_owned()], &[]);
        assert!(none.contains("no GPU is visible") && none.contains("no Vulkan ICD"), "{none}");
    }

    #[test]
    fn reads_display_devices_and_manifests_from_the_filesystem() {
        let root = std::env::temp_dir().join(format!("tos-pool-pci-{}", std::process::id()));
        let dev = |name: &str, class: &str, vendor: &str| {
            let d = root.join("pci").join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("class"), format!("{class}\n")).unwrap();
            std::fs::write(d.join("vendor"), format!("{vendor}\n")).unwrap();
        };
        dev("0000:00:01.0", "0x060000", INTEL); // a bridge: not a display device
        dev("0000:41:00.0", "0x030200", NVIDIA); // a 3D controller (H100s report 0x0302)
        std::fs::create_dir_all(root.join("icd")).unwrap();
        std::fs::write(root.join("icd/lvp_icd.x86_64.json"), "{}").unwrap();
        std::fs::write(root.join("icd/README"), "").unwrap();
        assert_eq!(pci_display_vendors(&root.join("pci")), [NVIDIA]);
        assert_eq!(icd_manifests(&[&root.join("icd"), &root.join("absent")]), ["lvp_icd.x86_64.json"]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
