//! Reading store codes from pictures, measured (docs/BENCHMARKS.md, "Reading codes from pictures"):
//!
//!     cargo run --release --example qr_sweep
//!
//! 1. Every page of a batch rendered in process at every resolution from 100 to 300 dpi in steps of 5 (two stores
//!    with payloads of different lengths, all three templates, with and without a logo), read back with
//!    `decode_gray` and, for comparison, with rqrr alone (the reader before issue 19).
//! 2. The corpus in tests/fixtures/qr: pages and photos read, against zbarimg's column in expected.tsv.
//! 3. Time per picture (PNG or JPEG bytes in, text out): a clean 300 dpi tent page and a 48-megapixel photo.

use std::path::Path;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage};
use tilldesk::mpm::decode::decode_gray;
use tilldesk::mpm::{AcquirerReference, CdsData, CodeFormat, StoreCodeInput, build_store_code, decode_image};
use tilldesk::print::{self, Logo, StandData, Template};

fn stands() -> Vec<StandData> {
    let input = StoreCodeInput::example_for_tests("LIN NOODLES", "林记面馆");
    let refs = [
        AcquirerReference { guid: "com.alipay.sandbox".into(), merchant_id: "ALIPAYM00000001".into() },
        AcquirerReference { guid: "com.tenpay.sandbox".into(), merchant_id: "WECHATPAYM00000001".into() },
    ];
    let emv = build_store_code(CodeFormat::Emvco, &input, &refs, None).expect("EMVCo code");
    let cds = CdsData { platform_id: "SANDBOXCDS".into(), cds_index: "IDX000000001".into() };
    let alipay = build_store_code(CodeFormat::AlipayPlusMpm, &input, &refs[..1], Some(&cds)).expect("Alipay+ code");
    [("S001", emv), ("S002", alipay)]
        .into_iter()
        .map(|(code, payload)| StandData {
            store_code: code.into(),
            name_zh: "人民广场店".into(),
            name_latin: "People's Square".into(),
            payload,
            badges: vec!["支付宝 Alipay".into(), "微信支付 WeChat Pay".into()],
        })
        .collect()
}

fn gray_page(stand: &StandData, template: Template, logo: Option<&Logo>, dpi: u32) -> GrayImage {
    let page = print::render_rgba(stand, template, logo, dpi).expect("render");
    GrayImage::from_fn(page.width, page.height, |x, y| {
        let i = ((y * page.width + x) * 4) as usize;
        let [r, g, b, a] = [0, 1, 2, 3].map(|k| u32::from(page.pixels[i + k]));
        let luma = (r * 299 + g * 587 + b * 114) / 1000;
        Luma([((luma * a + 255 * (255 - a)) / 255) as u8])
    })
}

/// The reader before issue 19: rqrr alone, every code found read, all the same text.
fn rqrr_alone(gray: &GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(gray.clone());
    let texts: Vec<String> =
        prepared.detect_grids().iter().map(|g| g.decode().ok().map(|(_, t)| t)).collect::<Option<_>>()?;
    let first = texts.first()?.clone();
    texts.iter().all(|t| *t == first).then_some(first)
}

fn median_and_worst(mut times: Vec<Duration>) -> String {
    times.sort();
    format!(
        "median {:.0} ms, worst {:.0} ms",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    )
}

