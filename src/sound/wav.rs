//! Just enough WAV: read a 16-bit PCM file's format and samples, and write one file from several clips.
//!
//! Written here rather than with a crate: the clips are ours (sox output), only 16-bit PCM is read, and the
//! 44-byte header the players need is a dozen lines whose bytes the tests check.

use super::SoundError;

/// The samples of a 16-bit PCM WAV file, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pcm<'a> {
    pub sample_rate: u32,
    pub channels: u16,
    /// Little-endian 16-bit samples, interleaved.
    pub data: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Pcm<'a> {
    /// Reads a RIFF/WAVE file: its `fmt ` chunk (PCM, 16 bits) and its `data` chunk; other chunks are skipped.
    pub fn read(bytes: &'a [u8]) -> Result<Pcm<'a>, SoundError> {
        if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
            return Err(SoundError::NotWav("no RIFF/WAVE header"));
        }
        let mut at = 12;
        let mut format = None;
        while let (Some(id), Some(len)) = (bytes.get(at..at + 4), u32_at(bytes, at + 4)) {
            let body = at + 8;
            let end = body.checked_add(len as usize).ok_or(SoundError::NotWav("chunk too long"))?;
            match id {
                b"fmt " => {
                    let tag = u16_at(bytes, body).ok_or(SoundError::NotWav("short fmt chunk"))?;
                    let channels = u16_at(bytes, body + 2).ok_or(SoundError::NotWav("short fmt chunk"))?;
                    let sample_rate = u32_at(bytes, body + 4).ok_or(SoundError::NotWav("short fmt chunk"))?;
                    let bits = u16_at(bytes, body + 14).ok_or(SoundError::NotWav("short fmt chunk"))?;
                    if tag != 1 || bits != 16 || channels == 0 {
                        return Err(SoundError::NotWav("not 16-bit PCM"));
                    }
                    format = Some((sample_rate, channels));
                }
                b"data" => {
                    let (sample_rate, channels) = format.ok_or(SoundError::NotWav("data before fmt"))?;
                    // A writer that did not know the length in advance may say more than there is.
                    let data = bytes.get(body..end.min(bytes.len())).ok_or(SoundError::NotWav("no data"))?;
                    let data = &data[..data.len() - data.len() % 2];
                    return Ok(Pcm { sample_rate, channels, data });
                }
                _ => {}
            }
            // Chunks are padded to an even length.
            at = end + (len as usize % 2);
        }
        Err(SoundError::NotWav("no data chunk"))
    }
}

/// The 44-byte header of a PCM WAV file holding `data_len` bytes of 16-bit samples.
pub fn header(sample_rate: u32, channels: u16, data_len: u32) -> [u8; 44] {
    let block_align = channels * 2;
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// Joins clips of one format into one WAV file, every sample scaled to `volume` percent (0–100), with `gap_ms` of
/// silence between clips.
pub fn join(clips: &[&[u8]], volume: u8, gap_ms: u32) -> Result<Vec<u8>, SoundError> {
    let volume = i32::from(volume.min(100));
    let mut format = None;
    let mut data = Vec::new();
    for bytes in clips {
        let pcm = Pcm::read(bytes)?;
        let this = (pcm.sample_rate, pcm.channels);
        match format {
            None => format = Some(this),
            Some(f) if f != this => return Err(SoundError::MixedFormats),
            Some((rate, channels)) => {
                let gap = (rate as usize * gap_ms as usize / 1000) * usize::from(channels) * 2;
                data.resize(data.len() + gap, 0);
            }
        }
        data.reserve(pcm.data.len());
        for s in pcm.data.chunks_exact(2) {
            let sample = i32::from(i16::from_le_bytes([s[0], s[1]]));
            let scaled = (sample * volume / 100) as i16;
            data.extend_from_slice(&scaled.to_le_bytes());
        }
    }
    let (rate, channels) = format.ok_or(SoundError::NothingToPlay)?;
    let len = u32::try_from(data.len()).map_err(|_| SoundError::NotWav("too long"))?;
    let mut out = Vec::with_capacity(44 + data.len());
    out.extend_from_slice(&header(rate, channels, len));
    out.extend_from_slice(&data);
    Ok(out)
}

/// How long a WAV file plays.
pub fn duration(bytes: &[u8]) -> std::time::Duration {
    match Pcm::read(bytes) {
        Ok(p) if p.sample_rate > 0 => {
            let frames = p.data.len() as u64 / (2 * u64::from(p.channels));
            std::time::Duration::from_millis(frames * 1000 / u64::from(p.sample_rate))
        }
        _ => std::time::Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(samples: &[i16]) -> Vec<u8> {
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut out = header(16_000, 1, data.len() as u32).to_vec();
        out.extend(data);
        out
    }

    #[test]
    fn joined_clips_have_right_header_lengths_and_scaled_samples() {
        let a = wav(&[1000, -1000, 32767]);
        let b = wav(&[-32768, 200]);
        let out = join(&[&a, &b], 50, 0).unwrap();
        assert_eq!(out.len(), 44 + 5 * 2);
        assert_eq!(&out[0..4], b"RIFF");
        assert_eq!(u32_at(&out, 4), Some(36 + 10), "RIFF length = file length - 8");
        assert_eq!(u32_at(&out, 40), Some(10), "data length");
        assert_eq!(u32_at(&out, 24), Some(16_000));
        assert_eq!(u32_at(&out, 28), Some(32_000), "byte rate");
        let pcm = Pcm::read(&out).unwrap();
        let samples: Vec<i16> = pcm.data.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]])).collect();
        assert_eq!(samples, [500, -500, 16383, -16384, 100]);
        // Full volume keeps the samples; zero silences them.
        let full = join(&[&a], 100, 0).unwrap();
        assert_eq!(&full[44..], &a[44..]);
        assert!(join(&[&a], 0, 0).unwrap()[44..].iter().all(|b| *b == 0));
    }

    #[test]
    fn a_gap_is_silence_between_clips_only() {
        let a = wav(&[5, 5]);
        let out = join(&[&a, &a], 100, 10).unwrap();
        // 10 ms at 16 kHz mono = 160 samples.
        assert_eq!(u32_at(&out, 40), Some((2 + 160 + 2) * 2));
        assert_eq!(duration(&out), std::time::Duration::from_millis(10));
    }

    #[test]
    fn other_chunks_are_skipped_and_bad_files_refused() {
        let a = wav(&[7, 8]);
        let mut with_list = a[..36].to_vec();
        with_list.extend(b"LIST");
        with_list.extend(3u32.to_le_bytes());
        with_list.extend([1, 2, 3, 0]);
        with_list.extend(&a[36..]);
        assert_eq!(Pcm::read(&with_list).unwrap().data, &a[44..]);
        assert!(matches!(Pcm::read(b"RIFF\0\0\0\0WAVEjunk"), Err(SoundError::NotWav(_))));
        assert!(matches!(Pcm::read(b"not a wav"), Err(SoundError::NotWav(_))));
        let mut other = a.clone();
        other[24..28].copy_from_slice(&8000u32.to_le_bytes());
        assert!(matches!(join(&[&a, &other], 100, 0), Err(SoundError::MixedFormats)));
        assert!(matches!(join(&[], 100, 0), Err(SoundError::NothingToPlay)));
    }
}
