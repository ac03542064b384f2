//! EMVCo merchant-presented QR payloads (store codes), Alipay+ MPM codes and CDS data.
//!
//! - [`emv`]: EMVCo MPM TLV codec (lengths in characters, CRC-16/CCITT-FALSE over UTF-8 bytes), typed payload.
//! - [`alipayplus`]: `HTTPS://<domain>/MPM/3/<Base64>` codes with 4-character objects (`PLVS`, `CDSD`, `CIRD`).
//! - [`store_code`]: builds and reads a store's code in either format, with or without CDS data.
//! - [`qr`]: byte-mode QR symbols (ECI 000026 for UTF-8), PNG output, reading codes from PNG/JPEG images.
//!
//! Research behind the formats: `/work/shared/research/mpm-cds.md`.

pub mod alipayplus;
pub mod crc;
pub mod decode;
pub mod emv;
pub mod error;
pub mod qr;
pub mod store_code;

pub use alipayplus::AlipayPlusCode;
pub use emv::{EmvPayload, MerchantAccount, Tlv, parse_tlv};
pub use error::{FieldProblem, MpmError};
pub use qr::{ErrorCorrection, QrMatrix, decode_image, qr_matrix, qr_symbol_width, render_png};
pub use store_code::{
    AcquirerReference, CdsData, CodeFormat, DecodedStoreCode, StoreCodeInput, build_store_code, decode_store_code,
};
