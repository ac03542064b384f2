#!/bin/sh
# Re-makes the voice clips and tones in assets/sound/ (TillDesk embeds them with include_bytes!).
# Needs espeak-ng (GPL-3.0; its speech output is ours to use) and sox: apt-get install -y espeak-ng sox
# Every clip: 16 kHz, mono, 16-bit PCM WAV, silence trimmed at both ends, so src/sound/ can join them as they are.
set -eu
cd "$(dirname "$0")/../assets/sound"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# say NAME VOICE TEXT: speak TEXT with espeak-ng's VOICE, trim the silence, write NAME.wav
say() {
    espeak-ng -v "$2" -s 190 -w "$tmp/raw.wav" "$3"
    sox "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$1.wav" \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
}

say d0 cmn 零; say d1 cmn 一; say d2 cmn 二; say d3 cmn 三; say d4 cmn 四
say d5 cmn 五; say d6 cmn 六; say d7 cmn 七; say d8 cmn 八; say d9 cmn 九
say shi cmn 十; say bai cmn 百; say qian cmn 千; say wan cmn 万; say yi cmn 亿
say dian cmn 点; say yuan cmn 元
say alipay cmn 支付宝到账
say wechat cmn 微信收款
# "Alipay+ 到账": the wallet's name in English, then 到账 in Chinese.
espeak-ng -v en -s 170 -w "$tmp/a.wav" "Alipay plus"
espeak-ng -v cmn -s 190 -w "$tmp/b.wav" 到账
sox "$tmp/a.wav" "$tmp/b.wav" -r 16000 -c 1 -b 16 alipayplus.wav \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse

# A short rising two-note chime for a payment, a low double beep for a failure.
sox -n -r 16000 -c 1 -b 16 "$tmp/c1.wav" synth 0.12 sine 1319 fade q 0.005 0.12 0.06 vol 0.5
sox -n -r 16000 -c 1 -b 16 "$tmp/c2.wav" synth 0.28 sine 1760 fade q 0.005 0.28 0.2 vol 0.5
sox "$tmp/c1.wav" "$tmp/c2.wav" chime.wav
sox -n -r 16000 -c 1 -b 16 "$tmp/f1.wav" synth 0.18 square 330 fade q 0.005 0.18 0.02 vol 0.3
sox -n -r 16000 -c 1 -b 16 "$tmp/gap.wav" trim 0 0.08
sox "$tmp/f1.wav" "$tmp/gap.wav" "$tmp/f1.wav" fail.wav
