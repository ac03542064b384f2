//! Printing store codes end to end: every template to PNG and to PDF, the PDF rasterised with pdftoppm
//! (poppler-utils, installed by .ci/run), every code read back with rqrr and compared byte for byte; a 100-store
//! batch; the CLI; the print panel.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use tilldesk::mpm::{AcquirerReference, CodeFormat, StoreCodeInput, build_store_code};
use tilldesk::print::{self, Logo, StandData, Template};

fn stand(i: usize) -> StandData {
    let name_zh = format!("测试门店{i}号");
    let mut input = StoreCodeInput::example_for_tests(&format!("TEST STORE {i}"), &name_zh);
    input.store_label = format!("S{i:04}");
    let refs = [
        AcquirerReference { guid: "com.alipay.sandbox".into(), merchant_id: format!("20880000{i:08}") },
        AcquirerReference { guid: "com.tenpay.sandbox".into(), merchant_id: format!("19{i:08}") },
    ];
    StandData {
        store_code: format!("S{i:04}"),
        name_zh,
        name_latin: format!("Test Store No. {i}"),
        payload: build_store_code(CodeFormat::Emvco, &input, &refs, None).unwrap(),
        badges: vec!["支付宝 Alipay".into(), "微信支付 WeChat Pay".into()],
    }
}

/// Every QR code in an image (a table tent has two).
fn decode_all(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .iter()
        .map(|g| g.decode().unwrap_or_else(|e| panic!("a code was found but could not be read: {e}")).1)
        .collect()
}

fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "{name} is missing: install poppler-utils (.ci/run does: apt-get install -y poppler-utils)");
    Command::new(name)
}

/// Rasterises every page of `pdf` at `dpi`; the PNGs in page order.
fn rasterise(pdf: &Path, dpi: u32) -> Vec<Vec<u8>> {
    let dir = pdf.with_extension("pages");
    std::fs::create_dir_all(&dir).unwrap();
    let status = tool("pdftoppm").args(["-r", &dpi.to_string(), "-png"]).arg(pdf).arg(dir.join("p")).status().unwrap();
    assert!(status.success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn pdf_pages(pdf: &Path) -> usize {
    let out = tool("pdfinfo").arg(pdf).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap()
}

/// (name, type, embedded, subset) of every font in the PDF.
fn pdf_fonts(pdf: &Path) -> Vec<(String, String, bool, bool)> {
    let out = tool("pdffonts").arg(pdf).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(2)
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let n = cols.len();
            // name type [type…] encoding emb sub uni object ID
            (cols[0].to_owned(), cols[1..n - 6].join(" "), cols[n - 5] == "yes", cols[n - 4] == "yes")
        })
        .collect()
}

fn pdf_text(pdf: &Path) -> String {
    let out = tool("pdftotext").arg(pdf).arg("-").output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// How many distinct images the PDF embeds.
fn pdf_image_count(pdf: &Path) -> usize {
    let out = tool("pdfimages").arg("-list").arg(pdf).output().unwrap();
    // Columns: page num type … object ID …; a page that draws the same image twice lists it twice.
    let mut objects: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(2)
        .filter(|l| l.split_whitespace().nth(2) == Some("image"))
        .map(|l| l.split_whitespace().nth(10).unwrap().to_owned())
        .collect();
    objects.dedup();
    objects.len()
}

fn write_pdf(dir: &Path, name: &str, stands: &[StandData], templates: &[Template], logo: Option<&Logo>) -> PathBuf {
    let bytes = print::render_pdf(stands, templates, logo, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A logo with detail in it: a red disc with a white cross on blue, 200 × 200 px.
fn logo_png(dir: &Path) -> PathBuf {
    let img = image::RgbaImage::from_fn(200, 200, |x, y| {
        let (dx, dy) = (x as i32 - 100, y as i32 - 100);
        if dx.abs() < 15 || dy.abs() < 15 {
            image::Rgba([255, 255, 255, 255])
        } else if dx * dx + dy * dy < 80 * 80 {
            image::Rgba([220, 30, 40, 255])
        } else {
            image::Rgba([20, 60, 160, 255])
        }
    });
    let path = dir.join("logo.png");
    img.save(&path).unwrap();
    path
}

fn check_template(template: Template, logo: Option<&Logo>, pdf_dpi: u32) {
    let dir = tempfile::tempdir().unwrap();
    let stand = stand(7);
    let expected = vec![stand.payload.clone(); template.codes_per_page()];

    let png = print::render_png(&stand, template, logo, 300).unwrap();
    let decoded = decode_all(&png);
    assert_eq!(decoded, expected, "{template:?} PNG");
    let (w, h) = template.size_mm();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), ((w / 25.4 * 300.0).round() as u32, (h / 25.4 * 300.0).round() as u32));

    let pdf = write_pdf(dir.path(), "one.pdf", std::slice::from_ref(&stand), &[template], logo);
    assert_eq!(pdf_pages(&pdf), 1);
    let pages = rasterise(&pdf, pdf_dpi);
    assert_eq!(pages.len(), 1);
    assert_eq!(decode_all(&pages[0]), expected, "{template:?} PDF");
    for decoded in decode_all(&pages[0]) {
        assert_eq!(decoded.as_bytes(), stand.payload.as_bytes());
    }

    // Chinese is text in an embedded font subset, not a picture; the code is vector (the only image is the logo).
    let fonts = pdf_fonts(&pdf);
    assert!(!fonts.is_empty());
    assert!(fonts.iter().all(|f| f.2 && f.3), "every font embedded as a subset: {fonts:?}");
    let text = pdf_text(&pdf);
    assert!(text.contains("扫码付款") && text.contains("Scan to pay"), "{text}");
    assert!(text.contains("测试门店7号"), "{text}");
    assert_eq!(pdf_image_count(&pdf), usize::from(logo.is_some()));
}

#[test]
fn table_tent_png_and_pdf_scan_on_both_faces() {
    check_template(Template::Tent, None, 200);
}

#[test]
fn sticker_png_and_pdf_scan() {
    check_template(Template::Sticker, None, 300);
}

#[test]
fn poster_png_and_pdf_scan() {
    check_template(Template::Poster, None, 100);
}

#[test]
fn every_template_with_a_centre_logo_still_scans() {
    let dir = tempfile::tempdir().unwrap();
    let logo = Logo::load(&logo_png(dir.path())).unwrap();
    check_template(Template::Sticker, Some(&logo), 300);
    check_template(Template::Tent, Some(&logo), 200);
    check_template(Template::Poster, Some(&logo), 100);
}

#[test]
fn a_batch_of_100_stores_is_100_pages_each_with_its_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let stands: Vec<StandData> = (1..=100).map(stand).collect();
    let mut seen = Vec::new();
    let bytes = print::render_pdf(&stands, &[Template::Sticker], None, &mut |d, t| seen.push((d, t)), &AtomicBool::new(false))
        .unwrap();
    assert_eq!(seen.len(), 100);
    assert_eq!(seen.last(), Some(&(100, 100)));
    let pdf = dir.path().join("batch.pdf");
    std::fs::write(&pdf, &bytes).unwrap();
    assert_eq!(pdf_pages(&pdf), 100);
    // rqrr is a weaker reader than a phone: it misses some codes at 150–200 dpi that zbar reads; 300 dpi is what a
    // printer does anyway.
    let pages = rasterise(&pdf, 300);
    assert_eq!(pages.len(), 100);
    for (page, stand) in pages.iter().zip(&stands) {
        assert_eq!(decode_all(page), [stand.payload.clone()], "page of {}", stand.store_code);
    }
    // One font subset for the whole batch, not one per page.
    assert_eq!(pdf_fonts(&pdf).len(), 1);
}

