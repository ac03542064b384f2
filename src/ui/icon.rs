//! The application icon: the window/taskbar icon and the picture on the first-run wizard (the same artwork as the
//! installers; assets/icons/make-icons.sh renders it from tilldesk.svg).

/// The 256 × 256 PNG.
pub const APP_ICON_PNG: &[u8] = include_bytes!("../../assets/icons/tilldesk-256.png");

/// The icon as an egui texture; None (and a log line) if the embedded PNG cannot be decoded.
pub fn texture(ctx: &egui::Context) -> Option<egui::TextureHandle> {
    match image::load_from_memory_with_format(APP_ICON_PNG, image::ImageFormat::Png) {
        Ok(img) => {
            let rgba = img.to_rgba8();
            let size = [rgba.width() as usize, rgba.height() as usize];
            let color = egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw());
            Some(ctx.load_texture("tilldesk-icon", color, egui::TextureOptions::LINEAR))
        }
        Err(e) => {
            tracing::warn!("the app icon cannot be decoded: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_icon_is_a_256_pixel_png() {
        let img = image::load_from_memory(super::APP_ICON_PNG).unwrap();
        assert_eq!((img.width(), img.height()), (256, 256));
    }
}
