//! The writer against the client's reader: what the sandbox writes, `channel::alipay::bill` reads back.

use std::io::{Cursor, Read};

use encoding_rs::GBK;
use proptest::prelude::*;
use time::macros::{date, datetime};
use zip::ZipArchive;

use super::*;
use crate::channel::alipay::bill::{BillError, BillKind, BillMeta, DetailReader, open_detail_entry};

const ACCOUNT: &str = "20880211096256330156";

fn row(kind: BillKind, n: u32, subject: &str, fen: i64) -> AlipayBillRow {
    AlipayBillRow {
        trade_no: format!("20190916220014588605153154{n:02}"),
        out_trade_no: format!("service_{n}"),
        kind,
        subject: subject.to_owned(),
        created_at: datetime!(2019-09-16 10:55:16),
        finished_at: datetime!(2019-09-16 10:56:48),
        store_id: "alipay_store".into(),
        store_name: "西湖店".into(),
        operator_id: "alipay".into(),
        terminal_id: String::new(),
        buyer_account: "*津水(602***@qq.com)".into(),
        order_amount: Amount::from_fen(fen),
        receipt_amount: Amount::from_fen(fen),
        alipay_red_packet: Amount::ZERO,
        jifenbao: Amount::ZERO,
        alipay_discount: Amount::ZERO,
        merchant_discount: Amount::ZERO,
        coupon_amount: Amount::ZERO,
        coupon_name: String::new(),
        merchant_red_packet: Amount::ZERO,
        card_amount: Amount::ZERO,
        out_request_no: (kind == BillKind::Refund).then(|| format!("re_{n}")),
        service_fee: Amount::from_fen(if kind == BillKind::Trade { -fen / 100 } else { 0 }),
        profit_share: Amount::ZERO,
        remark: subject.to_owned(),
    }
}

fn sample_rows() -> Vec<AlipayBillRow> {
    let mut second_store = row(BillKind::Trade, 3, "拿铁咖啡（大杯）, \"加冰\"", 3600);
    second_store.store_id = "NJ_001".into();
    second_store.store_name = "南京店".into();
    second_store.merchant_discount = Amount::from_fen(200);
    second_store.terminal_id = "T-9".into();
    vec![
        row(BillKind::Trade, 1, "下单测试", 1),
        row(BillKind::Refund, 1, "下单测试", -1),
        row(BillKind::Trade, 2, "龍井茶 多行\n备注", 12_345),
        second_store,
    ]
}

fn read_all<R: Read>(reader: DetailReader<R>) -> (Vec<AlipayBillRow>, Option<BillFooter>, BillFooter, BillMeta) {
    let mut reader = reader;
    let rows: Vec<AlipayBillRow> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    (rows, reader.footer().copied(), *reader.row_totals(), reader.meta().clone())
}

