//! Reading printed codes back: PDF pages rasterised with pdftoppm (poppler-utils, installed by .ci/run) and every
//! QR code in a picture decoded with rqrr. Shared by the print tests and the Store codes screen's test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every QR code in an image (a table tent has two).
pub fn decode_all(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .iter()
        .map(|g| g.decode().unwrap_or_else(|e| panic!("a code was found but could not be read: {e}")).1)
        .collect()
}

pub fn tool(name: &str) -> Command {
    let found =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file())).unwrap_or(false);
    assert!(found, "{name} is missing: install poppler-utils (.ci/run does: apt-get install -y poppler-utils)");
    Command::new(name)
}

/// Rasterises every page of `pdf` at `dpi`; the PNGs in page order.
pub fn rasterise(pdf: &Path, dpi: u32) -> Vec<Vec<u8>> {
    let dir = pdf.with_extension("pages");
    std::fs::create_dir_all(&dir).unwrap();
    let status = tool("pdftoppm").args(["-r", &dpi.to_string(), "-png"]).arg(pdf).arg(dir.join("p")).status().unwrap();
    assert!(status.success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}
