//! 1,000 table tents (A6, code on both faces, Chinese names) to one PDF: time and file size.
//!
//! `cargo bench --bench print` prints criterion's estimate and, after it, the PDF's size; the same with a logo.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

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

fn render(stands: &[StandData], logo: Option<&Logo>) -> Vec<u8> {
    print::render_pdf(stands, &[Template::Tent], logo, &mut |_, _| {}, &AtomicBool::new(false)).unwrap()
}

fn bench(c: &mut Criterion) {
    let stands = stands(1000);
    let logo = logo();
    let mut group = c.benchmark_group("print");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    group.bench_function("1000_tents_to_pdf", |b| b.iter(|| black_box(render(&stands, None))));
    group.bench_function("1000_tents_with_logo_to_pdf", |b| b.iter(|| black_box(render(&stands, Some(&logo)))));
    group.finish();
    let plain = render(&stands, None);
    let with_logo = render(&stands, Some(&logo));
    println!(
        "1000 tents: {} bytes ({:.1} KB/page); with logo: {} bytes ({:.1} KB/page)",
        plain.len(),
        plain.len() as f64 / 1000.0 / 1024.0,
        with_logo.len(),
        with_logo.len() as f64 / 1000.0 / 1024.0
    );
    if let Ok(path) = std::env::var("PRINT_BENCH_PDF") {
        std::fs::write(path, &plain).unwrap();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