fn zip_of(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        zip.start_file_with_options(SimpleFileOptions::default().name(name)).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// (name bytes, general purpose flags) of every central directory header.
fn central_entries(zip: &[u8]) -> Vec<(Vec<u8>, u16)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 46 <= zip.len() {
        if zip[i..i + 4] == *b"PK\x01\x02" {
            let flags = u16::from_le_bytes([zip[i + 8], zip[i + 9]]);
            let name_len = usize::from(u16::from_le_bytes([zip[i + 28], zip[i + 29]]));
            out.push((zip[i + 46..i + 46 + name_len].to_vec(), flags));
            i += 46 + name_len;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn write_then_read_gives_the_same_rows() {
    let rows = sample_rows();
    let zip = write_bill_zip(ACCOUNT, date!(2019 - 09 - 16), &rows, "2019年09月17日 05:46:49").unwrap();
    let mut entry = open_detail_entry(Cursor::new(zip)).unwrap();
    assert_eq!(entry.name(), "20880211096256330156_20190916_业务明细.csv");
    let (back, footer, totals, meta) = read_all(entry.reader().unwrap());
    assert_eq!(back, rows);
    let expected = BillFooter {
        trade_count: 3,
        trade_receipt: Amount::from_fen(1 + 12_345 + 3600),
        trade_merchant_discount: Amount::from_fen(200),
        refund_count: 1,
        refund_receipt: Amount::from_fen(-1),
        refund_merchant_discount: Amount::ZERO,
    };
    assert_eq!(footer, Some(expected));
    assert_eq!(totals, expected);
    assert_eq!(meta.account.as_deref(), Some(ACCOUNT));
    assert_eq!(meta.start, Some(datetime!(2019-09-16 00:00:00)));
    assert_eq!(meta.end, Some(datetime!(2019-09-17 00:00:00)));
    assert_eq!(meta.exported_at.as_deref(), Some("2019年09月17日 05:46:49"));
}

#[test]
fn the_zip_looks_like_alipays() {
    let rows = sample_rows();
    let zip = write_bill_zip(ACCOUNT, date!(2019 - 09 - 16), &rows, "2019年09月17日 05:46:49").unwrap();
    assert_eq!(bill_zip_name(ACCOUNT, date!(2019 - 09 - 16)), "20880211096256330156_20190916.csv.zip");
    let detail_name = GBK.encode("20880211096256330156_20190916_业务明细.csv").0.into_owned();
    let summary_name = GBK.encode("20880211096256330156_20190916_业务明细(汇总).csv").0.into_owned();
    let entries = central_entries(&zip);
    assert_eq!(entries.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), vec![detail_name, summary_name]);
    for (name, flags) in &entries {
        assert!(std::str::from_utf8(name).is_err(), "the GBK name must not pass as UTF-8");
        assert_eq!(flags & 0x0800, 0, "the UTF-8 (language encoding) flag must be clear");
    }

    let mut archive = ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut detail = Vec::new();
    archive.by_index(0).unwrap().read_to_end(&mut detail).unwrap();
    let (detail, _, errors) = GBK.decode(&detail);
    assert!(!errors);
    let lines: Vec<&str> = detail.lines().collect();
    assert_eq!(lines[0], "#支付宝业务明细查询");
    assert_eq!(lines[1], "#账号：[20880211096256330156]");
    assert_eq!(lines[2], "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]");
    assert_eq!(
        lines[3],
        "#-----------------------------------------业务明细列表----------------------------------------"
    );
    assert_eq!(lines[4].split(',').count(), 25);
    assert!(lines[4].starts_with("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号"));
    assert_eq!(
        lines[5],
        "2019091622001458860515315401\t,service_1\t,交易\t,下单测试,2019-09-16 10:55:16,2019-09-16 10:56:48,\
         alipay_store\t,西湖店\t,alipay\t,\t,*津水(602***@qq.com)\t,0.01,0.01,0.00,0.00,0.00,0.00,0.00,,0.00\t,\
         0.00,\t,0.00,0.00,下单测试"
    );
    assert!(lines[6].contains(",退款\t,") && lines[6].contains(",-0.01,-0.01,") && lines[6].contains(",re_1\t,"));
    let tail = &lines[lines.len() - 4..];
    assert_eq!(
        tail[0],
        "#-----------------------------------------业务明细列表结束------------------------------------"
    );
    assert_eq!(tail[1], "#交易合计：3笔，商家实收共159.46元，商家优惠共2.00元");
    assert_eq!(tail[2], "#退款合计：1笔，商家实收退款共-0.01元，商家优惠退款共0.00元");
    assert_eq!(tail[3], "#导出时间：[2019年09月17日 05:46:49]");

    let mut summary = Vec::new();
    archive.by_index(1).unwrap().read_to_end(&mut summary).unwrap();
    let (summary, _, _) = GBK.decode(&summary);
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines[0], "#支付宝业务汇总查询");
    assert_eq!(
        lines[3],
        "#-----------------------------------------业务汇总列表----------------------------------------"
    );
    assert_eq!(
        lines[4],
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,\
         商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
    );
    assert_eq!(lines[5], "NJ_001,南京店,1,0,36.00,36.00,0.00,2.00,0.00,-0.36,0.00,35.64");
    assert_eq!(lines[6], "alipay_store,西湖店,2,1,123.45,123.45,0.00,0.00,0.00,-1.23,0.00,122.22");
    assert_eq!(lines[7], "合计,,3,1,159.45,159.45,0.00,2.00,0.00,-1.59,0.00,157.86");
    assert_eq!(
        lines[8],
        "#----------------------------------------业务汇总列表结束-------------------------------------"
    );
    assert_eq!(lines[9], "#导出时间：[2019年09月17日 05:46:49]");
}

#[test]
fn the_written_summary_reads_back() {
    let zip = write_bill_zip(ACCOUNT, date!(2019 - 09 - 16), &sample_rows(), "2019年09月17日 05:46:49").unwrap();
    let mut entry = open_detail_entry(Cursor::new(zip)).unwrap();
    assert_eq!(entry.summary_name(), Some("20880211096256330156_20190916_业务明细(汇总).csv"));
    let summary = entry.read_summary().unwrap().unwrap();
    assert_eq!(summary.stores.len(), 2);
    assert_eq!((summary.total.trade_count, summary.total.refund_count), (3, 1));
    assert_eq!(summary.total.service_fee.to_string(), "-1.59");
    assert_eq!(summary.total.net_amount.to_string(), "157.86");
    assert!(!summary.content().contains("导出时间"), "the export time is not content");
}

#[test]
fn bad_accounts_and_the_last_day_are_refused() {
    for account in ["", "a/b", "a\\b"] {
        let err = write_bill_zip(account, date!(2019 - 09 - 16), &[], "t").unwrap_err();
        assert!(matches!(err, BillWriteError::Account { .. }), "{account:?}: {err}");
    }
    let err = write_bill_zip(ACCOUNT, time::Date::MAX, &[], "t").unwrap_err();
    assert!(matches!(err, BillWriteError::LastDay { .. }), "{err}");
}

#[test]
fn characters_gbk_cannot_hold_become_question_marks() {
    let mut r = row(BillKind::Trade, 1, "咖啡☕", 100);
    r.remark = "ok".into();
    let zip = write_bill_zip(ACCOUNT, date!(2024 - 01 - 01), &[r], "x").unwrap();
    let mut entry = open_detail_entry(Cursor::new(zip)).unwrap();
    let (rows, ..) = read_all(entry.reader().unwrap());
    assert_eq!(rows[0].subject, "咖啡?");
}

#[test]
fn crlf_files_parse() {
    let rows = sample_rows();
    let text = detail_text(ACCOUNT, date!(2019 - 09 - 16), &rows, "t").unwrap().replace('\n', "\r\n");
    let (back, footer, ..) = read_all(DetailReader::new(Cursor::new(gbk_encode_lossy(&text)), "业务明细.csv"));
    // A CRLF inside a quoted value reads back as LF.
    assert_eq!(back, rows);
    assert_eq!(footer.map(|f| f.trade_count), Some(3));
}

#[test]
fn utf8_files_and_entry_names_are_accepted() {
    let rows = sample_rows();
    let text = detail_text(ACCOUNT, date!(2019 - 09 - 16), &rows, "t").unwrap();
    let zip = zip_of(&[
        ("x_20190916_业务明细(汇总).csv".as_bytes(), b"#summary\n"),
        ("bills/x_20190916_业务明细.csv".as_bytes(), text.as_bytes()),
    ]);
    let mut entry = open_detail_entry(Cursor::new(zip)).unwrap();
    assert_eq!(entry.name(), "x_20190916_业务明细.csv");
    assert_eq!(read_all(entry.reader().unwrap()).0, rows);
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    assert_eq!(read_all(DetailReader::new(Cursor::new(with_bom), "f.csv")).0, rows);
}

#[test]
fn a_bad_amount_names_line_and_column_and_reading_goes_on() {
    let text = detail_text(ACCOUNT, date!(2019 - 09 - 16), &sample_rows(), "t").unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Line 7 (1-based) is the second data row.
    lines[6] = lines[6].replacen(",-0.01,", ",1.2x,", 1);
    let bytes = gbk_encode_lossy(&(lines.join("\n") + "\n"));
    let name = "20880211096256330156_20190916_业务明细.csv";
    let results: Vec<_> = DetailReader::new(Cursor::new(bytes), name).collect();
    assert_eq!(results.len(), 4);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.to_string(), format!("{name} line 7, column 订单金额（元）: \"1.2x\" is not an amount"));
    assert!(matches!(err, BillError::BadAmount { line: 7, column: "订单金额（元）", .. }));
    assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok());
}