fn main() {
    let logo_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons/tilldesk-256.png");
    let logo = Logo::load(&logo_path).expect("logo");
    let stands = stands();

    // 1. The sweep.
    println!("pages rendered in process, read back (now / rqrr alone):");
    let ranges = [(100, 150), (155, 200), (205, 250), (255, 300)];
    let mut times = Vec::new();
    for (lo, hi) in ranges {
        let (mut total, mut now, mut before) = (0, 0, 0);
        let mut failed = Vec::new();
        for dpi in (lo..=hi).step_by(5) {
            for stand in &stands {
                for template in [Template::Tent, Template::Sticker, Template::Poster] {
                    for with_logo in [None, Some(&logo)] {
                        let gray = gray_page(stand, template, with_logo, dpi);
                        total += 1;
                        before += usize::from(rqrr_alone(&gray).as_deref() == Some(stand.payload.as_str()));
                        let started = Instant::now();
                        let got = decode_gray(gray);
                        times.push(started.elapsed());
                        if got.as_deref() == Ok(stand.payload.as_str()) {
                            now += 1;
                        } else {
                            failed.push(format!(
                                "{} {} {dpi} dpi logo={} ({got:?})",
                                stand.store_code,
                                template.name(),
                                with_logo.is_some()
                            ));
                        }
                    }
                }
            }
        }
        println!("  {lo}–{hi} dpi: {now}/{total} (rqrr alone {before}/{total}) {}", failed.join(", "));
    }
    println!("  time per page (decode_gray, grey pixels in): {}", median_and_worst(times));

    // 2. The corpus.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qr");
    let tsv = std::fs::read_to_string(dir.join("expected.tsv")).expect("tests/fixtures/qr/expected.tsv");
    for kind in ["page-", "photo-"] {
        let (mut total, mut now, mut zbar, mut before) = (0, 0, 0, 0);
        let mut times = Vec::new();
        let mut missed = Vec::new();
        for line in tsv.lines().skip(1).filter(|l| l.starts_with(kind)) {
            let cols: Vec<&str> = line.split('\t').collect();
            let bytes = std::fs::read(dir.join(cols[0])).expect("corpus file");
            total += 1;
            zbar += usize::from(cols[2] == "yes");
            let gray = image::load_from_memory(&bytes).expect("picture").to_luma8();
            before += usize::from(rqrr_alone(&gray).as_deref() == Some(cols[1]));
            let started = Instant::now();
            let got = decode_image(&bytes);
            times.push(started.elapsed());
            match got {
                Ok(text) if text == cols[1] => now += 1,
                Ok(_) => missed.push(format!("{} (WRONG PAYLOAD)", cols[0])),
                Err(_) => missed.push(cols[0].to_owned()),
            }
        }
        println!(
            "corpus {kind}*: {now}/{total} read (zbarimg {zbar}/{total}, rqrr alone {before}/{total}); {}; missed: {}",
            median_and_worst(times),
            missed.join(", ")
        );
    }

    // 3. Time per picture.
    let tent = gray_page(&stands[0], Template::Tent, None, 300);
    let mut png = Vec::new();
    tent.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png).expect("PNG");
    let times = (0..20)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(decode_image(&png).as_deref(), Ok(stands[0].payload.as_str()));
            started.elapsed()
        })
        .collect();
    println!("clean tent page, 300 dpi PNG {}×{}: {}", tent.width(), tent.height(), median_and_worst(times));

    // A 48-megapixel colour photo: the 300 dpi poster enlarged to 5600 px tall on an 8000 × 6000 table, JPEG q85.
    let poster = gray_page(&stands[1], Template::Poster, Some(&logo), 300);
    let scaled = image::imageops::resize(
        &poster,
        poster.width() * 5600 / poster.height(),
        5600,
        image::imageops::FilterType::Triangle,
    );
    let mut photo = RgbImage::from_pixel(8000, 6000, Rgb([122, 82, 48]));
    for (x, y, p) in scaled.enumerate_pixels() {
        let v = p.0[0];
        photo.put_pixel(x + 2000, y + 200, Rgb([v, v, v.saturating_sub(8)]));
    }
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&photo).expect("JPEG");
    let times = (0..5)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(decode_image(&jpeg).as_deref(), Ok(stands[1].payload.as_str()));
            started.elapsed()
        })
        .collect();
    println!("48-megapixel photo (8000×6000 JPEG, {:.1} MB): {}", jpeg.len() as f64 / 1e6, median_and_worst(times));
}
