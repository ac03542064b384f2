//! Malformed bills: each gets a precise error (file, line, column, the offending text) and leaves the database
//! empty. Then property tests: no input makes either parser (or the import around them) panic, and a failed import
//! never leaves rows behind.

mod recon_common;

use std::io::{Read as _, Write as _};

use proptest::prelude::*;
use recon_common::{bill_counts, fixture};
use tilldesk::recon::{ImportControl, ImportOptions, ReconError, import_bytes, import_file};
use tilldesk::store::Store;

fn wechat_text() -> String {
    std::fs::read_to_string(fixture("wechat_20261124.txt")).unwrap()
}

/// The 业务明细 CSV out of the Alipay fixture, decoded from GBK.
fn alipay_detail() -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(fixture("alipay_20261124.csv.zip")).unwrap()).unwrap();
    let mut bytes = Vec::new();
    zip.by_index(0).unwrap().read_to_end(&mut bytes).unwrap();
    let (text, _, errors) = encoding_rs::GBK.decode(&bytes);
    assert!(!errors);
    text.into_owned()
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, errors) = encoding_rs::GBK.encode(text);
    assert!(!errors);
    bytes.into_owned()
}

fn zip_of(entry: &str, content: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(entry, zip::write::SimpleFileOptions::default()).unwrap();
    w.write_all(content).unwrap();
    w.finish().unwrap().into_inner()
}

/// Imports `bytes` as file `name`, expects an error, checks the database is empty, returns the message.
fn refused(name: &str, bytes: &[u8]) -> (ReconError, String) {
    let mut store = Store::open_in_memory().unwrap();
    let err = import_bytes(&mut store, name, bytes, &ImportOptions::default(), &ImportControl::new()).unwrap_err();
    assert_eq!(bill_counts(&store), (0, 0), "{name}: nothing may be left behind after: {err}");
    let msg = err.to_string();
    (err, msg)
}

#[test]
fn a_truncated_zip_is_refused() {
    let bytes = std::fs::read(fixture("alipay_20261124.csv.zip")).unwrap();
    let (err, msg) = refused("alipay_20261124.csv.zip", &bytes[..bytes.len() / 2]);
    assert!(matches!(err, ReconError::BadZip { .. }), "{msg}");
    assert!(msg.starts_with("alipay_20261124.csv.zip: the zip file is damaged or cut short"), "{msg}");
    assert!(msg.ends_with("download the bill again"), "{msg}");
}