#[test]
fn columns_are_mapped_by_header_name() {
    let mut rows = sample_rows();
    rows[2].subject = "龍井茶".into();
    rows[2].remark = "单行".into();
    // 备注 moved to the front, the header with ASCII parentheses, and an unknown column.
    let last = DETAIL_COLUMNS.len() - 1;
    let reorder = |cells: Vec<String>| {
        let mut out = vec![cells[last].clone(), "extra".to_owned()];
        out.extend(cells[..last].iter().cloned());
        out
    };
    let mut moved = String::from("#支付宝业务明细查询\n");
    let header: Vec<String> = DETAIL_COLUMNS.iter().map(|c| c.name.replace('（', "(").replace('）', ")")).collect();
    push_row(&mut moved, &reorder(header));
    for row in &rows {
        push_row(&mut moved, &reorder(row_cells(row).to_vec()));
    }
    assert!(moved.contains("\n备注,extra,支付宝交易号,"));
    let (back, ..) = read_all(DetailReader::new(Cursor::new(gbk_encode_lossy(&moved)), "f.csv"));
    assert_eq!(back, rows);

    let text = detail_text(ACCOUNT, date!(2019 - 09 - 16), &rows, "t").unwrap();
    let without = text.replace("退款批次号/请求号", "请求号");
    let err = DetailReader::new(Cursor::new(without.into_bytes()), "f.csv").next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "f.csv line 5: the header has no column 退款批次号/请求号; is this an Alipay 业务明细 file?"
    );
}

