//! The Alipay bill readers: any bytes, as a 业务明细 CSV, as a 业务明细(汇总) file and as a bill zip, are read without a
//! panic, and the totals the detail reader keeps are the sums of the rows it returned.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tilldesk::channel::alipay::bill::{BillFooter, DetailReader, SummaryFigures, open_detail_entry, read_summary};

fn read_detail<R: std::io::Read>(mut reader: DetailReader<R>) {
    let rows: Vec<_> = reader.by_ref().take(10_000).filter_map(Result::ok).collect();
    assert_eq!(*reader.row_totals(), BillFooter::of_rows(&rows));
    let mut figures = SummaryFigures::default();
    rows.iter().for_each(|r| figures.add_row(r));
    assert_eq!(*reader.row_figures(), figures);
}

fuzz_target!(|data: &[u8]| {
    read_detail(DetailReader::new(Cursor::new(data), "f.csv"));
    let _ = read_summary(Cursor::new(data), "s.csv");
    if let Ok(mut entry) = open_detail_entry(Cursor::new(data)) {
        let _ = entry.read_summary();
        if let Ok(reader) = entry.reader() {
            read_detail(reader);
        }
    }
});
