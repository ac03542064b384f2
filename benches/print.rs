//! 1,000 table tents (A6, code on both faces, Chinese names) to one PDF: time and file size.
//!
//! `cargo bench --bench print` prints criterion's estimate and, after it, the PDF's size; the same with a logo. The
//! PDFs are streamed to a file (`print::save_pdf`), as the command line and the app write them.
//! `PRINT_BENCH_MEMORY=1 cargo bench --bench print` instead streams 1,000 stores × three templates (3,000 pages) to
//! one file and prints the process's peak memory.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tilldesk::mpm::{AcquirerReference, CodeFormat, StoreCodeInput, build_store_code};
use tilldesk::print::{self, Logo, StandData, Template};

fn stands(n: usize) -> Vec<StandData> {
    (1..=n)
        .map(|i| {
            let name_zh = format!("幸运面馆第{i}分店");
            let mut input = StoreCodeInput::example_for_tests(&format!("LUCKY NOODLES {i}"), &name_zh);
            input.store_label = format!("S{i:04}");
            let refs = [
                AcquirerReference { guid: "com.alipay.sandbox".into(), merchant_id: format!("20880000{i:08}") },
                AcquirerReference { guid: "com.tenpay.sandbox".into(), merchant_id: format!("19{i:08}") },
            ];
            StandData {
                store_code: format!("S{i:04}"),
                name_zh,
                name_latin: format!("Lucky Noodles Branch {i}"),
                payload: build_store_code(CodeFormat::Emvco, &input, &refs, None).unwrap(),
                badges: vec!["支付宝 Alipay".into(), "微信支付 WeChat Pay".into()],
            }
        })
        .collect()
}

fn logo() -> Logo {
    let img = image::RgbaImage::from_fn(256, 256, |x, y| image::Rgba([(x % 256) as u8, (y % 256) as u8, 160, 255]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    Logo::from_bytes(&png, std::path::Path::new("bench-logo.png")).unwrap()
}

fn render(stands: &[StandData], logo: Option<&Logo>, out: &Path) -> u64 {
    print::save_pdf(out, stands, &[Template::Tent], logo, &mut |_, _| {}, &AtomicBool::new(false)).unwrap()
}

/// Peak resident memory of this process so far (Linux: VmHWM), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// 1,000 stores × tent, sticker and poster (3,000 pages) streamed to one file, alone in this process: the peak
/// memory is the writer's, not criterion's.
fn memory_run(out: &Path) {
    let stands = stands(1000);
    let before = peak_rss();
    let start = Instant::now();
    let bytes = print::save_pdf(out, &stands, &Template::ALL, None, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
    println!(
        "3000 pages (1000 stores x tent, sticker, poster): {:.2} s, {bytes} bytes; peak memory {} MB (before rendering {} MB)",
        start.elapsed().as_secs_f64(),
        peak_rss().map_or("?".into(), |b| format!("{:.1}", b as f64 / 1e6)),
        before.map_or("?".into(), |b| format!("{:.1}", b as f64 / 1e6)),
    );
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let keep = std::env::var_os("PRINT_BENCH_PDF").map(PathBuf::from);
    let plain_path = keep.clone().unwrap_or_else(|| dir.path().join("1000.pdf"));
    let logo_path = dir.path().join("1000-logo.pdf");
    if std::env::var_os("PRINT_BENCH_MEMORY").is_some() {
        memory_run(&dir.path().join("3000.pdf"));
        return;
    }
    let stands = stands(1000);
    let logo = logo();
    let mut group = c.benchmark_group("print");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("1000_tents_to_pdf", |b| b.iter(|| black_box(render(&stands, None, &plain_path))));
    group.bench_function("1000_tents_with_logo_to_pdf", |b| {
        b.iter(|| black_box(render(&stands, Some(&logo), &logo_path)))
    });
    group.finish();
    let plain = render(&stands, None, &plain_path);
    let with_logo = render(&stands, Some(&logo), &logo_path);
    println!(
        "1000 tents: {} bytes ({:.1} KB/page); with logo: {} bytes ({:.1} KB/page); peak memory of this process {} MB",
        plain,
        plain as f64 / 1000.0 / 1024.0,
        with_logo,
        with_logo as f64 / 1000.0 / 1024.0,
        peak_rss().map_or("?".into(), |b| format!("{:.1}", b as f64 / 1e6)),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