fn subject_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('咖'),
            Just('啡'),
            Just('龍'),
            Just('（'),
            Just(','),
            Just('"'),
            Just(' '),
            Just('\n'),
            proptest::char::range('a', 'z'),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_rows_round_trip(
        specs in proptest::collection::vec(
            (any::<bool>(), subject_strategy(), 1i64..10_000_000, -500i64..500, 0u32..86_400),
            0..8,
        )
    ) {
        let rows: Vec<AlipayBillRow> = specs
            .iter()
            .enumerate()
            .map(|(i, (refund, subject, fen, fee, secs))| {
                let kind = if *refund { BillKind::Refund } else { BillKind::Trade };
                let mut r = row(kind, u32::try_from(i).unwrap(), subject, if *refund { -fen } else { *fen });
                r.service_fee = Amount::from_fen(*fee);
                r.finished_at = datetime!(2019-09-16 00:00:00) + time::Duration::seconds(i64::from(*secs));
                r.subject = subject.trim_matches('\t').to_owned();
                r
            })
            .collect();
        let zip = write_bill_zip(ACCOUNT, date!(2019 - 09 - 16), &rows, "t").unwrap();
        let mut entry = open_detail_entry(Cursor::new(zip)).unwrap();
        let (back, footer, totals, _) = read_all(entry.reader().unwrap());
        prop_assert_eq!(&back, &rows);
        prop_assert_eq!(footer, Some(BillFooter::of_rows(&rows)));
        prop_assert_eq!(totals, BillFooter::of_rows(&rows));
        // The 汇总 written for the rows reads back as their sums.
        let summary = entry.read_summary().unwrap().unwrap();
        let mut figures = SummaryFigures::default();
        rows.iter().for_each(|r| figures.add_row(r));
        prop_assert_eq!(summary.total, figures);
        prop_assert_eq!(summary.total.net_amount, add(figures.receipt_amount, figures.service_fee));
        prop_assert_eq!(summary.stores.len(), usize::from(!rows.is_empty()));
    }
}