#[test]
fn wrong_encodings_are_named() {
    // A WeChat bill re-saved as GBK by a spreadsheet.
    let (err, msg) = refused("wechat.txt", &gbk(&wechat_text()));
    assert!(matches!(err, ReconError::Wechat { .. }), "{msg}");
    assert!(msg.starts_with("wechat.txt: line 1 is not UTF-8 text"), "{msg}");

    // An Alipay file with bytes that are not GBK inside a goods name (line 8: the third row).
    let detail = alipay_detail();
    let mut bytes = gbk(&detail);
    let at = bytes.windows(gbk("双人下午茶").len()).position(|w| w == gbk("双人下午茶").as_slice()).unwrap();
    bytes[at] = 0xFF;
    bytes[at + 1] = 0xFF;
    let (err, msg) = refused("detail.csv", &bytes);
    assert!(matches!(err, ReconError::Encoding { line: 8, .. }), "{msg}");
    assert!(msg.starts_with("detail.csv line 8: the text is not valid GBK text"), "{msg}");
    assert!(msg.contains("商品名称: \u{fffd}"), "the offending text is shown: {msg}");

    // The same inside the zip names the zip and the entry.
    let (_, msg) = refused("bill.csv.zip", &zip_of("x_20261124_业务明细.csv", &bytes));
    assert!(msg.starts_with("bill.csv.zip: x_20261124_业务明细.csv line 8"), "{msg}");

    // UTF-16 (a spreadsheet's "Unicode text").
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(wechat_text().encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let (_, msg) = refused("wechat.txt", &utf16);
    assert!(msg.starts_with("wechat.txt: the file is UTF-16 (as a spreadsheet saves"), "{msg}");
}

#[test]
fn a_missing_column_is_named() {
    let text = wechat_text().replacen("商户订单号", "订单号", 1);
    let (_, msg) = refused("wechat.txt", text.as_bytes());
    assert_eq!(msg, "wechat.txt: line 1: the header has no column 商户订单号, which every WeChat Pay bill has");

    let detail = alipay_detail().replacen("退款批次号/请求号", "批次号", 1);
    let (_, msg) = refused("detail.csv", &gbk(&detail));
    assert_eq!(msg, "detail.csv line 5: the header has no column 退款批次号/请求号; is this an Alipay 业务明细 file?");
}

#[test]
fn a_bad_amount_names_line_column_and_text() {
    let text = wechat_text().replacen("`22.00,", "`22.0x,", 1);
    let (_, msg) = refused("wechat.txt", text.as_bytes());
    assert_eq!(msg, "wechat.txt: line 7, column 应结订单金额: \"22.0x\" is not an amount");

    let detail = alipay_detail().replacen(",100.00,100.00,", ",1OO.00,100.00,", 1);
    let (_, msg) = refused("detail.csv", &gbk(&detail));
    assert_eq!(msg, "detail.csv line 11, column 订单金额（元）: \"1OO.00\" is not an amount");
    let (_, msg) = refused("a.csv.zip", &zip_of("a_业务明细.csv", &gbk(&detail)));
    assert_eq!(msg, "a.csv.zip: a_业务明细.csv line 11, column 订单金额（元）: \"1OO.00\" is not an amount");

    let text = wechat_text().replacen("`SUCCESS,`CMB_DEBIT", "`PAYERROR,`CMB_DEBIT", 1);
    let (_, msg) = refused("wechat.txt", text.as_bytes());
    assert_eq!(msg, "wechat.txt line 2, column 交易状态: \"PAYERROR\" is not SUCCESS, REFUND or REVOKED");
}

#[test]
fn totals_that_do_not_add_up_are_refused_or_flagged() {
    let text = wechat_text().replace("`285.50,", "`285.60,");
    let (err, msg) = refused("wechat.txt", text.as_bytes());
    assert!(matches!(err, ReconError::TotalsMismatch { .. }));
    assert_eq!(
        msg,
        "wechat.txt: the bill's own totals do not match its rows: 订单总金额 is 285.60 in the summary but the rows add \
         up to 285.50. Nothing was imported"
    );
    let text = wechat_text().replace("`10,`220.50", "`11,`220.50");
    let (_, msg) = refused("wechat.txt", text.as_bytes());
    assert!(msg.contains("总交易单数 is 11 in the summary but the rows add up to 10"), "{msg}");

    let detail = alipay_detail().replace("商家实收共447.00元", "商家实收共446.00元");
    let (_, msg) = refused("detail.csv", &gbk(&detail));
    assert!(msg.contains("交易合计 商家实收 is 446.00 in the footer but the rows add up to 447.00"), "{msg}");

    // Accepted on request, and flagged on the bill and in the report.
    let mut store = Store::open_in_memory().unwrap();
    let options = ImportOptions { accept_mismatched_totals: true, ..Default::default() };
    let outcome = import_bytes(&mut store, "detail.csv", &gbk(&detail), &options, &ImportControl::new()).unwrap();
    assert!(outcome.bill.totals_mismatch.as_deref().unwrap().contains("446.00"));
    assert!(outcome.message(tilldesk::i18n::Lang::En).contains("Warning: the bill's totals do not match"));
    let report = tilldesk::recon::reconcile(
        &mut store,
        tilldesk::model::AcquirerKind::Alipay,
        time::macros::date!(2026 - 11 - 24),
        &Default::default(),
        tilldesk::i18n::Lang::En,
    )
    .unwrap();
    assert_eq!(report.warnings.len(), 1);
}

#[test]
fn cut_short_bills_are_refused() {
    let text = wechat_text();
    let cut = &text[..text.find("总交易单数").unwrap()];
    let (_, msg) = refused("wechat.txt", cut.as_bytes());
    assert!(msg.starts_with("wechat.txt: line 11: the bill ends without its summary"), "{msg}");

    let detail = alipay_detail();
    let cut = &detail[..detail.find("#交易合计").unwrap()];
    let (_, msg) = refused("detail.csv", &gbk(cut));
    assert!(msg.starts_with("detail.csv: the file ends without the bill's totals (#交易合计"), "{msg}");
}

#[test]
fn files_that_are_no_bill_are_refused() {
    let (_, msg) = refused("photo.png", b"\x89PNG\r\n\x1a\n....");
    assert!(msg.starts_with("photo.png: this is not a bill TillDesk knows"), "{msg}");
    let (_, msg) = refused("empty.txt", b"");
    assert!(msg.starts_with("empty.txt: this is not a bill TillDesk knows"), "{msg}");
    let mut store = Store::open_in_memory().unwrap();
    let err = import_file(&mut store, &fixture("no-such-bill.txt"), &ImportOptions::default(), &ImportControl::new())
        .unwrap_err();
    assert!(err.to_string().contains("no-such-bill.txt: cannot read the file"), "{err}");
    // The user said WeChat, the file is Alipay.
    let options =
        ImportOptions { acquirer: Some(tilldesk::model::AcquirerKind::WechatPay), ..ImportOptions::default() };
    let err =
        import_file(&mut store, &fixture("alipay_20261124.csv.zip"), &options, &ImportControl::new()).unwrap_err();
    assert!(err.to_string().ends_with("is an Alipay bill, but it was imported as a WeChat Pay bill"), "{err}");
    assert_eq!(bill_counts(&store), (0, 0));
}

/// Imports anything; must not panic, and a failure must leave nothing behind.
fn import_anything(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut store = Store::open_in_memory().unwrap();
    let result = import_bytes(&mut store, "fuzz", bytes, &ImportOptions::default(), &ImportControl::new());
    let counts = bill_counts(&store);
    match result {
        Ok(outcome) => prop_assert_eq!(counts, (1, outcome.bill.row_count)),
        Err(e) => {
            prop_assert_eq!(counts, (0, 0));
            prop_assert!(!e.to_string().is_empty());
        }
    }
    Ok(())
}

/// A fixture with a few bytes changed, some bytes cut out, and maybe its end cut off.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..6),
        proptest::collection::vec((0..len, 0usize..40), 0..3),
        proptest::option::of(0..len),
    )
        .prop_map(move |(edits, cuts, truncate)| {
            let mut bytes = base.clone();
            for (at, b) in edits {
                if at < bytes.len() {
                    bytes[at] = b;
                }
            }
            for (at, n) in cuts {
                if at < bytes.len() {
                    let end = (at + n).min(bytes.len());
                    bytes.drain(at..end);
                }
            }
            if let Some(t) = truncate {
                bytes.truncate(t);
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        import_anything(&bytes)?;
    }

    #[test]
    fn text_that_looks_like_a_bill_never_panics(
        header in prop_oneof![Just("交易时间,公众账号ID,微信订单号,商户订单号,交易状态,订单金额"), Just("#支付宝业务明细查询")],
        lines in proptest::collection::vec("[`,0-9.\\-:交易退款SUCCESS#合计笔元共 \t\"]{0,60}", 0..8),
    ) {
        let text = format!("{header}\n{}\n", lines.join("\n"));
        import_anything(text.as_bytes())?;
        import_anything(&gbk_lossy(&text))?;
    }

    #[test]
    fn a_damaged_wechat_bill_never_panics(bytes in mutated(std::fs::read(fixture("wechat_20261124.txt")).unwrap())) {
        import_anything(&bytes)?;
    }

    #[test]
    fn a_damaged_alipay_detail_never_panics(bytes in mutated(gbk(&alipay_detail()))) {
        import_anything(&bytes)?;
    }

    #[test]
    fn a_damaged_alipay_zip_never_panics(bytes in mutated(std::fs::read(fixture("alipay_20261124.csv.zip")).unwrap())) {
        import_anything(&bytes)?;
    }
}

fn gbk_lossy(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

// ---------------------------------------------------------------------------------------------------------------
// Issue 18: values against the header, the Alipay 汇总, line length, UTF-16

/// The fixture zip's entries (names decoded from GBK) and their bytes.
fn alipay_entries() -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(fixture("alipay_20261124.csv.zip")).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let name = encoding_rs::GBK.decode(entry.name_raw()).0.into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

fn zip_of_entries(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in entries {
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The fixture zip with its 汇总 text changed by `edit`.
fn alipay_zip_with_summary(edit: impl Fn(&str) -> String) -> Vec<u8> {
    let entries: Vec<(String, Vec<u8>)> = alipay_entries()
        .into_iter()
        .map(|(name, bytes)| {
            if name.contains("汇总") {
                let text = encoding_rs::GBK.decode(&bytes).0.into_owned();
                (name, gbk(&edit(&text)))
            } else {
                (name, bytes)
            }
        })
        .collect();
    zip_of_entries(&entries)
}

#[test]
fn an_alipay_row_with_more_or_fewer_values_than_its_header_is_refused() {
    // An extra value after 商家优惠 would move the fee into 券核销金额 and "0.00" into the refund number.
    let detail =
        alipay_detail().replacen(",60.00,55.00,0.00,0.00,0.00,5.00,", ",60.00,55.00,0.00,0.00,0.00,5.00,1.00,", 1);
    let (err, msg) = refused("detail.csv", &gbk(&detail));
    assert!(matches!(err, ReconError::Alipay(_)), "{msg}");
    assert_eq!(msg, "detail.csv line 8: the row has 26 columns, but the header has 25");
    let detail = alipay_detail().replacen(",60.00,55.00,0.00,0.00,0.00,5.00,", ",60.00,55.00,0.00,0.00,5.00,", 1);
    let (_, msg) = refused("detail.csv", &gbk(&detail));
    assert_eq!(msg, "detail.csv line 8: the row has 24 columns, but the header has 25");
}

#[test]
fn the_alipay_summary_is_checked_against_the_rows() {
    // The fixture's own 汇总 agrees with its rows (实收净额 317.05 = 商家实收 319.00 + 服务费 −1.95).
    let mut store = Store::open_in_memory().unwrap();
    let zip = std::fs::read(fixture("alipay_20261124.csv.zip")).unwrap();
    let outcome =
        import_bytes(&mut store, "a.csv.zip", &zip, &ImportOptions::default(), &ImportControl::new()).unwrap();
    assert!(outcome.warnings.is_empty());
    let totals: serde_json::Value = serde_json::from_str(&store_totals_json(&store, outcome.bill.id.0)).unwrap();
    assert_eq!(totals["summary"]["stated"]["net_amount"], "317.05");
    assert_eq!(totals["summary"]["stated"]["service_fee"], "-1.95");
    assert_eq!(totals["summary"]["rows"]["trade_count"], 8);

    // A 合计 that does not match the rows refuses the import, naming the entry, the column and both values.
    let fee = |t: &str| {
        t.replace(
            "合计,,8,3,324.00,319.00,0.00,5.00,0.00,-1.95,0.00,317.05",
            "合计,,8,3,324.00,319.00,0.00,5.00,0.00,-1.85,0.00,317.15",
        )
    };
    let (err, msg) = refused("a.csv.zip", &alipay_zip_with_summary(fee));
    assert!(matches!(err, ReconError::TotalsMismatch { .. }), "{msg}");
    assert_eq!(
        msg,
        "a.csv.zip: the bill's own totals do not match its rows: 20880211096256330156_20261124_业务明细(汇总).csv 合计 \
         row, column 服务费（元）: -1.85 stated, but the detail rows add up to -1.95; 20880211096256330156_20261124_业务明细\
         (汇总).csv 合计 row, column 实收净额（元）: 317.15 stated, but the detail rows add up to 317.05. Nothing was imported"
    );
    let count = |t: &str| t.replace("合计,,8,3,", "合计,,8,4,");
    let (_, msg) = refused("a.csv.zip", &alipay_zip_with_summary(count));
    assert!(msg.contains("column 退款订单总笔数: 4 stated, but the detail rows add up to 3"), "{msg}");
}

/// The stored totals_json of a bill.
fn store_totals_json(store: &Store, bill_id: i64) -> String {
    store.recon().bill_totals_json(tilldesk::model::BillId(bill_id)).unwrap().unwrap()
}

#[test]
fn the_same_rows_with_another_summary_are_another_bill() {
    let mut store = Store::open_in_memory().unwrap();
    let zip = std::fs::read(fixture("alipay_20261124.csv.zip")).unwrap();
    let first = import_bytes(&mut store, "a.csv.zip", &zip, &ImportOptions::default(), &ImportControl::new()).unwrap();
    let accept = ImportOptions { accept_mismatched_totals: true, ..Default::default() };
    let other = alipay_zip_with_summary(|t| t.replace(",0.00,317.05", ",0.01,317.05"));
    let second = import_bytes(&mut store, "b.csv.zip", &other, &accept, &ImportControl::new()).unwrap();
    assert!(!second.already_imported, "a different 汇总 is a different bill");
    assert_eq!(second.replaced.map(|b| b.id), Some(first.bill.id));
    assert!(second.bill.totals_mismatch.as_deref().unwrap().contains("column 分润（元）: 0.01 stated"));
    // A re-download (another export time only) is the same bill.
    let later = alipay_zip_with_summary(|t| t.replace(",0.00,317.05", ",0.01,317.05").replace("05:46:49", "06:00:00"));
    let third = import_bytes(&mut store, "c.csv.zip", &later, &accept, &ImportControl::new()).unwrap();
    assert!(third.already_imported);
}

#[test]
fn a_zip_without_its_summary_imports_and_says_so() {
    let entries: Vec<(String, Vec<u8>)> = alipay_entries().into_iter().filter(|(n, _)| !n.contains("汇总")).collect();
    let mut store = Store::open_in_memory().unwrap();
    let outcome = import_bytes(
        &mut store,
        "a.csv.zip",
        &zip_of_entries(&entries),
        &ImportOptions::default(),
        &ImportControl::new(),
    )
    .unwrap();
    assert_eq!(outcome.bill.row_count, 11);
    assert_eq!(outcome.warnings, [tilldesk::recon::import::ImportWarning::NoSummaryEntry]);
    let en = outcome.message(tilldesk::i18n::Lang::En);
    assert!(
        en.ends_with(
            "Note: the import had no 业务明细(汇总) file, so the totals were checked against the detail's footer only."
        ),
        "{en}"
    );
    let zh = outcome.message(tilldesk::i18n::Lang::ZhCn);
    assert!(zh.ends_with("注意：导入的文件中没有业务明细(汇总)，合计只按明细末尾的合计行核对。"), "{zh}");
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["warnings"][0], "no_summary_entry");
    assert_eq!(json["bill_type"], "trade");
}

/// A WeChat bill whose second line is `len` bytes of 'x', made as it is read (never held whole), counting what
/// the reader takes.
struct LongLine {
    head: std::io::Cursor<Vec<u8>>,
    left: u64,
    taken: std::rc::Rc<std::cell::Cell<u64>>,
}

impl std::io::Read for LongLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        let n = if n > 0 {
            n
        } else {
            let n = buf.len().min(usize::try_from(self.left).unwrap());
            buf[..n].fill(b'x');
            self.left -= n as u64;
            n
        };
        self.taken.set(self.taken.get() + n as u64);
        Ok(n)
    }
}

#[test]
fn the_wechat_reader_caps_the_line_length() {
    let header = wechat_text().lines().next().unwrap().to_owned() + "\n";
    let taken = std::rc::Rc::new(std::cell::Cell::new(0));
    let input = LongLine { head: std::io::Cursor::new(header.into_bytes()), left: 50 << 20, taken: taken.clone() };
    let mut reader = tilldesk::channel::wechatpay::bill::BillReader::new(std::io::BufReader::new(input)).unwrap();
    let err = reader.next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2 is longer than 65536 bytes: no WeChat Pay bill line is that long; this is not a bill file"
    );
    assert!(taken.get() < 128 * 1024, "a 50 MB line is not read whole: {} bytes read", taken.get());

    let mut text = wechat_text();
    let at = text.find("饭团").unwrap_or_else(|| text.find("\n`").unwrap() + 2);
    text.insert_str(at, &"长".repeat(30_000));
    let (_, msg) = refused("wechat.txt", text.as_bytes());
    assert!(msg.starts_with("wechat.txt: line 2 is longer than 65536 bytes"), "{msg}");
}

fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let bom: &[u8] = if bom { &[0xFF, 0xFE] } else { &[] };
    bom.iter().copied().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
}

#[test]
fn a_utf16_bill_names_the_encoding() {
    for bom in [true, false] {
        // Inside an Alipay zip.
        let (err, msg) = refused("a.csv.zip", &zip_of("x_20261124_业务明细.csv", &utf16le(&alipay_detail(), bom)));
        assert!(matches!(err, ReconError::AlipayIn { .. }), "{msg}");
        assert_eq!(
            msg,
            "a.csv.zip: x_20261124_业务明细.csv: the file is UTF-16 (as a spreadsheet saves \"Unicode text\"), but \
             Alipay bills are GBK: use the file as Alipay served it, or download it again"
        );
        // The detail CSV alone, and a WeChat text.
        let (_, msg) = refused("detail.csv", &utf16le(&alipay_detail(), bom));
        assert!(msg.starts_with("detail.csv: the file is UTF-16") && msg.contains("but Alipay bills are GBK"), "{msg}");
        let (err, msg) = refused("wechat.txt", &utf16le(&wechat_text(), bom));
        assert!(matches!(err, ReconError::Utf16 { .. }), "{msg}");
        assert!(
            msg.starts_with("wechat.txt: the file is UTF-16") && msg.contains("but WeChat Pay bills are UTF-8"),
            "{msg}"
        );
    }
    // The WeChat reader on its own says the same.
    let err = tilldesk::channel::wechatpay::bill::BillReader::new(&utf16le(&wechat_text(), true)[..]).unwrap_err();
    assert!(err.to_string().contains("WeChat Pay bills are UTF-8"), "{err}");
}