#[test]
fn one_page_per_store_per_template() {
    let dir = tempfile::tempdir().unwrap();
    let stands: Vec<StandData> = (1..=3).map(stand).collect();
    let pdf = write_pdf(dir.path(), "mixed.pdf", &stands, &Template::ALL, None);
    assert_eq!(pdf_pages(&pdf), 9);
    let out = tool("pdfinfo").args(["-f", "1", "-l", "3"]).arg(&pdf).output().unwrap();
    let sizes: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains("size:"))
        .map(|l| l.split(':').nth(1).unwrap().trim().to_owned())
        .collect();
    // 105 × 148 mm, 60 × 60 mm, 210 × 297 mm in points.
    assert!(sizes[0].starts_with("297.6") && sizes[0].contains("419.5"), "{sizes:?}");
    assert!(sizes[1].starts_with("170.0") && sizes[1].contains("x 170.0"), "{sizes:?}");
    assert!(sizes[2].starts_with("595.2") && sizes[2].contains("841.8"), "{sizes:?}");
}

#[test]
fn a_name_the_bundled_font_lacks_uses_a_system_font_or_says_which_characters() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = stand(1);
    s.name_zh = "喆昇咖啡".into(); // 喆 and 昇 are not in GB2312
    match print::render_pdf(std::slice::from_ref(&s), &[Template::Sticker], None, &mut |_, _| {}, &AtomicBool::new(false)) {
        Ok(bytes) => {
            let pdf = dir.path().join("fallback.pdf");
            std::fs::write(&pdf, bytes).unwrap();
            assert!(pdf_text(&pdf).contains("喆昇咖啡"));
            let fonts = pdf_fonts(&pdf);
            assert_eq!(fonts.len(), 2, "bundled + system font: {fonts:?}");
            assert!(fonts.iter().all(|f| f.2 && f.3));
            let pages = rasterise(&pdf, 300);
            assert_eq!(decode_all(&pages[0]), [s.payload.clone()]);
        }
        Err(e) => {
            eprintln!("no system CJK font on this machine: {e}");
            assert!(e.to_string().contains("喆昇"), "{e}");
        }
    }
}

#[test]
fn png_export_writes_one_file_per_store_and_template_at_300_dpi() {
    let dir = tempfile::tempdir().unwrap();
    let stands: Vec<StandData> = (1..=2).map(stand).collect();
    let files = print::export_pngs(
        &stands,
        &[Template::Sticker],
        None,
        &dir.path().join("png"),
        300,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["S0001-sticker.png", "S0002-sticker.png"]);
    let bytes = std::fs::read(&files[1]).unwrap();
    // pHYs: 300 dpi = 11811 pixels per metre.
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let reader = decoder.read_info().unwrap();
    let dims = reader.info().pixel_dims.unwrap();
    assert_eq!((dims.xppu, dims.unit), (11811, png::Unit::Meter));
    assert_eq!(decode_all(&bytes), [stands[1].payload.clone()]);
}

