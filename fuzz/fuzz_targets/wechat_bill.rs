//! The WeChat Pay bill reader: any bytes are read row by row without a panic, every error names a line the reader
//! reached, and the borrowed and owned rows say the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tilldesk::channel::wechatpay::bill::{BillError, BillReader};

fuzz_target!(|data: &[u8]| {
    let owned: Vec<_> = match BillReader::new(data) {
        Ok(reader) => reader.take(10_000).collect(),
        Err(e) => {
            assert!(matches!(e.line(), None | Some(1..)), "{e}");
            return;
        }
    };
    let Ok(mut reader) = BillReader::new(data) else { panic!("the header read once, not twice") };
    let mut i = 0;
    while let Some(row) = reader.next_row() {
        if i >= owned.len() {
            break;
        }
        let line = reader_line(&row);
        match (&row, &owned[i]) {
            (Ok(r), Ok(o)) => assert_eq!(&r.to_row(), o, "row {i}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "row {i}"),
            _ => panic!("borrowed and owned rows differ at row {i}"),
        }
        if let Some(line) = line {
            assert!(line >= 1, "line {line}");
        }
        i += 1;
    }
});

fn reader_line<T>(row: &Result<T, BillError>) -> Option<usize> {
    row.as_ref().err().and_then(BillError::line)
}
